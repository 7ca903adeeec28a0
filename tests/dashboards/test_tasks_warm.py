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


def test_a_cached_view_is_one_entry_replaced_when_the_data_change(
        calendar, make_pupil, people, clock):
    """Never stale, and memory does not grow with the saves: the entry of a view holds the
    data version it was computed for, and a save makes the next request replace it."""
    from django_tenants.utils import schema_context

    amy = make_pupil(admission=date(2025, 9, 1))
    clock(DAY, 8, 50)
    c, day = dashboard.default_view(timezone.localdate())
    with schema_context("test_a"):
        first = dashboard._cached("school", (c, day), lambda: "before the save")
        key = dashboard._cache_key("school", (c, day))
        version = dashboard._cache().get(key)[0]
        assert dashboard._cached("school", (c, day), lambda: pytest.fail("recomputed")) == first
    marks_save(school=calendar, day=DAY, session="AM", pupils=[amy],
               entries=[Entry(amy.pk, "/")], user=people["teacher"], role="Class teacher")
    with schema_context("test_a"):
        assert dashboard._cached("school", (c, day), lambda: "after the save") == "after the save"
        stored_version, stored = dashboard._cache().get(key)  # the same key, replaced
        assert stored == "after the save" and stored_version != version
        assert dashboard._cached("school", (c, day), lambda: pytest.fail("recomputed")) == stored
    assert dashboard.CACHE_SECONDS >= 24 * 60 * 60  # a quiet afternoon is still served warm


def test_each_morning_every_school_is_warmed_by_a_few_chains_never_a_flood(calendar, monkeypatch):
    """Beat (settings.CELERY_BEAT_SCHEDULE) runs it after the nightly run: the default
    dashboard's dates move on at midnight, so the day's first look would otherwise be cold.
    At most WARM_CHAINS warm-up tasks are ever on the broker, so a first-day message or a
    letter queued meanwhile never waits behind thousands of schools' warm-ups."""
    from django.conf import settings

    from tenants.models import School

    queued = []
    monkeypatch.setattr(tasks.dashboard_warm_chain, "delay",
                        lambda schemas, until: queued.append((schemas, until)))
    schools = set(School.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
    assert {"test_a", "test_b"} <= schools
    assert tasks.dashboard_warm_all_schools() == len(schools)
    assert len(queued) == min(tasks.WARM_CHAINS, len(schools))
    every = [s for chain, _ in queued for s in chain]
    assert sorted(every) == sorted(schools)  # each school in one chain, once
    entry = settings.CELERY_BEAT_SCHEDULE["dashboards-warm"]
    assert entry["task"] == tasks.dashboard_warm_all_schools.name
    nightly = settings.CELERY_BEAT_SCHEDULE["nightly-recompute"]["schedule"]
    assert sorted(entry["schedule"].hour) > sorted(nightly.hour)  # after the nightly run


def test_a_chain_warms_its_chunk_then_queues_the_rest_and_stops_when_registers_open(
        calendar, make_pupil, monkeypatch):
    from datetime import timedelta

    from django_tenants.utils import schema_context

    make_pupil(admission=date(2025, 9, 1))
    queued, warmed = [], []
    monkeypatch.setattr(tasks.dashboard_warm_chain, "delay",
                        lambda schemas, until: queued.append((schemas, until)))
    monkeypatch.setattr(tasks, "WARM_CHUNK", 2)
    real = dashboard.dashboard_warm_now

    def warm(today):
        from django.db import connection

        warmed.append(connection.schema_name)
        if connection.schema_name == "test_b":
            raise RuntimeError("one school's trouble")
        real(today)

    monkeypatch.setattr(dashboard, "dashboard_warm_now", warm)
    until = (timezone.now() + timedelta(hours=4)).isoformat()
    assert tasks.dashboard_warm_chain(["test_b", "test_a", "later_1", "later_2"], until) == 2
    assert warmed == ["test_b", "test_a"]  # test_b failed; test_a was warmed all the same
    assert queued == [(["later_1", "later_2"], until)]  # the rest: one task on the broker
    c, day = dashboard.default_view(timezone.localdate())
    with schema_context("test_a"):
        dashboard._cached("school", (c, day), lambda: pytest.fail("cold: recomputed"))
    over = (timezone.now() - timedelta(minutes=1)).isoformat()  # registers open by now
    assert tasks.dashboard_warm_chain(["later_1", "later_2"], over) == 0  # their saves warm
    assert warmed == ["test_b", "test_a"] and len(queued) == 1


def test_a_release_that_changes_the_cached_objects_code_finds_none_of_the_old_entries(
        calendar, monkeypatch):
    """Entries live 36 hours and hold pickled dataclasses and models: an entry pickled by
    the code before a release is never unpickled into the code after it."""
    from django_tenants.utils import schema_context

    c, day = dashboard.default_view(timezone.localdate())
    with schema_context("test_a"):
        before = dashboard._cache_key("school", (c, day))
        dashboard._cached("school", (c, day), lambda: "old code's object")
        monkeypatch.setattr(dashboard, "_CODE", "another-release")
        assert dashboard._cache_key("school", (c, day)) != before
        assert dashboard._cached("school", (c, day), lambda: "recomputed") == "recomputed"
    assert len(dashboard._code_digest()) == 12
