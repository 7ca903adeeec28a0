"""Accounts a school can run: password change, password reset by email, staff invitations,
and a sign-in lockout that neither restarts while locked nor outlives a password reset."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants import tasks
from tenants.models import Membership, User
from tenants.roles import Role
from tenants.services import person_grant
from tenants.tokens import invitation_token_generator, reset_token_generator
from tests.conftest import client_for

PASSWORD = "correct-Horse-9"
NEW_PASSWORD = "another-Staple-42"


@pytest.fixture(autouse=True)
def reset_queue(monkeypatch):
    """Reset mails go through a Celery task: keep what the web request queued, to run it after
    (as a worker would). Rate-limit counters live in Redis: forget the ones these tests use."""
    queued = []
    monkeypatch.setattr(tasks.password_reset_send, "delay", lambda *args: queued.append(args))
    keys = ["reset:ip:127.0.0.1", "reset:ip:10.0.0.7", "reset:ip:10.6.6.6",
            "lockout:reset:pw_office", *(f"reset:email:{e}" for e in EMAILS)]
    caches["ratelimit"].delete_many(keys)
    yield queued
    caches["ratelimit"].delete_many(keys)


EMAILS = ["office@a.example", "nobody@a.example", "new.teacher@a.example", "dup@a.example"]


@pytest.fixture
def office(school_a):
    return person_grant(username="pw_office", role=Role.OFFICE, school=school_a,
                        password=PASSWORD, email="office@a.example", first_name="Olive")


def sign_in(username, password, ip="127.0.0.1", host="a.localhost"):
    client = client_for(host=host)
    response = client.post("/accounts/login/", {"username": username, "password": password},
                           REMOTE_ADDR=ip)
    return client, response


def link_in(mail) -> str:
    return re.search(r"https?://\S+", mail.body).group(0)


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


# --- password change -----------------------------------------------------------------------

def test_password_change(office):
    client, _ = sign_in("pw_office", PASSWORD)
    assert client.get("/accounts/password/").status_code == 200
    wrong = client.post("/accounts/password/", {"old_password": "nope", "new_password1": NEW_PASSWORD,
                                                "new_password2": NEW_PASSWORD})
    assert wrong.status_code == 200 and b"incorrectly" in wrong.content
    done = client.post("/accounts/password/", {"old_password": PASSWORD,
                                               "new_password1": NEW_PASSWORD,
                                               "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/done/"
    assert client.get("/").status_code == 302  # still signed in (lands on the role's page)
    assert client.get("/accounts/password/done/").status_code == 200
    assert sign_in("pw_office", PASSWORD)[1].status_code == 200  # the old one is refused
    assert sign_in("pw_office", NEW_PASSWORD)[1].status_code == 302


def test_account_pages_need_sign_in(db, school_a):
    anon = client_for()
    for url in ("/accounts/password/", "/accounts/security/", "/accounts/two-factor/setup/",
                "/accounts/two-factor/verify/"):
        r = anon.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), url
    assert anon.post("/accounts/two-factor/backup-codes/").status_code == 302


# --- password reset ------------------------------------------------------------------------

def request_reset(email, queue, ip="127.0.0.1", host="a.localhost"):
    """POST the form; then a worker runs what was queued. Returns the response, the number of
    queries the web request made and the number of tasks it queued."""
    client = client_for(host=host)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/accounts/reset/", {"email": email}, REMOTE_ADDR=ip)
    ran = len(queue)
    while queue:
        tasks.password_reset_send(*queue.pop(0))
    return response, len(queries), ran


def test_reset_says_the_same_for_unknown_addresses(office, mailoutbox,
                                                   reset_queue):
    known = request_reset("Office@A.example", reset_queue)
    unknown = request_reset("nobody@a.example", reset_queue)
    for response, _, _ in (known, unknown):
        assert response.status_code == 302 and response["Location"] == "/accounts/reset/sent/"
    # The web request does the same work either way (the lookup happens in the worker):
    # same queries, one task queued, so its timing does not tell either.
    assert known[1:] == unknown[1:] == (known[1], 1)
    assert [m.to for m in mailoutbox] == [["office@a.example"]]
    page = client_for().get("/accounts/reset/sent/").content
    assert b"If the address you typed belongs to an account" in page


def test_reset_link_is_on_the_school_host_and_sets_a_new_password(office, mailoutbox,
                                                                  reset_queue):
    request_reset("office@a.example", reset_queue)
    link = link_in(mailoutbox[0])
    assert link.startswith("http://a.localhost/accounts/reset/")
    client = client_for()
    form = client.get(path_of(link))
    assert form.status_code == 302  # Django swaps the token for a session and redirects
    set_url = form["Location"]
    assert client.get(set_url).status_code == 200
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == "/accounts/reset/done/"
    assert sign_in("pw_office", NEW_PASSWORD)[1].status_code == 302
    # The link works once.
    again = client_for().get(path_of(link), follow=True)
    assert b"This link has expired" in again.content


def test_reset_link_ignores_a_forged_host(office, mailoutbox, reset_queue):
    """A Host header we do not know never ends up in the emailed link."""
    request_reset("office@a.example", reset_queue, host="evil.localhost")
    assert link_in(mailoutbox[0]).startswith("http://localhost/accounts/reset/")


def test_reset_token_expires_after_an_hour(office, monkeypatch):
    token = reset_token_generator.make_token(office)
    later = timezone.now().replace(tzinfo=None)
    monkeypatch.setattr(reset_token_generator, "_now", lambda: later + timedelta(minutes=59))
    assert reset_token_generator.check_token(office, token)
    monkeypatch.setattr(reset_token_generator, "_now", lambda: later + timedelta(minutes=61))
    assert not reset_token_generator.check_token(office, token)


def test_resets_are_rate_limited(office, mailoutbox, reset_queue):
    statuses = [request_reset("office@a.example", reset_queue,
                              ip="10.0.0.7")[0].status_code for _ in range(5)]
    assert statuses == [302] * 5  # the same answer every time...
    assert len(mailoutbox) == 3  # ...but at most three mails an hour to one address
    for _ in range(15):
        request_reset("nobody@a.example", reset_queue, ip="10.0.0.7")
    blocked = request_reset("nobody@a.example", reset_queue, ip="10.0.0.7")
    assert blocked[0].status_code == 429 and blocked[2] == 0  # 20 an hour from one client


# --- lockout -------------------------------------------------------------------------------

def fail(username, ip="127.0.0.1", times=1):
    return [sign_in(username, "wrong", ip=ip)[1].status_code for _ in range(times)]


def test_lockout_does_not_restart_on_failures_during_it(office):
    assert fail("pw_office", times=5) == [200, 200, 200, 200, 429]
    attempt = AccessAttempt.objects.get(username="pw_office")
    assert fail("pw_office", times=3) == [429] * 3
    after = AccessAttempt.objects.get(pk=attempt.pk)
    assert (after.attempt_time, after.failures_since_start) == (attempt.attempt_time, 5)
    # Fifteen minutes after the failure that locked, the real user gets in.
    AccessAttempt.objects.filter(pk=attempt.pk).update(
        attempt_time=attempt.attempt_time - timedelta(minutes=15, seconds=1))
    assert sign_in("pw_office", PASSWORD)[1].status_code == 302


def test_lockout_is_per_person_not_per_shared_address(office, school_a):
    """Guessing at one account from the school's network locks that account (wherever it is
    used from) and nobody else at that address."""
    person_grant(username="colleague", role=Role.TEACHER, school=school_a, password=PASSWORD)
    assert fail("pw_office", ip="10.1.1.1", times=5)[-1] == 429
    assert sign_in("pw_office", PASSWORD, ip="10.9.9.9")[1].status_code == 429
    assert sign_in("colleague", PASSWORD, ip="10.1.1.1")[1].status_code == 302


def test_password_spraying_locks_the_address(office, settings):
    settings.AXES_IP_FAILURE_LIMIT = 10
    for n in range(10):
        fail(f"guess{n}", ip="10.6.6.6")
    assert sign_in("pw_office", PASSWORD, ip="10.6.6.6")[1].status_code == 429
    assert sign_in("pw_office", PASSWORD, ip="10.6.6.7")[1].status_code == 302


def test_signing_in_does_not_clear_the_address_count(office, settings):
    """A sprayer who signs in to their own account between guesses keeps their count."""
    settings.AXES_IP_FAILURE_LIMIT = 10
    for n in range(9):
        fail(f"guess{n}", ip="10.6.6.6")
    assert sign_in("pw_office", PASSWORD, ip="10.6.6.6")[1].status_code == 302
    assert fail("guess9", ip="10.6.6.6") == [429]


def test_a_password_reset_lifts_the_lockout(office, mailoutbox, reset_queue):
    fail("pw_office", times=5)
    assert sign_in("pw_office", PASSWORD)[1].status_code == 429
    request_reset("office@a.example", reset_queue)
    client = client_for()
    set_url = client.get(path_of(link_in(mailoutbox[0])))["Location"]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert not AccessAttempt.objects.filter(username="pw_office").exists()
    assert sign_in("pw_office", NEW_PASSWORD)[1].status_code == 302


def test_after_a_reset_the_person_gets_in_from_a_sprayed_address(
        office, school_a, settings, mailoutbox, reset_queue):
    """Someone spraying passwords from the school's network locks the address; a member of
    staff there who resets their password by email still gets in (and nobody else does)."""
    settings.AXES_IP_FAILURE_LIMIT = 10
    person_grant(username="colleague", role=Role.TEACHER, school=school_a, password=PASSWORD)
    for n in range(10):
        fail(f"guess{n}", ip="10.6.6.6")
    assert sign_in("pw_office", PASSWORD, ip="10.6.6.6")[1].status_code == 429
    request_reset("office@a.example", reset_queue, ip="10.6.6.6")
    client = client_for()
    set_url = client.get(path_of(link_in(mailoutbox[0])))["Location"]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert sign_in("pw_office", NEW_PASSWORD, ip="10.6.6.6")[1].status_code == 302
    assert sign_in("colleague", PASSWORD, ip="10.6.6.6")[1].status_code == 429
    # The person's own limit still holds for them.
    assert fail("pw_office", ip="10.6.6.6", times=5)[-1] == 429
    assert sign_in("pw_office", NEW_PASSWORD, ip="10.6.6.6")[1].status_code == 429


def test_locked_out_page_offers_the_reset(office):
    fail("pw_office", times=4)
    _, page = sign_in("pw_office", "wrong")
    assert page.status_code == 429 and b'href="/accounts/reset/"' in page.content


# --- staff invitations ---------------------------------------------------------------------

def invite(client, django_capture_on_commit_callbacks, **data):
    data = {"email": "new.teacher@a.example", "first_name": "Nia", "last_name": "Jones",
            "role": "teacher", **data}
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/accounts/people/", data)


def test_invitation_end_to_end(people, mailoutbox, django_capture_on_commit_callbacks, school_a):
    head = client_for(people["head"])
    response = invite(head, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == "/accounts/people/"
    user = User.objects.get(email="new.teacher@a.example")
    assert user.username == "new.teacher@a.example" and not user.has_usable_password()
    assert Membership.objects.filter(user=user, school=school_a, role=Role.TEACHER).exists()
    assert mailoutbox[0].to == ["new.teacher@a.example"]
    link = link_in(mailoutbox[0])
    assert link.startswith("http://a.localhost/accounts/invitation/")
    assert "3 days" in mailoutbox[0].body
    client = client_for()
    set_url = client.get(path_of(link))["Location"]
    page = client.get(set_url)
    assert b"new.teacher@a.example" in page.content and b"Welcome" in page.content
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == "/accounts/invitation/done/"
    teacher, signed_in = sign_in("new.teacher@a.example", NEW_PASSWORD)
    assert signed_in.status_code == 302 and teacher.get("/register/").status_code in (200, 302)
    assert b"has expired" in client_for().get(path_of(link), follow=True).content  # used once
    assert "new.teacher@a.example" in head.get("/accounts/people/").content.decode()


def test_invitation_lasts_days_and_is_no_reset_token(people, monkeypatch):
    user = people["teacher"]
    token = invitation_token_generator.make_token(user)
    assert not reset_token_generator.check_token(user, token)
    assert not invitation_token_generator.check_token(user, reset_token_generator.make_token(user))
    now = timezone.now().replace(tzinfo=None)
    monkeypatch.setattr(invitation_token_generator, "_now", lambda: now + timedelta(days=2))
    assert invitation_token_generator.check_token(user, token)
    monkeypatch.setattr(invitation_token_generator, "_now", lambda: now + timedelta(days=3, hours=1))
    assert not invitation_token_generator.check_token(user, token)


def test_inviting_someone_who_has_an_account_adds_the_role(people, mailoutbox, school_a,
                                                          django_capture_on_commit_callbacks):
    other = people["other_school_office"]
    other.email = "dup@a.example"
    other.set_password(PASSWORD)
    other.save()
    invite(client_for(people["head"]), django_capture_on_commit_callbacks, email="DUP@a.example",
           role="attendance_officer")
    assert Membership.objects.filter(user=other, school=school_a,
                                     role=Role.ATTENDANCE_OFFICER).exists()
    assert "existing password" in mailoutbox[0].body and "/accounts/login/" in mailoutbox[0].body
    other.refresh_from_db()
    assert other.check_password(PASSWORD)  # an invitation never touches a password


def test_invitations_give_staff_roles_only(people, django_capture_on_commit_callbacks):
    head = client_for(people["head"])
    for role in ("parent", "trust_director", "superuser"):
        r = invite(head, django_capture_on_commit_callbacks, role=role)
        assert r.status_code == 200 and b"Select a valid choice" in r.content
    assert not User.objects.filter(email="new.teacher@a.example").exists()


def test_only_account_managers_invite(people, django_capture_on_commit_callbacks):
    for who in ("office", "attendance_officer", "teacher", "governor"):
        r = invite(client_for(people[who]), django_capture_on_commit_callbacks)
        assert r.status_code == 403, who
    r = invite(client_for(people["other_school_office"]), django_capture_on_commit_callbacks)
    assert r.status_code == 404
    assert not User.objects.filter(email="new.teacher@a.example").exists()


def test_reset_when_redis_is_down_says_so_without_a_500(office, monkeypatch, mailoutbox):
    from kombu.exceptions import OperationalError

    from tenants import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.password_reset_send, "delay", broker_down)
    r = client_for().post("/accounts/reset/", {"email": "office@a.example"})
    assert r.status_code == 503 and b"cannot send emails just now" in r.content
    assert mailoutbox == []


@pytest.mark.parametrize("host", ["a.localhost", "localhost"])
def test_open_account_pages_render(db, school_a, host):
    client = client_for(host=host)
    for url in ("/accounts/login/", "/accounts/reset/", "/accounts/reset/sent/",
                "/accounts/reset/done/", "/accounts/invitation/done/",
                "/accounts/reset/MQ/bad-token/", "/accounts/invitation/MQ/bad-token/"):
        r = client.get(url)
        assert r.status_code == 200, url
    assert b"has expired" in client.get("/accounts/invitation/MQ/bad-token/").content
