"""Case page extras: a named owner, the case's letters rendered on demand, the queue's
"mine" filter and its per-stage counts. Refused requests (other school 404, other roles
403) change nothing."""

from collections import Counter
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from escalation import presets, services
from escalation.models import Case, CaseEvent, Stage
from escalation.nightly import night_run
from letters.models import Letter
from tenants.roles import Role
from tenants.services import person_grant
from tests.conftest import client_for
from tests.escalation.helpers import put
from tests.factories import CaseFactory, ContactFactory, LetterFactory

pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def site(two_years, pupil, people, school_b):
    from letters import presets as letter_presets

    presets.apply("lap")
    letter_presets.apply("lap")
    p = pupil(legal_forename="Casey", lac=True)
    ContactFactory(pupil=p, forename="Pat", surname="Parent", title="Ms",
                   correspondence=True, address="1 High Street\nLeeds\nLS1 1AA")
    last = put(p, date(2025, 9, 2), "/" * 20 + "O" * 20)
    night_run(as_of=last)
    case = Case.objects.select_related("stage").get(pupil=p, track="attendance")
    # an attendance officer at the other school: never a candidate here
    other_ao = person_grant(username="b_ao", role=Role.ATTENDANCE_OFFICER, school=school_b,
                            first_name="Bea", last_name="Other")
    return {"pupil": p, "case": case, "other_ao": other_ao}


def url(case, action=""):
    return f"/escalation/cases/{case.pk}/" + (f"{action}/" if action else "")


# --- named owner ----------------------------------------------------------------------

def test_owner_candidates_are_this_schools_stage_role_officer_and_head(site, people):
    case = site["case"]
    # LAP Letter 1 (where the ladder opens) is the class teacher's: this school's teachers are
    # candidates, never the other school's staff
    assert case.stage.owner_role == Role.TEACHER
    names = set(services.case_owner_candidates(case=case).values_list("username", flat=True))
    assert names == {"a_attendance_officer", "a_head", "a_teacher"}
    Stage.objects.filter(pk=case.stage_id).update(owner_role=Role.ATTENDANCE_OFFICER)
    case.stage.refresh_from_db()
    names = set(services.case_owner_candidates(case=case).values_list("username", flat=True))
    assert names == {"a_attendance_officer", "a_head"}


def test_owner_set_records_event_and_refuses_others(site, people):
    case, head, officer = site["case"], people["head"], people["attendance_officer"]
    services.case_owner_set(case=case, owner=head, user=officer)
    case.refresh_from_db()
    assert case.owner == head
    services.case_owner_set(case=case, owner=head, user=officer)  # unchanged: no second event
    services.case_owner_set(case=case, owner=officer, user=officer)
    events = list(CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.OWNER).order_by("pk"))
    assert [e.detail for e in events] == ["Owner set to Headteacher A",
                                          "Owner set to Attendance A (was Headteacher A)"]
    assert events[1].data == {"owner": officer.pk, "previous": head.pk}
    for outsider in (people["office"], people["parent"], site["other_ao"]):
        with pytest.raises(ValidationError, match="cannot own this case"):
            services.case_owner_set(case=case, owner=outsider, user=officer)
    services.case_owner_set(case=case, owner=None, user=officer)
    case.refresh_from_db()
    assert case.owner is None
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.OWNER).count() == 3


def test_owner_form_on_case_page_and_mine_filter(site, people):
    case, head = site["case"], people["head"]
    client = client_for(people["attendance_officer"])
    page = client.get(url(case)).content.decode()
    assert 'data-testid="owner-form"' in page and "Headteacher A" in page and "Office A" not in page
    response = client.post(url(case, "owner"), {"owner": head.pk})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.owner == head
    page = client.get(url(case)).content.decode()
    assert "Owner set to Headteacher A" in page
    # the queue's "mine": the head sees the case, the officer does not
    assert "Casey" in client_for(head).get("/escalation/?owner=mine").content.decode()
    assert "Casey" not in client.get("/escalation/?owner=mine").content.decode()
    assert "Casey" in client.get("/escalation/").content.decode()


@pytest.mark.parametrize("who", ["office", "attendance_officer"])
def test_owner_form_refuses_people_who_cannot_own(site, people, who):
    case = site["case"]
    client = client_for(people["attendance_officer"])
    target = site["other_ao"] if who == "attendance_officer" else people["office"]
    client.post(url(case, "owner"), {"owner": target.pk})
    case.refresh_from_db()
    assert case.owner is None
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.OWNER).exists()


# A class teacher opens only their own classes' cases at a teacher-owned stage: this one is
# "not there" for them (404, tests/escalation/test_views_owners.py).
@pytest.mark.parametrize("who,status", [("office", 403), ("teacher", 404), ("governor", 403),
                                        ("parent", 403), ("other_school_office", 404)])
def test_owner_and_letters_refused_have_no_side_effect(site, people, who, status):
    case = site["case"]
    queued = list(Letter.objects.filter(case=case).values_list("pk", "status"))
    client = client_for(people[who])
    assert client.post(url(case, "owner"), {"owner": people["head"].pk}).status_code == status
    assert client.post(url(case, "letters")).status_code == status
    case.refresh_from_db()
    assert case.owner is None
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.OWNER).exists()
    assert list(Letter.objects.filter(case=case).values_list("pk", "status")) == queued


def test_other_school_officer_on_this_host_gets_404(site, people):
    client = client_for(site["other_ao"])
    assert client.post(url(site["case"], "owner"), {"owner": site["other_ao"].pk}).status_code == 404


# --- letters --------------------------------------------------------------------------

def test_case_letters_listed_and_rendered_now(site, people):
    case = site["case"]
    letters = list(Letter.objects.filter(case=case))
    assert letters and all(x.status == Letter.Status.QUEUED for x in letters)
    # a letter of another case of the same pupil is neither listed nor rendered
    stray = LetterFactory(pupil=site["pupil"], template_key=letters[0].template_key,
                          trigger_key="elsewhere", night=letters[0].night)
    client = client_for(people["attendance_officer"])
    page = client.get(url(case)).content.decode()
    assert 'data-testid="letters"' in page and letters[0].template_key in page
    assert f"Render {len(letters)} queued letter" in page and ".pdf" not in page

    response = client.post(url(case, "letters"), follow=True)
    assert response.status_code == 200
    for x in letters:
        x.refresh_from_db()
        assert x.status == Letter.Status.RENDERED, x.error
        assert x.file
    stray.refresh_from_db()
    assert stray.status == Letter.Status.QUEUED
    page = response.content.decode()
    assert f"{len(letters)} letter" in page and "rendered" in page
    assert f"/letters/letter/{letters[0].pk}.pdf" in page and "queued letter" not in page
    pdf = client.get(f"/letters/letter/{letters[0].pk}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    # nothing left: a second press reports so and changes nothing
    assert services.case_letters_render(case=case) == (0, 0)


def test_case_letters_render_reports_failures(site):
    case = site["case"]
    LetterFactory(pupil=site["pupil"], case=case, template_key="no_such_template",
                  trigger_key="broken", night=date(2025, 10, 1))
    rendered, failed = services.case_letters_render(case=case)
    assert failed == 1 and rendered == Letter.objects.filter(case=case, status="rendered").count()
    bad = Letter.objects.get(trigger_key="broken")
    assert bad.status == Letter.Status.FAILED and "no_such_template" in bad.error


# --- queue counts per stage -----------------------------------------------------------

def test_stage_counts_one_query_and_links(site, pupil, people, django_assert_num_queries):
    from escalation.selectors import stage_counts

    case = site["case"]
    second = pupil(legal_forename="Robin")
    CaseFactory(pupil=second, track="attendance", stage=case.stage, opened_on=date(2025, 10, 1),
                stage_since=date(2025, 10, 1), owner_role=case.owner_role)
    closed = pupil(legal_forename="Sam")
    CaseFactory(pupil=closed, track="attendance", stage=case.stage, opened_on=date(2025, 10, 1),
                stage_since=date(2025, 10, 1), owner_role=case.owner_role, status="closed",
                closed_on=date(2025, 10, 2))
    with django_assert_num_queries(1):
        counts = stage_counts(status="live")
    expected = Counter(Case.objects.exclude(status="closed").values_list("stage_id", flat=True))
    assert {c["stage_id"]: c["n"] for c in counts} == expected and expected[case.stage_id] == 2
    assert [(c["stage_id"], c["n"]) for c in stage_counts(status="closed")] == [(case.stage_id, 1)]

    client = client_for(people["attendance_officer"])
    page = client.get("/escalation/").content.decode()
    start = page.index('data-testid="stage-counts"')
    nav = page[start:page.index("</nav>", start)]
    assert f"?status=live&amp;stage={case.stage_id}" in nav and case.stage.name in nav
    assert f'{case.stage.name} <span class="badge text-bg-secondary">2</span>' in nav
    assert f'All stages <span class="badge text-bg-secondary">{sum(expected.values())}</span>' in nav
    other = Stage.objects.exclude(pk__in=expected).first()
    filtered = client.get(f"/escalation/?status=live&stage={other.pk}").content.decode()
    assert "Casey" not in filtered and "Robin" not in filtered
    filtered = client.get(f"/escalation/?status=live&stage={case.stage_id}").content.decode()
    assert "Casey" in filtered and "Robin" in filtered and "Sam" not in filtered
