"""The attendance lead prints the term's 100% certificates as one PDF, and a parent sees the
certificate on the portal (issue 19, "Done means"), in headless Chromium.

Uses the committed "browser" school (conftest.py): one register taken earlier this term, in
which Amira, Ben, Maximilian (present) and Chloé (late before the register closed) attend and
Zara is absent with no reason yet. Certificates render in the request through the letters
machinery (no worker needed).
"""

import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import reset_storage

from .conftest import PASSWORD, SCHEMA, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]

LEAD, PARENT = "browser_rec_lead", "browser_rec_parent"


@pytest.fixture(scope="module")
def recognition_setup(live, django_db_blocker, tmp_path_factory):
    from django.db import connection
    from django.test import override_settings
    from django_tenants.utils import schema_context

    from registers.models import Contact
    from tenants.models import School, User
    from tenants.roles import Role
    from tenants.services import person_grant

    media_setting = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("browser-recognition")))
    media_setting.enable()
    reset_storage()
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        school = School.objects.get(pk=live.school_id)
        school.headteacher = "Hazel Head"
        school.save(update_fields=["headteacher"])
        person_grant(username=LEAD, role=Role.ATTENDANCE_OFFICER, school=school, password=PASSWORD,
                     first_name="Lena", last_name="Lead")
        parent = person_grant(username=PARENT, role=Role.PARENT, school=school, password=PASSWORD,
                              first_name="Parveen", last_name="Ahmed")
        with schema_context(SCHEMA):
            Contact.objects.create(pupil_id=live.pupils["Ahmed"], priority=8, forename="Parveen",
                                   surname="Ahmed", user=parent)
        connection.set_schema_to_public()
    yield
    with django_db_blocker.unblock():
        from axes.models import AccessAttempt, AccessLog

        with schema_context(SCHEMA):
            from letters.models import Batch, Letter
            from recognition.models import Award

            Award.objects.all().delete()
            Letter.objects.filter(template_key="recognition-certificate").delete()
            Batch.objects.filter(label__startswith="Certificates").delete()
            Contact.objects.filter(pupil_id=live.pupils["Ahmed"], priority=8).delete()
            for model in (AccessLog, AccessAttempt):
                model.objects.filter(username__in=[LEAD, PARENT]).delete()
            User.objects.filter(username__in=[LEAD, PARENT]).delete()
        connection.set_schema_to_public()
    media_setting.disable()
    reset_storage()


def _rule_pk():
    from django_tenants.utils import schema_context

    from recognition.models import Rule

    with schema_context(SCHEMA):
        return Rule.objects.get(name="Termly 100% certificate").pk


def test_lead_prints_the_terms_certificates_and_a_parent_sees_one(page, live, recognition_setup):
    from django.utils import timezone
    from django_tenants.utils import schema_context
    from pypdf import PdfReader

    from recognition.selectors import periods

    with schema_context(SCHEMA):
        term = next(p for p in periods(timezone.localdate()) if p.kind == "term")

    login(page, live, LEAD)
    page.goto("/recognition/")
    page.get_by_label("Period").select_option(term.key)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_label("Award")).to_have_value(str(_rule_pk()))
    table = page.locator("#recognition-list")
    for name in ("Amira", "Ben", "Maximilian", "Chloé"):
        expect(table).to_contain_text(name)
    expect(table).not_to_contain_text("Zara")
    shot(page, "recognition-01-list")
    page.get_by_role("button", name="Print certificates (one PDF)").click()
    expect(page.get_by_text("4 certificate page(s) ready to print")).to_be_visible()
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download print pack").click()
    data = Path(dl.value.path()).read_bytes()
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 4  # one PDF, one certificate a page
    text = "\n".join(p.extract_text() for p in reader.pages)
    for expected in ("Amira", "Ben", "Maximilian", "Chloé", "4M", term.label, "Hazel Head"):
        assert expected in text
    assert "Zara" not in text
    shot(page, "recognition-02-batch")

    page.context.clear_cookies()
    login(page, live, PARENT)
    page.get_by_role("link", name="Certificates and awards").click()
    awards = page.locator(".awards")
    expect(awards).to_contain_text("100% attendance")
    expect(awards).to_contain_text(term.label)
    shot(page, "recognition-03-parent")
    href = page.get_by_role("link", name="View certificate").get_attribute("href")
    r = page.evaluate("""async (url) => {
        const r = await fetch(url);
        const body = new Uint8Array(await r.arrayBuffer());
        return {status: r.status, type: r.headers.get("content-type"), bytes: Array.from(body)};
    }""", href)
    assert r["status"] == 200 and r["type"] == "application/pdf"
    mine = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(bytes(r["bytes"]))).pages)
    assert "Amira" in mine and "Ben" not in mine
