"""Issue 18.1: copies of the template made ahead of time (READY_SCHEMAS), so a new school's
schema is there in a fraction of a second: a school takes one by renaming it, never one copied
from an older template, never the same one as another school made at the same moment."""

import threading

import pytest
from django.conf import settings
from django.db import connection, connections

from attendance_site.db_roles import as_owner, privileges_grant, privileges_revoke
from tenants import provisioning
from tenants.services import school_create

from .test_provisioning import structure

TEMPLATE = settings.TENANT_BASE_SCHEMA


def ready_names() -> list[str]:
    with as_owner(), connection.cursor() as cur:
        return provisioning._ready_names(cur)


@pytest.fixture
def ready(django_db_blocker):
    """Ready schemas and schools' schemas a test makes: all dropped afterwards."""
    made = []
    yield made
    with django_db_blocker.unblock(), as_owner(), connection.cursor() as cur:
        for schema in made + provisioning._ready_names(cur):
            cur.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(schema)} CASCADE")


@pytest.fixture
def copied(monkeypatch):
    """Schools' schemas copied from the template there and then during the test (the ready
    copies a fill makes are not listed; every copy is still made)."""
    made, real = [], provisioning._clone_run

    def record(cur, template, state, schema):
        if not schema.startswith(provisioning.READY_PREFIX):
            made.append(schema)
        real(cur, template, state, schema)

    monkeypatch.setattr(provisioning, "_clone_run", record)
    return made


@pytest.fixture
def no_copying(monkeypatch):
    """Fails a test that copies the template there and then; records refills queued."""
    queued = []
    monkeypatch.setattr(provisioning, "_ready_refill_queue", lambda: queued.append(1))
    real = provisioning._clone_run

    def refuse(cur, template, state, schema):
        if not schema.startswith(provisioning.READY_PREFIX):
            pytest.fail(f"{schema} was copied, not taken from the ready schemas")
        real(cur, template, state, schema)

    monkeypatch.setattr(provisioning, "_clone_run", refuse)
    return queued


def test_a_school_takes_a_ready_schema_identical_to_a_migrated_one(ready, no_copying, db):
    assert provisioning.ready_fill(2) == {"dropped": 0, "made": 2, "ready": 2}
    before = ready_names()
    assert len(before) == 2
    assert provisioning.ready_fill(2) == {"dropped": 0, "made": 0, "ready": 2}  # full already
    with as_owner(), connection.cursor() as cur:  # made under a release with other grants
        cur.execute(f'REVOKE SELECT ON "{before[0]}".registers_pupil FROM attendance_app')
    ready.append("ready_x")
    provisioning.schema_clone("ready_x")
    assert ready_names() == before[1:]  # the first one, renamed
    assert no_copying == [1]  # and a worker asked to make another
    taken = structure("ready_x")
    try:
        with as_owner():
            privileges_grant([TEMPLATE])  # to compare the app's grants, as test_provisioning does
        migrated = structure(TEMPLATE)
    finally:
        with as_owner():
            privileges_revoke(TEMPLATE)
    for part in migrated:
        assert taken[part] == migrated[part], part


def test_a_ready_schema_copied_from_an_older_template_is_never_taken_and_is_replaced(
        ready, copied, monkeypatch, db):
    """A release migrates the template (migrate_schemas): copies made before it are stale."""
    provisioning.ready_fill(1)
    (old,) = ready_names()
    with as_owner(), connection.cursor() as cur:  # the template gained a migration since
        cur.execute(f'DELETE FROM "{old}".django_migrations WHERE id = (SELECT max(id) FROM '
                    f'"{old}".django_migrations)')
    queued = []
    monkeypatch.setattr(provisioning, "_ready_refill_queue", lambda: queued.append(1))
    ready.append("ready_y")
    provisioning.schema_clone("ready_y")
    assert copied == ["ready_y"] and ready_names() == [old]  # copied there and then
    assert queued == [1]  # and a worker asked to replace the stale one
    result = provisioning.ready_fill(1)
    assert result == {"dropped": 1, "made": 1, "ready": 1}
    assert old not in ready_names() and len(ready_names()) == 1


@pytest.fixture
def autocommit(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        yield


def test_two_schools_made_at_once_never_take_the_same_ready_schema(
        ready, autocommit, copied, monkeypatch):
    provisioning.ready_fill(1)
    monkeypatch.setattr(provisioning, "_ready_refill_queue", lambda: None)
    errors = []
    start = threading.Barrier(2)
    ready.extend(["at_once_1", "at_once_2"])

    def make(schema):
        try:
            start.wait()
            provisioning.schema_clone(schema)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=make, args=(s,)) for s in ("at_once_1", "at_once_2")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert len(copied) == 1 and ready_names() == []  # one took it, the other copied
    with as_owner(), connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'at\\_once\\__'")
        assert cur.fetchone()[0] == 2


def test_the_ready_prefix_is_reserved(db):
    """No school may have a ready copy's name (a take would rename its schema away)."""
    from tenants.models import School

    with pytest.raises(ValueError, match="reserved"):
        school_create(schema=f"{provisioning.READY_PREFIX}x", name="X", domain="x.localhost")
    with pytest.raises(ValueError, match="reserved"):  # nor through the model (the admin)
        School(schema_name=f"{provisioning.READY_PREFIX}y", name="Y").save()
    assert not School.objects.filter(schema_name__startswith=provisioning.READY_PREFIX).exists()


def test_ready_schemas_are_on_by_default_and_filled_by_beat_and_a_worker():
    from tenants import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["tenants-ready-schemas"]
    assert entry["task"] == tasks.ready_schemas_fill.name
    assert settings.READY_SCHEMAS == 0  # the test settings: a test makes its own
