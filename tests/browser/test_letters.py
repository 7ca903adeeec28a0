"""The attendance lead previews a letter template, runs a batch on a real Celery worker,
watches its progress and downloads the combined PDF (headless Chromium via Playwright).

Uses the ``live`` browser school (conftest.py) and adds, committed and removed at the end:
an attendance lead, contacts flagged for correspondence, marks, and a letter template. A
Celery worker subprocess on the test database renders the batch.
"""

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import reset_storage
from tests.factories import ContactFactory

from .conftest import PASSWORD, SCHEMA, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]

LEAD = "browser_lead"
ROOT = Path(__file__).resolve().parents[2]
BODY = ("<p>{{ salutation }},</p><p>{{ pupil.forename }} ({{ pupil.class }}) attendance is "
        "{{ attendance.pct }}% this year: {{ attendance.band }}.</p><p>{{ signatory.name }}</p>")


@pytest.fixture(scope="module")
def letters_setup(live, django_db_blocker, tmp_path_factory):
    from django.db import connection
    from django.test import override_settings
    from django_tenants.utils import schema_context

    from attendance_site.celery import app
    from letters import services
    from registers.models import Pupil
    from tenants.models import School, User
    from tenants.roles import Role
    from tenants.services import person_grant

    media = tmp_path_factory.mktemp("browser-letters-media")
    log = tmp_path_factory.mktemp("browser-letters-log") / "worker.log"
    media_setting = override_settings(MEDIA_ROOT=str(media))
    media_setting.enable()
    reset_storage()
    with django_db_blocker.unblock():
        school = School.objects.get(schema_name=SCHEMA)
        person_grant(username=LEAD, role=Role.ATTENDANCE_OFFICER, school=school, password=PASSWORD,
                     first_name="Lena", last_name="Lead")
        with schema_context(SCHEMA):
            template = services.template_save(key="browser_letter", name="Browser letter", body=BODY)
            for i, p in enumerate(Pupil.objects.all()):
                ContactFactory(pupil=p, priority=1, title="Mrs", forename="Parent",
                               surname=p.legal_surname, correspondence=True,
                               address=f"{i} Browser Road\nLeeds")
        db = connection.settings_dict
        url = (f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
               f"{db['PORT'] or 5432}/{db['NAME']}")
    app.control.purge()
    out = open(log, "wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "attendance_site", "worker", "--concurrency=2",
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"browser-letters-{os.getpid()}@%h"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url, "MEDIA_ROOT": str(media)},
        stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while "ready." not in log.read_text(errors="replace"):
            assert proc.poll() is None and time.time() < deadline, log.read_text(errors="replace")[-2000:]
            time.sleep(0.3)
        yield {"template_id": template.pk}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()
        with django_db_blocker.unblock(), schema_context(SCHEMA):
            from axes.models import AccessAttempt, AccessLog

            AccessLog.objects.filter(username=LEAD).delete()
            AccessAttempt.objects.filter(username=LEAD).delete()
            User.objects.filter(username=LEAD).delete()
        media_setting.disable()
        reset_storage()


def test_lead_previews_runs_a_batch_watches_progress_and_downloads_the_pdf(page, live, letters_setup):
    from pypdf import PdfReader

    login(page, live, LEAD)
    page.goto(f"/letters/templates/{letters_setup['template_id']}/")
    # Live preview against a real pupil.
    page.get_by_label("Preview for").select_option(label="4M – Carter, Ben")
    preview = page.frame_locator("#preview")
    expect(preview.get_by_text("Ben (4M) attendance is")).to_be_visible()
    expect(preview.get_by_text("Dear Mrs Carter,")).to_be_visible()
    # A typo in a merge field is named before saving.
    body = page.get_by_label("Body")
    body.fill(BODY + "<p>{{ pupil.nickname }}</p>")
    expect(page.locator("#preview-error")).to_contain_text("Unknown merge field 'pupil.nickname'")
    body.fill(BODY)
    expect(page.locator("#preview-error")).to_be_hidden()
    shot(page, "letters-template-preview")

    # Run a batch for the class.
    page.goto("/letters/batches/new/")
    page.get_by_label("Template").select_option(label="Browser letter")
    page.get_by_label("Audience").select_option("group")
    page.get_by_label("Class").select_option(label="4M")
    page.get_by_label("Trigger").fill("browser:spring")
    page.get_by_label("Email to contacts flagged for correspondence").uncheck()
    page.get_by_role("button", name="Render and send").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Browser letter")
    # Progress: the bar reaches 100% and the page reports the batch finished.
    expect(page.locator("#progress-text")).to_contain_text("finished", timeout=60_000)
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#progress-text")).to_contain_text("5 of 5 done")
    shot(page, "letters-batch-done")

    with page.expect_download() as dl:
        page.get_by_role("link", name="Download print pack").click()
    data = Path(dl.value.path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert len(PdfReader(io.BytesIO(data)).pages) == 5
    for name in ("Amira (4M)", "Ben (4M)", "Zara (4M)", "Chloé (4M)"):
        assert name in text
