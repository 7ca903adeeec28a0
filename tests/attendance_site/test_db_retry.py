"""The database-retry middleware leaves ordinary database errors alone (issue 11).

Lost connections are exercised for real in tests/faults/test_faults.py (gunicorn, dead
backends, a database refusing connections). Here: an OperationalError on a connection that
still works (a statement timeout) is not a restart, so it is neither retried nor worded as one.
"""

from django.core.handlers.exception import convert_exception_to_response
from django.db import OperationalError, connection, transaction
from django.test import RequestFactory

from attendance_site.db_retry import DatabaseRetryMiddleware


def test_a_statement_timeout_is_not_retried_or_called_a_restart(db):
    calls = []

    def view(request):
        calls.append(1)
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL statement_timeout = 1")
            cur.execute("SELECT pg_sleep(0.2)")

    middleware = DatabaseRetryMiddleware(convert_exception_to_response(view))
    response = middleware(RequestFactory().post("/x/", {"a": "1"}))
    assert calls == [1] and response.status_code == 500
    assert b"not saved" not in response.content
    with connection.cursor() as cur:  # the connection was left open and working
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


def test_the_timeout_really_is_an_operational_error(db):
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL statement_timeout = 1")
            cur.execute("SELECT pg_sleep(0.2)")
    except OperationalError as exc:
        assert "statement timeout" in str(exc)
    else:
        raise AssertionError("no timeout")
