"""The set-based write path for marks (registers.services.marks_write_staged): what imports and
the nightly N → O use. "Every amendment of a register entry keeps the original entry, the
amended entry, the reason, the date and the name and role of the person who made it"
(docs/domain.md section 9)."""

from datetime import date

from django.db import connection, transaction

from registers.models import Mark, MarkAmendment
from registers.services import STAGING_COLUMNS, marks_write_staged
from tests.factories import MarkFactory

DAY = date(2025, 9, 2)


def _stage(rows):
    with connection.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE staged ({STAGING_COLUMNS}) ON COMMIT DROP")
        for pupil_id, day, session, code, minutes in rows:
            cur.execute("INSERT INTO staged VALUES (%s, %s, %s, %s, %s)",
                        [pupil_id, day, session, code, minutes])


def test_creates_changes_and_leaves_equal_marks_with_one_amendment_each(calendar, make_pupil):
    a, b, c = make_pupil(), make_pupil(), make_pupil()
    MarkFactory(pupil=a, date=DAY, session="AM", code="N")
    MarkFactory(pupil=b, date=DAY, session="AM", code="/")
    with transaction.atomic():
        _stage([(a.pk, DAY, "AM", "I", None), (b.pk, DAY, "AM", "/", None),
                (c.pk, DAY, "AM", "L", 7)])
        written = marks_write_staged(table="staged", user_name="import", role="import",
                                     reason="import")
    assert (written.created, written.updated) == (1, 1)
    assert {m.pupil_id: (m.code, m.minutes_late) for m in Mark.objects.all()} == {
        a.pk: ("I", None), b.pk: ("/", None), c.pk: ("L", 7)}
    amendment = MarkAmendment.objects.get()
    assert (amendment.pupil_id, amendment.original_code, amendment.new_code, amendment.reason,
            amendment.user_name, amendment.role) == (a.pk, "N", "I", "import", "import", "import")


def test_only_from_changes_marks_still_n_and_creates_none(calendar, make_pupil):
    still_n, explained, unmarked = make_pupil(), make_pupil(), make_pupil()
    MarkFactory(pupil=still_n, date=DAY, session="PM", code="N")
    # the office recorded a reason after the job staged its rows: the I must stay
    MarkFactory(pupil=explained, date=DAY, session="PM", code="I")
    with transaction.atomic():
        _stage([(still_n.pk, DAY, "PM", "O", None), (explained.pk, DAY, "PM", "O", None),
                (unmarked.pk, DAY, "PM", "O", None)])
        written = marks_write_staged(table="staged", user_name="Nightly job", role="Nightly job",
                                     reason="No reason received", only_from="N")
    assert (written.created, written.updated) == (0, 1)
    assert dict(Mark.objects.values_list("pupil_id", "code")) == {still_n.pk: "O", explained.pk: "I"}
    assert list(MarkAmendment.objects.values_list("pupil_id", "original_code", "new_code")) == [
        (still_n.pk, "N", "O")]


def test_fresh_span_inserts_in_one_statement_when_nothing_is_there(calendar, make_pupil,
                                                                   django_assert_max_num_queries):
    pupils = [make_pupil() for _ in range(3)]
    with transaction.atomic():
        _stage([(p.pk, DAY, s, "/" if s == "AM" else "\\", None) for p in pupils for s in ("AM", "PM")])
        with django_assert_max_num_queries(4):  # exists check, savepoint, insert, release
            written = marks_write_staged(table="staged", user_name="import", role="import",
                                         reason="import",
                                         fresh_span=([p.pk for p in pupils], DAY, DAY))
    assert (written.created, written.updated) == (6, 0)
    assert not MarkAmendment.objects.exists()
