"""attendance_site.bulk_sql: rows written by COPY as the ORM would write them."""

from datetime import date

import pytest
from django.utils import timezone

from attendance_site.bulk_sql import FEW_ROWS, insert_rows, update_rows


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

    rows = [{"pupil": pupil, "template_key": "x" if i else None, "trigger_key": f"k{i}"}
            for i in range(FEW_ROWS + 1)]
    with pytest.raises(IntegrityError, match="template_key"):  # NOT NULL, raised by the INSERT ... SELECT
        insert_rows(Letter, rows, on_conflict="ON CONFLICT DO NOTHING")
    rows[0]["template_key"] = "x"
    insert_rows(Letter, rows, on_conflict="ON CONFLICT DO NOTHING")  # the same temporary table again
    assert Letter.objects.filter(template_key="x").count() == FEW_ROWS + 1


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


@pytest.mark.parametrize("conflict", ["", "ON CONFLICT DO NOTHING"])
def test_many_rows_go_by_copy_and_read_back_the_same(pupil, conflict):
    """Past FEW_ROWS the rows are streamed with COPY: straight in, or through a temporary
    table when there is an ON CONFLICT clause. Text COPY must escape what it would misread."""
    from letters.models import Letter

    n = FEW_ROWS * 3
    rows = [{"pupil": pupil, "trigger_key": f"k{i:03d}", "template_key": f"\\N\t{i}\r\n\\",
             "context": {"i": i, "s": "a\tb\\c"}, "night": date(2026, 1, 9) if i % 2 else None}
            for i in range(n)]
    insert_rows(Letter, rows, on_conflict=conflict)
    if conflict:
        insert_rows(Letter, rows, on_conflict=conflict)  # all kept as they were

    got = list(Letter.objects.order_by("trigger_key").values("template_key", "context", "night"))
    assert got == [{"template_key": r["template_key"], "context": r["context"], "night": r["night"]}
                   for r in rows]
