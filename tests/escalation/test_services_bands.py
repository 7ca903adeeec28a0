"""Bands: contiguous, no overlap or gap, edges as the seed policies state them."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from escalation.services import BandSpec, band_for, band_set_create, bands_validate
from tenants.presets import PRESETS, band


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_is_a_valid_band_set(preset):
    from escalation.models import Band

    specs = PRESETS[preset]["bands"]
    bands_validate(specs)  # raises on overlap or gap
    bands = [Band(**vars(b)) for b in specs]
    for pct in (0.0, 49.99, 50.0, 84.99, 85.0, 89.99, 90.0, 90.05, 91.0, 93.0, 95.0, 96.0, 100.0):
        assert sum(b.contains(pct) for b in bands) == 1, (preset, pct)


@pytest.mark.parametrize("preset,pct,name", [
    ("beecroft", 100.0, "Green"), ("beecroft", 96.0, "Green"), ("beecroft", 95.99, "Yellow"),
    ("beecroft", 91.01, "Yellow"), ("beecroft", 91.0, "Amber"), ("beecroft", 90.01, "Amber"),
    ("beecroft", 90.0, "Red"), ("beecroft", 0.0, "Red"),
    ("cheetwood", 97.0, "Green"), ("cheetwood", 96.95, "Amber-Green"),
    ("cheetwood", 93.05, "Amber-Green"), ("cheetwood", 93.0, "Red-Amber"),
    # Cheetwood 8.2: "RED pupils with attendance below 90%" - 90.0% is Red-Amber, as its stage says.
    ("cheetwood", 90.05, "Red-Amber"), ("cheetwood", 90.0, "Red-Amber"), ("cheetwood", 89.99, "Red"),
    # LAP Letter 2 is persistent absence (absence >= 10%: 90.0% included); Letter 3 severe (>= 50%).
    ("lap", 96.0, "Expected"), ("lap", 95.9, "Letter 1"), ("lap", 90.01, "Letter 1"),
    ("lap", 90.0, "Letter 2 (PA)"), ("lap", 50.01, "Letter 2 (PA)"), ("lap", 50.0, "Letter 3 (SA)"),
    ("stlukes", 95.0, "Target met"), ("stlukes", 94.9, "Concern letter"),
    ("stlukes", 89.9, "Monitoring"), ("stlukes", 84.9, "LA informed"),
])
def test_band_edges(school_a, preset, pct, name):
    band_set_create(name=preset, bands=PRESETS[preset]["bands"])
    from escalation.services import active_bands

    assert band_for(pct, active_bands()).name == name


@pytest.mark.parametrize("bands,message", [
    ([band("A", "#000", 90, True, None, True), band("B", "#111", None, True, 90, True)],
     "overlap at 90"),
    ([band("A", "#000", 90, False, None, True), band("B", "#111", None, True, 90, False)],
     "Gap between"),
    ([band("A", "#000", 91, True, None, True), band("B", "#111", None, True, 90, True)],
     "Gap between"),
    ([band("A", "#000", 50, True, 90, True)], "Nothing covers 0%"),
    ([band("A", "#000", None, True, 99, True)], "Nothing covers 100%"),
    ([band("A", "#000", 80, True, 70, True), band("B", "#111", None, True, 80, False),
      band("C", "#222", 70, True, None, True)], "is empty"),
    ([], "at least one band"),
])
def test_bad_band_sets_are_rejected_with_a_clear_message(bands, message):
    with pytest.raises(ValidationError, match=message):
        bands_validate(bands)


def test_only_one_active_band_set(school_a):
    first = band_set_create(name="one", bands=PRESETS["beecroft"]["bands"])
    second = band_set_create(name="two", bands=PRESETS["stlukes"]["bands"])
    first.refresh_from_db()
    assert not first.active and second.active
    assert BandSpec("x", "#000", Decimal(1), True, None, True).lower == 1
