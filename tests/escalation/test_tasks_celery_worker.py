"""A real Celery worker and beat against Redis run the nightly job per school.

The worker is a separate process with its own database connection, so it must see
committed data: a dedicated school is created (and dropped) by a module fixture outside the
tests' rolled-back transactions, and the worker is pointed at pytest's test database.
"""

import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from tests.conftest import drop_committed_schools, subprocess_database_url
from tests.factories import PupilFactory, RegistrationGroupFactory

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ("esc_celery_a", "esc_celery_b")
NIGHT = date(2025, 9, 26)


@pytest.fixture(scope="module")
def committed_schools(django_db_setup, django_db_blocker):
    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry
    from tenants.services import school_create
    from tests.conftest import make_upn
    from tests.escalation.helpers import put

    with django_db_blocker.unblock():
        drop_committed_schools(*SCHEMAS)
        for i, schema in enumerate(SCHEMAS):
            school_create(schema=schema, name=f"Celery {schema}", domain=f"{schema}.localhost", preset="lap")
            with schema_context(schema):
                calendar_replace(entries=[CalendarEntry(kind="term", start_date=date(2025, 9, 1),
                                                        end_date=date(2025, 10, 24), label="Autumn 1")])
                g = RegistrationGroupFactory(name="4W", year_group=4)
                for n in range(3):
                    p = PupilFactory(upn=make_upn(serial=700 + 10 * i + n), legal_surname="Celery",
                                     legal_forename=f"P{n}", date_of_birth=date(2016, 1, 1),
                                     gender="F", year_group=4, registration_group=g,
                                     admission_date=date(2024, 9, 1))
                    put(p, date(2025, 9, 1), "/" * (38 - 8 * n) + "O" * (8 * n))
        connection.set_schema_to_public()
    yield
    with django_db_blocker.unblock():
        drop_committed_schools(*SCHEMAS)


def _env():
    return {**os.environ, "DATABASE_URL": subprocess_database_url(),
            "REDIS_URL": settings.REDIS_URL, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND, "NIGHTLY_AS_OF": NIGHT.isoformat(),
            "NIGHTLY_SCHEMAS": ",".join(SCHEMAS), "PYTHONPATH": str(ROOT)}


def _celery(*args, log):
    exe = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
    return subprocess.Popen([exe, *args], cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.mark.django_db
def test_beat_and_worker_run_the_nightly_job_per_school(committed_schools, tmp_path):
    from attendance_site.celery import app
    from escalation.models import NightlyRun, PupilSnapshot

    app.control.purge()
    log = open(tmp_path / "celery.log", "w")
    worker = _celery("-A", "attendance_site", "worker", "--pool=solo", "--loglevel=INFO", "--without-gossip",
                     "--without-mingle", log=log)
    beat = _celery("-A", "tests.escalation.celery_beat_app", "beat", "--loglevel=INFO",
                   "--schedule", str(tmp_path / "beat-schedule"), log=log)
    try:
        deadline, done = time.monotonic() + 60, {}
        while time.monotonic() < deadline and len(done) < len(SCHEMAS):
            for schema in SCHEMAS:
                with schema_context(schema):
                    if NightlyRun.objects.filter(night=NIGHT, status="completed").exists():
                        done[schema] = PupilSnapshot.objects.filter(night=NIGHT).count()
            time.sleep(0.5)
    finally:
        for proc in (beat, worker):
            proc.terminate()
        for proc in (beat, worker):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
    output = (tmp_path / "celery.log").read_text()
    assert done == {s: 3 for s in SCHEMAS}, output[-3000:]
    assert "escalation.tasks.nightly_all_schools" in output and "escalation.tasks.nightly_school" in output
    with schema_context(SCHEMAS[0]):
        # beat fires every second: later runs of the same night changed nothing
        runs = list(NightlyRun.objects.filter(night=NIGHT).order_by("started"))
        assert runs[0].summary["snapshots_written"] == 3
        assert all("snapshots_written" not in r.summary for r in runs[1:])
