"""Targets in sessions use the window the row's colour uses (issue 12, item 8: "targets and row
colours use the same window").

Cheetwood 8.2: "Class teachers will receive a weekly list of attendance for the last 4 weeks
... highest to lowest, colour coded"; Appendix 1: "Set target for attendance in number of
sessions" for the band the pupil is in."""

import math
from datetime import date

from escalation.selectors import class_list, rolling_target
from escalation.services import active_bands, band_set_create
from registers.models import RegistrationGroup
from tenants.presets import PRESETS
from tests.escalation.helpers import put

START = date(2025, 9, 2)


def test_a_pupil_green_over_4_weeks_is_not_told_green_cannot_be_reached(two_years, pupil, client_as, people):
    band_set_create(name="Cheetwood", bands=PRESETS["cheetwood"]["bands"])
    back = pupil(legal_forename="Back")        # ill all September, full attendance since
    last = put(back, START, "I" * 40 + "/" * 60)
    slipping = pupil(legal_forename="Slip")    # full attendance, then one day off this week
    put(slipping, START, "/" * 98 + "II")
    rows, _ = class_list(group=RegistrationGroup.objects.get(name="3B"), as_of=last)
    by_name = {r["pupil"].legal_forename: r for r in rows}

    green = by_name["Back"]
    assert green["band"].name == "Green" and green["ytd"] < 90   # Red for the year, Green over 4 weeks
    assert green["target"] is None                               # nothing above Green to reach

    amber = by_name["Slip"]
    assert amber["band"].name == "Amber-Green"
    t = amber["target"]
    assert t.band.name == "Green" and t.weeks == 4 and t.reachable
    # The window rolls: over the next 4 whole school weeks, 97% of their sessions, rounded up.
    assert t.need == math.ceil(0.97 * t.of) and t.by > last
    assert t.text.startswith(f"Attend {t.need} of the {t.of} sessions in the 4 school weeks to ")

    page = client_as(people["teacher"]).get(
        f"/escalation/classes/{back.registration_group_id}/?as_of={last}").content.decode()
    assert "cannot be reached" not in page


def test_rolling_target_edges(two_years):
    """Cheetwood's Green is 97% and over (inclusive): 97.0% of the window is enough."""
    band_set_create(name="Cheetwood", bands=PRESETS["cheetwood"]["bands"])
    bands = active_bands()
    as_of = date(2025, 9, 26)
    t = rolling_target(attended=38, possible=40, bands=bands, as_of=as_of)   # 95%: Amber-Green
    assert t.band.name == "Green"
    # The 4 school weeks after the week of 26 September: 29 Sep – 24 Oct, 40 sessions.
    assert (t.of, t.by) == (40, date(2025, 10, 24))
    assert t.need == 39                                                      # 38.8 rounded up
    assert rolling_target(attended=39, possible=40, bands=bands, as_of=as_of) is None  # 97.5%: Green
    # No 4 school weeks left before the calendar ends: said plainly, not a wrong promise.
    late = rolling_target(attended=30, possible=40, bands=bands, as_of=date(2026, 2, 2))
    assert not late.reachable and "cannot be reached in the next 4 school weeks" in late.text
