"""Who may change which mark when (registers.policy), through every endpoint that writes marks.

The clock is set on the test term (tests/registers/conftest.py ``clock``): Tuesday 6 January
2026 is "today"; the school's registers (Beecroft preset) open 08:30, AM closes 09:10, the PM
register opens 13:15 and closes 13:45.
"""

from datetime import date

import pytest

from absences.services import absence_report_accept, leave_request_decide
from registers import policy
from registers.models import Mark, MarkAmendment, RegistrationGroup
from registers.services import Entry, RegisterError, marks_save
from tenants.roles import Role
from tests.conftest import client_for
from tests.factories import AbsenceReportFactory, ContactFactory, LeaveRequestFactory, MarkFactory

TODAY = date(2026, 1, 6)
EARLIER = date(2025, 10, 7)  # three months back
TOMORROW = date(2026, 1, 7)


@pytest.fixture
def cls(calendar, make_pupil, people):
    """Class 3B of teacher a_teacher with two pupils, and class 4C of someone else."""
    ann = make_pupil(group="3B", admission=date(2025, 9, 1), legal_forename="Ann")
    bob = make_pupil(group="3B", admission=date(2025, 9, 1), legal_forename="Bob",
                     child_protection=True)
    other = make_pupil(group="4C", year_group=4, admission=date(2025, 9, 1),
                       legal_forename="Olga", social_worker=True)
    RegistrationGroup.objects.get(name="3B").teachers.add(people["teacher"])
    return {"ann": ann, "bob": bob, "other": other, "group": ann.registration_group}


def url(cls, day, session="AM"):
    return f"/register/{cls['group'].pk}/{day}/{session}/"


def code(pupil, day, session="AM"):
    m = Mark.objects.filter(pupil=pupil, date=day, session=session).first()
    return m.code if m else None


# --- the rule itself ---------------------------------------------------------------------------

def test_register_state_follows_the_clock(calendar, clock):
    s = lambda d, sess="AM": policy.register_state(school=calendar, day=d, session=sess).name  # noqa: E731
    clock(TODAY, 8, 50)
    assert (s(TODAY), s(TODAY, "PM"), s(EARLIER), s(TOMORROW)) == (
        policy.OPEN, policy.FUTURE, policy.PAST, policy.FUTURE)
    clock(TODAY, 9, 30)
    assert s(TODAY) == policy.CLOSED_TODAY
    clock(TODAY, 13, 20)
    assert s(TODAY, "PM") == policy.OPEN


# --- teachers through the register form ----------------------------------------------------------

def test_teacher_cannot_rewrite_a_mark_three_months_back(cls, people, clock):
    """Issue 10.5: O → I three months back through the register form."""
    MarkFactory(pupil=cls["ann"], date=EARLIER, session="AM", code="O")
    clock(TODAY, 8, 50)
    teacher = client_for(people["teacher"])
    page = teacher.get(url(cls, EARLIER))
    assert page.status_code == 200 and page.context["writable"] is False
    assert b"Registers are taken on the day" in page.content
    r = teacher.post(url(cls, EARLIER), {f"code-{cls['ann'].pk}": "I", f"base-{cls['ann'].pk}": "O",
                                         f"reason-{cls['ann'].pk}": "ill really"})
    assert r.status_code == 200 and b"Nothing was saved" in r.content
    assert code(cls["ann"], EARLIER) == "O"
    assert not MarkAmendment.objects.exists()
    # Nor a first mark on an earlier day.
    teacher.post(url(cls, EARLIER), {f"code-{cls['bob'].pk}": "/"})
    assert code(cls["bob"], EARLIER) is None


def test_teacher_cannot_prefill_a_future_register(cls, people, clock):
    clock(TODAY, 8, 50)
    teacher = client_for(people["teacher"])
    for day, session in [(TOMORROW, "AM"), (TODAY, "PM")]:
        page = teacher.get(url(cls, day, session))
        assert page.context["writable"] is False and b"has not started yet" in page.content
        r = teacher.post(url(cls, day, session), {f"code-{cls['ann'].pk}": "I",
                                                  "all_present": "1"})
        assert b"Nothing was saved" in r.content
    assert not Mark.objects.exists()


def test_teacher_takes_todays_register_and_changes_it_until_it_closes(cls, people, clock):
    clock(TODAY, 8, 50)
    teacher = client_for(people["teacher"])
    assert teacher.get(url(cls, TODAY)).context["writable"] is True
    r = teacher.post(url(cls, TODAY), {f"code-{cls['ann'].pk}": "N", f"base-{cls['ann'].pk}": ""})
    assert r.status_code == 302 and code(cls["ann"], TODAY) == "N"
    # Ann arrives at 09:00: a late change while the register is open.
    r = teacher.post(url(cls, TODAY), {f"code-{cls['ann'].pk}": "L", f"minutes-{cls['ann'].pk}": "5",
                                       f"base-{cls['ann'].pk}": "N",
                                       f"reason-{cls['ann'].pk}": "arrived 09:00"})
    assert r.status_code == 302 and code(cls["ann"], TODAY) == "L"
    assert MarkAmendment.objects.get().role == "Class teacher"

    clock(TODAY, 9, 30)  # closed: changing a mark is now an amendment
    page = teacher.get(url(cls, TODAY))
    rows = {r["pupil"].pk: r for r in page.context["rows"]}
    assert rows[cls["ann"].pk]["writable"] is False and rows[cls["bob"].pk]["writable"] is True
    assert b"The register closed at 09:10" in page.content
    r = teacher.post(url(cls, TODAY), {f"code-{cls['ann'].pk}": "U", f"base-{cls['ann'].pk}": "L:5",
                                       f"reason-{cls['ann'].pk}": "actually later"})
    assert b"changing this mark is an amendment" in r.content
    assert code(cls["ann"], TODAY) == "L"
    # ...but a pupil nobody marked can still be marked today.
    r = teacher.post(url(cls, TODAY), {f"code-{cls['bob'].pk}": "/", f"base-{cls['bob'].pk}": ""})
    assert r.status_code == 302 and code(cls["bob"], TODAY) == "/"


# --- the office, attendance lead and head: amendments, but never arbitrary future codes ------

@pytest.mark.parametrize("who", ["office", "attendance_officer", "head"])
def test_amenders_correct_earlier_marks_on_both_endpoints(cls, people, clock, who):
    clock(TODAY, 11, 0)
    MarkFactory(pupil=cls["ann"], date=EARLIER, session="AM", code="O")
    client = client_for(people[who])
    r = client.post(url(cls, EARLIER), {f"code-{cls['ann'].pk}": "I", f"base-{cls['ann'].pk}": "O",
                                        f"reason-{cls['ann'].pk}": "GP letter"})
    assert r.status_code == 302 and code(cls["ann"], EARLIER) == "I"
    r = client.post(f"/pupils/{cls['ann'].pk}/amend/", {"day": EARLIER, "session": "AM",
                                                        "code": "M", "reason": "dentist"})
    assert code(cls["ann"], EARLIER) == "M"
    assert list(MarkAmendment.objects.order_by("id").values_list("original_code", "new_code")) == [
        ("O", "I"), ("I", "M")]


def test_future_sessions_hold_only_leave_reports_and_closures(cls, people, clock, school_a):
    clock(TODAY, 11, 0)
    office = client_for(people["office"])
    # By hand: refused on the register form and on the amendment page alike.
    r = office.post(url(cls, TOMORROW), {f"code-{cls['ann'].pk}": "I"})
    assert b"Nothing was saved" in r.content
    office.post(f"/pupils/{cls['ann'].pk}/amend/", {"day": TOMORROW, "session": "AM", "code": "I",
                                                    "reason": "will be ill"})
    assert code(cls["ann"], TOMORROW) is None
    with pytest.raises(RegisterError, match="has not started"):
        marks_save(school=school_a, day=TOMORROW, session="AM", pupils=[cls["ann"]],
                   entries=[Entry(cls["ann"].pk, "G")], user=people["head"], role="Head")
    # A planned closure (#) may be entered ahead by the office.
    office.post(f"/pupils/{cls['ann'].pk}/amend/", {"day": TOMORROW, "session": "AM", "code": "#",
                                                    "reason": "boiler replaced"})
    assert code(cls["ann"], TOMORROW) == "#"
    # A parent's report the office accepts fills the future sessions it covers.
    report = AbsenceReportFactory(pupil=cls["bob"], reason="illness", first_day=TOMORROW,
                                  last_day=TOMORROW, reported_by=people["parent"])
    absence_report_accept(school=school_a, report=report, user=people["office"],
                          role="Office / admin")
    assert (code(cls["bob"], TOMORROW), code(cls["bob"], TOMORROW, "PM")) == ("I", "I")
    # Granted leave fills its future sessions too.
    leave = LeaveRequestFactory(
        pupil=cls["ann"], first_day=date(2026, 1, 8), last_day=date(2026, 1, 8),
        sessions=["2026-01-08 AM", "2026-01-08 PM"], reason="exceptional", explanation="Funeral")
    leave_request_decide(school=school_a, request=leave, user=people["head"], role="Headteacher",
                         outcome="granted", granted=leave.sessions, code="C")
    assert code(cls["ann"], date(2026, 1, 8)) == "C"
    # A teacher cannot use a basis to get round the rule.
    with pytest.raises(RegisterError, match="has not started"):
        marks_save(school=school_a, day=date(2026, 1, 9), session="AM", pupils=[cls["ann"]],
                   entries=[Entry(cls["ann"].pk, "I")], user=people["teacher"], role="Teacher",
                   basis=policy.REPORT)


# --- parents' reports on the register (issue 11.2) ------------------------------------------------

def test_a_reported_absence_is_proposed_and_never_marked_present(cls, people, clock):
    clock(TODAY, 8, 50)
    AbsenceReportFactory(pupil=cls["bob"], reason="illness", first_day=TODAY,
                         last_day=TODAY, reported_by=people["parent"])
    # A report that starts this afternoon does not touch the morning.
    AbsenceReportFactory(pupil=cls["ann"], reason="medical", first_day=TODAY,
                         first_session="PM", last_day=TODAY, reported_by=people["parent"])
    teacher = client_for(people["teacher"])
    page = teacher.get(url(cls, TODAY))
    rows = {r["pupil"].pk: r for r in page.context["rows"]}
    assert (rows[cls["bob"].pk]["code"], rows[cls["bob"].pk]["proposed"]) == ("I", "I")
    assert rows[cls["ann"].pk]["code"] == "" and rows[cls["ann"].pk]["report"] is None
    html = page.content.decode()
    assert 'data-report="I"' in html and 'value="I" selected' in html
    # "Mark all remaining present" with Bob's box left empty: Ann present, Bob not.
    r = teacher.post(url(cls, TODAY), {"all_present": "1", f"code-{cls['bob'].pk}": "",
                                       f"code-{cls['ann'].pk}": ""})
    assert r.status_code == 302
    assert (code(cls["ann"], TODAY), code(cls["bob"], TODAY)) == ("/", None)
    # Saved as proposed, then the office changes it like any other mark.
    teacher.post(url(cls, TODAY), {f"code-{cls['bob'].pk}": "I", f"base-{cls['bob'].pk}": ""})
    assert code(cls["bob"], TODAY) == "I"
    client_for(people["office"]).post(url(cls, TODAY), {
        f"code-{cls['bob'].pk}": "M", f"base-{cls['bob'].pk}": "I",
        f"reason-{cls['bob'].pk}": "mum rang: dentist, not ill"})
    assert code(cls["bob"], TODAY) == "M"
    # PM: Ann's appointment is proposed as M.
    clock(TODAY, 13, 20)
    rows = {r["pupil"].pk: r for r in teacher.get(url(cls, TODAY, "PM")).context["rows"]}
    assert rows[cls["ann"].pk]["proposed"] == "M"


# --- who sees which pupil, and child-protection details ---------------------------------------

def test_teacher_sees_only_pupils_of_own_classes(cls, people):
    ContactFactory(pupil=cls["other"], forename="Kim", surname="Carer",
                   mobile="07700 900123")
    teacher = client_for(people["teacher"])
    assert teacher.get(f"/pupils/{cls['other'].pk}/").status_code == 404
    assert teacher.get(f"/pupils/{cls['ann'].pk}/").status_code == 200
    listing = teacher.get("/pupils/").content.decode()
    assert "Ann" in listing and "Olga" not in listing
    assert "Olga" not in teacher.get("/pupils/", {"group": cls["other"].registration_group_id}) \
        .content.decode()
    assert teacher.get("/pupils/", {"group": "x"}).status_code == 200
    assert client_for(people["office"]).get(f"/pupils/{cls['other'].pk}/").status_code == 200


@pytest.mark.parametrize("who,sees_details", [
    ("head", True), ("attendance_officer", True), ("dsl", True),
    ("office", False), ("teacher", False)])
def test_child_protection_details_only_for_safeguarding_readers(cls, people, who, sees_details):
    client = client_for(people[who])
    detail = client.get(f"/pupils/{cls['bob'].pk}/")
    assert detail.status_code == 200
    flags = detail.content.decode().split('id="pupil-flags"')[1].split("</p>")[0]
    listing = client.get("/pupils/").content.decode()
    if sees_details:
        assert ">CP<" in flags and "See the DSL" not in flags
        assert b"child protection / child in need" in detail.content
    else:
        assert ">CP<" not in flags and "See the DSL" in flags
        assert b"child protection / child in need" not in detail.content
        assert ">CP<" not in listing and "See the DSL" in listing
    if who != "teacher":
        other = client.get(f"/pupils/{cls['other'].pk}/").content.decode()
        assert (">SW<" in other) is sees_details and ("See the DSL" in other) is not sees_details


def test_register_shows_the_neutral_marker_to_the_teacher(cls, people, clock):
    clock(TODAY, 8, 50)
    html = client_for(people["teacher"]).get(url(cls, TODAY)).content.decode()
    assert "See the DSL" in html and ">CP<" not in html


def test_dsl_reads_every_pupil_but_marks_nothing(cls, people, clock):
    clock(TODAY, 8, 50)
    dsl = client_for(people["dsl"])
    assert dsl.get(f"/pupils/{cls['other'].pk}/").status_code == 200
    assert dsl.get(url(cls, TODAY)).status_code == 403
    assert dsl.post(f"/pupils/{cls['ann'].pk}/amend/", {"day": TODAY, "session": "AM",
                                                       "code": "I", "reason": "x"}).status_code == 403
    assert not Mark.objects.exists()
    assert Role("dsl") == Role.DESIGNATED_SAFEGUARDING_LEAD


# --- a conflicting change is shown, and can be re-applied with a reason (issue 11.1) ----------

def test_second_person_sees_who_changed_what_and_reapplies_with_a_reason(cls, people, clock):
    clock(TODAY, 8, 50)
    MarkFactory(pupil=cls["ann"], date=TODAY, session="AM", code="N")
    teacher, office = client_for(people["teacher"]), client_for(people["office"])
    page = teacher.get(url(cls, TODAY))  # the teacher opens the register...
    form = {f"base-{r['pupil'].pk}": r["base"] for r in page.context["rows"]}
    assert form[f"base-{cls['ann'].pk}"] == "N"
    # ...the office changes Ann (mum phoned) and marks Bob before the teacher saves.
    office.post(url(cls, TODAY), {f"code-{cls['ann'].pk}": "I", f"base-{cls['ann'].pk}": "N",
                                  f"reason-{cls['ann'].pk}": "mum phoned: ill",
                                  f"code-{cls['bob'].pk}": "/", f"base-{cls['bob'].pk}": ""})
    # The teacher saves Ann as late and Bob as absent, from what they saw.
    r = teacher.post(url(cls, TODAY), {**form, f"code-{cls['ann'].pk}": "L",
                                       f"minutes-{cls['ann'].pk}": "3",
                                       f"reason-{cls['ann'].pk}": "",
                                       f"code-{cls['bob'].pk}": "N"})
    assert r.status_code == 200
    html = r.content.decode()
    box = html.split('id="register-conflicts"')[1].split("</div>")[0]
    assert "Ann Pupil</a>: Office A marked I" in box and "you chose L" in box
    assert "Bob Pupil</a>: Office A marked /" in box and "you chose N" in box
    assert (code(cls["ann"], TODAY), code(cls["bob"], TODAY)) == ("I", "/")
    rows = {row["pupil"].pk: row for row in r.context["rows"]}
    # The rows now hold the teacher's choice against the office's marks, so saving again
    # (with a reason) re-applies them.
    assert (rows[cls["ann"].pk]["code"], rows[cls["ann"].pk]["base"]) == ("L", "I")
    assert 'data-saved="I"' in html
    again = {f"base-{pk}": row["base"] for pk, row in rows.items()}
    r = teacher.post(url(cls, TODAY), {**again, f"code-{cls['ann'].pk}": "L",
                                       f"minutes-{cls['ann'].pk}": "3",
                                       f"reason-{cls['ann'].pk}": "she came in at 08:43",
                                       f"code-{cls['bob'].pk}": "/"})
    assert r.status_code == 302
    assert code(cls["ann"], TODAY) == "L"
    trail = list(MarkAmendment.objects.order_by("id").values_list("original_code", "new_code",
                                                                  "user_name"))
    assert trail == [("N", "I", "Office A"), ("I", "L", "Class A")]


def test_a_row_left_untouched_takes_the_newer_mark_silently(cls, people, clock):
    clock(TODAY, 8, 50)
    MarkFactory(pupil=cls["ann"], date=TODAY, session="AM", code="N")
    MarkFactory(pupil=cls["bob"], date=TODAY, session="AM", code="N")
    office = client_for(people["office"])
    office.post(url(cls, TODAY), {f"code-{cls['ann'].pk}": "I", f"base-{cls['ann'].pk}": "N",
                                  f"reason-{cls['ann'].pk}": "phoned"})
    # The teacher's stale form still says N for Ann, and changes only Bob.
    r = client_for(people["teacher"]).post(url(cls, TODAY), {
        f"code-{cls['ann'].pk}": "N", f"base-{cls['ann'].pk}": "N",
        f"code-{cls['bob'].pk}": "L", f"base-{cls['bob'].pk}": "N",
        f"reason-{cls['bob'].pk}": "arrived"}, follow=True)
    assert (code(cls["ann"], TODAY), code(cls["bob"], TODAY)) == ("I", "L")
    assert "Ann Pupil: I by Office A" in r.content.decode()
