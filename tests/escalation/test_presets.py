"""The five seed policies, loaded as presets, do what their text says on crafted pupils."""

from datetime import date, timedelta

import pytest

from escalation import presets
from escalation.models import BandSet, Case, Meeting, PolicyVersion, PupilSnapshot
from escalation.nightly import night_run
from escalation.services import band_set_activate, stages_validate
from letters.models import Letter
from tests.escalation.helpers import put

START = date(2025, 9, 2)


def run(preset, pupil, patterns: dict, *, night=None):
    presets.apply(preset)
    pupils = {}
    last = START
    for name, pattern in patterns.items():
        pupils[name] = pupil(legal_forename=name)
        last = max(last, put(pupils[name], START, pattern))
    night_run(as_of=night or last)
    return pupils


def stages_of(p):
    return {c.track: c.stage.key for c in Case.objects.filter(pupil=p)}


def letters_of(p):
    return sorted(Letter.objects.filter(pupil=p).values_list("template_key", flat=True))


@pytest.mark.parametrize("preset", sorted(presets.STAGES))
def test_every_preset_is_valid_and_versioned(school_a, preset):
    presets.apply(preset)
    from escalation.models import Stage

    stages_validate(list(Stage.objects.filter(active=True)))
    snap = PolicyVersion.objects.order_by("-number").first().snapshot
    assert {s["key"] for s in snap["stages"]} == {s["key"] for s in presets.STAGES[preset]}


def test_lap_letters_1_2_3(two_years, pupil):
    p = run("lap", pupil, {
        "fine": "/" * 80,
        "l1": ("/" * 19 + "I") * 4,                  # 95%: below 96
        "l2": "/" * 10 + "I" * 10 + ("/" * 18 + "I" * 2) * 3,  # 80%, improving: below 90 (PA)
        "l3sa": "/" * 30 + "O" * 50,                 # 37.5%: severe
        "l3dec": "/" * 50 + "/I" * 15,               # 88.5% and falling: below 90 and declining
    })
    assert stages_of(p["fine"]) == {}
    assert stages_of(p["l1"]) == {"attendance": "lap-letter-1"} and letters_of(p["l1"]) == ["lap_letter_1"]
    assert Case.objects.get(pupil=p["l1"]).owner_role == "teacher"
    assert stages_of(p["l2"])["attendance"] == "lap-letter-2" and letters_of(p["l2"]) == ["lap_letter_2"]
    assert Meeting.objects.get(case__pupil=p["l2"]).kind == "attendance_support"
    assert stages_of(p["l3sa"])["attendance"] == "lap-letter-3"
    assert letters_of(p["l3sa"]) == ["lap_letter_3"]
    assert Meeting.objects.get(case__pupil=p["l3sa"]).kind == "attendance_contract"
    assert stages_of(p["l3dec"])["attendance"] == "lap-letter-3-declining"
    # the same trigger never queues its letter twice
    night_run(as_of=date(2025, 10, 24))
    assert Letter.objects.filter(pupil=p["l1"]).count() == 1


def test_lap_letter_1_case_climbs_when_attendance_falls(two_years, pupil):
    p = run("lap", pupil, {"x": ("/" * 19 + "I") * 2})
    case = Case.objects.get(pupil=p["x"])
    put(p["x"], date(2025, 9, 30), ("/" * 15 + "I" * 5) * 3)
    night_run(as_of=date(2025, 10, 24))
    case.refresh_from_db()
    # below 90% and falling: LAP's Letter 3 ("below 90% and is declining"), same case
    assert case.stage.key == "lap-letter-3-declining"
    assert letters_of(p["x"]) == ["lap_letter_1", "lap_letter_3"]
    assert list(case.events.values_list("kind", flat=True)) == ["opened", "letter", "advanced", "letter",
                                                                  "referral"]


def test_beecroft_four_groups(two_years, pupil):
    p = run("beecroft", pupil, {
        "green": "/" * 48 + "I" * 2,    # 96.0%
        "yellow": "/" * 95 + "I" * 5,  # 95%
        "amber": "/" * 91 + "I" * 9,   # exactly 91%: amber ("91%")
        "red": "/" * 90 + "I" * 10,    # exactly 90%: red (persistently absent)
    }, night=date(2025, 12, 19))
    assert stages_of(p["green"]) == {}
    assert stages_of(p["yellow"]) == {"attendance": "bee-yellow"}
    assert stages_of(p["amber"]) == {"attendance": "bee-amber"}
    assert stages_of(p["red"]) == {"attendance": "bee-red"}
    assert Meeting.objects.get(case__pupil=p["red"]).kind == "sap"
    bands = dict(PupilSnapshot.objects.values_list("pupil__legal_forename", "band"))
    assert bands == {"green": "Green", "yellow": "Yellow", "amber": "Amber", "red": "Red"}


def test_beecroft_red_without_improvement_is_referred(two_years, pupil):
    p = run("beecroft", pupil, {"red": "/" * 18 + "I" * 2 + "/" * 18 + "I" * 2})
    case = Case.objects.get(pupil=p["red"])
    assert case.stage.key == "bee-red"
    put(p["red"], date(2025, 9, 30), "/I" * 30)
    night_run(as_of=case.review_due)
    case.refresh_from_db()
    assert case.stage.key == "bee-ews" and "Leeds" in case.stage.referral


def test_cheetwood_last_four_weeks_and_its_two_band_sets(two_years, pupil):
    p = run("cheetwood", pupil, {
        "ag": "/" * 39 + "I",          # last 4 weeks 96.9%: amber-green
        "ra": "/" * 37 + "I" * 3,      # 92.5%: red-amber, letter
        "red": "/" * 35 + "I" * 5,     # 87.5%: red
        "g": "/" * 40,
    }, night=date(2025, 10, 24))
    # Only the last 4 school weeks count: put the absences there.
    assert stages_of(p["g"]) == {}
    assert stages_of(p["ag"]) == {}  # absences early in September fall outside the 4 weeks
    Case.objects.all().delete()
    for name, absences in (("ag", 2), ("ra", 3), ("red", 5)):
        q = pupil(legal_forename=f"{name}2")
        put(q, date(2025, 9, 29), "/" * (40 - absences) + "I" * absences)
    night_run(as_of=date(2025, 10, 24))
    got = {c.pupil.legal_forename: c.stage.key for c in Case.objects.filter(track="attendance")}
    assert got == {"ag2": "chw-ag", "ra2": "chw-ra", "red2": "chw-red"}
    assert letters_of(Case.objects.get(stage__key="chw-ra").pupil) == ["cheetwood_concern"]
    # 8.2 bands vs the appendix's 94/91 edges: 93.5% is Amber-Green in 8.2 but Red-Amber in the appendix
    q = pupil(legal_forename="edge")
    put(q, START, "/" * 129 + "I" * 9, end=date(2025, 12, 19))  # 129 of 138: 93.5%
    night_run(as_of=date(2025, 12, 19))
    assert PupilSnapshot.objects.get(pupil=q).band == "Amber-Green"
    band_set_activate(band_set=BandSet.objects.get(name__contains="appendix"), user=None)
    night_run(as_of=date(2025, 12, 19))
    assert PupilSnapshot.objects.get(pupil=q).band == "Red-Amber"


def test_st_lukes_95_90_85_and_three_days(two_years, pupil):
    p = run("stlukes", pupil, {
        "95": "/" * 96 + "I" * 4,      # 96%: nothing
        "94": "I" * 6 + "/" * 94,      # letter
        "89": "I" * 11 + "/" * 89,     # letter and monitoring
        "84": "I" * 16 + "/" * 84,     # LA informed, formal meeting
        "away": "/" * 92 + "I" * 8,    # 4 days in a row absent at the end: meeting
    }, night=date(2025, 12, 19))
    assert stages_of(p["95"]) == {}
    assert stages_of(p["94"]) == {"attendance": "stl-95"} and letters_of(p["94"]) == ["stlukes_below_95"]
    assert stages_of(p["89"]) == {"attendance": "stl-90"} and letters_of(p["89"]) == ["stlukes_below_90"]
    assert stages_of(p["84"]) == {"attendance": "stl-85"}
    c = Case.objects.get(pupil=p["84"])
    assert c.stage.referral == "Inform the Local Authority" and c.meetings.get().kind == "formal"
    assert stages_of(p["away"]) == {"attendance": "stl-95", "absence": "stl-3-days"}


@pytest.mark.parametrize("later,outcome", [("/" * 29 + "U", "bl-penalty-request"), ("/" * 30, "closed")])
def test_banks_lane_warning_then_15_school_days(two_years, pupil, later, outcome):
    p = run("bankslane", pupil, {"x": "/" * 20 + "O" * 10, "nine": "/" * 21 + "O" * 9})
    assert "penalty" not in stages_of(p["nine"])
    case = Case.objects.get(pupil=p["x"], track="penalty")
    assert case.stage.key == "bl-warning" and letters_of(p["x"]) == ["bankslane_penalty_warning"]
    assert case.monitor_until == date(2025, 10, 13)  # 15 school days after Mon 22 Sep
    last = put(p["x"], date(2025, 9, 23), later)     # the 15 days of monitoring
    night_run(as_of=last)
    case.refresh_from_db()
    if outcome == "closed":
        assert case.status == "closed" and "no unauthorised absence" in case.close_reason
    else:
        assert case.stage.key == outcome and "during the monitoring period (13 Oct)" in case.explanation


def test_a_school_copies_a_preset_and_edits_it(school_a, people):
    from escalation.models import Stage
    from escalation.services import stage_save

    presets.preset_copy("stlukes", user=people["head"])
    s = Stage.objects.get(key="stl-95")
    s.threshold = 94
    stage_save(stage=s, user=people["head"])
    v = PolicyVersion.objects.order_by("-number").first()
    assert v.created_by == people["head"]
    assert next(x for x in v.snapshot["stages"] if x["key"] == "stl-95")["threshold"] == "94.00"
    s.count = 3
    with pytest.raises(Exception, match="N only applies"):
        stage_save(stage=s, user=people["head"])


def test_monitor_until_counts_school_days(two_years):
    from escalation.services import _add_school_days

    assert _add_school_days(date(2025, 10, 22), 3) == date(2025, 11, 3)
    assert _add_school_days(date(2025, 11, 7), 1) == date(2025, 11, 17) - timedelta(days=0)
