"""A nightly run killed mid-transaction (SIGKILL) leaves no half state; the rerun completes it.

`manage.py recompute` runs in a real subprocess against a committed school. A second
connection holds a lock on the run-log table, so the subprocess blocks on its very last
write — after N → O, snapshots, cases and letters — and is killed there.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tests.conftest import drop_committed_schools, subprocess_database_url
from tests.escalation.helpers import dump, put
from tests.escalation.test_nightly import TABLES, VOLATILE
from tests.factories import PupilFactory, RegistrationGroupFactory

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "esc_kill"
NIGHT = date(2025, 10, 24)


@pytest.fixture(scope="module")
def committed_school(django_db_setup, django_db_blocker):
    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry
    from tenants.services import school_create
    from tests.conftest import make_upn

    with django_db_blocker.unblock():
        drop_committed_schools(SCHEMA)
        school_create(schema=SCHEMA, name="Kill test", domain="esc-kill.localhost", preset="lap")
        with schema_context(SCHEMA):
            calendar_replace(entries=[CalendarEntry(kind="term", start_date=date(2025, 9, 1),
                                                    end_date=date(2025, 10, 24), label="Autumn 1")])
            group = RegistrationGroupFactory(name="5K", year_group=5)
            patterns = ["/" * 78, ("/" * 18 + "I" * 2) * 3 + "/" * 18,
                        ("/" * 8 + "O" * 2) * 7 + "/" * 8, "/" * 20 + "O" * 40 + "N" * 18]
            for n, pattern in enumerate(patterns):
                pupil = PupilFactory(
                    upn=make_upn(serial=900 + n), legal_surname="Kill", legal_forename=f"P{n}",
                    date_of_birth=date(2015, 1, 1), gender="M", year_group=5,
                    registration_group=group, admission_date=date(2024, 9, 1))
                put(pupil, date(2025, 9, 2), pattern)
        connection.set_schema_to_public()
    yield
    with django_db_blocker.unblock():
        drop_committed_schools(SCHEMA)


def _recompute():
    env = {**os.environ, "DATABASE_URL": subprocess_database_url(), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "manage.py", "recompute", "--schema", SCHEMA,
                             "--as-of", NIGHT.isoformat()], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _blocked_backend(admin) -> int | None:
    """The pid of the recompute backend waiting for our lock on its last INSERT, if any."""
    row = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query ILIKE %s AND datname = current_database()",
        ['%INSERT INTO "escalation_nightlyrun"%']).fetchone()
    return row[0] if row else None


@pytest.mark.django_db(transaction=False)
def test_killed_mid_run_leaves_nothing_and_the_rerun_completes(committed_school):
    from escalation.models import NightlyRun
    from escalation.nightly import night_run

    with schema_context(SCHEMA):
        before = dump(TABLES, ignore=VOLATILE)
    with psycopg.connect(subprocess_database_url(), autocommit=True) as admin, \
            psycopg.connect(subprocess_database_url()) as locker:
        locker.execute(f'LOCK TABLE "{SCHEMA}".escalation_nightlyrun IN ACCESS EXCLUSIVE MODE')
        proc = _recompute()
        backend, deadline = None, time.monotonic() + 60
        while backend is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            backend = _blocked_backend(admin)
        assert backend is not None, proc.communicate()[0].decode()[-2000:]
        proc.send_signal(signal.SIGKILL)  # the worker dies mid-transaction
        proc.wait(timeout=10)
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])
        locker.rollback()  # release the lock
    with schema_context(SCHEMA):
        assert dump(TABLES, ignore=VOLATILE) == before  # nothing half-done is visible
        assert not NightlyRun.objects.filter(night=NIGHT).exists()
        run = night_run(as_of=NIGHT)  # the rerun completes the night
        assert run.status == "completed" and run.summary["snapshots_written"] == 4
        assert run.summary["n_to_o"] > 0
        done = dump(TABLES, ignore=VOLATILE)
        night_run(as_of=NIGHT)
        assert dump(TABLES, ignore=VOLATILE) == done
