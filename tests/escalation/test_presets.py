"""The five seed policies, loaded as presets, do what their text says on crafted pupils."""

from datetime import date, timedelta

import pytest

from escalation import presets
from escalation.models import BandSet, Case, CaseEvent, Meeting, PolicyVersion, PupilSnapshot
from escalation.nightly import night_run
from escalation.services import band_set_activate, stages_validate
from letters.models import Letter
from tests.escalation.helpers import put, put_through

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


def nights(start: date, end: date):
    """Run the nightly job every Friday from ``start`` to ``end``, as beat would (weekly is
    enough: reviews fall due on a date and are taken at the first run on or after it)."""
    day = start + timedelta(days=(4 - start.weekday()) % 7)
    while day <= end:
        night_run(as_of=day)
        day += timedelta(days=7)


def ladder_of(p, track="attendance"):
    """The pupil's case history on ``track``: (night, event, stage key) for each stage entered
    or left, and the letters queued, in order."""
    kinds = ("opened", "advanced", "stepped_down", "closed")
    return [(e.night, e.kind, e.stage.key) for e in CaseEvent.objects.filter(
        pupil=p, case__track=track, kind__in=kinds).order_by("at", "pk")]


# --- LAP -------------------------------------------------------------------------------------------

def test_lap_a_pupil_falling_from_green_to_severe_absence_climbs_letter_by_letter(two_years, pupil):
    """LAP: "Pupil's attendance slips below 96%: Letter 1 sent"; "slips below 90%: Persistently
    Absent ... Letter 2 sent"; "slips below 50%: Severely Persistently Absent ... Letter 3 sent",
    and Letter 3 begins "Following our last communication ... no improvement". So a pupil who
    is severely absent by the time four weeks of evidence exist still starts at Letter 1."""
    presets.apply("lap")
    p = pupil()
    put_through(p, START, date(2025, 12, 19), "/" * 20, "O")
    nights(START, date(2025, 12, 19))
    assert ladder_of(p) == [
        (date(2025, 10, 3), "opened", "lap-letter-1"),     # first night with 40+ sessions (48)
        (date(2025, 11, 14), "advanced", "lap-letter-2"),  # Letter 1's 42-day review, no improvement
        (date(2025, 12, 12), "advanced", "lap-letter-3"),  # Letter 2's 28-day review: below 50%
    ]
    assert [(x.template_key, x.night) for x in Letter.objects.filter(pupil=p).order_by("night")] == [
        ("lap_letter_1", date(2025, 10, 3)), ("lap_letter_2", date(2025, 11, 14)),
        ("lap_letter_3", date(2025, 12, 12))]
    assert Case.objects.filter(pupil=p, track="attendance").count() == 1
    # Letter 3 "Following our last communication": it can name Letter 2 and its date
    third = Letter.objects.get(pupil=p, template_key="lap_letter_3").context
    assert (third["previous_letter"], third["previous_letter_date"]) == ("lap_letter_2", "2025-11-14")


def test_lap_two_weeks_of_term_are_not_evidence(two_years, pupil):
    """The issue: "Percentage triggers fire after two weeks of term". Four school weeks first."""
    presets.apply("lap")
    p = pupil()
    put(p, START, "/" * 10 + "O" * 10 + "/" * 18)  # 50% after two weeks, then 38 sessions in all
    nights(START, date(2025, 9, 26))
    assert not Case.objects.filter(pupil=p, track="attendance").exists()


def test_lap_a_recovering_pupil_is_closed_with_a_reason(two_years, pupil):
    """LAP Letter 1: "Continue to monitor, [until] above 96%". Back above 96% for four weeks:
    the case closes, saying why, and no further letter goes."""
    presets.apply("lap")
    p = pupil()
    put_through(p, START, date(2025, 12, 19), "/" * 40 + "I" * 3, "/")
    nights(START, date(2025, 12, 19))
    case = Case.objects.get(pupil=p, track="attendance")
    assert ladder_of(p) == [(date(2025, 10, 3), "opened", "lap-letter-1"),
                            (date(2025, 11, 21), "closed", "lap-letter-1")]
    # 96% first reached on the 24 Oct run (75 of 78 sessions: 96.2%); the review of 14 Nov saw
    # the improvement; four weeks after 24 Oct the case closes.
    assert case.events.get(kind="review").detail.startswith("Improved since the stage began (93.8% → 96.6%)")
    assert case.status == "closed" and case.closed_on == date(2025, 11, 21)
    assert case.close_reason == ("Recovered from 'Letter 1: Listen and understand': recovered since "
                                 "24 Oct 2025 (28 days; now 96.9%)")
    assert letters_of(p) == ["lap_letter_1"]


def test_lap_letter_2_includes_exactly_90_percent(two_years, pupil):
    """LAP: "Pupil's attendance slips below 90%: Persistently Absent"; persistent absence is
    absence >= 10% (domain.md 5), so exactly 90.0% is Letter 2 and its band is 'Letter 2 (PA)'."""
    from escalation.models import Stage
    from escalation.nightly import Figures, Windows, stage_fires

    presets.apply("lap")
    windows = Windows.build(date(2025, 10, 24), Stage.objects.all())
    at_90 = Figures(w={"ytd": (50, 45, 5, 0, 0)})
    at_90_1 = Figures(w={"ytd": (1000, 901, 99, 0, 0)})
    assert stage_fires(Stage.objects.get(key="lap-letter-2"), at_90, windows=windows)
    assert not stage_fires(Stage.objects.get(key="lap-letter-2"), at_90_1, windows=windows)
    p = pupil()
    put(p, START, "/" * 45 + "I" * 5)
    night_run(as_of=date(2025, 10, 10))
    assert PupilSnapshot.objects.get(pupil=p).band == "Letter 2 (PA)"


# --- Beecroft -------------------------------------------------------------------------------------

def test_beecroft_four_groups_open_at_yellow_and_colour_by_band(two_years, pupil):
    """Beecroft: Yellow "95% and below", Amber "91%", Red "90% and below ... persistently absent".
    Bands colour each pupil; a case starts at the Yellow group, the first step."""
    p = run("beecroft", pupil, {
        "green": "/" * 48 + "I" * 2,    # 96.0%
        "yellow": "/" * 95 + "I" * 5,  # 95%
        "amber": "/" * 91 + "I" * 9,   # exactly 91%: amber ("91%")
        "red": "/" * 90 + "I" * 10,    # exactly 90%: red (persistently absent)
    }, night=date(2025, 12, 19))
    assert stages_of(p["green"]) == {}
    for name in ("yellow", "amber", "red"):
        assert stages_of(p[name]) == {"attendance": "bee-yellow"}
    bands = dict(PupilSnapshot.objects.values_list("pupil__legal_forename", "band"))
    assert bands == {"green": "Green", "yellow": "Yellow", "amber": "Amber", "red": "Red"}


def test_beecroft_red_without_improvement_is_referred_after_each_group(two_years, pupil):
    """Beecroft Red: "There will be a SAP meeting held in school with the Head/Deputy/ attendance
    officer. If attendance does not improve the case will be passed on to Leeds City Council
    Education Wellfare Officer" - after Yellow's monitoring and Amber's home visit."""
    presets.apply("beecroft")
    p = pupil()
    put_through(p, START, date(2025, 12, 19), "", "/" * 8 + "I" * 2)  # 80% all term
    nights(START, date(2025, 12, 19))
    assert [k for _, _, k in ladder_of(p)] == ["bee-yellow", "bee-amber", "bee-red", "bee-ews"]
    case = Case.objects.get(pupil=p)
    assert "Leeds" in case.stage.referral
    assert Meeting.objects.filter(case=case, kind="sap").count() == 2  # Amber's and Red's


def test_beecroft_improvement_earns_a_positive_call(two_years, pupil):
    """Beecroft: "Motivating and positive calls to parents where there is improvement."."""
    presets.apply("beecroft")
    p = pupil()
    put_through(p, START, date(2025, 12, 19), "/" * 40 + "I" * 3, "/")
    nights(START, date(2025, 12, 19))
    case = Case.objects.get(pupil=p)
    assert case.status == "closed"
    task = case.events.get(kind="task")
    assert task.detail == presets.BEECROFT_POSITIVE_CALL and task.night == case.closed_on


# --- Cheetwood ------------------------------------------------------------------------------------

def test_cheetwood_last_four_weeks_and_its_two_band_sets(two_years, pupil):
    p = run("cheetwood", pupil, {
        "ag": "/" * 39 + "I",          # last 4 weeks 96.9%: amber-green
        "g": "/" * 40,
    }, night=date(2025, 10, 24))
    # Only the last 4 school weeks count: absences early in September fall outside them.
    assert stages_of(p["g"]) == {} and stages_of(p["ag"]) == {}
    for name, absences in (("ag", 2), ("ra", 3), ("red", 5)):
        q = pupil(legal_forename=f"{name}2")
        put(q, date(2025, 9, 29), "/" * (40 - absences) + "I" * absences)
    night_run(as_of=date(2025, 10, 24))
    got = {c.pupil.legal_forename: c.stage.key for c in Case.objects.filter(track="attendance")}
    # Appendix 1: "RED - AMBER intervention will occur in cases where the pupil has immediately
    # fallen from GREEN into RED": each begins with the first conversation, no letter yet.
    assert got == {"ag2": "chw-ag", "ra2": "chw-ag", "red2": "chw-ag"}
    assert not Letter.objects.exists()
    # 8.2 bands vs the appendix's 94/90 edges: 93.5% is Amber-Green in 8.2 but Red-Amber in the appendix
    q = pupil(legal_forename="edge")
    put(q, START, "/" * 129 + "I" * 9, end=date(2025, 12, 19))  # 129 of 138: 93.5%
    night_run(as_of=date(2025, 12, 19))
    assert PupilSnapshot.objects.get(pupil=q).band == "Amber-Green"
    band_set_activate(band_set=BandSet.objects.get(name__contains="appendix"), user=None)
    night_run(as_of=date(2025, 12, 19))
    assert PupilSnapshot.objects.get(pupil=q).band == "Red-Amber"


def test_cheetwood_stage_thresholds_follow_the_band_set_it_chooses(two_years, pupil):
    """Issue 12 item 8: "stage thresholds follow the band set the school chose". Appendix 1's set
    moves Red-Amber's edge from "93% or below" (8.2) to "below 94%"; Red stays "below 90%"."""
    from escalation.models import Stage
    from escalation.nightly import Figures, Windows, stage_fires

    presets.apply("cheetwood")

    def edges():
        return {s.key: (float(s.threshold), s.threshold_inclusive)
                for s in Stage.objects.filter(key__in=("chw-ag", "chw-ra", "chw-red"))}

    assert edges() == {"chw-ag": (97.0, False), "chw-ra": (93.0, True), "chw-red": (90.0, False)}
    windows = Windows.build(date(2025, 10, 24), Stage.objects.all())
    at_93_5 = Figures(w={"last4": (200, 187, 13, 0, 0)})
    assert not stage_fires(Stage.objects.get(key="chw-ra"), at_93_5, windows=windows)
    band_set_activate(band_set=BandSet.objects.get(name__contains="appendix"), user=None)
    assert edges() == {"chw-ag": (97.0, False), "chw-ra": (94.0, False), "chw-red": (90.0, False)}
    assert stage_fires(Stage.objects.get(key="chw-ra"), at_93_5, windows=windows)
    version = PolicyVersion.objects.order_by("-number").first()
    assert "thresholds moved: chw-ra < 94%" in version.note
    assert next(s for s in version.snapshot["stages"] if s["key"] == "chw-ra")["threshold"] == "94.00"


def test_cheetwood_green_to_red_goes_through_the_red_amber_steps(two_years, pupil):
    """Cheetwood Appendix 1, Red: "Ensure that the pupil has already spoken to a member of staff
    at the stages preceding RED intervention". Red-Amber: "where unauthorised absence has occurred
    or attendance has not improved following the review with the pupil, a letter will be sent"
    - the letter comes at the review, not on entry."""
    presets.apply("cheetwood")
    p = pupil()
    put_through(p, START, date(2026, 2, 13), "", "/" * 7 + "O" * 3)  # 70% throughout
    nights(START, date(2026, 2, 13))
    keys = [k for _, _, k in ladder_of(p)]
    assert keys[:7] == ["chw-ag", "chw-ag-letter", "chw-ag-meeting", "chw-ra", "chw-ra-letter",
                        "chw-ra-meeting", "chw-red"]
    entered_ra = next(n for n, _, k in ladder_of(p) if k == "chw-ra")
    ra_letter = next(n for n, _, k in ladder_of(p) if k == "chw-ra-letter")
    assert sorted(Letter.objects.filter(pupil=p).values_list("night", flat=True))[1] == ra_letter > entered_ra


def test_cheetwood_target_and_red_edge(school_a):
    """"CHEETWOOD COMMUNITY PRIMARY SCHOOL ATTENDANCE TARGET FOR 2023/2024 IS 97%"; "RED pupils
    with attendance below 90%" (8.2: "RED pupils with attendance below 90%")."""
    from escalation.models import Band
    from escalation.services import band_for
    from tenants.presets import PRESETS

    assert PRESETS["cheetwood"]["attendance_target"] == 97
    presets.apply("cheetwood")
    bands = list(Band.objects.filter(band_set__active=True))
    assert band_for(90.0, bands).name == "Red-Amber" and band_for(89.99, bands).name == "Red"


# --- St Luke's ------------------------------------------------------------------------------------

def test_st_lukes_95_then_90_then_85_and_three_days(two_years, pupil):
    """St Luke's: "If a pupil's attendance falls below 95 percent, a letter is sent home"; "below
    90 percent, a letter is sent home explaining that the pupil's attendance is now being
    monitored"; "drops below 85 percent, the Local Authority will be informed, and a formal
    meeting will be arranged". A pupil at 84% gets the first letter first."""
    p = run("stlukes", pupil, {
        "95": "/" * 96 + "I" * 4,      # 96%: nothing
        "94": "I" * 6 + "/" * 94,      # letter
        "84": "I" * 16 + "/" * 84,     # first letter too
        "away": "/" * 92 + "I" * 8,    # 4 days in a row absent at the end: meeting
    }, night=date(2025, 12, 19))
    assert stages_of(p["95"]) == {}
    assert stages_of(p["94"]) == {"attendance": "stl-95"} and letters_of(p["94"]) == ["stlukes_below_95"]
    assert stages_of(p["84"]) == {"attendance": "stl-95"} and letters_of(p["84"]) == ["stlukes_below_95"]
    assert stages_of(p["away"]) == {"attendance": "stl-95", "absence": "stl-3-days"}


def test_st_lukes_climbs_at_its_half_termly_reviews(two_years, pupil):
    presets.apply("stlukes")
    p = pupil()
    put_through(p, START, date(2026, 2, 13), "", "/" * 8 + "O" * 2)  # 80%
    nights(START, date(2026, 2, 13))
    assert [k for _, _, k in ladder_of(p)] == ["stl-95", "stl-90", "stl-85", "stl-warning"]
    assert letters_of(p) == ["stlukes_below_90", "stlukes_below_95"]
    c = Case.objects.get(pupil=p, track="attendance")
    assert c.meetings.get().kind == "formal"
    assert c.events.filter(kind="referral", detail__contains="Inform the Local Authority").exists()


# --- every preset: one definition per edge ---------------------------------------------------------

@pytest.mark.parametrize("preset", sorted(presets.STAGES))
def test_each_stage_edge_matches_its_band_edge(school_a, preset):
    """domain.md 5: "a band's inclusive/exclusive edge is the one the stage uses": at a stage's
    threshold exactly, the pupil's band is the band on the stage's side of the edge; and a band
    called persistent absence holds exactly 90.0% (absence >= 10%)."""
    from escalation.models import Band, Stage
    from escalation.services import band_for

    presets.apply(preset)
    bands = list(Band.objects.filter(band_set__active=True))
    edges = {float(b.upper) for b in bands if b.upper is not None}
    for s in Stage.objects.filter(trigger__in=("below", "below_declining")):
        x = float(s.threshold)
        if x not in edges:
            continue
        at, under, over = band_for(x, bands), band_for(x - 0.01, bands), band_for(x + 0.01, bands)
        assert at == (under if s.threshold_inclusive else over), (s.key, at.name)
    for b in bands:
        if "persistent" in f"{b.name} {b.description}".lower() or "(PA)" in b.name:
            assert b.contains(90.0) and not b.contains(90.01), b.name


@pytest.mark.parametrize("later,outcome", [("/" * 29 + "U", "bl-penalty-request"), ("/" * 30, "closed")])
def test_banks_lane_warning_then_15_school_days(two_years, pupil, later, outcome):
    p = run("bankslane", pupil, {"x": "/" * 20 + "O" * 10, "nine": "/" * 21 + "O" * 9})
    assert "penalty" not in stages_of(p["nine"])
    case = Case.objects.get(pupil=p["x"], track="penalty")
    assert case.stage.key == "bl-warning" and letters_of(p["x"]) == ["bankslane_penalty_warning"]
    assert case.monitor_until is None  # the clock waits for the warning to be sent (test_services_clocks.py)
    from letters.services import letter_mark_posted

    letter = Letter.objects.get(case=case)
    Letter.objects.filter(pk=letter.pk).update(status="rendered",
                                               rendered_at=letter.created.replace(2025, 9, 22))
    letter_mark_posted(letter=letter, on=date(2025, 9, 22), user=None)  # handed over that day
    case.refresh_from_db()
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
    with pytest.raises(Exception, match="follows the band 'Concern letter' \\(its edge is below 95%\\)"):
        stage_save(stage=s, user=people["head"])
    s.band = ""  # a threshold of its own
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
