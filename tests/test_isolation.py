"""A test run shares nothing with a `make run` (or another test run) on the same machine:
its own Redis keys and Celery queue, and a test database of its checkout's own."""

import os

from django.conf import settings
from django.db import connection
from redis import Redis

from attendance_site.celery import app
from tests.conftest import test_database_name


def test_tasks_go_to_the_test_runs_own_queue_not_the_one_a_make_run_worker_reads():
    prefix = settings.CELERY_KEY_PREFIX
    assert prefix == f"test-{os.getpid()}-"
    assert os.environ["CELERY_KEY_PREFIX"] == prefix  # the workers the tests start use it too
    assert app.conf.task_default_queue == f"{prefix}celery"
    redis = Redis.from_url(settings.CELERY_BROKER_URL)
    queue = f"{prefix}{prefix}celery"  # kombu puts the key prefix before the queue's name
    before, ours = redis.llen("celery"), redis.llen(queue)  # earlier tests may have queued tasks
    app.send_task("tests.no_such_task")
    try:
        assert redis.llen(queue) == ours + 1
        assert redis.llen("celery") == before  # the queue of a worker without the prefix
    finally:
        redis.delete(queue)


def test_each_checkout_has_its_own_test_database(db):
    name = connection.settings_dict["NAME"]
    assert name == settings.DATABASES["default"]["TEST"]["NAME"]
    assert name.startswith("test_") and name.endswith(test_database_name("test_x")[-7:])
    assert test_database_name("test_x", "/one/checkout") != test_database_name("test_x", "/another/checkout")
