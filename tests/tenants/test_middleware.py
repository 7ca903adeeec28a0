"""SchoolMiddleware: django-tenants' host-to-school lookup without the ``SET search_path``
to public before it (issue 18.5). Whatever school the connection served last, each request
reads its own school, and a host with no school is served from public as before."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import client_for


def page(people, who, host):
    client = client_for(people[who], host=host)
    with CaptureQueriesContext(connection) as q:
        response = client.get("/pupils/")
    return response, [x["sql"] for x in q.captured_queries]


def test_each_request_reads_its_own_school_whichever_came_before(people, make_pupil):
    make_pupil(legal_forename="Onlyina")
    for who, host, seen in [("office", "a.localhost", True),
                            ("other_school_office", "b.localhost", False),
                            ("office", "a.localhost", True)]:
        response, sqls = page(people, who, host)
        assert response.status_code == 200
        assert ("Onlyina" in response.content.decode()) is seen
        assert connection.schema_name == ("test_a" if seen else "test_b")
        # The lookup names public itself; the only search path set is the school's.
        assert sqls[0].startswith('SELECT s.* FROM "public".tenants_school s JOIN "public".')
        assert [s for s in sqls if s.startswith("SET search_path")] == [
            f'SET search_path = "{connection.schema_name}","public"']


def test_a_host_with_no_school_is_served_from_public(people):
    client_for(people["office"]).get("/pupils/")  # the connection is left on school A
    assert connection.schema_name == "test_a"
    response = Client(HTTP_HOST="nowhere.localhost").get("/")
    assert response.status_code < 500
    assert connection.schema_name == "public"
    client_for(people["office"]).get("/pupils/")
    assert Client(HTTP_HOST="bad host!").get("/").status_code in (400, 404)
    assert connection.schema_name == "public"
