"""Issue 18.4: no cold dashboard. A register save, once committed, queues one warm-up of the
head's dashboard per school (however many registers are saved together); the warm-up puts the
figures for the data as saved into the cache every web worker shares, so the head's first
look after the registers is served from it."""

from datetime import date

import pytest
from django.utils import timezone

from dashboards import figures as dashboard
from dashboards import tasks
from registers.services import Entry, marks_save

DAY = date(2025, 9, 2)


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.dashboard_warm, "apply_async",
                        lambda args, countdown, headers: calls.append((args[0], countdown)))
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(dashboard._warm_flag("test_a"))
    return calls


def test_saves_queue_one_warm_up_and_the_warm_up_fills_the_shared_cache(
        calendar, make_pupil, people, clock, queued, django_capture_on_commit_callbacks):
    amy, ben = make_pupil(admission=date(2025, 9, 1)), make_pupil(admission=date(2025, 9, 1))
    clock(DAY, 8, 50)
    with django_capture_on_commit_callbacks(execute=True):
        marks_save(school=calendar, day=DAY, session="AM", pupils=[amy],
                   entries=[Entry(amy.pk, "/")], user=people["teacher"], role="Class teacher")
    with django_capture_on_commit_callbacks(execute=True):
        marks_save(school=calendar, day=DAY, session="AM", pupils=[ben],
                   entries=[Entry(ben.pk, "N")], user=people["teacher"], role="Class teacher")
    assert queued == [("test_a", dashboard.WARM_DELAY)]  # two saves, one warm-up

    c, day = dashboard.default_view(timezone.localdate())  # the dashboard opened today
    tasks.dashboard_warm("test_a")  # what the worker runs WARM_DELAY seconds later
    from django_tenants.utils import schema_context

    with schema_context("test_a"):
        warm = dashboard._cached("school", (c, day), lambda: pytest.fail("cold: recomputed"))
    assert warm.rollup.total["all"].pupils == 2  # computed by the warm-up, served from the cache
    # So are the figures of every pupil, which the lists behind the figures (PA...) filter.
    with schema_context("test_a"), pytest.MonkeyPatch.context() as mp:
        mp.setattr(dashboard, "pupil_figures", lambda *a, **k: pytest.fail("cold: recomputed"))
        assert {r.pupil.pk for r in dashboard.pupil_rows(c.with_(cohort="all"))} == {amy.pk, ben.pk}

    # The warm-up cleared the flag: the next save queues the next warm-up.
    clock(DAY, 13, 20)
    with django_capture_on_commit_callbacks(execute=True):
        marks_save(school=calendar, day=DAY, session="PM", pupils=[amy],
                   entries=[Entry(amy.pk, "\\")], user=people["teacher"], role="Class teacher")
    assert len(queued) == 2


def test_a_save_that_changes_nothing_queues_nothing(
        calendar, make_pupil, people, clock, queued, django_capture_on_commit_callbacks):
    amy = make_pupil(admission=date(2025, 9, 1))
    clock(DAY, 8, 50)
    with django_capture_on_commit_callbacks(execute=True):
        marks_save(school=calendar, day=DAY, session="AM", pupils=[amy], entries=[],
                   user=people["teacher"], role="Class teacher")
    assert queued == []
