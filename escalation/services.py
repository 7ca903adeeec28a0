"""Policy configuration services: band sets (issue 4 adds stages and the nightly job)."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Band, BandSet


@dataclass
class BandSpec:
    name: str
    colour: str
    lower: Decimal | None
    lower_inclusive: bool
    upper: Decimal | None
    upper_inclusive: bool
    description: str = ""


def _edge(value, inclusive, default):
    return (Decimal(default) if value is None else Decimal(value)), bool(inclusive)


def bands_validate(bands: list[BandSpec]) -> None:
    """Bands must cover 0–100 exactly once: no overlap, no gap. Raises ValidationError."""
    if not bands:
        raise ValidationError("A band set needs at least one band.")
    spans = sorted(
        (_edge(b.lower, b.lower_inclusive or b.lower is None, 0)
         + _edge(b.upper, b.upper_inclusive or b.upper is None, 100) + (b.name,))
        for b in bands)
    problems = []
    for lo, lo_inc, hi, hi_inc, name in spans:
        if lo > hi or (lo == hi and not (lo_inc and hi_inc)):
            problems.append(f"'{name}' is empty: its lower bound is not below its upper bound.")
    first, last = spans[0], max(spans, key=lambda s: (s[2], s[3]))
    if first[0] > 0 or (first[0] == 0 and not first[1]):
        problems.append(f"Nothing covers 0%: the lowest band '{first[4]}' starts at {first[0]}.")
    if last[2] < 100 or (last[2] == 100 and not last[3]):
        problems.append(f"Nothing covers 100%: the highest band '{last[4]}' ends at {last[2]}.")
    for a, b in zip(spans, spans[1:], strict=False):
        a_hi, a_inc, b_lo, b_inc = a[2], a[3], b[0], b[1]
        if a_hi > b_lo or (a_hi == b_lo and a_inc and b_inc):
            problems.append(f"'{a[4]}' and '{b[4]}' overlap at {b_lo}%.")
        elif a_hi < b_lo or (a_hi == b_lo and not a_inc and not b_inc):
            problems.append(f"Gap between '{a[4]}' (to {a_hi}%) and '{b[4]}' (from {b_lo}%): "
                            f"a figure of {a_hi}% would have no band.")
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def band_set_create(*, name: str, bands: list[BandSpec], activate: bool = True) -> BandSet:
    bands_validate(bands)
    if activate:
        BandSet.objects.filter(active=True).update(active=False)
    band_set = BandSet.objects.create(name=name, active=activate)
    Band.objects.bulk_create(Band(band_set=band_set, **vars(b)) for b in bands)
    return band_set


def active_bands() -> list[Band]:
    return list(Band.objects.filter(band_set__active=True))


def band_for(pct: float | None, bands: list[Band]) -> Band | None:
    if pct is None:
        return None
    return next((b for b in bands if b.contains(pct)), None)
