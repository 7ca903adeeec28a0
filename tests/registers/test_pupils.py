"""Issue 11.3: imports change only what the file says, and every change to a pupil is on record."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction

from registers.imports import ImportRejected, import_contacts, import_pupils
from registers.models import Contact, Mark, Pupil, PupilHistory
from registers.pupils import history_context
from registers.services import RollError, pupil_off_roll
from tests.conftest import client_for

REQUIRED = ("upn,legal_surname,legal_forename,date_of_birth,gender,year_group,registration_group,"
            "admission_date\n")


def required_row(p: Pupil, **kw) -> str:
    v = {"surname": p.legal_surname, "forename": p.legal_forename, "admission": p.admission_date,
         **kw}
    return (f"{p.upn},{v['surname']},{v['forename']},{p.date_of_birth},{p.gender},"
            f"{p.year_group},{p.registration_group.name},{v['admission']}\n")


@pytest.fixture
def flagged(make_pupil):
    """A pupil with every flag a careless import could wipe."""
    return make_pupil(child_protection=True, lac=True, sen_status="E", pupil_premium=True,
                      fsm=True, eal=True, young_carer=True, social_worker=True,
                      address="1 High St, Leeds", medical_notes="Epipen in office",
                      preferred_forename="Sam")


SAFEGUARDING = ("child_protection", "lac", "sen_status", "pupil_premium", "fsm", "eal",
                "young_carer", "social_worker", "address", "medical_notes", "preferred_forename")


def snapshot(p: Pupil) -> dict:
    p.refresh_from_db()
    return {f: getattr(p, f) for f in SAFEGUARDING}


def test_required_columns_only_leave_flags_alone(flagged):
    before = snapshot(flagged)
    result = import_pupils(REQUIRED + required_row(flagged, surname="Newname"))
    assert result.updated == 1
    assert snapshot(flagged) == before
    assert flagged.legal_surname == "Newname"
    changed = set(PupilHistory.objects.filter(pupil=flagged, source="import")
                  .values_list("field", flat=True))
    assert changed == {"legal_surname"}


def test_empty_cell_in_a_present_column_clears_only_that_field(flagged):
    header = REQUIRED.strip() + ",child_protection,address\n"
    import_pupils(header + required_row(flagged).strip() + ",,\n")
    after = snapshot(flagged)
    assert after["child_protection"] is False and after["address"] == ""
    assert after["lac"] is True and after["sen_status"] == "E"
    assert after["medical_notes"] == "Epipen in office"
    rows = {h.field: (h.old_value, h.new_value)
            for h in PupilHistory.objects.filter(pupil=flagged, source="import")}
    assert rows == {"child_protection": ("true", "false"), "address": ("1 High St, Leeds", "")}


def test_new_pupil_from_required_columns_gets_defaults(school_a):
    from tests.conftest import make_upn

    upn = make_upn()
    import_pupils(REQUIRED + f"{upn},Khan,Aisha,2018-05-02,F,Reception,RK,2022-09-01\n")
    p = Pupil.objects.get(upn=upn)
    assert (p.year_group, p.child_protection, p.sen_status, p.address) == (0, False, "N", "")
    added = PupilHistory.objects.get(pupil=p)
    assert added.field == "record" and added.new_value.startswith("added: Aisha Khan")


def test_web_import_records_who_and_source_and_the_page_shows_it(flagged, people):
    client = client_for(people["office"])
    upload = SimpleUploadedFile("pupils.csv", (REQUIRED.strip() + ",sen_status\n"
                                               + required_row(flagged).strip() + ",K\n").encode())
    response = client.post("/imports/pupils/", {"file": upload})
    assert response.status_code == 302
    h = PupilHistory.objects.get(pupil=flagged, field="sen_status")
    assert (h.old_value, h.new_value, h.source, h.user_id) == ("E", "K", "import",
                                                                people["office"].pk)
    assert h.user_name == people["office"].get_full_name()
    page = client.get(f"/pupils/{flagged.pk}/").content.decode()
    assert 'id="pupil-history"' in page and "sen_status" in page and "Import" in page
    assert people["office"].get_full_name() in page
    # Parents see their child's page but not the record's history.
    parent_view = client_for(people["parent"]).get(f"/pupils/{flagged.pk}/")
    assert b"pupil-history" not in parent_view.content


def test_off_roll_form_is_recorded_as_a_form_change(calendar, make_pupil, people):
    p = make_pupil(admission=date(2025, 9, 1))
    client = client_for(people["office"])
    client.post(f"/pupils/{p.pk}/leave/", {"leaving_date": "2025-10-01", "ground": "moved_away"})
    rows = {h.field: h for h in PupilHistory.objects.filter(pupil=p, source="form")}
    assert rows["leaving_date"].new_value == "2025-10-01"
    assert rows["deletion_ground"].new_value == "moved_away"
    assert rows["leaving_date"].user_id == people["office"].pk


def test_changes_outside_any_context_are_recorded_as_system(flagged):
    Pupil.objects.filter(pk=flagged.pk).update(lac=False)
    h = PupilHistory.objects.get(pupil=flagged, field="lac")
    assert (h.source, h.user_id, h.old_value, h.new_value) == ("system", None, "true", "false")


def test_history_context_is_cleared_afterwards(flagged, people):
    with history_context(source="admin", user=people["head"]):
        Pupil.objects.filter(pk=flagged.pk).update(eal=False)
    Pupil.objects.filter(pk=flagged.pk).update(fsm=False)
    sources = dict(PupilHistory.objects.filter(pupil=flagged, field__in=["eal", "fsm"])
                   .values_list("field", "source"))
    assert sources == {"eal": "admin", "fsm": "system"}


@pytest.mark.parametrize("sql", [
    "UPDATE registers_pupilhistory SET new_value = 'x'",
    "DELETE FROM registers_pupilhistory",
    "TRUNCATE registers_pupilhistory",
])
def test_history_is_append_only(flagged, sql):
    """The app's role may only read and add to the history (attendance_site.db_roles); the
    table's trigger (migration registers 0007) refuses the same to the owner."""
    Pupil.objects.filter(pk=flagged.pk).update(lac=False)
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic(), \
            connection.cursor() as cur:
        cur.execute(sql)
    assert PupilHistory.objects.filter(pupil=flagged, field="lac").exists()


# --- roll dates and marks ---------------------------------------------------------------------

@pytest.fixture
def marked(calendar, make_pupil):
    p = make_pupil(admission=date(2025, 9, 1))
    Mark.objects.bulk_create([Mark(pupil=p, date=date(2025, 9, 2), session="AM", code="/"),
                              Mark(pupil=p, date=date(2025, 9, 3), session="PM", code="N"),
                              Mark(pupil=p, date=date(2025, 10, 6), session="AM", code="I")])
    return p


def test_import_refuses_admission_after_marks_and_names_them(marked):
    with pytest.raises(ImportRejected) as exc:
        import_pupils(REQUIRED + required_row(marked, admission="2025-09-10"))
    (error,) = exc.value.errors
    assert (error.line, error.field) == (2, "admission_date")
    assert "2025-09-02 AM /" in error.message and "2025-09-03 PM N" in error.message
    assert "2 mark(s)" in error.message
    marked.refresh_from_db()
    assert marked.admission_date == date(2025, 9, 1)
    assert not PupilHistory.objects.filter(pupil=marked, field="admission_date").exists()


def test_import_refuses_leaving_before_marks(marked):
    header = REQUIRED.strip() + ",leaving_date,deletion_ground\n"
    with pytest.raises(ImportRejected) as exc:
        import_pupils(header + required_row(marked).strip() + ",2025-09-30,moved_away\n")
    (error,) = exc.value.errors
    assert error.field == "leaving_date" and "2025-10-06 AM I" in error.message
    marked.refresh_from_db()
    assert marked.leaving_date is None


def test_import_checks_roll_dates_against_the_record_for_absent_columns(marked):
    """A file without leaving_date keeps the old one: the new admission must still fit it."""
    Pupil.objects.filter(pk=marked.pk).update(leaving_date=date(2025, 10, 10),
                                              deletion_ground="moved_away")
    with pytest.raises(ImportRejected) as exc:
        import_pupils(REQUIRED + required_row(marked, admission="2025-10-20"))
    assert {e.field for e in exc.value.errors} == {"leaving_date", "admission_date"}


def test_off_roll_before_marks_names_them(marked):
    with pytest.raises(RollError, match="2025-10-06 AM I"):
        pupil_off_roll(pupil=marked, leaving_date=date(2025, 9, 30), ground="moved_away")


def test_database_refuses_roll_dates_that_hide_marks_by_any_path(marked):
    with pytest.raises(DatabaseError, match="outside"), transaction.atomic():
        Pupil.objects.filter(pk=marked.pk).update(admission_date=date(2025, 9, 15))
    with transaction.atomic():  # earlier admission or no change: allowed
        Pupil.objects.filter(pk=marked.pk).update(admission_date=date(2025, 8, 1))


# --- contacts -------------------------------------------------------------------------------

CONTACTS = "upn,priority,title,forename,surname,relationship,mobile\n"


def test_contact_import_updates_in_place_and_records_changes(flagged, people):
    import_contacts(CONTACTS + f"{flagged.upn},1,Mrs,Sam,Khan,Mother,07700 900123\n"
                               f"{flagged.upn},2,Mr,Ali,Khan,Father,07700 900124\n")
    sam = Contact.objects.get(pupil=flagged, forename="Sam")
    # Swap the priorities and change a number: same rows, both priorities moved.
    import_contacts(CONTACTS + f"{flagged.upn},1,Mr,Ali,Khan,Father,07700 900124\n"
                               f"{flagged.upn},2,Mrs,Sam,Khan,Mother,07700 900999\n",
                    user=people["office"])
    sam2 = Contact.objects.get(pupil=flagged, forename="Sam")
    assert sam2.pk == sam.pk and sam2.priority == 2 and sam2.mobile == "07700 900999"
    changes = {(h.field, h.old_value, h.new_value) for h in
               PupilHistory.objects.filter(pupil=flagged, user=people["office"])}
    assert ("contact Sam Khan: mobile", "07700 900123", "07700 900999") in changes
    assert ("contact Sam Khan: priority", "1", "2") in changes
    assert ("contact Ali Khan: priority", "2", "1") in changes
    # A contact left out of the file is removed, and that is on record too.
    import_contacts(CONTACTS + f"{flagged.upn},1,Mr,Ali,Khan,Father,07700 900124\n")
    removed = PupilHistory.objects.get(pupil=flagged, field="contact Sam Khan",
                                       new_value="removed")
    assert removed.source == "import" and "Mother" in removed.old_value


def test_contact_import_without_optional_columns_keeps_details(flagged):
    import_contacts("upn,priority,forename,surname,email,address\n"
                    f"{flagged.upn},1,Sam,Khan,sam@example.org,1 High St\n")
    import_contacts(f"upn,priority,forename,surname\n{flagged.upn},1,Sam,Khan\n")
    c = Contact.objects.get(pupil=flagged)
    assert (c.email, c.address) == ("sam@example.org", "1 High St")


# --- the admin --------------------------------------------------------------------------------

def test_pupil_records_are_not_edited_through_the_django_admin(make_pupil):
    """The Django admin lives on the platform host only (attendance_site.admin_site), so no
    pupil record can be changed around the app's forms, imports and their history; even a
    superuser gets no admin on a school's host."""
    from django.contrib.auth import get_user_model

    pupil = make_pupil(lac=True)
    admin = get_user_model().objects.create_superuser("site_admin", "admin@example.org", "x" * 16)
    response = client_for(admin).post(f"/admin/registers/pupil/{pupil.pk}/change/",
                                      {"sen_status": "K"})
    assert response.status_code == 404
    pupil.refresh_from_db()
    assert pupil.lac and not PupilHistory.objects.filter(pupil=pupil, source="admin").exists()
