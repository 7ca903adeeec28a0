"""Issue 17 item 6: one sign-in across a trust. With SESSION_COOKIE_DOMAIN set to the
deployment's parent domain, the session cookie is sent to every school host, so a person
signed in on one school is signed in on the others they belong to; a school switcher and the
trust comparison are in the navigation. The session never grants access by itself: the
roles are looked up for the school of each request, so a session valid on school A gives
nothing on school B where the person has no role.

(Django's test client sends every cookie to every host, which is what a browser does with
a cookie set for the parent domain.)"""

from django.db import connection

from tenants.roles import Role
from tenants.services import person_grant
from tests.conftest import client_for

PASSWORD = "correct-Horse-9"


def _login(host="a.localhost", username="both"):
    client = client_for(host=host)
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client, response


def test_the_session_cookie_is_for_the_parent_domain(school_a, settings):
    settings.SESSION_COOKIE_DOMAIN = ".localhost"
    person_grant(username="both", role=Role.OFFICE, school=school_a, password=PASSWORD)
    _, response = _login()
    assert response.cookies[settings.SESSION_COOKIE_NAME]["domain"] == ".localhost"


def test_signed_in_on_one_school_is_signed_in_on_the_other_they_belong_to(school_a, school_b):
    person_grant(username="both", role=Role.OFFICE, school=school_a, password=PASSWORD)
    person_grant(username="both", role=Role.TEACHER, school=school_b)
    client, _ = _login()
    page = client.get("/pupils/").content.decode()
    assert 'id="school-switcher"' in page
    assert "http://a.localhost/" in page and "http://b.localhost/" in page
    b = client.get("/pupils/", HTTP_HOST="b.localhost")
    assert b.status_code == 200  # no second sign-in
    assert b.wsgi_request.roles == frozenset({Role.TEACHER})  # B's roles, not A's
    assert client.get("/office/", HTTP_HOST="b.localhost").status_code == 403  # office only at A
    connection.set_tenant(school_a)


def test_a_session_from_school_a_grants_nothing_on_school_b(school_a, school_b, people):
    person_grant(username="both", role=Role.HEAD, school=school_a, password=PASSWORD)
    client, _ = _login()
    assert client.get("/office/").status_code in (200, 302)
    for url in ("/office/", "/pupils/", "/dashboard/", "/escalation/", "/letters/", "/register/"):
        response = client.get(url, HTTP_HOST="b.localhost")
        assert response.status_code == 404, url
        assert response.wsgi_request.roles == frozenset()
    response = client.post("/calendar/", {"kind": "term", "start_date": "2026-09-01",
                                          "end_date": "2026-10-01", "label": "X"},
                           HTTP_HOST="b.localhost")
    assert response.status_code == 404
    page = client.get("/pupils/").content.decode()
    assert 'id="school-switcher"' not in page  # one school: nothing to switch to
    connection.set_tenant(school_a)


def test_trust_director_has_the_trust_comparison_in_the_navigation(school_a, people):
    page = client_for(people["trust_director"]).get("/dashboard/").content.decode()
    assert 'class="dropdown-item trust-comparison" href="http://localhost/trust/test-trust/"' in page
    assert "Test School A" in page and "Test School B" in page  # the trust's schools


def test_la_officer_switches_between_their_schools(school_a, school_b):
    person_grant(username="la", role=Role.LA_OFFICER, school=school_a, password=PASSWORD)
    person_grant(username="la", role=Role.LA_OFFICER, school=school_b)
    client, _ = _login(username="la")
    page = client.get("/letters/returns/").content.decode()
    assert "http://b.localhost/" in page
    assert client.get("/letters/returns/", HTTP_HOST="b.localhost").status_code == 200
    connection.set_tenant(school_a)


def test_trust_comparison_scrolls_sideways_and_lists_the_schools(school_a, people):
    response = client_for(people["trust_director"], host="localhost").get("/trust/test-trust/")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<div class="table-responsive">' in page  # wide tables scroll instead of being cut off
    assert 'id="school-switcher"' in page and "http://a.localhost/" in page
    connection.set_tenant(school_a)
