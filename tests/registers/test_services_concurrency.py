"""A register saved by two people at once loses nothing (issue 11.1).

Two real transactions: each save runs in its own thread with its own database connection,
against a committed school (the test's own connection is rolled back and could not be
shared). Before the fix, a fresh register gave the second person an IntegrityError (a 500)
and an existing mark was silently overwritten with two amendment rows claiming the same
original code.
"""

import threading
import time
from datetime import date, timedelta

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import schema_context

from tests.conftest import drop_committed_schools, make_upn
from tests.factories import PupilFactory, RegistrationGroupFactory

SCHEMA = "reg_race"
DOMAIN = "reg-race.localhost"
USERS = ("race_office_1", "race_office_2")
DAYS = [date(2025, 9, d) for d in (2, 3, 4, 5, 8, 9, 10, 11)]
N_PUPILS = 12


@pytest.fixture(scope="module")
def race(django_db_setup, django_db_blocker):
    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry
    from tenants.models import User
    from tenants.roles import Role
    from tenants.services import person_grant, school_create

    with django_db_blocker.unblock():
        drop_committed_schools(SCHEMA)
        User.objects.filter(username__in=USERS).delete()
        school = school_create(schema=SCHEMA, name="Race Primary", domain=DOMAIN,
                               preset="beecroft")
        connection.set_schema_to_public()
        people = [person_grant(username=u, role=Role.OFFICE, school=school, first_name=f"Olive{i}",
                               last_name="Office") for i, u in enumerate(USERS, start=1)]
        with schema_context(SCHEMA):
            calendar_replace(entries=[CalendarEntry(kind="term", start_date=date(2025, 9, 1),
                                                    end_date=date(2025, 10, 24), label="Autumn 1")])
            group = RegistrationGroupFactory(name="6R", year_group=6)
            for n in range(N_PUPILS):
                PupilFactory(upn=make_upn(serial=700 + n), legal_surname=f"Race{n:02d}",
                             legal_forename="Pupil", date_of_birth=date(2014, 1, 1),
                             gender="M", year_group=6, registration_group=group,
                             admission_date=date(2024, 9, 1))
        connection.set_schema_to_public()
    yield {"school": school, "people": people}
    with django_db_blocker.unblock():
        with schema_context(SCHEMA):
            User.objects.filter(username__in=USERS).delete()
        drop_committed_schools(SCHEMA)


def _pupils():
    from registers.models import Pupil

    return list(Pupil.objects.order_by("legal_surname"))


def _in_thread(target, results, key):
    """Run ``target()`` in the school's schema on this thread's own connection."""
    def run():
        try:
            with schema_context(SCHEMA):
                results[key] = target()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[key] = exc
        finally:
            connections.close_all()
    return threading.Thread(target=run)


def _save(race, who, day, session, codes_by_pupil, *, base=None, reason="", barrier=None,
          hold=None):
    from registers.services import Entry, marks_save

    def target():
        pupils = _pupils()
        entries = [Entry(p.pk, codes_by_pupil[i], None, reason, base) for i, p in
                   enumerate(pupils) if codes_by_pupil[i]]
        with transaction.atomic():
            if barrier:
                barrier.wait(timeout=10)
            result = marks_save(school=race["school"], day=day, session=session, pupils=pupils,
                                entries=entries, user=race["people"][who], role="Office / admin")
            if hold:
                hold()  # keep the transaction open while the other one runs into our rows
        return result
    return target


def _marks(day, session):
    from registers.models import Mark, MarkAmendment

    with schema_context(SCHEMA):
        marks = {m.pupil.legal_surname: m.code for m in
                 Mark.objects.filter(date=day, session=session).select_related("pupil")}
        trail = list(MarkAmendment.objects.filter(date=day, session=session).order_by("id")
                     .values_list("pupil__legal_surname", "original_code", "new_code", "user_name"))
    return marks, trail


def _run(*threads):
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a save never finished (deadlock?)"


def _waiting_on_lock() -> bool:
    with connections["default"].cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction sees one snapshot
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")
        return cur.fetchone()[0] > 0


@pytest.mark.django_db
@pytest.mark.parametrize("day", DAYS[:3])
def test_fresh_register_saved_at_once_by_two_people(race, day):
    """Both open an empty register and save at the same moment (a barrier)."""
    barrier = threading.Barrier(2)
    first = ["/"] * N_PUPILS
    second = ["/"] * (N_PUPILS // 2) + ["N"] * (N_PUPILS - N_PUPILS // 2)
    results = {}
    _run(_in_thread(_save(race, 0, day, "AM", first, base="", barrier=barrier), results, "a"),
         _in_thread(_save(race, 1, day, "AM", second, base="", barrier=barrier), results, "b"))
    assert not any(isinstance(r, BaseException) for r in results.values()), results
    marks, trail = _marks(day, "AM")
    assert len(marks) == N_PUPILS  # nobody's marks are lost
    assert trail == []  # nobody overwrote anyone: no amendments at all
    # Whoever came second got the pupils they disagreed on back as conflicts, never saved.
    a, b = results["a"], results["b"]
    loser, winner_codes = (a, second) if a["conflicts"] else (b, first)
    assert (a["created"] + b["created"]) == N_PUPILS
    assert [marks[f"Race{n:02d}"] for n in range(N_PUPILS)] == winner_codes
    assert {c.pupil.legal_surname for c in loser["conflicts"]} == {
        f"Race{n:02d}" for n in range(N_PUPILS // 2, N_PUPILS)}
    assert all(c.by.startswith("Olive") for c in loser["conflicts"])


@pytest.mark.django_db
def test_second_insert_waits_for_the_first_and_gets_a_conflict_not_a_500(race):
    """The first save is still open when the second one inserts the same pupils: the second
    waits on the row locks, then sees the first one's marks (deterministic overlap)."""
    day = DAYS[3]
    a_inside, results = threading.Event(), {}

    def hold():
        a_inside.set()
        deadline = time.monotonic() + 10
        while not _waiting_on_lock() and time.monotonic() < deadline:
            time.sleep(0.05)
        results["b_waited"] = _waiting_on_lock()

    def b_target():
        a_inside.wait(timeout=10)
        return _save(race, 1, day, "PM", ["N"] * N_PUPILS, base="")()

    _run(_in_thread(_save(race, 0, day, "PM", ["\\"] * N_PUPILS, base="", hold=hold), results, "a"),
         _in_thread(b_target, results, "b"))
    assert results["b_waited"] is True  # the two transactions really overlapped
    assert not isinstance(results["b"], BaseException), results["b"]
    assert results["a"]["created"] == N_PUPILS and results["b"]["created"] == 0
    assert len(results["b"]["conflicts"]) == N_PUPILS
    marks, trail = _marks(day, "PM")
    assert set(marks.values()) == {"\\"} and trail == []


@pytest.fixture
def n_marks(race):
    """Committed N marks for every pupil on a day, written on a thread's own connection
    (the test's own connection is rolled back, so the threads could not see its writes)."""
    def make(day, session="AM"):
        results = {}
        _run(_in_thread(_save(race, 0, day, session, ["N"] * N_PUPILS), results, "n"))
        assert not isinstance(results["n"], BaseException), results["n"]
    return make


@pytest.mark.django_db
@pytest.mark.parametrize("with_base", [True, False])
def test_existing_mark_changed_by_two_people_at_once(race, n_marks, with_base):
    """Both see N and change it (to I and to M) with a reason at the same moment. With the
    register form's base, one change is saved and the other comes back as a conflict; without
    a base (a service: "whatever is there now") both are saved one after the other and the
    trail says so: the second amendment's original is the first one's new code."""
    day = DAYS[4] if with_base else DAYS[5]
    n_marks(day)
    barrier, results = threading.Barrier(2), {}
    base = "N" if with_base else None
    _run(_in_thread(_save(race, 0, day, "AM", ["I"] * N_PUPILS, base=base, reason="flu",
                          barrier=barrier), results, "a"),
         _in_thread(_save(race, 1, day, "AM", ["M"] * N_PUPILS, base=base, reason="dentist",
                          barrier=barrier), results, "b"))
    assert not any(isinstance(r, BaseException) for r in results.values()), results
    marks, trail = _marks(day, "AM")
    a, b = results["a"], results["b"]
    if with_base:
        first, second = (a, b) if a["amended"] else (b, a)
        assert first["amended"] == N_PUPILS and second["amended"] == 0
        assert len(second["conflicts"]) == N_PUPILS
        won = "I" if first is a else "M"
        assert set(marks.values()) == {won}
        assert {(o, n) for _, o, n, _ in trail} == {("N", won)} and len(trail) == N_PUPILS
        assert {c.theirs for c in second["conflicts"]} == {won}
    else:
        assert a["amended"] == b["amended"] == N_PUPILS
        assert len(trail) == 2 * N_PUPILS
        for n in range(N_PUPILS):
            rows = [(o, new) for who, o, new, _ in trail if who == f"Race{n:02d}"]
            # A chain, never two rows from the same original: N -> x, then x -> the final mark.
            assert rows[0][0] == "N" and rows[1][0] == rows[0][1] and rows[1][1] == marks[who_(n)]


def who_(n):
    return f"Race{n:02d}"


@pytest.mark.django_db
def test_two_registers_of_one_week_saved_at_once_both_counted(race):
    """Two days of one week saved at the same moment both add to each pupil's week of "/"
    (registers_markweek): the rows of changes are only added, never locked, so the second
    save finishes while the first is still open, and the counts sum to the marks."""
    from registers.models import Mark, MarkWeek

    results, a_inside, b_done = {}, threading.Event(), threading.Event()

    def hold():  # the first save stays open until the second has committed
        a_inside.set()
        results["b_finished_first"] = b_done.wait(timeout=10)

    def b_target():
        a_inside.wait(timeout=10)
        try:
            return _save(race, 1, DAYS[7], "AM", ["/"] * N_PUPILS, base="")()
        finally:
            b_done.set()

    _run(_in_thread(_save(race, 0, DAYS[6], "AM", ["/"] * N_PUPILS, base="", hold=hold),
                    results, "a"),
         _in_thread(b_target, results, "b"))
    assert results["b_finished_first"] is True  # nobody waited for the other's week counts
    assert results["a"]["created"] == N_PUPILS and results["b"]["created"] == N_PUPILS
    with schema_context(SCHEMA):
        week = DAYS[6] - timedelta(days=DAYS[6].weekday())
        marks = Mark.objects.filter(date__range=(week, week + timedelta(days=6)), code="/")
        assert marks.filter(date__in=DAYS[6:8], session="AM").count() == 2 * N_PUPILS
        counted: dict = {}
        for pupil_id, n in MarkWeek.objects.filter(week=week, code="/").values_list("pupil_id", "n"):
            counted[pupil_id] = counted.get(pupil_id, 0) + n
        assert counted == {p: marks.filter(pupil_id=p).count()
                           for p in marks.values_list("pupil_id", flat=True)}
