"""Evidence attached to a report (issue 14 item 3: "A parent can attach evidence (a medical
appointment card) to a report").

PDF, JPEG or PNG judged by content (never the name or the browser's type), at most 5 MB,
stored under a random name in the school's own media folder (no URL serves it), downloaded
only by the school's staff and the child's parent, as an attachment with its checked type.
"""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from absences import services
from absences.models import AbsenceReport
from tests.conftest import client_for
from tests.factories import ContactFactory

from .test_services import TUE, at, report

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def up(name, data, content_type="application/pdf"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.mark.parametrize("name,data,ctype", [
    ("card.pdf", PDF, "application/pdf"), ("photo.JPG", JPEG, "image/jpeg"),
    ("scan.png", PNG, "image/png"),
    # The name does not matter, the content does: stored and served as what it is.
    ("card.html", PDF, "application/pdf"), ("../../../../etc/passwd", PNG, "image/png"),
])
def test_a_pdf_jpeg_or_png_is_kept_under_a_random_name(family, people, school_a, name, data, ctype,
                                                       media):
    r = report(school_a, family["child"], people["parent"], first_day=TUE, last_day=TUE,
               evidence=up(name, data, "text/html"))
    r.refresh_from_db()
    assert r.evidence_type == ctype
    assert r.evidence.name.startswith("evidence/") and ".." not in r.evidence.name
    assert r.evidence.name.rsplit(".", 1)[1] == {"application/pdf": "pdf", "image/jpeg": "jpg",
                                                 "image/png": "png"}[ctype]
    r.evidence.open("rb")
    assert r.evidence.read() == data
    r.evidence.close()
    assert "static" not in r.evidence.path


HOSTILE = {
    "html-named-pdf": ("appointment.pdf", b"<html><script>alert(1)</script></html>"),
    "svg-named-png": ("card.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    "exe-named-jpg": ("card.jpg", b"MZ\x90\x00\x03" + b"\x00" * 60),
    "magic-only": ("card.pdf", b"%PDF-"),
    "empty": ("card.png", b""),
    "zip-named-pdf": ("card.pdf", b"PK\x03\x04" + b"\x00" * 60),
    "pdf-magic-late": ("card.pdf", b"  %PDF-1.4 hidden after spaces"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_uploads_are_refused_and_nothing_is_saved(family, people, school_a, kind, media):
    name, data = HOSTILE[kind]
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        report(school_a, family["child"], people["parent"], first_day=TUE, last_day=TUE,
               evidence=up(name, data))
    assert "PDF, JPEG or PNG" in " ".join(exc.value.message_dict["evidence"])
    assert not AbsenceReport.objects.exists()


def test_more_than_5_mb_is_refused(family, people, school_a, media):
    from django.core.exceptions import ValidationError

    big = PDF + b"0" * (5 * 1024 * 1024)
    with pytest.raises(ValidationError) as exc:
        report(school_a, family["child"], people["parent"], first_day=TUE, last_day=TUE,
               evidence=up("card.pdf", big))
    assert "largest file you can upload is 5 MB" in " ".join(exc.value.message_dict["evidence"])
    assert not AbsenceReport.objects.exists()


@pytest.fixture
def with_evidence(family, people, school_a):
    r = report(school_a, family["child"], people["parent"], first_day=TUE, last_day=TUE,
               evidence=up("card.pdf", PDF))
    return r


@pytest.mark.parametrize("who", ["parent", "office", "head", "attendance_officer"])
def test_staff_and_the_parent_download_it_as_an_attachment(with_evidence, people, who):
    r = client_for(people[who]).get(f"/absences/reports/{with_evidence.pk}/evidence/")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"].startswith("attachment;")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert b"".join(r.streaming_content) == PDF


@pytest.mark.parametrize("who,status", [("teacher", 403), ("governor", 403), ("dsl", 403),
                                        ("other_school_office", 404), (None, 302)])
def test_nobody_else_can_download_it(with_evidence, people, who, status):
    r = client_for(people[who] if who else None).get(
        f"/absences/reports/{with_evidence.pk}/evidence/")
    assert r.status_code == status


def test_another_familys_parent_gets_404(with_evidence, family, people, school_a):
    from tenants.roles import Role
    from tenants.services import person_grant

    stranger = person_grant(username="another_parent", role=Role.PARENT, school=school_a)
    ContactFactory(pupil=family["other"], priority=2, forename="Ola", surname="Other",
                   user=stranger)
    client = client_for(stranger)
    assert client.get(f"/absences/reports/{with_evidence.pk}/evidence/").status_code == 404
    r = client.post(f"/absences/reports/{with_evidence.pk}/evidence/add/",
                    {"evidence": up("x.png", PNG)})
    assert r.status_code == 404


def test_from_another_school_the_report_does_not_exist(with_evidence, people):
    r = client_for(people["other_school_office"], host="b.localhost").get(
        f"/absences/reports/{with_evidence.pk}/evidence/")
    assert r.status_code == 404


def test_parent_adds_evidence_later_when_the_office_asks(family, people, school_a, media):
    r = report(school_a, family["child"], people["parent"], first_day=TUE, last_day=TUE)
    services.absence_report_query(report=r, user=people["office"], message="Please send the card.")
    client = client_for(people["parent"])
    resp = client.post(f"/absences/reports/{r.pk}/evidence/add/", {"evidence": up("card.jpg", JPEG)})
    assert resp.status_code == 302
    r.refresh_from_db()
    assert r.evidence_type == "image/jpeg"
    first = r.evidence.name
    # A hostile replacement is refused and the first file kept.
    client.post(f"/absences/reports/{r.pk}/evidence/add/", {"evidence": up("x.pdf", b"<html>")})
    r.refresh_from_db()
    assert (r.evidence_type, r.evidence.name) == ("image/jpeg", first)
    # The report goes back to the office's waiting list, with the link.
    assert r.status == "new"
    page = client_for(people["office"]).get("/absences/inbox/").content.decode()
    assert f"/absences/reports/{r.pk}/evidence/" in page


def test_report_form_upload_end_to_end(live_family, people, school_a, media):
    from django.utils import timezone

    from .conftest import next_school_day

    day = next_school_day(timezone.localdate())
    r = client_for(people["parent"]).post(
        f"/absences/children/{live_family['child'].pk}/report/",
        {"reason": "medical", "first_day": day.isoformat(), "last_day": day.isoformat(),
         "first_session": "AM", "last_session": "PM", "evidence": up("card.png", PNG)})
    assert r.status_code == 302
    assert AbsenceReport.objects.get().evidence_type == "image/png"


def test_late_reports_stay_flagged_for_the_office(family, people, school_a):
    """Why the morning was missed, sent at 11:00, reaches the office flagged late."""
    r = report(school_a, family["child"], people["parent"], first_day=date(2026, 1, 12),
               last_day=date(2026, 1, 12), now=at(date(2026, 1, 12), 11, 0))
    assert r.late
    page = client_for(people["office"]).get("/absences/inbox/").content.decode()
    assert "Late report: sent after the register closed" in page
