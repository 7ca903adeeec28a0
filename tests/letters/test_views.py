"""Pages: who may see what (other school 404, wrong role 403), previews, returns workflow."""

from datetime import date
from unittest import mock

import pytest

from letters import presets, services
from letters.models import Batch, LAReturn, LetterTemplate
from tests.conftest import client_for

from .conftest import contact, mark, school_days


@pytest.fixture
def sam(calendar, make_pupil):
    p = make_pupil(group="4B", year_group=4, legal_forename="Samuel", legal_surname="Smith",
                   preferred_forename="Sam")
    mark(p, school_days(date(2026, 1, 5), 10), "O")
    contact(p)
    return p


def test_letters_pages_role_and_school_scoped(people, sam):
    lead = client_for(people["attendance_officer"])
    assert lead.get("/letters/").status_code == 200
    assert lead.get("/letters/batches/new/").status_code == 200
    t = LetterTemplate.objects.get(key="traffic_light")
    assert lead.get(f"/letters/templates/{t.pk}/").status_code == 200
    assert client_for(people["teacher"]).get("/letters/").status_code == 403
    assert client_for(people["office"]).get("/letters/batches/new/").status_code == 403
    assert client_for(people["other_school_office"]).get("/letters/").status_code == 404
    assert client_for(people["other_school_office"], host="b.localhost").get(
        f"/letters/templates/{t.pk}/").status_code in (403, 404)


def test_live_preview_merges_a_real_pupil_and_names_unknown_fields(people, sam):
    lead = client_for(people["attendance_officer"])
    body = "<p>Hello {{ pupil.forename }} in {{ pupil.class }}</p>"
    r = lead.post("/letters/templates/preview/", {"body": body, "kind": "letter", "pupil": sam.pk})
    assert r.json()["ok"] and "Hello Sam in 4B" in r.json()["html"]
    r = lead.post("/letters/templates/preview/", {"body": "{{ pupil.shoe }}", "kind": "letter"})
    assert r.json() == {"ok": False, "error": "Unknown merge field 'pupil.shoe'."}
    r = lead.post("/letters/templates/preview/", {"body": presets.STLUKES_95, "kind": "letter",
                                                  "pupil": sam.pk, "format": "pdf"})
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert client_for(people["office"]).post("/letters/templates/preview/", {"body": "x"}).status_code == 403


def test_saving_a_template_with_an_unknown_field_shows_the_field(people, school_a):
    lead = client_for(people["attendance_officer"])
    r = lead.post("/letters/templates/new/", {"key": "new", "name": "New", "kind": "letter",
                                              "body": "<p>{{ pupil.favourite_colour }}</p>", "active": "on"})
    assert r.status_code == 200 and "pupil.favourite_colour" in r.content.decode()
    assert not LetterTemplate.objects.filter(key="new").exists()
    r = lead.post("/letters/templates/new/", {"key": "new", "name": "New", "kind": "letter",
                                              "body": "<p>{{ pupil.forename }}</p>", "active": "on"})
    assert r.status_code == 302 and LetterTemplate.objects.get(key="new").updated_by_name


def test_batch_for_a_year_group_is_queued_after_commit(people, sam, make_pupil,
                                                       django_capture_on_commit_callbacks):
    make_pupil(group="3A", year_group=3)
    lead = client_for(people["attendance_officer"])
    t = LetterTemplate.objects.get(key="traffic_light")
    with mock.patch("letters.tasks.render_chunk.apply_async") as delay, \
            django_capture_on_commit_callbacks(execute=True):
        r = lead.post("/letters/batches/new/", {"template": t.pk, "audience": "year", "year_group": 4,
                                                "trigger_key": "tl:autumn1", "send_email": "on"})
    batch = Batch.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/letters/batches/{batch.pk}/"
    assert batch.total == 1 and batch.letters.get().pupil == sam
    delay.assert_called_once()
    assert delay.call_args.kwargs["args"] == (batch.chunks.get().pk,)
    assert batch.chunks.get().letter_ids == [batch.letters.get().pk]
    p = lead.get(f"/letters/batches/{batch.pk}/progress/").json()
    assert p["total"] == 1 and p["queued"] == 1 and p["status"] == "rendering"


def test_returns_workflow_and_la_officer_reads_submitted_only(people, sam):
    lead = client_for(people["attendance_officer"])
    r = lead.post("/letters/returns/", {"kind": "attendance", "period_start": "2026-01-01",
                                        "period_end": "2026-03-31"})
    ret = LAReturn.objects.get()
    assert r.status_code == 302 and ret.entries.get().upn == sam.upn
    entry = ret.entries.get()
    la = client_for(people["la_officer"])
    assert la.get(f"/letters/returns/{ret.pk}/").status_code == 404      # draft: not there
    assert la.get(f"/letters/returns/{ret.pk}/export.csv").status_code == 404
    assert sam.upn not in la.get("/letters/returns/").content.decode()
    # Leaving a pupil out needs a note.
    lead.post(f"/letters/returns/{ret.pk}/", {"action": "entry", "entry": entry.pk, "note": "",
                                             "address": "x"})
    entry.refresh_from_db()
    assert entry.included
    lead.post(f"/letters/returns/{ret.pk}/", {"action": "entry", "entry": entry.pk, "included": "on",
                                             "note": "checked", "address": "7 Corrected Road"})
    lead.post(f"/letters/returns/{ret.pk}/", {"action": "submit"})
    ret.refresh_from_db()
    assert ret.status == "submitted" and ret.submitted_by == people["attendance_officer"]
    assert ret.submitted_at is not None
    # Submitted: read-only, readable by the LA officer (CSV and PDF), not by a teacher.
    r = lead.post(f"/letters/returns/{ret.pk}/", {"action": "entry", "entry": entry.pk, "note": "late"})
    assert r.status_code == 403
    csv_text = la.get(f"/letters/returns/{ret.pk}/export.csv").content.decode()
    assert sam.upn in csv_text and "7 Corrected Road" in csv_text and "O:20" in csv_text
    r = la.get(f"/letters/returns/{ret.pk}/export.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    from letters.pdf import pdf_text

    assert "Submitted" in pdf_text(r.content) or "submitted" in pdf_text(r.content)
    assert la.post("/letters/returns/", {"kind": "cme", "period_start": "2026-01-01",
                                         "period_end": "2026-03-31"}).status_code == 403
    assert client_for(people["teacher"]).get("/letters/returns/").status_code == 403
    assert client_for(people["other_school_office"]).get("/letters/returns/").status_code == 404


def test_scheduled_returns_are_drafted_when_due(school_a, calendar):
    made = services.returns_generate_due(today=date(2025, 10, 2))
    kinds = {r.kind for r in made}
    assert kinds == {"attendance", "sickness", "cme", "new_pupils", "deletions"}  # a month since 1 Aug
    assert services.returns_generate_due(today=date(2025, 10, 3)) == []           # nothing due next day
    again = services.returns_generate_due(today=date(2025, 10, 9))
    assert {r.kind for r in again} == {"cme", "new_pupils", "deletions"}          # weekly ones
    assert all(r.scheduled for r in again)


def test_census_page_and_csv(people, sam):
    lead = client_for(people["attendance_officer"])
    r = lead.get("/letters/census/", {"term": "spring", "year": 2025})
    assert r.status_code == 200 and sam.upn in r.content.decode()
    r = lead.get("/letters/census/", {"term": "spring", "year": 2025, "format": "csv"})
    assert r["Content-Type"].startswith("text/csv") and sam.upn in r.content.decode()


def test_evidence_pack_download_and_pupil_letters(people, sam):
    lead = client_for(people["attendance_officer"])
    r = lead.get(f"/letters/pupil/{sam.pk}/evidence.pdf",
                 {"date_from": "2026-01-01", "date_to": "2026-01-31"})
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert lead.get(f"/letters/pupil/{sam.pk}/").status_code == 200
    assert client_for(people["teacher"]).get(f"/letters/pupil/{sam.pk}/evidence.pdf").status_code == 403
