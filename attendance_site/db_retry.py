"""The database can restart under the app (issue 11).

``DatabaseRetryMiddleware`` is the outermost middleware. It watches the SQL a request runs:

- a lost database connection (``OperationalError``/``InterfaceError`` and the connection no
  longer answers, or could not be made) before the request wrote anything: the broken
  connection is closed and the whole request runs once more after a short pause (a restart
  usually takes a second or two);
- an error after a write was attempted, or a second failure: no retry (it could save
  twice); the person gets a 503 page that says plainly whether anything was saved, never
  a 500 and never a silent loss.

Writes are tracked per statement: a write outside a transaction counts as saved once it
ran; one inside ``atomic`` counts as saved only when that transaction commits (it is rolled
back with the connection otherwise).

Django turns exceptions into 500 responses inside the middleware chain, so the error is
noted from the ``got_request_exception`` signal and acted on here, after the chain returns.
"""

from __future__ import annotations

import logging
import sys
import time

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)

RETRY_PAUSE = 1.0  # seconds before the one retry
READS = ("SELECT", "SET", "SHOW", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


class _Watch:
    """What one run of a request did to the database."""

    def __init__(self, alias_connection):
        self.connection = alias_connection
        self.attempted = False   # a write statement was sent
        self.saved = False       # a write is known to be committed
        self.error: BaseException | None = None

    def __call__(self, execute, sql, params, many, context):
        verb = (sql.lstrip()[:10].split(None, 1) or [""])[0].upper()
        write = verb not in READS
        if write:
            self.attempted = True
        result = execute(sql, params, many, context)
        if write:
            if self.connection.in_atomic_block:
                self.connection.on_commit(self._committed)
            else:
                self.saved = True
        return result

    def _committed(self):
        self.saved = True


def _note_db_error(sender, request=None, **kwargs):
    exc = sys.exc_info()[1]
    watch = getattr(request, "_db_watch", None)
    if watch is not None and isinstance(exc, (OperationalError, InterfaceError)) and _lost(exc):
        watch.error = exc


def _lost(exc: BaseException) -> bool:
    """Was the connection lost (or never made)? Judged by the driver's error: no SQLSTATE
    (libpq could not connect, or the socket closed), class 08 (connection exception) or 57P
    (the server shut down or restarted). A statement timeout (57014), a deadlock or a
    serialisation failure is an OperationalError too, on a connection that still works:
    that is not a restart. (Checking the connection afterwards is no guide: by the time the
    error reaches us, Django may already have opened a fresh one.)"""
    if isinstance(exc, InterfaceError):
        return True
    state = getattr(exc.__cause__, "sqlstate", None)
    return state is None or state.startswith(("08", "57P"))


got_request_exception.connect(_note_db_error, dispatch_uid="attendance_site.db_retry")


def _close_all() -> None:
    for conn in connections.all(initialized_only=True):
        try:
            conn.close()
        except Exception:  # already broken: Django forgets it either way
            conn.connection = None


def unavailable(request, watch: _Watch) -> HttpResponse:
    """The 503 page. It reads nothing from the database (which is not there)."""
    html = render_to_string("db_unavailable.html", {
        "saved": watch.saved, "attempted": watch.attempted,
        "post": request.method not in ("GET", "HEAD", "OPTIONS")})
    resp = HttpResponse(html, status=503)
    resp["Retry-After"] = "10"
    return resp


class DatabaseRetryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.db import connection

        for attempt in (1, 2):
            watch = _Watch(connection)
            request._db_watch = watch
            with connection.execute_wrapper(watch):
                response = self.get_response(request)
            if watch.error is None:
                return response
            _close_all()
            if attempt == 1 and not watch.attempted:
                log.warning("database error before any write (%s %s): retrying once: %s",
                            request.method, request.path, watch.error)
                time.sleep(RETRY_PAUSE)
                continue
            log.error("database error (%s %s, write attempted=%s, saved=%s): answered 503: %s",
                      request.method, request.path, watch.attempted, watch.saved, watch.error)
            return unavailable(request, watch)
        raise AssertionError("unreachable")
