"""Issue 11: background letter work always finishes or says why (rolled-back tests).

The broker is replaced by a mock here (what was sent, or a refusal as when Redis is down);
tests/faults/ runs the same paths against a real worker, a real Redis and real dead
database connections.
"""

from datetime import date, timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from letters import presets, services
from letters.models import Batch, Chunk, Letter, LetterEvent
from registers.models import Pupil
from tests.conftest import client_for

from .conftest import contact, mark, school_days

AS_OF = date(2026, 1, 30)
LATER = timedelta(minutes=31)
# As in a real request (autocommit): on-commit work runs at once, not at the end of the test.
AUTOCOMMIT = mock.patch("django.db.transaction.on_commit", side_effect=lambda f, *a, **k: f())


@pytest.fixture
def lap1(school_a):
    return services.template_save(key="lap_letter_1", name="LAP Letter 1", body=presets.LAP_LETTER_1)


@pytest.fixture
def pupils(calendar, make_pupil):
    out = []
    for i in range(3):
        p = make_pupil(group="4B", year_group=4, legal_surname=f"Stall{i}")
        mark(p, school_days(date(2026, 1, 5), 5), "/")
        contact(p, email=f"parent{i}@example.org")
        out.append(p)
    return Pupil.objects.filter(pk__in=[p.pk for p in out])


@pytest.fixture
def sent():
    """The broker: records each task handed over."""
    with mock.patch("letters.tasks.render_chunk.apply_async") as chunk, \
            mock.patch("letters.tasks.batch_finish.apply_async") as finish:
        yield {"chunk": chunk, "finish": finish}


def _chunk_ids(m) -> list[int]:
    return [c.kwargs["args"][0] for c in m.call_args_list]


def _batch(lap1, pupils, key="stall") -> Batch:
    batch = services.batch_create_picked(template=lap1, pupils=pupils, trigger_key=key, as_of=AS_OF)
    services.batch_start(batch=batch)
    return batch


# --- email: claim, send, record --------------------------------------------------------

def test_email_is_claimed_then_the_provider_id_recorded(lap1, pupils):
    batch = _batch(lap1, pupils)
    [chunk] = batch.chunks.all()
    assert services.batch_render_chunk(chunk_id=chunk.pk)["emailed"] == 3
    letter = batch.letters.get(pupil__legal_surname="Stall0")
    msg = next(m for m in mail.outbox if m.to == ["parent0@example.org"])
    assert letter.status == Letter.Status.EMAILED and letter.claimed_at and letter.emailed_at
    assert letter.claimed_at <= letter.emailed_at
    assert letter.provider_id and letter.provider_id == msg.extra_headers["Message-ID"]


def test_a_crash_between_claim_and_send_is_for_a_person_to_check_not_resent(lap1, pupils, sent):
    batch = _batch(lap1, pupils)
    [chunk] = batch.chunks.all()

    class Killed(BaseException):
        """The worker process dying mid-send (not an Exception: nothing catches it)."""

    with mock.patch("django.core.mail.EmailMessage.send", side_effect=Killed), \
            pytest.raises(Killed):
        services.batch_render_chunk(chunk_id=chunk.pk)
    stuck = Letter.objects.get(status=Letter.Status.SENDING)
    assert stuck.claimed_at and not stuck.emailed_at and not stuck.provider_id
    # The chunk runs again (re-queued): the other two go, the claimed one does not.
    services.batch_render_chunk(chunk_id=chunk.pk)
    assert len(mail.outbox) == 2 and stuck.emailed_to not in {m.to[0] for m in mail.outbox}
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    # Not yet stale: left alone. Stale: needs checking, with the reason; never resent.
    assert services.sweep_stalled()["checks"] == 0
    found = services.sweep_stalled(now=timezone.now() + timedelta(minutes=16))
    assert found["checks"] == 1 and len(mail.outbox) == 2
    stuck.refresh_from_db()
    assert stuck.status == Letter.Status.CHECK and stuck.emailed_to in stuck.error
    assert "will not be sent again" in stuck.error
    assert LetterEvent.objects.filter(letter=stuck, kind="check").count() == 1
    assert services.batch_progress(batch=batch)["check"] == 1
    assert services.sweep_stalled(now=timezone.now() + timedelta(minutes=16))["checks"] == 0


def test_the_person_says_whether_it_arrived(lap1, pupils, people):
    batch = _batch(lap1, pupils)
    claimed = timezone.now() - timedelta(hours=1)
    a, b = batch.letters.order_by("pk")[:2]
    for x in (a, b):
        services.letter_render(letter=x, bundle=services.Bundle.load([x.pupil_id], as_of=AS_OF),
                               templates=services._templates([x.template_key]))
    Letter.objects.filter(pk__in=[a.pk, b.pk]).update(status=Letter.Status.CHECK, claimed_at=claimed,
                                                      emailed_to="x@example.org")
    lead = client_for(people["attendance_officer"])
    page = lead.get(f"/letters/batches/{batch.pk}/").content.decode()
    assert 'id="to-check"' in page and "It arrived" in page
    assert 'id="to-check"' in lead.get("/letters/").content.decode()
    teacher = client_for(people["teacher"])
    assert teacher.post(f"/letters/letter/{a.pk}/check/", {"answer": "sent"}).status_code in (403, 404)
    r = lead.post(f"/letters/letter/{a.pk}/check/", {"answer": "sent"})
    assert r.status_code == 302
    a.refresh_from_db()
    assert a.status == Letter.Status.EMAILED and a.emailed_at == claimed and not mail.outbox
    lead.post(f"/letters/letter/{b.pk}/check/", {"answer": "resend"})
    b.refresh_from_db()
    assert b.status == Letter.Status.EMAILED and len(mail.outbox) == 1
    assert mail.outbox[0].to == [b.pupil.contacts.get().email]
    # Answering again does nothing.
    lead.post(f"/letters/letter/{b.pk}/check/", {"answer": "resend"})
    assert len(mail.outbox) == 1
    assert list(LetterEvent.objects.filter(kind="checked").values_list("user_name", flat=True)) \
        == [people["attendance_officer"].get_full_name()] * 2


# --- chunks: enqueue failed, worker died ------------------------------------------------

def test_saving_a_batch_while_the_broker_is_down_says_it_will_start_and_it_does(
        lap1, pupils, people, sent):
    lead = client_for(people["attendance_officer"])
    sent["chunk"].side_effect = BrokerDown("Error 111 connecting to 127.0.0.1:6390.")
    with AUTOCOMMIT:
        r = lead.post("/letters/batches/new/", {"template": lap1.pk, "audience": "year",
                                                "year_group": 4, "trigger_key": "down",
                                                "send_email": "on"}, follow=True)
    assert r.status_code == 200
    page = r.content.decode()
    assert sent["chunk"].call_count == 1                 # it tried, the broker refused
    assert "will start by itself when the queue is back" in page and 'id="waiting"' in page
    batch = Batch.objects.get()
    [chunk] = batch.chunks.all()
    assert chunk.sent_at is None and chunk.sends == 0 and batch.status == Batch.Status.RENDERING
    assert services.batch_progress(batch=batch)["waiting_for_queue"] is True
    # Still down at the next sweep: nothing lost, tried again later.
    assert services.sweep_stalled()["resent"] == 0
    sent["chunk"].side_effect = None
    assert services.sweep_stalled()["resent"] == 1
    assert _chunk_ids(sent["chunk"])[-1] == chunk.pk
    chunk.refresh_from_db()
    assert chunk.sent_at and chunk.sends == 1
    services.batch_render_chunk(chunk_id=chunk.pk)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE and len(mail.outbox) == 3


def test_a_chunk_whose_worker_died_is_sent_again_then_fails_with_the_reason(lap1, pupils, sent):
    batch = _batch(lap1, pupils)
    [chunk] = batch.chunks.all()
    Chunk.objects.filter(pk=chunk.pk).update(sent_at=timezone.now(), sends=1)
    now = timezone.now()
    # A worker took it and died: running, no heartbeat.
    Chunk.objects.filter(pk=chunk.pk).update(status=Chunk.Status.RUNNING, started_at=now, beat_at=now)
    assert services.sweep_stalled()["resent"] == 0                       # alive: left alone
    assert services.batch_health(batch=batch)["stalled"] is False
    later = now + timedelta(minutes=6)
    assert services.batch_health(batch=batch, now=later)["stalled"] is True
    for n in range(2, services.MAX_SENDS + 1):
        Chunk.objects.filter(pk=chunk.pk).update(status=Chunk.Status.RUNNING, beat_at=now)
        assert services.sweep_stalled(now=later)["resent"] == 1
        chunk.refresh_from_db()
        assert chunk.sends == n and chunk.status == Chunk.Status.QUEUED
    # Handed over and never picked up: sent again after WAITING_AFTER too ... until the limit.
    found = services.sweep_stalled(now=now + LATER)
    assert found == {"checks": 0, "resent": 0, "given_up": 1, "started": 0, "finished": 0}
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    reasons = set(batch.letters.values_list("status", "error"))
    assert reasons == {(Letter.Status.FAILED, services.WORKER_STOPPED.format(n=services.MAX_SENDS))}
    # Retry: the letters go back to the queue in a new chunk and render.
    assert services.batch_retry(batch=batch) == 3
    [again] = batch.chunks.exclude(status=Chunk.Status.DONE)
    assert services.batch_render_chunk(chunk_id=again.pk)["emailed"] == 3
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE


def test_retry_works_on_a_batch_stuck_rendering(lap1, pupils, people, sent):
    batch = _batch(lap1, pupils)
    [chunk] = batch.chunks.all()
    old = timezone.now() - timedelta(minutes=10)
    Chunk.objects.filter(pk=chunk.pk).update(status=Chunk.Status.RUNNING, sent_at=old, sends=1,
                                             started_at=old, beat_at=old)
    Batch.objects.filter(pk=batch.pk).update(started=old)
    lead = client_for(people["attendance_officer"])
    page = lead.get(f"/letters/batches/{batch.pk}/").content.decode()
    assert 'id="stalled"' in page and 'id="retry"' in page
    with AUTOCOMMIT:
        r = lead.post(f"/letters/batches/{batch.pk}/retry/", follow=True)
    assert "3 letter(s) queued again" in r.content.decode()
    assert _chunk_ids(sent["chunk"]) == [chunk.pk]
    chunk.refresh_from_db()
    assert chunk.sends == 1 and chunk.sent_at > old                      # counted afresh
    assert batch.chunks.count() == 1                                     # no duplicate chunk
    services.batch_render_chunk(chunk_id=chunk.pk)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE and len(mail.outbox) == 3


def test_a_chunk_run_twice_renders_and_emails_each_letter_once(lap1, pupils):
    batch = _batch(lap1, pupils)
    [chunk] = batch.chunks.all()
    first = services.batch_render_chunk(chunk_id=chunk.pk)
    Chunk.objects.filter(pk=chunk.pk).update(status=Chunk.Status.QUEUED)  # as if redelivered
    second = services.batch_render_chunk(chunk_id=chunk.pk)
    assert first == {"rendered": 3, "failed": 0, "emailed": 3}
    assert second == {"rendered": 0, "failed": 0, "emailed": 0}
    assert len(mail.outbox) == 3
    assert LetterEvent.objects.filter(kind="rendered").count() == 3


def test_a_batch_saved_but_never_started_or_never_finished_is_picked_up(lap1, pupils, sent):
    batch = services.batch_create_picked(template=lap1, pupils=pupils, trigger_key="never",
                                         as_of=AS_OF)
    assert batch.status == Batch.Status.PENDING            # the request died before starting it
    assert services.sweep_stalled()["started"] == 0
    assert services.sweep_stalled(now=timezone.now() + LATER)["started"] == 1
    batch.refresh_from_db()
    assert batch.status == Batch.Status.RENDERING and batch.chunks.count() == 1
    [chunk] = batch.chunks.all()
    # All its chunks done, but the finish was lost (the worker died joining the print pack).
    with mock.patch("letters.services.batch_finish_if_done"):
        services.batch_render_chunk(chunk_id=chunk.pk)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.RENDERING
    assert services.sweep_stalled()["finished"] == 0
    assert services.sweep_stalled(now=timezone.now() + LATER)["finished"] == 1
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE


def test_the_sweeper_is_on_the_beat_schedule_for_every_school(settings):
    from letters import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["letters-sweep-stalled"]
    assert entry["task"] == tasks.sweep_stalled_all_schools.name
    assert entry["schedule"] <= 300
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_a_batch_with_nothing_to_render_finishes_even_with_the_broker_down(lap1, pupils, sent):
    first = _batch(lap1, pupils, key="once")
    services.batch_render_chunk(chunk_id=first.chunks.get().pk)
    sent["finish"].side_effect = BrokerDown("down")
    again = services.batch_create_picked(template=lap1, pupils=pupils, trigger_key="once", as_of=AS_OF)
    with AUTOCOMMIT:
        services.batch_start(batch=again)
    again.refresh_from_db()
    assert again.total == 0 and sent["finish"].call_count == 1
    assert again.status == Batch.Status.DONE
