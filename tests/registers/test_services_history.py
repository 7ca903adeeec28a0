"""Loading a recorded register history (registers.services.marks_history_load), the demo
builder's only way to write marks: who took each mark and when is kept, and a load that clashes
with a mark already taken changes nothing."""

from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, transaction

from registers.models import Mark, MarkAmendment
from registers.services import marks_history_load

DAY = date(2025, 9, 2)
AT = datetime(2025, 9, 2, 8, 52, tzinfo=UTC)


def test_marks_and_amendments_keep_who_and_when(calendar, make_pupil, people):
    a, b = make_pupil(), make_pupil()
    office = people["office"]
    created = marks_history_load(
        [(a.pk, DAY, "AM", "/", None, office.pk, AT), (b.pk, DAY, "AM", "I", None, office.pk, AT)],
        [(b.pk, DAY, "AM", "N", None, "I", None, "Parent rang: ill", office.pk, "Olive Office",
          "office", AT)])
    assert created == (2, 1)
    assert {(m.pupil_id, m.code, m.recorded_by_id, m.recorded_at) for m in Mark.objects.all()} == {
        (a.pk, "/", office.pk, AT), (b.pk, "I", office.pk, AT)}
    amendment = MarkAmendment.objects.get()
    assert (amendment.original_code, amendment.new_code, amendment.reason, amendment.at) == (
        "N", "I", "Parent rang: ill", AT)


def test_a_clash_with_a_taken_mark_loads_nothing(calendar, make_pupil):
    a, b = make_pupil(), make_pupil()
    Mark.objects.create(pupil=b, date=DAY, session="AM", code="N")
    with pytest.raises(IntegrityError), transaction.atomic():
        marks_history_load([(a.pk, DAY, "AM", "/", None, None, AT),
                            (b.pk, DAY, "AM", "/", None, None, AT)], [])
    assert list(Mark.objects.values_list("pupil_id", "code")) == [(b.pk, "N")]
