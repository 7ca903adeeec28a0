"""Issue 12 item 7: owners see their work.

"A stage owned by the class teacher puts the case on that teacher's own list (their classes
only) where they can log a conversation and an outcome; the attendance lead sees everything."
Beecroft: "Yellow group ... Class teacher monitors"; LAP Letter 1 is the class teacher's too.
"""

from datetime import date

import pytest

from escalation import presets
from escalation.models import CaseEvent, Stage
from registers.models import RegistrationGroup
from tests.conftest import client_for
from tests.factories import CaseFactory


@pytest.fixture
def cases(school_a, make_pupil, people):
    presets.apply("beecroft")
    mine = make_pupil(group="3B", legal_forename="Mina", legal_surname="Mineclass")
    theirs = make_pupil(group="4C", year_group=4, legal_forename="Theo", legal_surname="Otherclass")
    amber = make_pupil(group="3B", legal_forename="Ava", legal_surname="Amberstage")
    RegistrationGroup.objects.get(name="3B").teachers.add(people["teacher"])
    yellow, amber_stage = Stage.objects.get(key="bee-yellow"), Stage.objects.get(key="bee-amber")
    assert yellow.owner_role == "teacher" and amber_stage.owner_role == "attendance_officer"

    def case(p, stage):
        return CaseFactory(pupil=p, track=stage.track, stage=stage, opened_on=date(2025, 10, 3),
                           stage_since=date(2025, 10, 3), owner_role=stage.owner_role,
                           review_due=date(2025, 10, 17))
    return {"mine": case(mine, yellow), "theirs": case(theirs, yellow), "amber": case(amber, amber_stage)}


def test_the_class_teacher_sees_their_own_classes_teacher_owned_cases(cases, people):
    page = client_for(people["teacher"]).get("/escalation/cases/mine/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Mineclass" in text and "Otherclass" not in text and "Amberstage" not in text
    assert "Class teacher monitors" in text  # what the stage asks of them


def test_the_teacher_logs_a_conversation_and_an_outcome(cases, people):
    client, case = client_for(people["teacher"]), cases["mine"]
    page = client.get(f"/escalation/cases/{case.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Log contact" in text and "Record an outcome" in text
    assert 'id="pn-h"' not in text and "Advance stage" not in text and 'id="letters-h"' not in text
    client.post(f"/escalation/cases/{case.pk}/contact/", {"channel": "call", "detail": "Spoke to dad"})
    client.post(f"/escalation/cases/{case.pk}/outcome/", {"outcome": "Agreed a morning routine"})
    name = people["teacher"].get_full_name() or people["teacher"].username
    assert list(CaseEvent.objects.filter(case=case).values_list("kind", "detail", "user_name")) == [
        ("contact", "Spoke to dad", name), ("outcome", "Agreed a morning routine", name)]


@pytest.mark.parametrize("which", ["theirs", "amber"])
def test_a_teacher_cannot_reach_other_classes_or_other_owners_cases(cases, people, which):
    """Another class's case, or one at a stage the attendance lead owns: "not there" (404)."""
    client, case = client_for(people["teacher"]), cases[which]
    assert client.get(f"/escalation/cases/{case.pk}/").status_code == 404
    r = client.post(f"/escalation/cases/{case.pk}/contact/", {"channel": "call", "detail": "x"})
    assert r.status_code == 404
    assert not CaseEvent.objects.filter(case=case).exists()


@pytest.mark.parametrize("action,data", [("hold", {"reason": "x"}), ("close", {"reason": "x"}),
                                         ("advance", {}), ("told", {"on": "2025-10-06", "how": "letter"}),
                                         ("letters", {}), ("resume", {})])
def test_a_teacher_cannot_move_or_close_their_case(cases, people, action, data):
    case = cases["mine"]
    r = client_for(people["teacher"]).post(f"/escalation/cases/{case.pk}/{action}/", data)
    assert r.status_code == 403
    case.refresh_from_db()
    assert (case.status, case.stage.key) == ("open", "bee-yellow")
    assert client_for(people["teacher"]).get(f"/escalation/cases/{case.pk}/forms/plan/").status_code == 403


def test_the_attendance_lead_sees_everything(cases, people):
    client = client_for(people["attendance_officer"])
    text = client.get("/escalation/").content.decode()
    assert all(n in text for n in ("Mineclass", "Otherclass", "Amberstage"))
    for case in cases.values():
        assert client.get(f"/escalation/cases/{case.pk}/").status_code == 200
    assert client_for(people["teacher"]).get("/escalation/").status_code == 403
    assert client.post(f"/escalation/cases/{cases['mine'].pk}/bogus/").status_code == 404


def test_the_attendance_lead_records_what_letters_should_know(cases, people):
    """Issue 12 item 10: medical evidence on file and a recent bereavement, set from the case
    page, kept in the pupil's history, and never by a teacher."""
    from registers.models import Pupil, PupilHistory

    case = cases["mine"]
    url = f"/escalation/cases/{case.pk}/care/"
    assert client_for(people["teacher"]).post(url, {"medical_evidence": "on"}).status_code == 403
    ao = client_for(people["attendance_officer"])
    ao.post(url, {"medical_evidence": "on", "bereaved_on": "2025-10-01"})
    p = Pupil.objects.get(pk=case.pupil_id)
    assert p.medical_evidence and p.bereaved_on == date(2025, 10, 1)
    assert PupilHistory.objects.filter(pupil=p, field="medical_evidence", user_name__gt="").exists()
    r = client_for(people["attendance_officer"]).post(url, {"bereaved_on": "2999-01-01"}, follow=True)
    assert "is in the future" in r.content.decode()
    assert Pupil.objects.get(pk=p.pk).bereaved_on == date(2025, 10, 1)
