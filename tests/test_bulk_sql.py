"""attendance_site.bulk_sql: rows written by COPY as the ORM would write them."""

from datetime import date

import pytest
from django.utils import timezone

from attendance_site.bulk_sql import insert_rows, update_rows


@pytest.fixture
def pupil(make_pupil):
    return make_pupil()


def test_insert_rows_copies_values_defaults_and_related_objects(pupil):
    from letters.models import Letter

    awkward = "tab\there, new\nline, back\\slash, quote ' and \" and ünïcode"
    before, context = timezone.now(), {"pct": 89.5, "x": [1, None]}
    assert insert_rows(Letter, [
        {"pupil": pupil, "template_key": "letter-1", "trigger_key": "a", "context": context},
        {"pupil_id": pupil.pk, "template_key": awkward, "trigger_key": "b", "night": date(2026, 1, 9)},
    ]) == []

    first, second = Letter.objects.order_by("trigger_key")
    assert (first.pupil_id, first.template_key, first.context) == (pupil.pk, "letter-1", context)
    assert (first.status, first.pages, first.night, first.case_id) == (Letter.Status.QUEUED, 0, None, None)
    assert first.created >= before  # auto_now_add
    assert (second.template_key, second.night, second.context) == (awkward, date(2026, 1, 9), {})


def test_insert_rows_on_conflict_and_returning(pupil):
    from letters.models import Letter

    insert_rows(Letter, [{"pupil": pupil, "template_key": "old", "trigger_key": "k"}])
    returned = insert_rows(Letter, [{"pupil": pupil, "template_key": "new", "trigger_key": "k"},
                                    {"pupil": pupil, "template_key": "new", "trigger_key": "k2"}],
                           on_conflict="ON CONFLICT DO NOTHING", returning="trigger_key, template_key")

    assert returned == [("k2", "new")]
    assert dict(Letter.objects.values_list("trigger_key", "template_key")) == {"k": "old", "k2": "new"}


def test_insert_rows_rejects_an_unknown_field_and_writes_nothing(pupil):
    from letters.models import Letter

    with pytest.raises(ValueError, match="Letter has no field tempalte_key"):
        insert_rows(Letter, [{"pupil": pupil, "tempalte_key": "x", "trigger_key": "k"}])
    assert not Letter.objects.exists()


def test_a_failed_insert_leaves_no_temporary_table_behind(pupil):
    from django.db import IntegrityError

    from letters.models import Letter

    with pytest.raises(IntegrityError, match="template_key"):  # NOT NULL, raised by the INSERT ... SELECT
        insert_rows(Letter, [{"pupil": pupil, "template_key": None, "trigger_key": "k"}],
                    on_conflict="ON CONFLICT DO NOTHING")
    insert_rows(Letter, [{"pupil": pupil, "template_key": "x", "trigger_key": "k"}],
                on_conflict="ON CONFLICT DO NOTHING")
    assert list(Letter.objects.values_list("template_key", flat=True)) == ["x"]


def test_update_rows_sets_only_the_named_fields(pupil):
    from letters.models import Letter

    insert_rows(Letter, [{"pupil": pupil, "template_key": f"t{i}", "trigger_key": f"k{i}"} for i in range(3)])
    letters = list(Letter.objects.order_by("trigger_key"))
    for i, letter in enumerate(letters[:2]):
        letter.status, letter.pages, letter.template_key = Letter.Status.PRINTED, i + 1, "not saved"

    assert update_rows(letters[:2], ["status", "pages"]) == 2
    assert list(Letter.objects.order_by("trigger_key").values_list("template_key", "status", "pages")) == [
        ("t0", "printed", 1), ("t1", "printed", 2), ("t2", "queued", 0)]
    assert update_rows([], ["status"]) == 0
