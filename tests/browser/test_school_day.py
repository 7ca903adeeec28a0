"""Issue 17 in a real browser (headless Chromium): the office's Today page (AM and PM side
by side, waiting badges), the week grid reached from the register and the year view from
Today, and the navigation's pupil search. Screenshots at 1366×768 and on a tablet
(1024×768) go to $SCREENSHOT_DIR (default /tmp/attendance-screens), never into the repo."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import TABLET, assert_no_horizontal_overflow, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

LAPTOP = {"width": 1366, "height": 768}
SIZES = {"1366x768": LAPTOP, "1024x768": TABLET}
SCREENS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/attendance-screens"))


def screenshot(page, name):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True, animations="disabled")


@pytest.mark.parametrize("size", SIZES)
def test_office_today_side_by_side(page, live, size):
    page.set_viewport_size(SIZES[size])
    login(page, live, live.office)
    page.goto("/office/")
    table = page.locator("#registers-table")
    expect(table.locator("thead")).to_contain_text("AM")
    expect(table.locator("thead")).to_contain_text("PM")
    row = table.locator('tr[data-group="4M"]')
    expect(row.locator("td.register-cell")).to_have_count(2)
    expect(page.locator("#waiting-badges")).to_contain_text("Parent reports waiting")
    expect(page.locator("#badge-unexplained")).to_be_visible()
    # Any register overdue is red and has a Remind button for the class's teacher.
    overdue = page.locator("td.register-overdue")
    for i in range(overdue.count()):
        expect(overdue.nth(i).locator("button.remind")).to_be_visible()
        expect(overdue.nth(i).locator(".overdue-minutes")).to_have_text(re.compile(r"overdue|not taken"))
    assert_no_horizontal_overflow(page)
    screenshot(page, f"office-today-{size}")
    # The class's year view is one click away.
    row.get_by_role("link", name="Year").click()
    expect(page.locator("#class-year")).to_be_visible()


@pytest.mark.parametrize("size", SIZES)
def test_week_grid_from_the_register(page, live, size):
    page.set_viewport_size(SIZES[size])
    login(page, live, live.office)
    page.goto(live.register_path(live.earlier_day, "AM"))
    page.locator("#week-grid-link").click()
    grid = page.locator("#week-grid")
    expect(grid).to_be_visible()
    expect(grid.locator("tbody tr")).to_have_count(5)
    # The earlier day's AM register is taken (conftest: Nowak N, the others present or late;
    # other browser tests may correct a mark): each pupil's code is coloured by category.
    coloured = grid.locator("td.mark-cell.code-present, td.mark-cell.code-unauthorised, "
                            "td.mark-cell.code-authorised")
    expect(coloured.first).to_be_visible()
    assert coloured.count() >= 5
    expect(grid.locator("tfoot")).to_contain_text("Present / marked")
    assert_no_horizontal_overflow(page)
    screenshot(page, f"week-grid-{size}")
    page.locator("#prev-week").click()
    expect(page.locator("#week-grid")).to_be_visible()
    page.locator("#next-week").click()
    expect(coloured.first).to_be_visible()
    assert coloured.count() >= 5


def test_nav_search_finds_a_pupil_by_the_name_the_school_uses(page, live):
    page.set_viewport_size(LAPTOP)
    login(page, live, live.teacher)
    page.goto("/register/")
    page.locator("#nav-q").fill("Ben Carter")
    page.locator("#nav-q").press("Enter")
    page.wait_for_url("**/pupils/?q=Ben+Carter")
    results = page.locator("table tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Carter, Ben")
    expect(results.first).to_contain_text("legal name: Benjamin Carter")


def test_error_page_has_navigation_and_back(page, live):
    login(page, live, live.teacher)
    page.goto("/register/")
    page.goto("/no-such-page/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.get_by_role("link", name="Back").click()
    page.wait_for_url("**/register/**")
