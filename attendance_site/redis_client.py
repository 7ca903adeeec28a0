"""One Redis client per process and broker URL.

``redis.Redis.from_url`` builds a new connection pool, so calling it per request opened a
TCP connection to Redis on every register save (issue 18's peak). The pool reconnects by
itself after Redis restarts and redis-py resets it in a forked child.
"""

from functools import cache

import redis
from django.conf import settings


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def broker() -> redis.Redis:
    """The Redis server behind Celery's broker (settings.CELERY_BROKER_URL)."""
    return _client(settings.CELERY_BROKER_URL)
