"""Accessibility of the parent pages and the register (issue 14 item 6): WCAG 2.2 AA as
checked by axe-core in Chromium, 200% zoom, and the parent's report-absence journey with the
keyboard only, each control's accessible name checked.

axe runs (axe-playwright-python, which bundles axe-core) on every page in the states a family
and a teacher see: the portal, the child's attendance (a calendar of coded sessions, the
band), the report form (empty and with errors), the leave request (form and the check page)
and the register (taken, with flags, a parent's report and the codes a part-time timetable,
a session pattern and off-site provision propose). No serious or critical violation may
remain; every result is written to test-artifacts/axe-summary.json.
"""

import json
from datetime import date, timedelta

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from .conftest import ARTIFACTS, PASSWORD, PHONE, SCHEMA, TABLET, assert_no_horizontal_overflow, login

PARENT = "a11y_parent"
pytestmark = [pytest.mark.browser, pytest.mark.django_db]
ZOOM_200 = {"width": 640, "height": 400}  # a 1280 × 800 window at 200% zoom
# WCAG 2.0, 2.1 and 2.2 A and AA, and axe's best practices (headings, landmarks, regions).
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": [
    "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"]}


class _Axe:
    """axe-core (bundled by axe-playwright-python) with the WCAG 2.2 AA rule set."""

    def __init__(self):
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()

    def run(self, page):
        return self.axe.run(page, options=AXE_OPTIONS)


@pytest.fixture(scope="module")
def a11y(live, django_db_blocker):
    """A parent of Amira and Ben; Amira with flags and a term of varied marks; Ben on a
    part-time timetable past its planned end; Zara at off-site provision; Max reported ill
    on an unmarked session. Everything is removed when the module ends."""
    from django.db import connection

    from absences.models import AbsenceReport
    from registers.models import (
        Contact,
        Mark,
        OffSiteProvision,
        PartTimeReview,
        PartTimeTimetable,
        Pupil,
        SchoolDay,
    )
    from tenants.models import School
    from tenants.roles import Role
    from tenants.services import person_grant

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        school = School.objects.get(pk=live.school_id)
        parent = person_grant(username=PARENT, role=Role.PARENT, school=school,
                              password=PASSWORD, first_name="Parveen", last_name="Ahmed")
        with schema_context(SCHEMA):
            amira = Pupil.objects.get(pk=live.pupils["Ahmed"])
            amira.sen_status, amira.pupil_premium, amira.eal = "K", True, True
            amira.save()
            for pk in (live.pupils["Ahmed"], live.pupils["Carter"]):
                Contact.objects.create(pupil_id=pk, priority=8, forename="Parveen",
                                       surname="Ahmed", user=parent, correspondence=True,
                                       mobile="07700 900123")
            days = list(SchoolDay.objects.filter(closed=False, date__lt=live.earlier_day)
                        .order_by("date").values_list("date", flat=True))
            codes = ["/", "I", "N", "G", "L", "M", "O", "U", "C", "/", "B", "R"]
            Mark.objects.bulk_create([
                Mark(pupil=amira, date=d, session=s, code=(codes[(i + j) % len(codes)]
                     if s == "AM" else "\\"), minutes_late=5 if codes[(i + j) % len(codes)]
                     in ("L", "U") and s == "AM" else None)
                for i, d in enumerate(days) for j, s in enumerate(("AM", "PM"))])
            start = live.earlier_day - timedelta(weeks=3)
            t = PartTimeTimetable.objects.create(
                pupil_id=live.pupils["Carter"], start_date=start,
                planned_end=live.earlier_day - timedelta(days=1), sessions=["MON-AM"],
                reason="Reintegration", parent_agreed_on=start)
            PartTimeReview.objects.create(timetable=t, due=start + timedelta(days=7))
            OffSiteProvision.objects.create(
                pupil_id=live.pupils["Nowak"], provider="Bridge PRU", provider_contact="Ms Reed",
                code="K", sessions=[f"{k}-PM" for k in ("MON", "TUE", "WED", "THU", "FRI")],
                start_date=start, reason="LA alternative provision")
            AbsenceReport.objects.create(pupil_id=live.pupils["Fotheringham-Smythe"],
                                         reason="illness", first_day=live.earlier_day,
                                         last_day=live.earlier_day, details="Temperature")
            from absences import services

            later = list(SchoolDay.objects.filter(closed=False, date__gt=live.day)
                         .order_by("date").values_list("date", flat=True)[5:7])
            leave = services.leave_request_submit(
                pupil=Pupil.objects.get(pk=live.pupils["Carter"]), user=parent,
                first_day=later[0], first_session="AM", last_day=later[-1], last_session="PM",
                reason="exceptional", explanation="Grandmother's funeral")
        connection.set_schema_to_public()
    yield {"amira": live.pupils["Ahmed"], "ben": live.pupils["Carter"], "days": days,
           "leave": leave.pk}
    with django_db_blocker.unblock():
        with schema_context(SCHEMA):
            Mark.objects.filter(date__lt=live.earlier_day).delete()
            Mark.objects.filter(date__gt=live.earlier_day).delete()
            Mark.objects.filter(date=live.earlier_day, session="PM").delete()
            AbsenceReport.objects.all().delete()
            PartTimeTimetable.objects.all().delete()
            OffSiteProvision.objects.all().delete()
            Contact.objects.filter(priority=8).delete()
            Pupil.objects.filter(pk=live.pupils["Ahmed"]).update(sen_status="N",
                                                                 pupil_premium=False, eal=False)
            from absences.models import LeaveRequest, PortalMessage

            LeaveRequest.objects.filter(pupil_id__in=live.pupils.values()).delete()
            PortalMessage.objects.filter(pupil_id__in=live.pupils.values()).delete()
        _tidy_parent()


def _tidy_parent():
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.db import connection

    from tenants.models import User

    with schema_context(SCHEMA):
        User.objects.filter(username=PARENT).delete()
    connection.set_schema_to_public()
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username=PARENT).delete()


def _sign_in(page, live, username):
    page.context.clear_cookies()
    login(page, live, username)


def _serious(result) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} – "
            + "; ".join(" ".join(n["target"]) for n in v["nodes"][:4])
            for v in result.response["violations"] if v["impact"] in ("serious", "critical")]


def _record(states: dict, name: str) -> None:
    """Add this module's results to test-artifacts/axe-summary.json (per page state)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "axe-summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    summary[name] = {state: {
        "violations": {v["id"]: {"impact": v["impact"], "nodes": len(v["nodes"])}
                       for v in r.response["violations"]},
        } for state, r in states.items()}
    path.write_text(json.dumps(summary, indent=1, sort_keys=True))


def _assert_clean(states: dict, name: str) -> None:
    _record(states, name)
    problems = [f"{state}: {p}" for state, r in states.items() for p in _serious(r)]
    assert not problems, "\n".join(problems)


def test_parent_pages_have_no_serious_axe_violations(page, live, a11y):
    axe, states = _Axe(), {}
    _sign_in(page, live, PARENT)
    for viewport, label in ((PHONE, "phone"), (TABLET, "tablet")):
        page.set_viewport_size(viewport)
        page.goto("/absences/")
        expect(page.locator(".child-card")).to_have_count(2)
        states[f"portal-{label}"] = axe.run(page)
        page.goto(f"/absences/children/{a11y['amira']}/")
        states[f"child-{label}"] = axe.run(page)
    page.goto(f"/absences/children/{a11y['amira']}/report/")
    states["report"] = axe.run(page)
    page.get_by_role("button", name="Send report").click()
    states["report-errors"] = axe.run(page)
    page.goto(f"/absences/children/{a11y['amira']}/leave/")
    states["leave"] = axe.run(page)
    page.get_by_role("button", name="Check against the school's rules").click()
    states["leave-errors"] = axe.run(page)
    monday = live.earlier_day + timedelta(weeks=2, days=-live.earlier_day.weekday())
    page.get_by_label("First day").fill(monday.isoformat())
    page.get_by_label("Last day").fill((monday + timedelta(days=4)).isoformat())
    page.get_by_label("Family holiday").check()
    page.get_by_label("Why are you asking for leave?").fill("A week in Spain")
    page.get_by_role("button", name="Check against the school's rules").click()
    states["leave-check-holiday"] = axe.run(page)
    page.goto(f"/absences/leave/{a11y['leave']}/")
    states["leave-detail"] = axe.run(page)
    page.goto("/absences/")
    states["portal-with-request"] = axe.run(page)
    _assert_clean(states, "parent")


def test_register_has_no_serious_axe_violations(page, live, a11y):
    axe, states = _Axe(), {}
    _sign_in(page, live, live.office)
    page.goto(live.register_path(live.earlier_day, "AM"))
    expect(page.locator(".register-row")).to_have_count(5)
    states["taken"] = axe.run(page)
    # The afternoon, unmarked: a parent's report, C2 past its planned end, K at a provider.
    page.goto(live.register_path(live.earlier_day, "PM"))
    expect(page.locator(".planned-badge")).to_have_count(2)
    page.mouse.move(0, 0)
    states["proposed"] = axe.run(page)
    page.set_viewport_size(PHONE)
    states["proposed-phone"] = axe.run(page)
    page.set_viewport_size(TABLET)
    _sign_in(page, live, live.teacher)
    page.goto(live.register_path(live.earlier_day, "PM"))
    states["read-only-teacher"] = axe.run(page)
    _assert_clean(states, "register")


def test_office_arrangement_pages_have_no_serious_axe_violations(page, live, a11y):
    """The office's pages around the register (issue 13): links on a warning-tinted row
    (an overrun timetable, a class with registers missing) were 4.06:1 before app.css."""
    axe, states = _Axe(), {}
    _sign_in(page, live, live.office)
    for path in ("/office/", "/part-time/", "/off-site/", "/off-site/confirm/", "/office/cover/",
                 f"/pupils/{a11y['amira']}/"):
        page.goto(path)
        states[path] = axe.run(page)
    _assert_clean(states, "office")


@pytest.mark.parametrize("path", ["/absences/", "child", "report", "leave", "register"])
def test_pages_reflow_at_200_percent_zoom(page, live, a11y, path):
    """WCAG 1.4.10 / 1.4.4: at 200% zoom (a 1280-pixel window is 640 CSS pixels wide) nothing
    needs horizontal scrolling and the main action stays reachable."""
    user = live.office if path == "register" else PARENT
    _sign_in(page, live, user)
    page.set_viewport_size(ZOOM_200)
    url = {"child": f"/absences/children/{a11y['amira']}/",
           "report": f"/absences/children/{a11y['amira']}/report/",
           "leave": f"/absences/children/{a11y['amira']}/leave/",
           "register": live.register_path(live.earlier_day, "PM")}.get(path, path)
    page.goto(url)
    assert_no_horizontal_overflow(page)
    main_action = {"report": ("button", "Send report"),
                   "leave": ("button", "Check against the school's rules"),
                   "register": ("button", "Save register")}.get(path)
    if main_action:
        target = page.get_by_role(main_action[0], name=main_action[1])
        target.scroll_into_view_if_needed()
        expect(target).to_be_visible()
        box = target.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= ZOOM_200["width"]


def _focused(page):
    return page.locator("*:focus")


def _focus_snapshot(page) -> str:
    """Role and accessible name of the focused control (as Playwright's aria snapshot
    computes them), or "(document)" when focus left the page's controls."""
    if page.evaluate("!document.activeElement || document.activeElement === document.body"):
        return "(document)"
    # Inside a date field the focus is on one of its parts (day, month, year): name the field.
    el_id = page.evaluate("document.activeElement.id")
    target = page.locator(f"[id='{el_id}']") if el_id else _focused(page)
    return target.aria_snapshot().strip()


def _tab_to(page, role: str, name: str, names: list, limit: int = 60) -> None:
    """Press Tab until the control with this role and accessible name has focus, recording
    the role and name of every control passed on the way (none may be nameless)."""
    target = page.get_by_role(role, name=name, exact=True)
    for _ in range(limit):
        page.keyboard.press("Tab")
        names.append(_focus_snapshot(page))
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{role} '{name}' never took focus; visited: {names[-limit:]}")


def _type_date(page, day: date) -> None:
    """Type a date into the focused date field as a keyboard user would: the day, month and
    year parts in the order the browser shows them (which follows its own locale)."""
    field = page.locator(f"[id='{page.evaluate('document.activeElement.id')}']")
    if field.get_attribute("type") != "date":
        page.keyboard.type(day.isoformat())
    else:
        page.keyboard.type(day.strftime("%d%m%Y"))
        if field.input_value() != day.isoformat():  # month first: back to the first part
            page.keyboard.press("Shift+Tab")
            page.keyboard.press("Shift+Tab")
            page.keyboard.type(day.strftime("%m%d%Y"))
    expect(field).to_have_value(day.isoformat())


def test_parent_reports_an_absence_with_the_keyboard_only(page, live, a11y):
    """Sign in, open the child's report form, fill it and send it without a mouse; every
    control reached has a role and an accessible name a screen reader announces."""
    from absences.models import AbsenceReport

    page.context.clear_cookies()
    page.goto("/accounts/login/")
    names: list[str] = []
    _tab_to(page, "textbox", "Username", names)
    page.keyboard.type(PARENT)
    _tab_to(page, "textbox", "Password", names)
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/absences/")
    _tab_to(page, "link", "Report an absence for Amira", names)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Report an absence for Amira")).to_be_visible()
    day = live.day + timedelta(days=1)  # the browser term runs three weeks ahead, no closures
    while day.weekday() >= 5:
        day += timedelta(days=1)
    # The reasons are one radio group: Tab reaches it once, the arrow keys choose.
    for _ in range(40):
        page.keyboard.press("Tab")
        names.append(_focus_snapshot(page))
        if page.evaluate("document.activeElement.type === 'radio'"):
            break
    illness = page.get_by_role("radio", name="Illness", exact=True)
    for _ in range(12):
        if illness.is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(illness).to_be_checked()
    _tab_to_label(page, "First day", names)
    _type_date(page, day)
    _tab_to_label(page, "Last day", names)
    _type_date(page, day)
    _tab_to_label(page, "Anything the school should know", names)
    page.keyboard.type("Sickness bug")
    _tab_to(page, "button", "Send report", names)
    page.keyboard.press("Enter")
    expect(page.get_by_text("The school office has your report")).to_be_visible()
    with schema_context(SCHEMA):
        report = AbsenceReport.objects.get(pupil_id=a11y["amira"], details="Sickness bug")
    assert (report.reason, report.first_day, report.last_day) == ("illness", day, day)
    nameless = [n for n in names if n != "(document)" and not _named(n)]
    assert not nameless, nameless
    (ARTIFACTS / "keyboard-report-absence.txt").write_text("\n".join(names))


def _named(snapshot: str) -> bool:
    """An aria snapshot line such as '- button "Send report"': a role and a quoted name."""
    first = snapshot.splitlines()[0] if snapshot else ""
    return '"' in first and first.split('"')[1].strip() != ""


def _tab_to_label(page, label: str, names: list, limit: int = 40) -> None:
    target = page.get_by_label(label)
    for _ in range(limit):
        page.keyboard.press("Tab")
        names.append(_focus_snapshot(page))
        if target.first.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"'{label}' never took focus")
