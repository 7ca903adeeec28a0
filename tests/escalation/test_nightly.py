"""The nightly job: N → O, snapshots and bands, idempotency, interruption, reviews, commands."""

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from escalation import presets
from escalation.models import Case, CaseEvent, NightlyRun, PupilSnapshot, Stage
from escalation.nightly import N_TO_O_REASON, night_run
from escalation.services import case_hold
from letters.models import Letter
from registers.models import Mark, MarkAmendment
from tests.escalation.helpers import dump, put
from tests.factories import MarkFactory

TABLES = ["registers_mark", "registers_markamendment", "escalation_pupilsnapshot", "escalation_case",
          "escalation_caseevent", "escalation_meeting", "letters_letter", "escalation_policyversion"]
VOLATILE = {"registers_mark": ["recorded_at"], "registers_markamendment": ["at"],
            "letters_letter": ["created", "case_id"], "escalation_policyversion": ["created"],
            "escalation_pupilsnapshot": [], "escalation_case": ["policy_version_id", "stage_id"],
            "escalation_caseevent": ["policy_version_id", "case_id", "stage_id"],
            "escalation_meeting": ["case_id", "stage_id"]}


# --- N → O after exactly five school days ---------------------------------------------------

@pytest.mark.parametrize("night,converted", [
    (date(2025, 10, 24), False),  # 2 school days after Wednesday 22 October
    (date(2025, 11, 1), False),   # half term: still 2
    (date(2025, 11, 4), False),   # 4 school days (Thu, Fri, Mon, Tue)
    (date(2025, 11, 5), True),    # exactly 5
    (date(2025, 11, 8), True),    # a Saturday after the fifth day
])
def test_n_becomes_o_after_exactly_five_school_days(two_years, pupil, night, converted):
    p = pupil()
    MarkFactory(pupil=p, date=date(2025, 10, 22), session="PM", code="N")
    MarkFactory(pupil=p, date=date(2025, 10, 23), session="AM", code="N")
    night_run(as_of=night)
    assert Mark.objects.get(pupil=p, date=date(2025, 10, 22)).code == ("O" if converted else "N")
    second_converted = night >= date(2025, 11, 6)  # Fri 24, Mon 3, Tue 4, Wed 5, Thu 6
    assert Mark.objects.get(pupil=p, date=date(2025, 10, 23)).code == ("O" if second_converted else "N")
    if converted:
        a = MarkAmendment.objects.filter(date=date(2025, 10, 22)).get()
        assert (a.original_code, a.new_code, a.reason, a.role, a.session) == (
            "N", "O", N_TO_O_REASON, "Nightly job", "PM")
    else:
        assert not MarkAmendment.objects.exists()


def test_the_night_merges_the_week_counts_its_own_changes_included(two_years, pupil):
    """The dashboards' week counts (registers_markweek) gain a row of changes with every write;
    the night leaves one row a pupil, week and code, after its own N -> O."""
    from registers.models import MarkWeek

    p = pupil()
    for d in (date(2025, 10, 20), date(2025, 10, 21), date(2025, 10, 22)):
        MarkFactory(pupil=p, date=d, session="AM", code="/")
        MarkFactory(pupil=p, date=d, session="PM", code="N")
    assert MarkWeek.objects.filter(pupil_id=p.pk).count() == 6  # a row per statement
    night_run(as_of=date(2025, 11, 5))
    assert sorted(MarkWeek.objects.filter(pupil_id=p.pk).values_list("week", "code", "n", "n_pm")) == [
        (date(2025, 10, 20), "/", 3, 0), (date(2025, 10, 20), "O", 3, 3)]


def test_each_school_marks_table_is_vacuumed_after_2_percent_changes(school_a):
    """Dead entries of converted N marks in the partial index are cleared (registers 0006)."""
    with connection.cursor() as cur:
        cur.execute("SELECT reloptions FROM pg_class WHERE oid = 'registers_mark'::regclass")
        options = set(cur.fetchone()[0])
    assert {"autovacuum_vacuum_scale_factor=0.02", "autovacuum_analyze_scale_factor=0.02"} <= options


def test_closures_do_not_count_as_school_days(two_years, pupil):
    p = pupil()
    MarkFactory(pupil=p, date=date(2025, 11, 6), session="AM", code="N")
    night_run(as_of=date(2025, 11, 18))  # Fri 7, (10–14 closed), Mon 17, Tue 18: 3 school days
    assert Mark.objects.get(pupil=p).code == "N"
    night_run(as_of=date(2025, 11, 20))  # + Wed 19, Thu 20: 5
    assert Mark.objects.get(pupil=p).code == "O"


# --- snapshots and bands ------------------------------------------------------------------------

@pytest.mark.parametrize("pattern,band", [
    ("/" * 96 + "I" * 4, "Green"), ("/" * 95 + "I" * 5, "Yellow"), ("/" * 91 + "I" * 9, "Amber"),
    ("/" * 90 + "I" * 10, "Red"), ("", ""),
])
def test_snapshot_band_edges(two_years, pupil, pattern, band):
    p = pupil()  # school A uses the Beecroft groups: Green >= 96, Amber <= 91, Red <= 90
    if pattern:
        put(p, date(2025, 9, 2), pattern)
    night_run(as_of=date(2025, 12, 19))
    s = PupilSnapshot.objects.get(pupil=p)
    assert s.band == band
    if pattern:
        assert s.possible == 100 and s.attendance_pct == float(pattern.count("/"))


def test_only_pupils_on_roll_on_the_night(two_years, pupil):
    on = pupil()
    pupil(admission=date(2025, 10, 1))
    pupil(admission=date(2024, 9, 1), leaving=date(2025, 9, 30))
    night_run(as_of=date(2025, 9, 30))
    night_run(as_of=date(2025, 10, 1))
    assert PupilSnapshot.objects.filter(night=date(2025, 9, 30)).count() == 2
    assert set(PupilSnapshot.objects.filter(night=date(2025, 10, 1)).values_list("pupil_id", flat=True)) == {
        on.pk, on.pk + 1}


def test_band_moves_are_counted_against_the_previous_snapshot(two_years, pupil):
    p = pupil()
    last = put(p, date(2025, 9, 2), "/" * 20)
    night_run(as_of=last)
    last = put(p, last + timedelta(days=1), "I")  # 20 of 21: 95.2%
    run = night_run(as_of=last)
    assert run.summary["band: Green → Yellow"] == 1


# --- idempotency ---------------------------------------------------------------------------------

def crafted_school(pupil):
    """A LAP school with pupils that trip every kind of stage over a term."""
    presets.apply("lap")
    start = date(2025, 9, 2)
    put(pupil(), start, "/" * 80)
    put(pupil(), start, ("/" * 18 + "I" * 2) * 4)                # 90%: Letter 1
    put(pupil(), start, ("/" * 8 + "O" * 2) * 8)                 # 80%: Letter 2, penalty
    put(pupil(), start, "/" * 40 + "/I" * 20)                    # declining below 90: Letter 3
    put(pupil(), start, "/" * 20 + "O" * 50 + "N" * 10)          # SA, no contact, N → O
    put(pupil(child_protection=True), start, "/" * 60 + "N" * 8 + "U" * 6)


NIGHTS = [date(2025, 9, 26), date(2025, 10, 10), date(2025, 10, 14), date(2025, 10, 24)]


def test_running_the_same_night_twice_changes_nothing(two_years, pupil):
    crafted_school(pupil)
    for night in NIGHTS:
        night_run(as_of=night)
    before = dump(TABLES, ignore=VOLATILE)
    assert Case.objects.count() >= 5 and Letter.objects.count() >= 3
    rerun = night_run(as_of=NIGHTS[-1])
    assert dump(TABLES, ignore=VOLATILE) == before
    assert {k for k in rerun.summary if k not in ("pupils", "policy_version", "penalty_candidates")} == set()
    assert NightlyRun.objects.filter(status="completed").count() == len(NIGHTS) + 1


def test_running_every_night_twice_equals_running_it_once(two_years, pupil):
    crafted_school(pupil)
    with transaction.atomic():
        for night in NIGHTS:
            night_run(as_of=night)
        once = dump(TABLES, ignore=VOLATILE)
        transaction.set_rollback(True)
    for night in NIGHTS:
        night_run(as_of=night)
        night_run(as_of=night)
    assert dump(TABLES, ignore=VOLATILE) == once


# --- interruption ----------------------------------------------------------------------------------

def test_a_run_that_fails_part_way_leaves_nothing_and_the_rerun_completes_it(two_years, pupil):
    crafted_school(pupil)
    night = date(2025, 10, 24)
    with transaction.atomic():
        night_run(as_of=night)
        clean = dump(TABLES, ignore=VOLATILE)
        transaction.set_rollback(True)
    empty = dump(TABLES, ignore=VOLATILE)
    # A stage row broken behind the validation's back: the run fails after N → O and the
    # snapshots have been written, while evaluating triggers.
    with connection.cursor() as cur:
        cur.execute("UPDATE escalation_stage SET trigger = 'bogus' WHERE key = 'lap-penalty'")
    with pytest.raises(ValueError, match="unknown trigger 'bogus'"):
        night_run(as_of=night)
    assert dump(TABLES, ignore=VOLATILE) == empty  # no half state: N marks, snapshots, cases untouched
    failed = NightlyRun.objects.get(status="failed")
    assert "bogus" in failed.error
    with connection.cursor() as cur:
        cur.execute("UPDATE escalation_stage SET trigger = 'unauthorised' WHERE key = 'lap-penalty'")
    night_run(as_of=night)
    assert dump(TABLES, ignore=VOLATILE) == clean


# --- reviews, holds and monitoring -------------------------------------------------------------------

def test_no_improvement_by_the_review_date_moves_to_the_next_stage(two_years, pupil):
    presets.apply("lap")
    p = pupil()
    last = put(p, date(2025, 9, 2), ("/" * 18 + "I" * 2) * 2)  # 90%: Letter 1
    night_run(as_of=last)
    case = Case.objects.get(pupil=p, track="attendance")
    assert case.stage.key == "lap-letter-1" and case.review_due == last + timedelta(days=42)
    put(p, last + timedelta(days=1), "/I" * 20, end=case.review_due)  # no improvement: 70% since
    night_run(as_of=case.review_due)
    case.refresh_from_db()
    assert case.stage.key in ("lap-letter-2", "lap-letter-3-declining")
    assert case.events.filter(kind="advanced").exists()


def test_improvement_at_review_keeps_the_stage(two_years, pupil):
    presets.apply("lap")
    p = pupil()
    last = put(p, date(2025, 9, 2), "/" * 36 + "I" * 4)
    night_run(as_of=last)
    case = Case.objects.get(pupil=p)
    put(p, last + timedelta(days=1), "/" * 40)
    night_run(as_of=case.review_due)
    case.refresh_from_db()
    assert case.stage.key == "lap-letter-1"
    review = case.events.get(kind="review")
    assert review.data["improved"] and "90.0% →" in review.detail
    assert case.review_due > last + timedelta(days=42)


def test_a_case_on_hold_is_not_moved(two_years, pupil, people):
    presets.apply("lap")
    p = pupil()
    last = put(p, date(2025, 9, 2), ("/" * 18 + "I" * 2) * 2)
    night_run(as_of=last)
    case = case_hold(case=Case.objects.get(pupil=p), user=people["attendance_officer"], reason="Hospital")
    put(p, last + timedelta(days=1), "I" * 30)
    night_run(as_of=last + timedelta(days=60))
    case.refresh_from_db()
    assert case.stage.key == "lap-letter-1" and case.status == "hold"


def test_closed_case_is_not_reopened_by_the_same_trigger(two_years, pupil, people):
    from escalation.services import case_close

    presets.apply("lap")
    p = pupil()
    last = put(p, date(2025, 9, 2), ("/" * 18 + "I" * 2) * 2)
    night_run(as_of=last)
    case_close(case=Case.objects.get(pupil=p), user=people["attendance_officer"], reason="Medical, agreed")
    night_run(as_of=last + timedelta(days=1))
    assert Case.objects.filter(pupil=p).count() == 1
    assert Letter.objects.filter(pupil=p).count() == 1


# --- commands ----------------------------------------------------------------------------------------

def test_recompute_command(two_years, pupil, capsys):
    put(pupil(), date(2025, 9, 2), "/" * 10)
    call_command("recompute", "--schema", "test_a", "--as-of", "2025-09-08")
    out = capsys.readouterr().out
    assert "test_a: night 2025-09-08 done" in out and "pupils 1" in out
    assert PupilSnapshot.objects.get().night == date(2025, 9, 8)


def test_recompute_usage_errors(school_a):
    with pytest.raises(CommandError) as e:
        call_command("recompute", "--schema", "nope", "--as-of", "2025-09-08")
    assert e.value.returncode == 2
    with pytest.raises(CommandError, match="not a date"):
        call_command("recompute", "--schema", "test_a", "--as-of", "08/09/2025")


def test_one_failing_school_does_not_stop_the_others(two_years, pupil, school_b, capsys):
    put(pupil(), date(2025, 9, 2), "/" * 10)
    with connection.cursor() as cur:
        cur.execute("UPDATE escalation_stage SET trigger = 'bogus' WHERE key = 'bee-yellow'")
    with pytest.raises(CommandError) as e:
        call_command("recompute", "--all-schools", "--as-of", "2025-09-08")
    assert e.value.returncode == 1 and "test_a" in str(e.value)
    captured = capsys.readouterr()
    assert "test_b: night 2025-09-08 done" in captured.out
    assert "test_a: FAILED" in captured.err
    connection.set_tenant(two_years)
    assert Stage.objects.filter(trigger="bogus").exists()
    assert not CaseEvent.objects.exists()
