"""The Content-Security-Policy in a real browser (requirement 7).

Every browser test checks the console for CSP violations (conftest.no_csp_violations): the
register, dashboards with their charts, the letter editor and batch progress, the parent
portal. Here: the policy really is enforced (an inline style or script is refused and
reported, so that check can fail), and the pages no other browser test opens break nothing.
"""

import pytest

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_the_policy_is_enforced_and_violations_are_seen(page, live, no_csp_violations):
    response = page.goto("/accounts/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    page.evaluate("""() => {
        const d = document.createElement('div');
        d.innerHTML = '<p id="x" style="color: rgb(255, 0, 0)">x</p>';
        document.body.append(d);
        const s = document.createElement('script');
        s.textContent = 'window.inlineRan = true';
        document.body.append(s);
    }""")
    assert page.evaluate("window.inlineRan === undefined")
    assert page.evaluate("getComputedStyle(document.getElementById('x')).color") != "rgb(255, 0, 0)"
    page.wait_for_timeout(200)
    assert len([m for m in no_csp_violations if "Content Security Policy" in m]) >= 2
    no_csp_violations.clear()  # seen: these two were ours


def test_office_pages_and_print_button_work_under_the_policy(page, live):
    login(page, live, live.office)
    for path in ("/office/", "/pupils/", f"/pupils/{live.pupils['Ahmed']}/", "/calendar/",
                 live.register_path(live.earlier_day, "AM")):
        response = page.goto(path)
        assert response.status == 200, path
        assert response.headers["cache-control"] == "no-store, private", path
    # The print buttons are wired by static/js/app.js, not onclick="".
    page.goto(f"/escalation/classes/{live.group_id}/")
    assert page.get_by_role("button", name="Print").get_attribute("data-print") is not None
    assert page.locator("[onclick], [style]").count() == 0


def test_platform_home_and_finder(page, live):
    base = live.url.replace("browser.localhost", "localhost")
    page.goto(base + "/")
    assert page.get_by_role("link", name="Browser Test Primary").count() == 0
    page.get_by_label("School name or URN").fill("Browser Test")
    page.get_by_role("button", name="Find").click()
    link = page.get_by_role("link", name="Browser Test Primary")
    assert link.get_attribute("href") == live.url + "/"
