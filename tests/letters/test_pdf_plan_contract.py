"""Issue 12 item 10: "The support plan and the attendance contract print with what was saved
(LAP annexes 6b, 7b, 7c, the contract's signature block recorded: who signed, when, in person
or on paper)."
"""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from escalation import presets
from escalation.models import AttendanceContract, CaseEvent, Stage, SupportPlan
from escalation.services import contract_signature_record
from letters.pdf import pdf_text
from tests.conftest import client_for
from tests.factories import CaseFactory


@pytest.fixture
def case(school_a, make_pupil):
    presets.apply("lap")
    stage = Stage.objects.get(key="lap-letter-3")
    p = make_pupil(legal_forename="Amelia", legal_surname="Printwell")
    return CaseFactory(pupil=p, track=stage.track, stage=stage, opened_on=date(2025, 11, 3),
                       stage_since=date(2025, 11, 3), owner_role=stage.owner_role)


def test_the_support_plan_prints_what_was_saved(case, people):
    plan = SupportPlan.objects.create(
        case=case, meeting_date=date(2025, 11, 10), present="Mum, class teacher, <b>SENCO</b>",
        apologies="Dad", figures={"attendance_pct": 86.24, "possible": 120, "authorised": 10,
                                  "unauthorised": 6, "u_count": 2},
        barriers_family="Morning anxiety", agreed_actions="Meet and greet at 8.40\nBreakfast club",
        review_date=date(2025, 12, 15), signed_parent=True)
    r = client_for(people["attendance_officer"]).get(f"/letters/plans/{plan.pk}.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(r.content).split())
    for expected in ("Attendance Targeted Support Plan", "Amelia Printwell", "10 November 2025",
                     "Mum, class teacher, <b>SENCO</b>", "Morning anxiety", "Meet and greet at 8.40",
                     "Breakfast club", "15 December 2025", "Attendance: 86.2%"):
        assert expected in text, expected
    assert client_for(people["teacher"]).get(f"/letters/plans/{plan.pk}.pdf").status_code == 403


def test_the_contract_prints_with_its_signature_block(case, people):
    contract = AttendanceContract.objects.create(
        case=case, start_date=date(2025, 11, 12), meeting_date=date(2025, 11, 12),
        interventions="Breakfast club\nEarly help referral", attendance_target="4 days a week (80%)",
        timescale="3 months", review_date=date(2025, 12, 17), barriers_child="Friendships")
    head = people["head"]
    contract_signature_record(contract=contract, signatory="school", name="Mrs Head",
                              signed_on=date(2025, 11, 12), how="in_person", user=head)
    client = client_for(people["attendance_officer"])
    client.post(f"/escalation/cases/{case.pk}/contracts/{contract.pk}/sign/",
                {"signatory": "parent", "name": "Pat Printwell", "signed_on": "2025-11-14", "how": "paper"})
    assert list(contract.signatures.values_list("signatory", "name", "signed_on", "how")) == [
        ("school", "Mrs Head", date(2025, 11, 12), "in_person"),
        ("parent", "Pat Printwell", date(2025, 11, 14), "paper")]
    assert CaseEvent.objects.filter(case=case, kind="plan", detail=(
        "Attendance Contract signed by Pat Printwell (parent / carer) on 14 November 2025, "
        "on paper (a signed copy returned)")).exists()
    text = " ".join(pdf_text(client.get(f"/letters/contracts/{contract.pk}.pdf").content).split())
    for expected in ("Attendance Contract", "Breakfast club", "Early help referral", "4 days a week (80%)",
                     "Friendships", "17 December 2025", "Mrs Head", "In person at the meeting",
                     "Pat Printwell", "14 November 2025", "On paper (a signed copy returned)"):
        assert expected in text, expected
    page = client.get(f"/escalation/cases/{case.pk}/").content.decode()
    assert "Signed by Pat Printwell (parent / carer), 14 Nov 2025, on paper" in page


def test_a_signature_needs_a_name_and_a_sensible_date(case, people):
    contract = AttendanceContract.objects.create(
        case=case, start_date=date(2025, 11, 12), interventions="x", attendance_target="95%",
        timescale="3 months", review_date=date(2025, 12, 17))
    with pytest.raises(ValidationError, match="Give the name"):
        contract_signature_record(contract=contract, signatory="parent", name=" ",
                                  signed_on=date(2025, 11, 12), how="paper", user=people["head"])
    with pytest.raises(ValidationError, match="long before the contract started"):
        contract_signature_record(contract=contract, signatory="parent", name="Pat",
                                  signed_on=date(2025, 9, 1), how="paper", user=people["head"])
    r = client_for(people["attendance_officer"]).post(
        f"/escalation/cases/{case.pk}/contracts/{contract.pk}/sign/",
        {"signatory": "uncle", "name": "Pat", "signed_on": "2025-11-14", "how": "paper"}, follow=True)
    assert r.status_code == 200 and not contract.signatures.exists()
