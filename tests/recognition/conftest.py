"""Recognition tests: the letters tests' media folder and mark helpers, and a clock."""

import pytest

from tests.letters.conftest import mark, reset_storage, school_days  # noqa: F401


@pytest.fixture(autouse=True)
def _media(media_root):
    """Every recognition test writes its files (certificates) to a folder of its own."""
