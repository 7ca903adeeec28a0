"""The five seed schools as configuration presets (docs/domain.md section 4).

Each preset is plain data: register times, targets and bands. ``create_school --preset``
applies one; a school can then edit its own copy.

tenants is the bottom layer (docs/architecture.md), so it cannot call the apps above that load
their part of a preset. Instead each of them registers a loader here from its AppConfig.ready()
(``loader_register``) and ``tenants.services.preset_apply`` runs them in their stated order.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from decimal import Decimal as D


@dataclass(frozen=True)
class BandRow:
    """One band of a preset, as plain data (escalation turns it into its ``BandSpec``)."""

    name: str
    colour: str
    lower: D | None
    lower_inclusive: bool
    upper: D | None
    upper_inclusive: bool
    description: str = ""


def band(name, colour, lower, lower_inc, upper, upper_inc, description=""):
    return BandRow(name, colour, None if lower is None else D(str(lower)), lower_inc,
                   None if upper is None else D(str(upper)), upper_inc, description)


# (order, app label, loader): letters first (stages name letter templates), then escalation,
# then absences; see each app's apps.py.
_LOADERS: list[tuple[int, str, Callable[[str], None]]] = []


def loader_register(order: int, app: str, load: Callable[[str], None]) -> None:
    """An app above tenants loads its part of a preset with ``load(preset)``."""
    if all(a != app for _, a, _ in _LOADERS):
        _LOADERS.append((order, app, load))


def loaders() -> list[Callable[[str], None]]:
    return [load for _, _, load in sorted(_LOADERS, key=lambda row: row[:2])]


GREEN, YELLOW, AMBER, RED, AMBER_GREEN, RED_AMBER = (
    "#2e7d32", "#f9a825", "#ef6c00", "#c62828", "#7cb342", "#e65100")

PRESETS = {
    "beecroft": {
        "name": "Beecroft Primary School", "la_name": "Leeds", "la_code": 383,
        "attendance_target": D("97"), "headteacher": "June Turner",
        "times": {"am": (time(8, 40), time(8, 40), time(9, 10)),
                  "pm": (time(13, 15), time(13, 15), time(13, 45))},
        "bands_name": "Beecroft traffic-light groups",
        "bands": [
            band("Green", GREEN, 96, True, None, True, "96% and above"),
            band("Yellow", YELLOW, 91, False, 96, False, "below 96% and above 91%"),
            band("Amber", AMBER, 90, False, 91, True, "91% or below and above 90%"),
            band("Red", RED, None, True, 90, True, "90% or below: persistently absent"),
        ],
    },
    "cheetwood": {
        "name": "Cheetwood Community Primary School", "la_name": "Manchester", "la_code": 352,
        # "CHEETWOOD COMMUNITY PRIMARY SCHOOL ATTENDANCE TARGET FOR 2023/2024 IS 97%"
        "attendance_target": D("97"), "headteacher": "",
        "times": {"am": (time(8, 50), time(8, 50), time(9, 20)),
                  "pm": (time(13, 0), time(13, 0), time(13, 30))},
        "bands_name": "Cheetwood section 8.2 bands",
        "bands": [
            band("Green", GREEN, 97, True, None, True, "97–100%"),
            band("Amber-Green", AMBER_GREEN, 93, False, 97, False, "93.1–96.9%"),
            # "RED pupils with attendance below 90%": exactly 90.0% is Red-Amber, as the stages say.
            band("Red-Amber", RED_AMBER, 90, True, 93, True, "90–93%"),
            band("Red", RED, None, True, 90, False, "below 90%"),
        ],
    },
    "lap": {
        "name": "LAP Academy", "la_name": "Devon", "la_code": 878,
        "attendance_target": D("96"), "headteacher": "",
        "times": {"am": (time(8, 30), time(8, 40), time(9, 0)),
                  "pm": (time(13, 0), time(13, 5), time(13, 30))},
        "bands_name": "LAP graduated-response stages",
        "bands": [
            band("Expected", GREEN, 96, True, None, True, "96% and above"),
            # Persistent absence is absence >= 10%: exactly 90.0% is Letter 2 (PA).
            band("Letter 1", AMBER, 90, False, 96, False, "below 96% and above 90%"),
            band("Letter 2 (PA)", RED_AMBER, 50, False, 90, True, "90% or below: persistent absence"),
            # Severe absence is absence >= 50%: exactly 50.0% is Letter 3 (SA).
            band("Letter 3 (SA)", RED, None, True, 50, True, "50% or below: severe absence"),
        ],
    },
    "stlukes": {
        "name": "St Luke's CofE Primary School", "la_name": "Devon", "la_code": 878,
        "attendance_target": D("95"), "headteacher": "",
        "times": {"am": (time(8, 40), time(8, 45), time(9, 10)),
                  "pm": (time(13, 0), time(13, 5), time(13, 30))},
        "bands_name": "St Luke's letter steps",
        "bands": [
            band("Target met", GREEN, 95, True, None, True, "95% and above"),
            band("Concern letter", YELLOW, 90, True, 95, False, "below 95%"),
            band("Monitoring", AMBER, 85, True, 90, False, "below 90%: letter and monitoring"),
            band("LA informed", RED, None, True, 85, False, "below 85%: formal meeting"),
        ],
    },
    "bankslane": {
        "name": "Banks Lane Infant and Nursery School", "la_name": "Stockport", "la_code": 356,
        "attendance_target": D("96"), "headteacher": "",
        "times": {"am": (time(9, 0), time(9, 5), time(9, 30)),
                  "pm": (time(13, 0), time(13, 5), time(13, 30))},
        "bands_name": "Banks Lane bands",
        "bands": [
            band("Good", GREEN, 96, True, None, True, "96% and above"),
            band("Concern", AMBER, 90, False, 96, False, "below 96%"),
            band("Persistent absence", RED, None, True, 90, True, "90% or below"),
        ],
    },
}
