"""Issue 11.4: error pages are the app's own, with navigation; filters validate."""

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import get_resolver

from attendance_site import errors
from tests.conftest import client_for
from tests.security.test_every_url import _media, world  # noqa: F401 - fixtures

NAV = 'aria-label="Main"'


def test_debug_is_off_and_every_urlconf_names_the_apps_handlers():
    assert settings.DEBUG is False
    for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
        resolver = get_resolver(urlconf)
        for code, view in ((400, errors.bad_request), (403, errors.permission_denied),
                           (404, errors.page_not_found), (500, errors.server_error)):
            assert resolver.resolve_error_handler(code) is view, (urlconf, code)


def test_404_is_the_apps_page_with_navigation(people):
    response = client_for(people["office"]).get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in page and NAV in page and 'href="/pupils/"' in page


def test_403_is_the_apps_page_with_navigation(people):
    response = client_for(people["teacher"]).get("/imports/pupils/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "You do not have access" in page and NAV in page


def test_nul_in_a_search_box_is_a_400_page_not_a_500(people):
    response = client_for(people["office"]).get("/pupils/", {"q": "Kh\x00an"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "NUL character" in page and NAV in page


def test_nul_in_a_form_field_is_a_400(school_a, people):
    from registers.models import CalendarEntry

    response = client_for(people["office"]).post("/calendar/", {
        "kind": "term", "start_date": "2026-09-01", "end_date": "2026-10-01", "label": "A\x00"})
    assert response.status_code == 400 and not CalendarEntry.objects.exists()


def test_500_is_the_apps_page_and_survives_a_broken_page(people, monkeypatch):
    request = RequestFactory().get("/", HTTP_HOST="a.localhost")
    request.user, request.roles = people["office"], frozenset()
    response = errors.server_error(request)
    assert response.status_code == 500 and "Something went wrong" in response.content.decode()
    assert NAV in response.content.decode()

    def broken(*a, **kw):
        raise RuntimeError("database gone")

    monkeypatch.setattr(errors, "render", broken)
    response = errors.server_error(request)
    assert response.status_code == 500 and b"Something went wrong" in response.content


def test_a_view_that_fails_gives_the_500_page_not_a_traceback(people, monkeypatch):
    from registers import views

    def boom(*a, **kw):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(views.selectors, "stats_by_pupil", boom)
    client = Client(HTTP_HOST="a.localhost", raise_request_exception=False)
    client.force_login(people["office"])
    response = client.get("/pupils/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content and b"secret detail" not in response.content
    assert b"Traceback" not in response.content


@pytest.mark.parametrize("typed, shown", [("R", False), ("Reception", False), ("Y3", True),
                                          ("Year 3", True), ("3", True), ("y4", False)])
def test_queue_year_filter_takes_what_people_type(world, people, typed, shown):  # noqa: F811
    response = client_for(people["attendance_officer"]).get("/escalation/", {"year": typed})
    assert response.status_code == 200
    assert ("Khanfamily" in response.content.decode()) is shown


def test_queue_ignores_a_bad_filter_with_a_message(world, people):  # noqa: F811
    response = client_for(people["attendance_officer"]).get(
        "/escalation/", {"year": "Year 99", "class": "3B", "stage": "x"}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200 and "Khanfamily" in page
    assert "Filter year ignored" in page and "Filter class ignored" in page


# --- issue 17 item 7 ---------------------------------------------------------------------


def test_a_teacher_opening_another_class_register_gets_the_apps_friendly_404(school_a, people,
                                                                             make_pupil):
    other = make_pupil(group="4C", year_group=4)
    response = client_for(people["teacher"]).get(
        f"/register/{other.registration_group.pk}/2026-01-06/AM/",
        HTTP_REFERER="http://a.localhost/register/")
    page = response.content.decode()
    assert response.status_code == 404
    assert NAV in page and "not one of your classes" in page
    assert 'href="/register/"' in page  # "My register"
    assert 'href="http://a.localhost/register/" data-back' in page
    assert "javascript:" not in page


def test_back_link_never_leads_off_site(people):
    page = client_for(people["office"]).get("/no-such-page/",
                                            HTTP_REFERER="https://evil.example/x").content.decode()
    assert 'href="/" data-back' in page and "evil.example" not in page


@pytest.mark.parametrize("query", [{"from": "2026-03-01", "to": "2026-01-01"},
                                   {"from": "06/01/2026"}, {"cohort": "nonsense"}])
def test_a_bad_date_range_on_the_dashboard_is_a_form_error_on_the_same_page(school_a, people, query):
    response = client_for(people["head"]).get("/dashboard/", query)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="criteria-error"' in page and "showing the default period" in page
    assert 'id="from"' in page and NAV in page


def test_other_malformed_dashboard_filters_get_the_apps_400_page(school_a, people):
    response = client_for(people["head"]).get("/dashboard/pupils/", {"session": "XX"})
    assert response.status_code == 400 and NAV in response.content.decode()
