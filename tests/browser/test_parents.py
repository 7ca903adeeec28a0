"""Parents and absences in headless Chromium (issue 3).

Reuses the committed "browser" school from conftest.py and adds, for this module only, two
families, a headteacher, the school's leave rules (two weeks' notice) and one pending leave
request. Everything added here is removed again when the module ends.
"""

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.factories import ContactFactory

from .conftest import PASSWORD, PHONE, SCHEMA, TABLET, assert_no_horizontal_overflow, login, shot

PARENT, OTHER_PARENT, HEAD = "browser_parent", "browser_parent2", "browser_head"
MY_USERS = (PARENT, OTHER_PARENT, HEAD)

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _school_days_after(day: date, n: int) -> list[date]:
    from registers.models import SchoolDay

    return list(SchoolDay.objects.filter(closed=False, date__gt=day).order_by("date")
                .values_list("date", flat=True)[:n])


@pytest.fixture(scope="module")
def family(live, django_db_blocker):
    """Committed data for this module: parents, a head, the leave rules and a request."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from absences import services
    from absences.models import LeavePolicy
    from registers.models import Pupil
    from tenants.models import School
    from tenants.roles import Role
    from tenants.services import person_grant

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        school = School.objects.get(pk=live.school_id)
        parent = person_grant(username=PARENT, role=Role.PARENT, school=school, password=PASSWORD,
                              first_name="Parveen", last_name="Ahmed", email="parveen@example.org")
        other = person_grant(username=OTHER_PARENT, role=Role.PARENT, school=school,
                             password=PASSWORD, first_name="Nina", last_name="Nowak")
        head = person_grant(username=HEAD, role=Role.HEAD, school=school, password=PASSWORD,
                            first_name="Hari", last_name="Head")
        today = date.today()
        with schema_context(SCHEMA):
            LeavePolicy.objects.all().delete()
            LeavePolicy.objects.create(
                notice_days=14, how_to_report="Report it here or phone the office before 9.15.",
                leave_guidance="Ask at least two weeks ahead.")
            amira, ben, zara = (Pupil.objects.get(pk=live.pupils[s]) for s in ("Ahmed", "Carter", "Nowak"))
            for pupil in (amira, ben):
                ContactFactory(pupil=pupil, priority=9, forename="Parveen", surname="Ahmed",
                               user=parent, correspondence=True, email="parveen@example.org")
            ContactFactory(pupil=zara, priority=9, forename="Nina", surname="Nowak", user=other)
            # A week of leave for Ben next week, waiting for the head.
            next_monday = today + timedelta(days=7 - today.weekday())
            week = [next_monday + timedelta(days=i) for i in range(5)]
            leave = services.leave_request_submit(
                pupil=ben, user=parent, first_day=week[0], first_session="AM", last_day=week[-1],
                last_session="PM", reason="exceptional", explanation="Grandfather's funeral in Lahore")
            sick_day = _school_days_after(today, 1)[0]
        connection.set_schema_to_public()
    data = {"amira": amira.pk, "ben": ben.pk, "zara": zara.pk, "leave": leave.pk, "week": week,
            "sick_day": sick_day, "user_ids": [parent.pk, other.pk, head.pk]}
    yield data
    with django_db_blocker.unblock():
        _tidy(data, today)


def _tidy(data, today):
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django_tenants.utils import schema_context

    from absences.models import AbsenceReport, LeavePolicy, LeaveRequest, PortalMessage
    from registers.models import Contact, Mark
    from tenants.models import User

    pupils = [data["amira"], data["ben"], data["zara"]]
    with schema_context(SCHEMA):
        Mark.objects.filter(pupil_id__in=pupils, date__gt=today).delete()
        for model in (AbsenceReport, LeaveRequest, PortalMessage):
            model.objects.filter(pupil_id__in=pupils).delete()
        Contact.objects.filter(pupil_id__in=pupils, priority=9).delete()
        LeavePolicy.objects.all().delete()
        User.objects.filter(username__in=MY_USERS).delete()
    connection.set_schema_to_public()
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username__in=MY_USERS).delete()
    ids = {str(u) for u in data["user_ids"]}
    Session.objects.filter(pk__in=[s.pk for s in Session.objects.all()
                                   if str(s.get_decoded().get("_auth_user_id")) in ids]).delete()


def _in_school(fn):
    from django_tenants.utils import schema_context

    with schema_context(SCHEMA):
        return fn()


def _sign_in_as(page, live, username):
    page.context.clear_cookies()
    login(page, live, username)


def test_parent_reports_illness_and_office_accepts_it(page, live, family):
    from absences.models import AbsenceReport

    amira, day = family["amira"], family["sick_day"]
    last = _in_school(lambda: _school_days_after(day, 1)[0])
    _sign_in_as(page, live, PARENT)
    page.goto("/absences/")
    page.get_by_role("link", name="Report an absence for Amira").click()
    page.get_by_label("Illness").check()
    page.get_by_label("First day").fill(day.isoformat())
    page.get_by_label("Last day").fill(last.isoformat())
    page.get_by_label("Anything the school should know").fill("Temperature and a cough")
    shot(page, "parents-01-report-form")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("The school office has your report")).to_be_visible()
    expect(page.locator("#reports-h + ul")).to_contain_text("Waiting for the office")
    report = _in_school(lambda: AbsenceReport.objects.get(pupil_id=amira))
    assert (report.first_day, report.last_day, report.status) == (day, last, "new")

    _sign_in_as(page, live, live.office)
    page.goto("/absences/inbox/")
    card = page.locator(f"#report-{report.pk}")
    expect(card).to_contain_text("Temperature and a cough")
    expect(card.get_by_label("Code to record")).to_have_value("I")
    card.get_by_role("button", name="Accept and record Amira Ahmed").click()
    expect(page.get_by_text("I recorded for 4 session(s)")).to_be_visible()
    page.goto(live.register_path(day, "AM"))
    expect(page.locator(f"#code-{amira}")).to_have_value("I")
    shot(page, "parents-02-register-shows-I")
    page.goto(live.register_path(last, "PM"))
    expect(page.locator(f"#code-{amira}")).to_have_value("I")

    _sign_in_as(page, live, PARENT)
    page.goto(f"/absences/children/{amira}/")
    expect(page.locator("#reports-h + ul")).to_contain_text("Accepted")


def test_leave_that_breaks_the_notice_rule_shows_why_before_submitting(page, live, family):
    from absences.models import LeaveRequest

    amira = family["amira"]
    first = family["sick_day"] + timedelta(days=7)
    first = _in_school(lambda: _school_days_after(first - timedelta(days=1), 1)[0])
    before = _in_school(lambda: LeaveRequest.objects.filter(pupil_id=amira).count())
    _sign_in_as(page, live, PARENT)
    page.goto(f"/absences/children/{amira}/leave/")
    page.get_by_label("First day").fill(first.isoformat())
    page.get_by_label("Last day").fill(first.isoformat())
    page.get_by_label("Exceptional circumstance").check()
    page.get_by_label("Why are you asking for leave?").fill("Passport appointment at the embassy")
    page.get_by_role("button", name="Check against the school's rules").click()
    results = page.locator("#rule-results")
    expect(results).to_contain_text("Not enough notice")
    expect(results).to_contain_text("14 days")
    expect(page.get_by_role("button", name="Send the request anyway")).to_be_visible()
    shot(page, "parents-03-leave-rules-before-submitting")
    assert _in_school(lambda: LeaveRequest.objects.filter(pupil_id=amira).count()) == before
    page.get_by_role("button", name="Send the request anyway").click()
    expect(page.locator("#leave-status")).to_have_text("Waiting for the headteacher")
    leave = _in_school(lambda: LeaveRequest.objects.filter(pupil_id=amira).latest("created_at"))
    assert [r["rule"] for r in leave.rule_results if not r["passed"]] == ["notice"]


def test_head_grants_three_of_five_days_and_the_register_shows_c(page, live, family):
    ben, week = family["ben"], family["week"]
    _sign_in_as(page, live, HEAD)
    page.goto("/absences/leave/")
    card = page.locator(f"#leave-{family['leave']}")
    expect(card).to_contain_text("Grandfather's funeral in Lahore")
    expect(card).to_contain_text("Not enough notice")
    card.get_by_role("link", name="Decide Ben Carter").click()
    for day in week[3:]:
        for session in ("AM", "PM"):
            page.get_by_label(f"{day:%a} {day.day} {day:%b} {session}", exact=True).uncheck()
    page.get_by_label("Reason or conditions").fill("Three days granted; Ben is back on Thursday.")
    shot(page, "parents-04-decide")
    page.get_by_role("button", name="Grant the ticked sessions only").click()
    expect(page.locator("#leave-status")).to_have_text("Partly granted")
    for day in week[:3]:
        page.goto(live.register_path(day, "AM"))
        expect(page.locator(f"#code-{ben}")).to_have_value("C")
    page.goto(live.register_path(week[2], "PM"))
    expect(page.locator(f"#code-{ben}")).to_have_value("C")
    page.goto(live.register_path(week[3], "AM"))
    expect(page.locator(f"#code-{ben}")).to_have_value("")
    shot(page, "parents-05-register-C")

    _sign_in_as(page, live, PARENT)
    page.goto(f"/absences/leave/{family['leave']}/letter/")
    expect(page.locator(".letter")).to_contain_text("I have granted 3 of the 5 days")


def test_parent_cannot_reach_another_familys_child(page, live, family):
    from absences.models import AbsenceReport

    zara, amira = family["zara"], family["amira"]
    _sign_in_as(page, live, PARENT)
    for path in (f"/absences/children/{zara}/", f"/absences/children/{zara}/report/",
                 f"/absences/children/{zara}/leave/", f"/pupils/{zara}/"):
        assert page.goto(path).status == 404, path
    # Editing the form: the parent's own report form, re-pointed at the other child.
    page.goto(f"/absences/children/{amira}/report/")
    page.get_by_label("Medical or dental appointment").check()
    page.get_by_label("First day").fill(family["week"][4].isoformat())
    page.get_by_label("Last day").fill(family["week"][4].isoformat())
    page.evaluate(f"document.getElementById('report-form').action = '/absences/children/{zara}/report/'")
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.get_by_role("button", name="Send report").click()
    assert response.value.status == 404
    assert not _in_school(lambda: AbsenceReport.objects.filter(pupil_id=zara).exists())
    page.goto("/absences/")
    expect(page.locator("main")).not_to_contain_text("Zara")


def test_portal_is_accessible_and_fits_a_phone(page, live, family):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    _sign_in_as(page, live, PARENT)
    states = {}
    for viewport, name in ((PHONE, "phone"), (TABLET, "tablet")):
        page.set_viewport_size(viewport)
        page.goto("/absences/")
        expect(page.get_by_role("heading", name="Your children")).to_be_visible()
        expect(page.locator(".child-card")).to_have_count(2)
        states[f"portal-{name}"] = axe.run(page)
        if name == "phone":
            assert_no_horizontal_overflow(page)
            shot(page, "parents-06-portal-phone")
    page.goto(f"/absences/children/{family['amira']}/")
    states["child"] = axe.run(page)
    shot(page, "parents-07-child")
    page.goto(f"/absences/children/{family['amira']}/report/")
    page.get_by_role("button", name="Send report").click()  # errors shown
    states["report-errors"] = axe.run(page)
    page.goto(f"/absences/children/{family['amira']}/leave/")
    page.get_by_label("First day").fill(family["week"][0].isoformat())
    page.get_by_label("Last day").fill(family["week"][0].isoformat())
    page.get_by_label("Religious observance").check()
    page.get_by_label("Why are you asking for leave?").fill("Eid")
    page.get_by_role("button", name="Check against the school's rules").click()
    states["leave-check"] = axe.run(page)
    problems = [f"{state}: {v['id']} ({v['impact']}): {v['help']} – "
                f"{[n['target'] for n in v['nodes']][:3]}"
                for state, result in states.items() for v in result.response["violations"]
                if v["impact"] in ("serious", "critical")]
    assert not problems, "\n".join(problems)


# --- issue 14: the family's language --------------------------------------------------------------

@pytest.fixture
def eleven_oclock(monkeypatch):
    """The live server thread runs in this process: the report service sees 11:00 today
    (after the morning register closed, before the afternoon's)."""
    from datetime import datetime, time
    from types import SimpleNamespace

    from django.utils import timezone

    from absences import services

    fixed = timezone.make_aware(datetime.combine(timezone.localdate(), time(11, 0)))
    shim = SimpleNamespace(**{k: getattr(timezone, k) for k in ("now", "localdate", "make_aware")})
    shim.localtime = lambda value=None: timezone.localtime(value) if value else fixed
    monkeypatch.setattr(services, "timezone", shim)
    return fixed


def _choose_language(page, code):
    """Through the menu on any portal page, whatever language it is in (the server commits it:
    the test's own transaction is not seen by the live server)."""
    page.goto("/absences/")
    if not page.locator("#nav-language").is_visible():
        page.locator(".navbar-toggler").click()
    page.locator("#nav-language").select_option(code)
    page.locator(".lang-form button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en-GB" if code == "en-gb" else code)


def test_polish_parent_reports_an_afternoon_illness_after_the_morning_register(
        page, live, family, eleven_oclock):
    """Issue 14: "a Polish-speaking parent reports an illness after 09:10 for the afternoon
    and sees the confirmation in Polish" (phone-sized viewport)."""
    from absences.models import AbsenceReport, ContactPreference

    amira = family["amira"]
    page.set_viewport_size(PHONE)
    _sign_in_as(page, live, PARENT)
    try:
        page.goto("/absences/")
        page.get_by_role("button", name="Menu").click()
        page.get_by_label("Language").select_option("pl")
        page.get_by_role("button", name="Change language").click()
        expect(page.locator("html")).to_have_attribute("lang", "pl")
        expect(page.get_by_role("heading", name="Twoje dzieci")).to_be_visible()
        assert _in_school(lambda: set(ContactPreference.objects.filter(
            contact__user__username=PARENT).values_list("language", flat=True))) == {"pl"}
        page.get_by_role("link", name="Zgłoś nieobecność dla Amira").click()
        page.get_by_label("Choroba").check()
        page.get_by_label("Pierwszy dzień").fill(eleven_oclock.date().isoformat())
        page.locator("#id_first_session").select_option("PM")  # "Od": from the afternoon
        page.get_by_label("Ostatni dzień").fill(eleven_oclock.date().isoformat())
        shot(page, "parents-14-polish-report-phone")
        page.get_by_role("button", name="Wyślij zgłoszenie").click()
        expect(page.get_by_text("Dziękujemy. Sekretariat szkoły otrzymał zgłoszenie")).to_be_visible()
        expect(page.locator("#reports-h + ul")).to_contain_text("Choroba")
        expect(page.locator("#reports-h + ul")).to_contain_text("Czeka na sekretariat")
        assert_no_horizontal_overflow(page)
        shot(page, "parents-15-polish-confirmation-phone")
        report = _in_school(lambda: AbsenceReport.objects.get(pupil_id=amira, first_day=eleven_oclock.date()))
        # The afternoon's register has not closed: accepted, and not late for its session.
        assert (report.first_session, report.reason, report.late) == ("PM", "illness", False)
    finally:
        _choose_language(page, "en-gb")


def test_polish_parent_reports_a_late_arrival_and_the_office_sees_it_flagged(
        page, live, family, eleven_oclock):
    """Issue 14 item 3: "arrived late because…" after the register closed, in Polish on a
    phone; the office sees a late arrival, not an absence, with U suggested."""
    from absences.models import AbsenceReport

    ben = family["ben"]
    page.set_viewport_size(PHONE)
    _sign_in_as(page, live, PARENT)
    try:
        _choose_language(page, "pl")
        page.goto(f"/absences/children/{ben}/report/")
        expect(page.locator("#late-arrival")).to_be_hidden()  # until "Arrived late" is chosen
        page.get_by_label("Spóźnienie (dziecko przyszło później)").check()
        expect(page.get_by_label("Pierwszy dzień")).to_be_hidden()
        page.get_by_label("Spóźnienie: godzina, o której dziecko przyszło (GG:MM)").fill("10:40")
        page.get_by_label("Spóźnienie: dlaczego dziecko się spóźniło?").fill("Wizyta u lekarza")
        assert_no_horizontal_overflow(page)
        shot(page, "parents-16-polish-late-arrival-phone")
        page.get_by_role("button", name="Wyślij zgłoszenie").click()
        expect(page.get_by_text("Dziękujemy. Sekretariat szkoły otrzymał zgłoszenie")).to_be_visible()
        expect(page.locator("#reports-h + ul")).to_contain_text("10:40")
        report = _in_school(lambda: AbsenceReport.objects.get(pupil_id=ben, reason="late_arrival"))
        assert (report.first_session, report.arrival_code, report.details) == ("AM", "U", "Wizyta u lekarza")
    finally:
        _choose_language(page, "en-gb")
    _sign_in_as(page, live, live.office)
    page.goto("/absences/inbox/")
    card = page.locator(f"#report-{report.pk}")
    expect(card).to_contain_text("Late arrival, not an absence")
    expect(card).to_contain_text("Arrived late at 10:40")
    expect(card.get_by_label("Code to record")).to_have_value("U")


def test_arabic_parent_portal_is_laid_out_right_to_left(page, live, family):
    """Issue 14: "an Arabic-speaking parent's portal is laid out right to left"."""
    page.set_viewport_size(PHONE)
    _sign_in_as(page, live, OTHER_PARENT)
    try:
        _choose_language(page, "ar")
        _sign_in_as(page, live, OTHER_PARENT)  # a new session: read back from the contact record
        page.goto("/absences/")
        html = page.locator("html")
        expect(html).to_have_attribute("dir", "rtl")
        expect(html).to_have_attribute("lang", "ar")
        heading = page.get_by_role("heading", name="أطفالك")
        expect(heading).to_be_visible()
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        # Right to left: the heading's text sits against the right-hand edge, not the left.
        box = page.evaluate("""() => { const h = document.querySelector('main h1');
            const r = document.createRange(); r.selectNodeContents(h);
            const b = r.getBoundingClientRect(); return {left: b.left, right: b.right}; }""")
        width = page.evaluate("document.documentElement.clientWidth")
        assert box["left"] > width / 2 and width - box["right"] < 40, (box, width)
        assert page.evaluate("getComputedStyle(document.querySelector('.child-card .card-title'))"
                             ".textAlign") in ("right", "start")
        font = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "Noto Naskh Arabic" in font
        page.evaluate("document.fonts.ready")
        assert page.evaluate("document.fonts.check('16px \"Noto Naskh Arabic\"', 'أطفالك')")
        assert_no_horizontal_overflow(page)
        shot(page, "parents-16-arabic-portal-phone")
        page.goto(f"/absences/children/{family['zara']}/report/")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.get_by_role("button", name="أرسل البلاغ")).to_be_visible()
        assert_no_horizontal_overflow(page)
        shot(page, "parents-17-arabic-report-phone")
    finally:
        _choose_language(page, "en-gb")
