"""Two-factor sign-in: set up with a real authenticator code (pyotp, independent of django-otp),
the second step after the password, backup codes, the school's requirement for roles that see
safeguarding data, and recovery by the school's account manager."""

import re
import time
from base64 import b32encode

import pyotp
import pytest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.models import School
from tenants.roles import SAFEGUARDING_READERS, Role
from tenants.services import person_grant
from tenants.twofactor import backup_codes_new
from tests.conftest import client_for

PASSWORD = "correct-Horse-9"


@pytest.fixture
def head(school_a):
    return person_grant(username="tf_head", role=Role.HEAD, school=school_a, password=PASSWORD)


@pytest.fixture
def teacher(school_a):
    return person_grant(username="tf_teacher", role=Role.TEACHER, school=school_a,
                        password=PASSWORD)


def sign_in(username):
    client = client_for()
    r = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert r.status_code == 302, r.status_code
    return client


def app_for(device: TOTPDevice) -> pyotp.TOTP:
    """The person's phone: an authenticator app holding the device's key."""
    return pyotp.TOTP(b32encode(device.bin_key).decode())


def set_up(client) -> tuple[TOTPDevice, list[str]]:
    page = client.get("/accounts/two-factor/setup/")
    assert page.status_code == 200 and b"<svg" in page.content
    device = TOTPDevice.objects.get(user__username=page.wsgi_request.user.username,
                                    confirmed=False)
    secret = b32encode(device.bin_key).decode()
    assert secret in page.content.decode()
    done = client.post("/accounts/two-factor/setup/", {"token": app_for(device).now()})
    assert done.status_code == 200
    codes = re.findall(r'<li class="col">(\w+)</li>', done.content.decode())
    device.refresh_from_db()
    return device, codes


def next_code(device) -> str:
    """The app's code for the next 30-second step: a fresh code (the one used to set up was
    spent), still inside the device's tolerance of one step."""
    return app_for(device).at(time.time() + 30)


def test_set_up_then_sign_in_with_the_app(teacher):
    client = sign_in("tf_teacher")
    assert client.get("/accounts/security/").status_code == 200
    device, codes = set_up(client)
    assert device.confirmed and len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/pupils/").status_code == 200  # verified in this session already

    again = sign_in("tf_teacher")
    r = again.get("/pupils/")
    assert r.status_code == 302 and r["Location"] == "/accounts/two-factor/verify/?next=%2Fpupils%2F"
    wrong = again.post("/accounts/two-factor/verify/", {"token": "000000", "next": "/pupils/"})
    assert wrong.status_code == 200 and b"not right" in wrong.content
    device.throttle_reset()  # the failure above throttles the device for a second
    ok = again.post("/accounts/two-factor/verify/", {"token": next_code(device), "next": "/pupils/"})
    assert ok.status_code == 302 and ok["Location"] == "/pupils/"
    assert again.get("/pupils/").status_code == 200


def test_verify_refuses_offsite_next(teacher):
    client = sign_in("tf_teacher")
    device, codes = set_up(client)
    other = sign_in("tf_teacher")
    r = other.post("/accounts/two-factor/verify/", {"token": codes[0],
                                                    "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == "/"


def test_backup_codes_work_once(teacher):
    client = sign_in("tf_teacher")
    _, codes = set_up(client)
    first = sign_in("tf_teacher")
    assert first.post("/accounts/two-factor/verify/", {"token": codes[0]}).status_code == 302
    assert first.get("/pupils/").status_code == 200
    second = sign_in("tf_teacher")
    r = second.post("/accounts/two-factor/verify/", {"token": codes[0]})
    assert r.status_code == 200  # spent
    assert StaticToken.objects.filter(device__user=teacher).count() == 9


def test_new_backup_codes_replace_the_old(teacher):
    client = sign_in("tf_teacher")
    _, old = set_up(client)
    page = client.post("/accounts/two-factor/backup-codes/")
    new = re.findall(r'<li class="col">(\w+)</li>', page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    later = sign_in("tf_teacher")
    assert later.post("/accounts/two-factor/verify/", {"token": old[1]}).status_code == 200
    StaticDevice.objects.get(user=teacher).throttle_reset()  # a failure throttles for a second
    assert later.post("/accounts/two-factor/verify/", {"token": new[1]}).status_code == 302


def test_unverified_session_cannot_make_backup_codes(teacher):
    _, codes = set_up(sign_in("tf_teacher"))
    half = sign_in("tf_teacher")
    r = half.post("/accounts/two-factor/backup-codes/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/two-factor/verify/")
    assert StaticToken.objects.filter(device__user=teacher).count() == 10


def test_setup_refuses_a_wrong_code(teacher):
    client = sign_in("tf_teacher")
    client.get("/accounts/two-factor/setup/")
    r = client.post("/accounts/two-factor/setup/", {"token": "123456"})
    assert r.status_code == 200 and b"not right" in r.content
    assert not TOTPDevice.objects.filter(user=teacher, confirmed=True).exists()


def test_a_session_begun_before_set_up_is_asked_for_a_code(teacher):
    """A session signed in with the password before two-factor was turned on elsewhere (say,
    someone who had learnt the password) cannot carry on without the second step."""
    earlier = sign_in("tf_teacher")
    assert earlier.get("/pupils/").status_code == 200
    _, codes = set_up(sign_in("tf_teacher"))
    r = earlier.get("/pupils/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/two-factor/verify/")
    r = earlier.post("/accounts/two-factor/backup-codes/")
    assert r.status_code == 302 and StaticToken.objects.filter(device__user=teacher).count() == 10


def test_the_flag_follows_devices_however_they_change(teacher):
    teacher.refresh_from_db()
    assert not teacher.two_factor
    device = TOTPDevice.objects.create(user=teacher, name="phone", confirmed=False)
    teacher.refresh_from_db()
    assert not teacher.two_factor  # not until confirmed
    device.confirmed = True
    device.save()
    teacher.refresh_from_db()
    assert teacher.two_factor
    device.delete()
    teacher.refresh_from_db()
    assert not teacher.two_factor


def test_a_password_alone_cannot_add_a_device(teacher):
    """Someone who has only the password of a person with backup codes cannot enrol their own
    authenticator app."""
    _, codes = set_up(sign_in("tf_teacher"))
    TOTPDevice.objects.filter(user=teacher).delete()  # e.g. removed in the admin
    intruder = sign_in("tf_teacher")
    r = intruder.get("/accounts/two-factor/setup/")
    assert r.status_code == 302 and r["Location"] == "/accounts/two-factor/verify/"
    assert not TOTPDevice.objects.filter(user=teacher).exists()
    assert intruder.post("/accounts/two-factor/verify/", {"token": codes[0]}).status_code == 302
    assert intruder.get("/accounts/two-factor/setup/").status_code == 200


# --- the school's requirement ---------------------------------------------------------------

def require(school, on=True):
    School.objects.filter(pk=school.pk).update(require_two_factor=on)


def test_safeguarding_roles_are_named_in_roles():
    assert {Role.HEAD, Role.ATTENDANCE_OFFICER} <= SAFEGUARDING_READERS
    assert not SAFEGUARDING_READERS & {Role.TEACHER, Role.OFFICE, Role.GOVERNOR, Role.PARENT}


def test_required_roles_must_set_up_before_any_page(head, teacher, school_a):
    require(school_a)
    client = sign_in("tf_head")
    for url in ("/", "/dashboard/", "/pupils/", "/accounts/people/", "/escalation/"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/two-factor/setup/"), url
    assert sign_in("tf_teacher").get("/pupils/").status_code == 200  # not a safeguarding role
    device, _ = set_up(client)
    assert client.get("/dashboard/").status_code == 200
    # Next time: the password alone is not enough.
    later = sign_in("tf_head")
    assert later.get("/dashboard/").status_code == 302
    later.post("/accounts/two-factor/verify/", {"token": next_code(device)})
    assert later.get("/dashboard/").status_code == 200


def test_requirement_reaches_forced_sessions_too(people, school_a):
    """Any session of a required role, however it began, goes to set-up first."""
    require(school_a)
    for who in ("head", "attendance_officer"):
        r = client_for(people[who]).get("/dashboard/")
        assert r.status_code == 302 and "/two-factor/setup/" in r["Location"], who
    assert client_for(people["governor"]).get("/dashboard/").status_code == 200


def test_head_turns_the_requirement_on_and_off(people, school_a):
    head = client_for(people["head"])
    assert head.post("/accounts/people/two-factor/", {"require_two_factor": "on"}).status_code == 302
    school_a.refresh_from_db()
    assert school_a.require_two_factor
    assert "/two-factor/setup/" in head.get("/dashboard/")["Location"]
    head.post("/accounts/two-factor/setup/")  # reachable while required
    School.objects.filter(pk=school_a.pk).update(require_two_factor=False)
    assert head.get("/dashboard/").status_code == 200
    ao = client_for(people["attendance_officer"])
    assert ao.post("/accounts/people/two-factor/", {}).status_code == 403


# --- recovery --------------------------------------------------------------------------------

def test_head_resets_a_members_two_factor(head, people, school_a):
    member = person_grant(username="tf_ao", role=Role.ATTENDANCE_OFFICER, school=school_a,
                          password=PASSWORD)
    set_up(sign_in("tf_ao"))
    backup_codes_new(user=member)
    page = client_for(head).get("/accounts/people/").content.decode()
    assert f'name="user" value="{member.pk}"' in page
    r = client_for(head).post("/accounts/people/two-factor/reset/", {"user": member.pk})
    assert r.status_code == 302
    assert not TOTPDevice.objects.filter(user=member).exists()
    assert not StaticToken.objects.filter(device__user=member).exists()
    # The member's password now signs them in; a school that requires it asks for a new set-up.
    assert sign_in("tf_ao").get("/pupils/").status_code == 200


def test_a_stale_session_after_reset_is_let_through(teacher):
    """A session begun while the person had a device, after an account manager removed it."""
    set_up(sign_in("tf_teacher"))
    half = sign_in("tf_teacher")
    TOTPDevice.objects.filter(user=teacher).delete()
    StaticDevice.objects.filter(user=teacher).delete()
    assert half.get("/pupils/", follow=True).status_code == 200


def test_reset_is_for_this_schools_members_only(head, people, school_a):
    stranger = people["other_school_office"]
    TOTPDevice.objects.create(user=stranger, name="phone", confirmed=True)
    for user_id in (stranger.pk, "x", ""):
        r = client_for(head).post("/accounts/people/two-factor/reset/", {"user": user_id})
        assert r.status_code == 404
    assert TOTPDevice.objects.filter(user=stranger).exists()
    member = people["attendance_officer"]
    TOTPDevice.objects.create(user=member, name="phone", confirmed=True)
    r = client_for(people["office"]).post("/accounts/people/two-factor/reset/", {"user": member.pk})
    assert r.status_code == 403 and TOTPDevice.objects.filter(user=member).exists()


def test_platform_admin_resets_two_factor(teacher, db):
    from tenants.models import User

    admin = User.objects.create_superuser("tf_admin", "admin@example.org", PASSWORD)
    TOTPDevice.objects.create(user=teacher, name="phone", confirmed=True)
    backup_codes_new(user=teacher)
    client = client_for(admin, host="localhost")
    r = client.post("/admin/tenants/user/", {"action": "reset_two_factor",
                                             "_selected_action": [teacher.pk]})
    assert r.status_code == 302
    assert not TOTPDevice.objects.filter(user=teacher).exists()
    assert not StaticToken.objects.filter(device__user=teacher).exists()
