"""The week counts (registers_markweek, migration 0017) always sum to the marks they count.

The dashboards read a pupil's whole weeks from these counts instead of the marks (issue 18.4),
so every write path must keep them exact: a register save and its amendments, a bulk
insert, Django's bulk_update, a raw UPDATE that moves a mark to another week, deletions of
marks and of a pupil with their marks, a history load, the imports' staged writes. Each test
compares the stored counts, summed by pupil, week and code, with the same counts made here
in Python from the marks; and after the nightly merge (``mark_weeks_compact``) each is one
row, none at 0.
"""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from registers.models import Mark, MarkWeek, Pupil
from registers.services import Entry, mark_amend, mark_weeks_compact, marks_history_load, marks_save
from tests.conftest import weekdays

DAYS = weekdays(date(2025, 9, 2), 15)  # three school weeks from Tuesday 2 September
SLOTS = {"AM": "am", "PM": "pm"}


def counted_in_python() -> dict:
    """(pupil, Monday, code) -> the counts, made from the marks one by one."""
    out: dict = defaultdict(lambda: defaultdict(int))
    for m in Mark.objects.all():
        row = out[(m.pupil_id, m.date - timedelta(days=m.date.weekday()), m.code)]
        late = m.minutes_late or 0
        for suffix in ("", f"_{SLOTS[m.session]}", f"_d{m.date.isoweekday()}"):
            row[f"n{suffix}"] += 1
            row[f"mins{suffix}"] += late
    return {k: {f: n for f, n in v.items() if n} for k, v in out.items()}


def stored() -> dict:
    """(pupil, Monday, code) -> the stored counts, summed over the rows of changes."""
    out: dict = defaultdict(lambda: defaultdict(int))
    for row in MarkWeek.objects.values():
        del row["id"]
        key = (row.pop("pupil_id"), row.pop("week"), row.pop("code"))
        for f, n in row.items():
            out[key][f] += n
    return {k: {f: n for f, n in v.items() if n} for k, v in out.items() if v["n"] or any(v.values())}


def assert_counts_exact():
    """Exact as the rows of changes stand, and again once merged as the night merges them."""
    want = counted_in_python()
    assert stored() == want
    mark_weeks_compact()
    assert stored() == want
    assert MarkWeek.objects.count() == len(want)  # one row a pupil, week and code
    assert not MarkWeek.objects.filter(n=0).exists()


@pytest.fixture
def pupils(calendar, make_pupil):
    return [make_pupil() for _ in range(6)]


def random_marks(pupils, rng, days=DAYS):
    return [Mark(pupil=p, date=d, session=s, code=rng.choice("/\\LUINGMCO"),
                 minutes_late=rng.randrange(1, 40) if rng.random() < 0.2 else None)
            for p in pupils for d in days for s in ("AM", "PM")]


def test_bulk_insert_counted_by_week_code_session_and_day(pupils):
    Mark.objects.bulk_create(random_marks(pupils, random.Random(1)), batch_size=37)
    assert MarkWeek.objects.count() > len(pupils) * 3  # several codes a week
    assert_counts_exact()


def test_updates_moves_and_deletions_keep_the_counts(pupils):
    rng = random.Random(2)
    Mark.objects.bulk_create(random_marks(pupils, rng))
    marks = list(Mark.objects.order_by("id"))
    for m in rng.sample(marks, 40):  # Django's bulk_update: one UPDATE ... CASE statement
        m.code, m.minutes_late = rng.choice("/IN"), rng.choice([None, 5])
    Mark.objects.bulk_update(marks, ["code", "minutes_late"])
    assert_counts_exact()
    Mark.objects.filter(code="N").update(code="O")  # a queryset update
    assert_counts_exact()
    with connection.cursor() as cur:  # raw SQL moving marks into another week (a weekend too)
        cur.execute(f"UPDATE {Mark._meta.db_table} SET date = date + 40 "
                    "WHERE id %% 7 = 0 AND date < %s", [DAYS[3]])
    assert_counts_exact()
    Mark.objects.filter(code="I").delete()
    assert_counts_exact()
    leaver = pupils[0].pk
    assert MarkWeek.objects.filter(pupil_id=leaver).exists()
    pupils[0].delete()  # a pupil deleted with their marks: their counts go too
    assert not Mark.objects.filter(pupil_id=leaver).exists()
    assert MarkWeek.objects.filter(pupil_id=leaver, n__lt=0).exists()  # rows of changes
    assert_counts_exact()
    assert not MarkWeek.objects.filter(pupil_id=leaver).exists()
    Mark.objects.all().delete()
    assert stored() == {}
    mark_weeks_compact()
    assert not MarkWeek.objects.exists()


def test_register_saves_and_amendments(school_a, pupils, people):
    office = people["office"]
    for day in DAYS[:4]:
        marks_save(school=school_a, day=day, session="AM", pupils=pupils,
                   entries=[Entry(p.pk, "/", None, "", "") for p in pupils], user=office,
                   role="Office / admin")
    before = stored()
    # A late arrival recorded afterwards, and an absence explained: amendments of saved marks.
    mark_amend(school=school_a, pupil=pupils[1], day=DAYS[1], session="AM", code="L",
               minutes_late=12, reason="Arrived 9.12", user=office, role="Office / admin")
    mark_amend(school=school_a, pupil=pupils[2], day=DAYS[2], session="AM", code="I",
               minutes_late=None, reason="Parent rang: ill", user=office, role="Office / admin")
    assert_counts_exact()
    monday = DAYS[1] - timedelta(days=DAYS[1].weekday())
    assert before[(pupils[1].pk, monday, "/")]["n"] - 1 == stored()[(pupils[1].pk, monday, "/")]["n"]
    assert stored()[(pupils[1].pk, monday, "L")] == {
        "n": 1, "mins": 12, "n_am": 1, "mins_am": 12,
        f"n_d{DAYS[1].isoweekday()}": 1, f"mins_d{DAYS[1].isoweekday()}": 12}


def test_history_load_by_copy(pupils):
    at = datetime(2025, 9, 1, 8, 50, tzinfo=UTC)
    marks_history_load([(p.pk, d, "PM", "\\", None, None, at) for p in pupils for d in DAYS], [])
    assert_counts_exact()
    assert sum(r.n for r in MarkWeek.objects.all()) == len(pupils) * len(DAYS)


def test_staged_writes_of_imports_and_the_night(pupils):
    """marks_write_staged: an import's first INSERT ... SELECT, its changes (UPDATE ... FROM)
    and the nightly N -> O, each one statement over many pupils."""
    from django.db import transaction

    from registers.services import STAGING_COLUMNS, marks_write_staged

    def write(rows, **kw):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE staged ({STAGING_COLUMNS}) ON COMMIT DROP")
            cur.executemany("INSERT INTO staged VALUES (%s, %s, %s, %s, %s)", rows)
            marks_write_staged(table="staged", user_name="import", role="import",
                               reason="import", **kw)
            cur.execute("DROP TABLE staged")  # the test's transaction never commits

    first = [(p.pk, d, "AM", "N" if i % 3 else "/", None) for i, p in enumerate(pupils)
             for d in DAYS]
    write(first, fresh_span=([p.pk for p in pupils], DAYS[0], DAYS[-1]))
    assert_counts_exact()
    write([(p, d, s, "L", 4) for p, d, s, _, _ in first[::4]])  # an import changing marks
    assert_counts_exact()
    write([(p, d, s, "O", None) for p, d, s, _, _ in first], only_from="N")  # the night
    assert_counts_exact()
    assert not MarkWeek.objects.filter(code="N").exists()


def test_a_pupil_in_another_school_is_not_counted_here(school_a, school_b, pupils):
    """The counts are per school schema: another school's marks never reach them."""
    from django_tenants.utils import schema_context

    from tests.factories import PupilFactory

    Mark.objects.bulk_create(random_marks(pupils[:1], random.Random(3), days=DAYS[:2]))
    here = stored()
    with schema_context(school_b.schema_name):
        other = PupilFactory()
        Mark.objects.create(pupil=other, date=DAYS[0], session="AM", code="/")
        assert MarkWeek.objects.count() == 1
    assert stored() == here
    assert Pupil.objects.filter(pk=other.pk, upn=other.upn).count() == 0
