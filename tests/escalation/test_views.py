"""Queue, case pages and actions, class lists, penalties and policy: tenant and role checks."""

from datetime import date

import pytest

from escalation import presets
from escalation.models import Case, CaseEvent, Meeting, PenaltyNotice, PolicyVersion, Stage, SupportPlan
from escalation.nightly import night_run
from registers.models import Mark, RegistrationGroup
from tests.conftest import client_for
from tests.escalation.helpers import put
from tests.factories import ContactFactory

ALL = [
    "office",
    "teacher",
    "attendance_officer",
    "head",
    "governor",
    "trust_director",
    "la_officer",
    "parent",
    "other_school_office",
    None,
]
ESCALATION_OK = {"attendance_officer", "head"}
LISTS_OK = {"attendance_officer", "head", "office", "teacher"}


@pytest.fixture
def site(two_years, pupil, people):
    presets.apply("lap")
    p = pupil(legal_forename="Casey", lac=True)
    ContactFactory(pupil=p, forename="Pat", surname="Parent", title="Ms")
    RegistrationGroup.objects.get(name="3B").teachers.add(people["teacher"])
    last = put(p, date(2025, 9, 2), "/" * 20 + "O" * 20)
    night_run(as_of=last)
    case = Case.objects.get(pupil=p, track="attendance")
    return {"pupil": p, "case": case, "group": p.registration_group, "night": last}


def expected(ok, who):
    if who == "other_school_office":
        return 404
    if who is None:
        return 302
    return 200 if who in ok else 403


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize(
    "name,ok",
    [
        ("queue", ESCALATION_OK),
        # LAP Letter 1 is the class teacher's, and the teacher teaches 3B (test_views_owners.py)
        ("case", ESCALATION_OK | {"teacher"}),
        ("plan", ESCALATION_OK),
        ("contract", ESCALATION_OK),
        ("lists", LISTS_OK),
        ("list", LISTS_OK),
        ("penalties", ESCALATION_OK),
        ("policy", ESCALATION_OK),
        ("stage", ESCALATION_OK),
    ],
)
def test_role_matrix(site, people, who, name, ok):
    c = site["case"]
    url = {
        "queue": "/escalation/",
        "case": f"/escalation/cases/{c.pk}/",
        "plan": f"/escalation/cases/{c.pk}/forms/plan/",
        "contract": f"/escalation/cases/{c.pk}/forms/contract/",
        "lists": "/escalation/classes/",
        "list": f"/escalation/classes/{site['group'].pk}/",
        "penalties": "/escalation/penalties/?as_of=2025-09-29",
        "policy": "/escalation/policy/",
        "stage": f"/escalation/policy/stages/{c.stage_id}/",
    }[name]
    response = client_for(people[who] if who else None).get(url)
    assert response.status_code == expected(ok, who)


@pytest.mark.parametrize("who,status", [("office", 403), ("teacher", 403), ("other_school_office", 404)])
def test_actions_refused_have_no_side_effect(site, people, who, status):
    c = site["case"]
    client = client_for(people[who])
    for action, data in [
        ("advance", {}),
        ("close", {"reason": "x"}),
        ("hold", {"reason": "x"}),
    ]:
        assert client.post(f"/escalation/cases/{c.pk}/{action}/", data).status_code == status
    # the class teacher owns LAP Letter 1 and may log a conversation (test_views_owners.py)
    contact = client.post(f"/escalation/cases/{c.pk}/contact/", {"channel": "call", "detail": "x"})
    assert contact.status_code == (302 if who == "teacher" else status)
    assert CaseEvent.objects.filter(kind="contact").count() == (who == "teacher")
    c.refresh_from_db()
    assert c.status == "open" and c.stage.key == "lap-letter-1"  # where the ladder opened it
    assert not CaseEvent.objects.filter(kind__in=["closed", "hold"]).exists()


def test_school_a_staff_on_school_b_host_get_404(site, people):
    client = client_for(people["attendance_officer"], host="b.localhost")
    for url in ["/escalation/", f"/escalation/cases/{site['case'].pk}/", "/escalation/policy/"]:
        assert client.get(url).status_code == 404


def test_queue_shows_case_and_filters(site, people):
    client = client_for(people["attendance_officer"])
    page = client.get("/escalation/").content.decode()
    assert "Casey" in page and "LAC" in page
    assert "Casey" in client.get("/escalation/?group=lac_cp").content.decode()
    assert "Casey" not in client.get("/escalation/?group=send").content.decode()
    assert "Casey" not in client.get("/escalation/?status=closed").content.decode()


def test_case_actions_write_the_chronology(site, people):
    c = site["case"]
    client = client_for(people["attendance_officer"])
    page = client.get(f"/escalation/cases/{c.pk}/").content.decode()
    assert c.explanation[:40] in page and "policy v" in page
    client.post(f"/escalation/cases/{c.pk}/contact/", {"channel": "call", "detail": "Spoke to mum"})
    client.post(
        f"/escalation/cases/{c.pk}/meeting/",
        {"kind": "attendance_contract", "starts_at": "2025-10-02T09:30", "location": "Office"},
    )
    client.post(f"/escalation/cases/{c.pk}/outcome/", {"outcome": "Mum attended", "meeting": ""})
    client.post(f"/escalation/cases/{c.pk}/hold/", {"reason": "Hospital stay"})
    client.post(f"/escalation/cases/{c.pk}/resume/")
    client.post(f"/escalation/cases/{c.pk}/close/", {"reason": "Attendance back to normal"})
    kinds = list(c.events.filter(user__isnull=False).values_list("kind", flat=True))
    assert kinds == ["contact", "meeting", "outcome", "hold", "resumed", "closed"]
    m = Meeting.objects.get(case=c, kind="attendance_contract")
    from django.utils import timezone

    assert m.status == "scheduled" and timezone.localtime(m.starts_at).hour == 9 and m.location == "Office"
    c.refresh_from_db()
    assert c.status == "closed" and c.close_reason == "Attendance back to normal"
    assert c.events.get(kind="contact").user_name == people["attendance_officer"].get_full_name()


def test_advance_by_hand(two_years, pupil, people):
    presets.apply("lap")
    p = pupil()
    last = put(p, date(2025, 9, 2), ("/" * 19 + "I") * 2)
    night_run(as_of=last)
    c = Case.objects.get(pupil=p, track="attendance")
    assert c.stage.key == "lap-letter-1"
    r = client_for(people["head"]).post(f"/escalation/cases/{c.pk}/advance/", {"reason": "No engagement"})
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.stage.key == "lap-letter-2" and c.letters.filter(template_key="lap_letter_2").exists()
    assert "No engagement" in c.events.filter(kind="advanced").get().detail


def test_support_plan_review_must_be_4_to_6_weeks(site, people):
    c = site["case"]
    client = client_for(people["attendance_officer"])
    data = {"meeting_date": "2025-10-01", "agreed_actions": "Daily check-in", "review_date": "2025-10-20"}
    r = client.post(f"/escalation/cases/{c.pk}/forms/plan/", data)
    assert r.status_code == 200 and "4–6 weeks" in r.content.decode()
    assert not SupportPlan.objects.exists()
    data["review_date"] = "2025-11-05"
    assert client.post(f"/escalation/cases/{c.pk}/forms/plan/", data).status_code == 302
    plan = SupportPlan.objects.get()
    assert plan.figures["possible"] == 40
    c.refresh_from_db()
    assert c.review_due == date(2025, 11, 5)


def test_contract_form(site, people):
    c = site["case"]
    r = client_for(people["head"]).post(
        f"/escalation/cases/{c.pk}/forms/contract/",
        {
            "start_date": "2025-10-01",
            "interventions": "Part-time timetable\nBreakfast club",
            "attendance_target": "Every morning session; 90%",
            "timescale": "8 weeks",
            "review_date": "2025-11-10",
        },
    )
    assert r.status_code == 302
    assert c.contracts.get().attendance_target.startswith("Every morning")


def test_weekly_class_list_descending_with_arrows(site, pupil, people):
    q = pupil(legal_forename="Quinn")
    put(q, date(2025, 9, 2), "/" * 40)
    page = (
        client_for(people["teacher"])
        .get(f"/escalation/classes/{site['group'].pk}/?as_of={site['night']}")
        .content.decode()
    )
    assert page.index("Quinn") < page.index("Casey")
    assert "deteriorated" in page and "Print" in page


def test_penalty_page_and_issue(site, people):
    client = client_for(people["attendance_officer"])
    page = client.get("/escalation/penalties/?as_of=2025-09-29").content.decode()
    assert "Casey" in page
    parent = site["pupil"].contacts.get()
    r = client.post(
        f"/escalation/penalties/{site['pupil'].pk}/issue/",
        {"parent": parent.pk, "kind": "penalty", "issued_on": "2025-09-29"},
    )
    assert r.status_code == 302
    n = PenaltyNotice.objects.get()
    assert (n.amount_early, n.amount, n.unauthorised_sessions) == (80, 160, 20)


def test_policy_page_copy_preset_and_edit_stage(site, people):
    client = client_for(people["head"])
    before = PolicyVersion.objects.count()
    assert client.post("/escalation/policy/", {"copy_preset": "stlukes"}).status_code == 302
    assert Stage.objects.filter(key="stl-95", active=True).exists()
    s = Stage.objects.get(key="stl-95")
    data = {
        f: getattr(s, f)
        for f in (
            "key",
            "name",
            "track",
            "order",
            "trigger",
            "window",
            "min_possible",
            "letter_template",
            "owner_role",
            "review_days",
        )
    }
    data.update(threshold="94", next_stage=s.next_stage_id, active="on")
    assert client.post(f"/escalation/policy/stages/{s.pk}/", data).status_code == 302
    s.refresh_from_db()
    assert str(s.threshold) == "94.00" and PolicyVersion.objects.count() > before
    data["count"] = 3
    r = client.post(f"/escalation/policy/stages/{s.pk}/", data)
    assert r.status_code == 200 and "N only applies" in r.content.decode()
    # the existing case keeps the stage (and version) it was opened under
    assert Case.objects.get(pk=site["case"].pk).stage.key.startswith("lap-letter")
    assert Mark.objects.exists()
