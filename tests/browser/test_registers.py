"""Taking and correcting registers in a real browser (headless Chromium via Playwright).

Data comes from the ``live`` fixture (conftest.py): school "browser" on browser.localhost,
class 4M with five pupils, teacher Tess Teacher, office Olive Office. ``live.day`` /
``live.session`` is the session "My register" opens now (unmarked); on ``live.earlier_day``
the AM register is already taken and the PM one is not.
"""

from datetime import datetime

import pytest
from django.utils.timezone import localdate
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from .conftest import PHONE, SCHEMA, TABLET, assert_no_horizontal_overflow, login, shot

pytestmark = [
    pytest.mark.browser,
    # Sets up the test database; see conftest.py for why writes here stay invisible.
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NAMES = {"Ahmed": "Amira Ahmed", "Carter": "Ben Carter",
         "Fotheringham-Smythe": "Maximilian Alexander Fotheringham-Smythe",
         "Nowak": "Zara Nowak", "O'Brien": "Chloé O'Brien"}


def row_of(page, name):
    return page.locator(f'.register-row[data-name="{name}"]')


def code_of(page, name):
    return row_of(page, name).locator("select.code")


def present_code(session):
    return "/" if session == "AM" else "\\"


def posts_recorder(page):
    """The POST requests the page sends, to check what one click does."""
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    return posts


def assert_tap_targets(page, selector, minimum=44):
    """Every visible control matching ``selector`` is at least ``minimum`` px each way."""
    sizes = page.eval_on_selector_all(selector, """els => els
        .filter(e => e.offsetParent !== null)
        .map(e => { const r = e.getBoundingClientRect();
                    return [e.id || e.textContent.trim().slice(0, 30), r.width, r.height]; })""")
    assert sizes, f"nothing visible matches {selector}"
    small = [s for s in sizes if s[1] < minimum or s[2] < minimum]
    assert not small, f"tap targets smaller than {minimum}px: {small}"


def school_window(session):
    """Minutes from the school's "late after" time to the register closing."""
    from tenants.models import School

    _, late_after, closes = School.objects.get(schema_name=SCHEMA).register_times(session)
    return (datetime.combine(datetime.min, closes)
            - datetime.combine(datetime.min, late_after)).seconds // 60


def saved_marks(live, day, session):
    from registers.models import Mark

    with schema_context(SCHEMA):
        return {m.pupil_id: m for m in Mark.objects.select_related("recorded_by")
                .filter(date=day, session=session)}


def current_session():
    from registers.views import current_session
    from tenants.models import School

    school = School.objects.get(schema_name=SCHEMA)
    with schema_context(SCHEMA):
        return current_session(school)


def test_teacher_takes_register(page, live):
    day, session = current_session()  # normally live.day, live.session
    present = present_code(session)
    page.goto("/")
    expect(page).to_have_url(f"{live.url}/accounts/login/")
    shot(page, "01-login")
    login(page, live, live.teacher)
    page.get_by_role("link", name="My register").click()
    expect(page).to_have_url(live.url + live.register_path(day, session))
    expect(page.get_by_role("heading", level=1)).to_contain_text("4M")

    # Everyone starts unmarked.
    rows = page.locator(".register-row")
    expect(rows).to_have_count(5)
    for name in NAMES.values():
        expect(code_of(page, name)).to_have_value("")
    expect(page.locator("#marked-count")).to_have_text("0")
    expect(page.locator('.act[aria-pressed="true"]')).to_have_count(0)
    shot(page, "02-register-unmarked-tablet")

    # Late: the code follows the school's register times as the minutes are typed.
    window = school_window(session)
    within, beyond = max(1, window // 2), window + 5
    page.get_by_role("button", name="Late: Amira Ahmed").click()
    minutes = page.get_by_label("Minutes late for Amira Ahmed")
    expect(minutes).to_be_focused()
    minutes.fill(str(beyond))
    expect(code_of(page, "Amira Ahmed")).to_have_value("U")
    minutes.fill(str(window))  # arriving exactly as the register closes is still L
    expect(code_of(page, "Amira Ahmed")).to_have_value("L")
    minutes.fill(str(within))
    expect(code_of(page, "Amira Ahmed")).to_have_value("L")
    expect(page.get_by_role("button", name="Late: Amira Ahmed")).to_have_attribute(
        "aria-pressed", "true")

    # Absent, no reason yet.
    page.get_by_role("button", name="Absent: Zara Nowak").click()
    expect(code_of(page, "Zara Nowak")).to_have_value("N")
    expect(page.locator("#marked-count")).to_have_text("2")

    page.get_by_role("button", name="Mark all remaining present").click()
    for name in ("Ben Carter", "Maximilian Alexander Fotheringham-Smythe", "Chloé O'Brien"):
        expect(code_of(page, name)).to_have_value(present)
    expect(code_of(page, "Amira Ahmed")).to_have_value("L")
    expect(code_of(page, "Zara Nowak")).to_have_value("N")
    expect(page.locator("#marked-count")).to_have_text("5")
    shot(page, "03-register-marked-tablet")
    page.set_viewport_size(PHONE)
    assert_no_horizontal_overflow(page)
    assert_tap_targets(page, ".register-row .act, .register-row select, .register-toolbar .btn, "
                             ".register-row input.minutes")
    shot(page, "04-register-marked-phone")
    page.set_viewport_size(TABLET)

    # One click saves everything.
    posts = posts_recorder(page)
    page.get_by_role("button", name="Save register").click()
    expect(page.locator(".alert-success")).to_contain_text("Register saved: 5 new, 0 amended.")
    assert len(posts) == 1

    page.reload()
    expect(page.locator("#marked-count")).to_have_text("5")
    expect(code_of(page, "Amira Ahmed")).to_have_value("L")
    expect(page.get_by_label("Minutes late for Amira Ahmed")).to_have_value(str(within))
    expect(page.get_by_label("Minutes late for Amira Ahmed")).to_be_visible()
    expect(code_of(page, "Zara Nowak")).to_have_value("N")
    for name in ("Ben Carter", "Maximilian Alexander Fotheringham-Smythe", "Chloé O'Brien"):
        expect(code_of(page, name)).to_have_value(present)
    expect(page.locator(".register-row.is-changed")).to_have_count(0)
    shot(page, "05-register-saved-tablet")

    marks = saved_marks(live, day, session)
    codes = {pk: (m.code, m.minutes_late) for pk, m in marks.items()}
    p = live.pupils
    assert codes == {p["Ahmed"]: ("L", within), p["Nowak"]: ("N", None),
                     p["Carter"]: (present, None), p["Fotheringham-Smythe"]: (present, None),
                     p["O'Brien"]: (present, None)}
    assert {m.recorded_by.username for m in marks.values()} == {live.teacher}


def test_keyboard_shortcuts(page, live):
    login(page, live, live.office)  # an earlier day: the office's register to take
    day = live.earlier_day
    page.goto(live.register_path(day, "PM"))
    posts = posts_recorder(page)
    rows = page.locator(".register-row")
    focused = "document.activeElement.closest('.register-row')?.dataset.name"

    rows.first.focus()
    page.keyboard.press("p")  # present, then on to the next pupil
    expect(code_of(page, "Amira Ahmed")).to_have_value("\\")
    assert page.evaluate(focused) == "Ben Carter"
    page.keyboard.press("n")
    expect(code_of(page, "Ben Carter")).to_have_value("N")
    assert page.evaluate(focused) == "Maximilian Alexander Fotheringham-Smythe"
    page.keyboard.press("ArrowUp")
    assert page.evaluate(focused) == "Ben Carter"
    page.keyboard.press("i")  # change of mind before saving: no reason needed
    expect(code_of(page, "Ben Carter")).to_have_value("I")
    assert page.evaluate(focused) == "Maximilian Alexander Fotheringham-Smythe"
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == "Zara Nowak"
    page.keyboard.press("l")  # late: straight into the minutes box
    expect(page.get_by_label("Minutes late for Zara Nowak")).to_be_focused()
    page.keyboard.type("7")
    expect(code_of(page, "Zara Nowak")).to_have_value("L")
    page.keyboard.press("Enter")  # back to the list, not a half-finished save
    assert page.evaluate(focused) == "Chloé O'Brien"
    page.keyboard.press(" ")
    expect(code_of(page, "Chloé O'Brien")).to_have_value("\\")
    page.keyboard.press("Home")
    assert page.evaluate(focused) == "Amira Ahmed"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == "Maximilian Alexander Fotheringham-Smythe"
    expect(code_of(page, "Maximilian Alexander Fotheringham-Smythe")).to_have_value("")

    # Tab reaches the buttons; Space presses the focused button rather than "present".
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Absent: Maximilian")).to_be_focused()
    page.keyboard.press(" ")
    expect(code_of(page, "Maximilian Alexander Fotheringham-Smythe")).to_have_value("N")

    expect(page.locator("#marked-count")).to_have_text("5")
    shot(page, "06-register-keyboard")
    assert posts == [], "no key should have posted the register"
    assert saved_marks(live, day, "PM") == {}


def test_office_amends_a_mark_and_reasons_are_required(page, live, new_context):
    day, nowak, carter = live.earlier_day, live.pupils["Nowak"], live.pupils["Carter"]
    login(page, live, live.office)
    page.goto(f"/pupils/{nowak}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Zara Nowak")
    expect(page.locator("#amendments")).to_contain_text("No amendments.")

    form = page.locator("#amend-form")
    expect(form.get_by_label("Date")).to_have_value(localdate().isoformat())  # today by default
    form.get_by_label("Date").fill(day.isoformat())
    form.get_by_label("Session").select_option("AM")
    form.get_by_label("Code").select_option("I")
    form.get_by_label("Reason").fill("Mother phoned: flu")
    form.get_by_role("button", name="Save amendment").click()
    expect(page.locator(".alert-success")).to_contain_text("AM is now I")
    expect(page.locator(f'.mark-cal td[title^="{day:%a} {day.day} {day:%b} AM"]')).to_have_text("I")
    history = page.locator("#amendments tbody tr")
    expect(history).to_have_count(1)
    cells = history.first.locator("td")
    expect(cells.nth(1)).to_contain_text(f"{day.day} {day:%b %Y} AM")
    expect(cells.nth(2)).to_have_text("N")
    expect(cells.nth(3)).to_have_text("I")
    expect(cells.nth(4)).to_have_text("Mother phoned: flu")
    expect(cells.nth(5)).to_have_text("Olive Office")
    expect(cells.nth(6)).to_have_text("Office / admin")
    shot(page, "07-pupil-amended")
    page.set_viewport_size(PHONE)
    assert_no_horizontal_overflow(page)
    shot(page, "08-pupil-amended-phone")
    page.set_viewport_size(TABLET)

    from registers.models import MarkAmendment

    assert saved_marks(live, day, "AM")[nowak].code == "I"
    with schema_context(SCHEMA):
        a = MarkAmendment.objects.get(pupil_id=nowak)
        assert (a.original_code, a.new_code, a.reason, a.user_name, a.role) == (
            "N", "I", "Mother phoned: flu", "Olive Office", "Office / admin")

    # On the register, changing a saved mark without a reason is stopped with a clear message.
    page.goto(live.register_path(day, "AM"))
    expect(page.get_by_label("Reason for changing the mark for Ben Carter")).to_be_hidden()
    page.get_by_role("button", name="Absent: Ben Carter").click()
    reason = page.get_by_label("Reason for changing the mark for Ben Carter")
    expect(reason).to_be_visible()
    posts = posts_recorder(page)
    page.get_by_role("button", name="Save register").click()
    problems = page.locator("#register-problems")
    expect(problems).to_be_visible()
    expect(problems).to_contain_text("Nothing was saved")
    expect(problems).to_contain_text("Ben Carter: give a reason for changing / to N.")
    expect(row_of(page, "Ben Carter")).to_contain_text("Give a reason for changing / to N.")
    expect(reason).to_be_focused()
    shot(page, "09-register-reason-missing")
    assert posts == []
    assert saved_marks(live, day, "AM")[carter].code == "/"

    # Without JavaScript the server refuses too, says why, and keeps what was entered.
    plain = new_context(java_script_enabled=False).new_page()
    login(plain, live, live.office)
    plain.goto(live.register_path(day, "AM"))
    code_of(plain, "Ben Carter").select_option("N")
    plain.get_by_role("button", name="Save register").click()
    expect(plain.get_by_role("alert").first).to_contain_text(
        "Nothing was saved: Ben Carter: changing / to N needs a reason")
    expect(row_of(plain, "Ben Carter")).to_contain_text("needs a reason")
    expect(code_of(plain, "Ben Carter")).to_have_value("N")
    shot(plain, "10-register-reason-missing-no-js")
    assert saved_marks(live, day, "AM")[carter].code == "/"
    with schema_context(SCHEMA):
        assert not MarkAmendment.objects.filter(pupil_id=carter).exists()

    # With a reason the change saves and is recorded.
    page.goto(live.register_path(day, "AM"))
    page.get_by_role("button", name="Absent: Ben Carter").click()
    page.get_by_label("Reason for changing the mark for Ben Carter").fill("Left after the register")
    page.get_by_role("button", name="Save register").click()
    expect(page.locator(".alert-success")).to_contain_text("0 new, 1 amended")
    assert saved_marks(live, day, "AM")[carter].code == "N"


def test_register_accessibility(page, live):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    login(page, live, live.teacher)
    # An earlier day's register, read-only for a teacher: the note and disabled controls.
    page.goto(live.register_path(live.earlier_day, "AM"))
    expect(page.locator("#register-state")).to_contain_text("Registers are taken on the day")
    expect(page.get_by_role("button", name="Save register")).to_be_disabled()
    expect(code_of(page, "Ben Carter")).to_be_disabled()
    states = {"read-only": axe.run(page)}
    shot(page, "11-register-read-only-teacher")
    page.context.clear_cookies()
    login(page, live, live.office)
    # A taken register: marks of every kind, a late pupil's minutes, the key hints.
    page.goto(live.register_path(live.earlier_day, "AM"))
    expect(page.locator(".register-row")).to_have_count(5)
    states["loaded"] = axe.run(page)
    # A changed mark (reason box) and the "nothing was saved" message.
    page.get_by_role("button", name="Late: Amira Ahmed").click()
    page.get_by_role("button", name="Save register").click()
    expect(page.locator("#register-problems")).to_be_visible()
    page.mouse.move(0, 0)  # no hover colours
    states["problems"] = axe.run(page)
    shot(page, "12-register-axe")
    page.set_viewport_size(PHONE)
    states["phone"] = axe.run(page)

    report = []
    for state, result in states.items():
        for v in result.response["violations"]:
            if v["impact"] in ("serious", "critical"):
                report.append(f"{state}: {v['id']} ({v['impact']}): {v['help']} – "
                              + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5]))
    assert not report, "\n".join(report)


@pytest.fixture(scope="module")
def reported(live, django_db_blocker):
    """Zara's parent reported her ill for the open day before ``live.earlier_day`` (committed;
    removed at the end)."""
    from absences.models import AbsenceReport
    from registers.models import Mark, SchoolDay

    with django_db_blocker.unblock(), schema_context(SCHEMA):
        day = SchoolDay.objects.filter(closed=False, date__lt=live.earlier_day) \
            .order_by("-date").values_list("date", flat=True).first()
        report = AbsenceReport.objects.create(pupil_id=live.pupils["Nowak"], reason="illness",
                                              first_day=day, last_day=day, details="Temperature")
    yield day
    with django_db_blocker.unblock(), schema_context(SCHEMA):
        Mark.objects.filter(date=day).delete()
        AbsenceReport.objects.filter(pk=report.pk).delete()


def test_a_reported_absence_is_proposed_and_mark_all_present_skips_it(page, live, reported):
    day = reported
    login(page, live, live.office)
    page.goto(live.register_path(day, "AM"))
    zara = row_of(page, "Zara Nowak")
    expect(zara).to_contain_text("Parent reported: Illness (I, proposed)")
    expect(code_of(page, "Zara Nowak")).to_have_value("I")
    # Even with her box emptied, "Mark all remaining present" leaves her alone.
    code_of(page, "Zara Nowak").select_option("")
    page.get_by_role("button", name="Mark all remaining present").click()
    for name in ("Amira Ahmed", "Ben Carter", "Chloé O'Brien"):
        expect(code_of(page, name)).to_have_value("/")
    expect(code_of(page, "Zara Nowak")).to_have_value("")
    shot(page, "13-register-reported-pupil")
    # The office confirms the proposed code like any other mark.
    code_of(page, "Zara Nowak").select_option("I")
    page.get_by_role("button", name="Save register").click()
    expect(page.locator(".alert-success")).to_contain_text("Register saved: 5 new, 0 amended.")
    marks = saved_marks(live, day, "AM")
    assert marks[live.pupils["Nowak"]].code == "I"
    assert {m.code for pk, m in marks.items() if pk != live.pupils["Nowak"]} == {"/"}


def test_two_people_on_one_register_see_each_others_changes(page, live, new_context):
    """The second save shows which pupils someone else marked meanwhile and lets the person
    re-apply theirs with a reason (issue 11.1); nothing is lost either way."""
    day, carter = live.earlier_day, live.pupils["Carter"]
    login(page, live, live.office)
    page.goto(live.register_path(day, "PM"))  # opened first, saved last
    other = new_context().new_page()
    login(other, live, live.office)
    other.goto(live.register_path(day, "PM"))
    other.get_by_role("button", name="Absent: Ben Carter").click()
    other.get_by_role("button", name="Save register").click()
    expect(other.locator(".alert-success")).to_contain_text("1 new, 0 amended")

    page.get_by_role("button", name="Mark all remaining present").click()
    page.get_by_role("button", name="Save register").click()
    conflicts = page.locator("#register-conflicts")
    expect(conflicts).to_contain_text("Ben Carter: Olive Office marked N")
    expect(conflicts).to_contain_text("you chose \\")
    expect(page.locator(".alert-success")).to_contain_text("4 new, 0 amended")
    expect(code_of(page, "Ben Carter")).to_have_value("\\")
    reason = page.get_by_label("Reason for changing the mark for Ben Carter")
    expect(reason).to_be_visible()
    shot(page, "14-register-conflict")
    assert saved_marks(live, day, "PM")[carter].code == "N"
    reason.fill("He was in class after all")
    page.get_by_role("button", name="Save register").click()
    expect(page.locator(".alert-success")).to_contain_text("0 new, 1 amended")
    marks = saved_marks(live, day, "PM")
    assert len(marks) == 5 and marks[carter].code == "\\"
