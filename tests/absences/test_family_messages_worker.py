"""A real Celery worker sends first-day messages after the queueing transaction commits:
texts to the local Notify stand-in, emails through the console backend; queueing the same
session again sends nothing more. Also the figure for the closing note: how many messages a
second the bulk action queues.

The worker is a separate process pointed at the test database, so this test commits its data
in its own school (schema ``messages_worker``) and drops it at the end.
"""

import os
import time
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import celery_worker, drop_committed_schools, subprocess_database_url
from tests.factories import ContactFactory, MarkFactory, PupilFactory, RegistrationGroupFactory

from .notify_stub import API_KEY, TEMPLATE_ID, NotifyStub

ROOT = Path(__file__).resolve().parents[2]
SCHEMA, DOMAIN = "messages_worker", "messages-worker.localhost"
DAY = date(2026, 1, 6)
N_PUPILS = 60


def _populate():
    from django_tenants.utils import schema_context

    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry
    from tenants.models import School
    from tenants.services import school_create
    from tests.conftest import make_upn

    school_create(schema=SCHEMA, name="Messages Worker Primary", domain=DOMAIN, preset="beecroft")
    School.objects.filter(schema_name=SCHEMA).update(phone="0113 496 0999")
    with schema_context(SCHEMA):
        calendar_replace(entries=[CalendarEntry(kind="term", start_date=date(2026, 1, 5),
                                                end_date=date(2026, 3, 27), label="Spring 1")])
        g = RegistrationGroupFactory(name="5M", year_group=5)
        for i in range(N_PUPILS):
            p = PupilFactory(upn=make_upn(estab=7013, serial=i), legal_surname=f"Msg{i:02d}",
                             legal_forename=f"Kid{i:02d}", date_of_birth=date(2015, 9, 1),
                             gender="M", year_group=5, registration_group=g,
                             admission_date=date(2020, 9, 1))
            MarkFactory(pupil=p, date=DAY, session="AM", code="N")
            ContactFactory(pupil=p, priority=1, forename="Parent", surname=f"Msg{i:02d}",
                           mobile=f"07700 9{i:05d}" if i % 3 else "",
                           email=f"p{i}@example.org")


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    from attendance_site.celery import app

    log = tmp_path_factory.mktemp("messages-worker") / "worker.log"
    with django_db_blocker.unblock():
        drop_committed_schools(SCHEMA)
        _populate()
        url = subprocess_database_url()
    stub = NotifyStub().__enter__()
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "INFO",
           "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
           "SMS_BACKEND": "absences.sms.NotifyBackend", "NOTIFY_API_KEY": API_KEY,
           "NOTIFY_SMS_TEMPLATE_ID": TEMPLATE_ID, "NOTIFY_BASE_URL": stub.url}
    app.control.purge()
    try:
        with celery_worker(name="messages-test", env=env, log=log):
            yield {"log": log, "stub": stub}
    finally:
        stub.__exit__(None, None, None)
        with django_db_blocker.unblock():
            drop_committed_schools(SCHEMA)


def _wait_settled(timeout=120):
    from absences.models import FamilyMessage

    deadline = time.time() + timeout
    while time.time() < deadline:
        if not FamilyMessage.objects.filter(status__in=["queued", "sending"]).exists():
            return
        time.sleep(0.3)
    raise AssertionError("messages still queued or sending")


@pytest.fixture(scope="module")
def sent(worker, django_db_blocker):
    """Outside any test transaction: the queueing commits, so its on-commit hand-over runs."""
    from django_tenants.utils import schema_context

    from absences import family_messages as fm
    from absences.models import FamilyMessage

    with django_db_blocker.unblock(), schema_context(SCHEMA):
        started = time.perf_counter()
        counts = fm.first_day_queue(day=DAY, session="AM", user=None)  # commits, then enqueues
        queued_in = time.perf_counter() - started
        _wait_settled()
        out = {"counts": counts, "queued_in": queued_in,
               "statuses": set(FamilyMessage.objects.values_list("status", flat=True)),
               "ids": set(FamilyMessage.objects.filter(channel="sms")
                          .values_list("provider_id", flat=True)),
               "sent_then": len(worker["stub"].sent)}
        out["again"] = fm.first_day_queue(day=DAY, session="AM", user=None)
        time.sleep(2)
    return out


@pytest.mark.django_db
def test_a_real_worker_sends_every_message_once(worker, sent):
    stub = worker["stub"]
    texts, emails = N_PUPILS * 2 // 3, N_PUPILS // 3
    assert sent["counts"] == {"queued": N_PUPILS, "skipped": 0, "unreachable": 0}
    assert sent["sent_then"] == texts and sent["ids"] == {s["id"] for s in stub.sent}
    assert "Kid01 is not in school today. Please reply or call 0113 496 0999." in {
        s["personalisation"]["body"] for s in stub.sent}
    assert worker["log"].read_text(errors="replace").count("Subject: Kid") == emails
    assert sent["statuses"] <= {"sent", "delivered"}
    assert sent["again"]["queued"] == 0 and len(stub.sent) == texts  # nothing twice
    print(f"\nbulk first-day send: {N_PUPILS} messages queued in {sent['queued_in']:.2f}s "
          f"({N_PUPILS / sent['queued_in']:.0f} a second, including handing each to Redis)")
