"""Counts waiting in the navigation (issue 14 item 4: "The head sees a count of requests
waiting ... in the navigation; the office sees counts of reports waiting"), one query, then
kept for a minute (every write through absences.services counts again at once)."""

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from absences.models import AbsenceReport, LeaveRequest
from tests.conftest import client_for

from .test_services import TUE, WED, report, submit


def counting_queries(q):
    return [x["sql"] for x in q.captured_queries if "absences_absencereport" in x["sql"]
            or "absences_leaverequest" in x["sql"]]


@pytest.fixture(autouse=True)
def _fresh_cache():
    caches["menu"].clear()


def test_office_sees_reports_waiting_in_one_query(family, people, school_a,
                                                  django_capture_on_commit_callbacks):
    report(school_a, family["child"], people["parent"], first_day=TUE, last_day=TUE)
    client = client_for(people["office"])
    client.get("/pupils/")  # counted and kept
    with django_capture_on_commit_callbacks(execute=True):  # a new report: counted again
        report(school_a, family["other"], people["parent"], first_day=WED, last_day=WED)
    with CaptureQueriesContext(connection) as q:
        page = client.get("/pupils/").content.decode()
    assert 'data-testid="reports-waiting">2 waiting<' in page
    assert 'data-testid="nav-waiting">2<' in page and 'data-testid="leave-waiting"' not in page
    assert len(counting_queries(q)) == 1
    with CaptureQueriesContext(connection) as q:
        assert 'data-testid="nav-waiting">2<' in client.get("/pupils/").content.decode()
    assert counting_queries(q) == []  # the next pages cost no query


def test_head_sees_leave_requests_waiting(family, people, school_a):
    submit(family["child"], people["parent"])
    page = client_for(people["head"]).get("/pupils/").content.decode()
    assert 'data-testid="leave-waiting">1 waiting<' in page
    assert 'data-testid="nav-waiting">1<' in page
    LeaveRequest.objects.update(status="refused")
    caches["menu"].clear()
    page = client_for(people["head"]).get("/pupils/").content.decode()
    assert "leave-waiting" not in page and "nav-waiting" not in page


def test_head_sees_leave_requests_waiting_on_the_dashboard(family, people, school_a):
    """Issue 14 item 4: "The head sees a count of requests waiting on the dashboard"."""
    submit(family["child"], people["parent"])
    page = client_for(people["head"]).get("/dashboard/").content.decode()
    assert ('data-testid="dashboard-leave-waiting">Leave requests waiting '
            '<span class="badge text-bg-primary">1<') in page
    caches["menu"].clear()
    governor = client_for(people["governor"]).get("/dashboard/")
    assert governor.status_code == 200 and b"dashboard-leave-waiting" not in governor.content


def test_handled_reports_are_not_waiting_and_nobody_else_pays_the_query(family, people, school_a):
    report(school_a, family["child"], people["parent"], first_day=TUE, last_day=TUE)
    AbsenceReport.objects.update(status="accepted")
    caches["menu"].clear()
    assert "reports-waiting" not in client_for(people["office"]).get("/pupils/").content.decode()
    for who in ("teacher", "parent"):
        client = client_for(people[who])
        url = "/absences/" if who == "parent" else "/pupils/"
        client.get(url)
        with CaptureQueriesContext(connection) as q:
            client.get(url)
        assert [s for s in counting_queries(q) if "count(*)" in s.lower()] == []
