"""Recognition tests: the letters tests' media folder and mark helpers, and a clock."""

import pytest

from tests.letters.conftest import mark, reset_storage, school_days  # noqa: F401


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    reset_storage()
    yield
    reset_storage()
