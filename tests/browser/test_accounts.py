"""Two-factor sign-in in a real browser: the office sets it up from the QR page (typing the key
into an "authenticator" — pyotp), keeps the backup codes, and is asked for a code next time."""

import re
import threading
import time

import pyotp
import pytest
from playwright.sync_api import expect

from .conftest import PHONE, TABLET, assert_no_horizontal_overflow, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


def _committed(fn):
    """Run ``fn`` on its own connection (autocommit), outside the test's rolled-back
    transaction, so the live server sees the change."""
    from django.db import connection

    def run():
        try:
            fn()
        finally:
            connection.close()

    t = threading.Thread(target=run)
    t.start()
    t.join()


def _remove_devices(username):
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _committed(lambda: (TOTPDevice.objects.filter(user__username=username).delete(),
                        StaticDevice.objects.filter(user__username=username).delete()))


def test_office_sets_up_two_factor_and_signs_in_with_it(live, page):
    try:
        login(page, live, live.office)
        page.get_by_role("link", name="Olive Office").click()
        page.get_by_role("link", name="Set up two-factor sign-in").click()
        expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
        page.set_viewport_size(PHONE)
        assert_no_horizontal_overflow(page)
        shot(page, "two-factor-setup-phone")
        page.set_viewport_size(TABLET)
        app = pyotp.TOTP(page.locator("code.user-select-all").inner_text())
        page.get_by_role("textbox", name="Code").fill(app.now())
        page.get_by_role("button", name="Turn on").click()
        codes = page.locator("#backup-codes li").all_inner_texts()
        assert len(codes) == 10
        page.get_by_role("link", name="I have kept them").click()
        page.get_by_role("button", name="Sign out").click()

        login(page, live, live.office)
        expect(page.get_by_role("heading", name="One more step")).to_be_visible()
        page.goto("/office/")
        expect(page.get_by_role("heading", name="One more step")).to_be_visible()
        page.get_by_role("textbox", name="Code").fill(app.at(time.time() + 30))
        page.get_by_role("button", name="Continue").click()
        expect(page).to_have_url(re.compile(rf"^{re.escape(live.url)}/office/"))
        expect(page.get_by_role("link", name="Today")).to_be_visible()
    finally:
        _remove_devices(live.office)


def test_forgotten_password_page_from_sign_in(live, page):
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgotten your password?").click()
    page.get_by_label("Your email address").fill("nobody@example.org")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
