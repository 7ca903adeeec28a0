"""A real Celery worker renders a batch; a second run of the same trigger sends nothing.

The worker is a separate process (``celery -A attendance_site worker``) pointed at the
test database, so the data it reads must be committed: this test does not use the rolled-
back ``db`` fixture. It creates a dedicated school (schema ``letters_worker``) with committed
data and drops it at the end, so rolled-back tests elsewhere never see it.
"""

import os
import time
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import celery_worker, drop_committed_schools, subprocess_database_url
from tests.factories import ContactFactory, PupilFactory, RegistrationGroupFactory

from .conftest import reset_storage

ROOT = Path(__file__).resolve().parents[2]
SCHEMA, DOMAIN = "letters_worker", "letters-worker.localhost"


def _populate():
    from django_tenants.utils import schema_context

    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry
    from tenants.services import school_create
    from tests.conftest import make_upn

    from .conftest import mark, school_days

    school_create(schema=SCHEMA, name="Worker Test Primary", domain=DOMAIN, preset="beecroft")
    with schema_context(SCHEMA):
        calendar_replace(entries=[CalendarEntry(kind="term", start_date=date(2026, 1, 5),
                                                end_date=date(2026, 3, 27), label="Spring 1")])
        y4 = RegistrationGroupFactory(name="4W", year_group=4)
        y3 = RegistrationGroupFactory(name="3W", year_group=3)
        days = school_days(date(2026, 1, 5), 20)
        for i in range(45):
            group = y4 if i < 41 else y3
            p = PupilFactory(upn=make_upn(estab=7001, serial=i), legal_surname=f"Worker{i:02d}",
                             legal_forename="Pat", date_of_birth=date(2016, 9, 1 + i % 28),
                             gender="F", year_group=group.year_group, registration_group=group,
                             admission_date=date(2020, 9, 1))
            mark(p, days[: i % 4], "I")
            mark(p, days[i % 4:], "/")
            if i != 7:  # pupil 7 has nobody flagged for correspondence
                ContactFactory(pupil=p, priority=1, title="Ms", forename="Alex",
                               surname=f"Worker{i:02d}", correspondence=True,
                               address=f"{i} Queue Street\nLeeds",
                               email=f"parent{i}@example.org" if i % 2 else "")


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.test import override_settings

    media = tmp_path_factory.mktemp("worker-media")
    log = tmp_path_factory.mktemp("worker-log") / "worker.log"
    with django_db_blocker.unblock():
        drop_committed_schools(SCHEMA)
        _populate()
        url = subprocess_database_url()
    env = {**os.environ, "DATABASE_URL": url, "MEDIA_ROOT": str(media),
           "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend", "LOG_LEVEL": "INFO"}
    from attendance_site.celery import app

    app.control.purge()
    media_setting = override_settings(MEDIA_ROOT=str(media))  # sends setting_changed: storage follows
    media_setting.enable()
    reset_storage()
    try:
        with celery_worker(name="letters-test", env=env, log=log) as proc:
            yield {"log": log, "proc": proc}
    finally:
        media_setting.disable()
        reset_storage()
        with django_db_blocker.unblock():
            drop_committed_schools(SCHEMA)


def _wait(batch, timeout=120):
    from letters.models import Batch

    deadline = time.time() + timeout
    while time.time() < deadline:
        batch.refresh_from_db()
        if batch.status in (Batch.Status.DONE, Batch.Status.FAILED):
            return batch
        time.sleep(0.3)
    raise AssertionError(f"batch still {batch.status} after {timeout}s")


def _run_twice(worker):
    """Both runs, committed (the worker only sees committed rows): returns what to check."""
    from django_tenants.utils import schema_context

    from letters import pdf, services
    from letters.models import Letter, LetterTemplate
    from registers.models import Pupil

    with schema_context(SCHEMA):
        template = LetterTemplate.objects.get(key="traffic_light")
        year4 = Pupil.objects.filter(year_group=4)
        batch = services.batch_create_picked(template=template, pupils=year4, trigger_key="tl:spring-1",
                                             as_of=date(2026, 1, 30))
        services.batch_start(batch=batch)  # 3 chunks of up to 20, on the worker
        _wait(batch)
        first = {"batch": batch, "progress": services.batch_progress(batch=batch),
                 "failed": list(batch.letters.filter(status=Letter.Status.FAILED)
                                .values_list("pupil__legal_surname", "error"))}
        with batch.combined.open("rb") as f:
            first["print_text"] = pdf.pdf_text(f.read())
        first["emails"] = worker["log"].read_text(errors="replace").count("Subject: A letter from")
        again = services.batch_create_picked(template=template, pupils=year4, trigger_key="tl:spring-1")
        services.batch_start(batch=again)
        _wait(again)
        time.sleep(1)
        second = {"batch": again, "emails": worker["log"].read_text(errors="replace").count(
            "Subject: A letter from"), "letters": Letter.objects.filter(trigger_key="tl:spring-1").count()}
    return first, second


@pytest.fixture(scope="module")
def runs(worker, django_db_blocker):
    with django_db_blocker.unblock():
        return _run_twice(worker)


@pytest.mark.django_db
def test_real_worker_renders_a_batch_in_parallel_chunks(runs, worker):
    first, _ = runs
    batch, progress = first["batch"], first["progress"]
    assert batch.total == 41 and len(batch.report["no_correspondence_contact"]) == 1
    assert progress["status"] == "done" and progress["queued"] == 0
    assert progress["emailed"] == 19                      # odd pupils (but 7) have an email address
    assert progress["rendered"] == 21                     # the rest are in the print pack
    assert progress["failed"] == 1                        # pupil 7: reported, with the reason
    [(surname, error)] = first["failed"]
    assert surname == "Worker07" and "correspondence" in error
    assert batch.combined_pages == 21 and first["print_text"].count("Dear Ms Worker") == 21
    assert "Worker00" in first["print_text"] and "Green" in first["print_text"]
    assert first["emails"] == 19
    log = worker["log"].read_text(errors="replace")
    assert len([ln for ln in log.splitlines() if "render_chunk" in ln and "succeeded" in ln]) == 3


@pytest.mark.django_db
def test_a_second_run_of_the_same_trigger_sends_nothing(runs):
    _, second = runs
    again = second["batch"]
    assert again.total == 0 and len(again.report["already_sent"]) == 41
    assert again.status == "done" and not again.combined
    assert second["emails"] == 19 and second["letters"] == 41
