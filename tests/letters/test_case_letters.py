"""Issue 17 item 4: the case page links to the pupil and shows contacts with phone numbers
and a message action; a letter for the case is two clicks (choose a template, render) and
can be emailed to the correspondence contacts or marked posted or handed over, each step
recorded on the case's chronology."""

import json
from datetime import date

import pytest
from django.core import mail

from escalation.models import CaseEvent, Stage
from letters.models import Letter, LetterTemplate
from tests.conftest import client_for
from tests.factories import CaseFactory, ContactFactory

DAY = date(2026, 1, 6)


@pytest.fixture
def case(calendar, make_pupil, people, settings, tmp_path):
    settings.SMS_BACKEND = "absences.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    pupil = make_pupil(legal_forename="Amira", legal_surname="Khan")
    ContactFactory(pupil=pupil, priority=1, forename="Pat", surname="Khan",
                   mobile="07700 900111", phone="0113 496 0001", email="pat@example.org",
                   correspondence=True, address="1 High St")
    ContactFactory(pupil=pupil, priority=2, forename="Sam", surname="Khan",
                   phone="0113 496 0002")
    stage = Stage.objects.filter(active=True).first()
    return CaseFactory(pupil=pupil, track=stage.track, stage=stage, opened_on=DAY,
                       stage_since=DAY, owner_role="attendance_officer")


def test_case_page_links_pupil_and_shows_contacts(case, people):
    html = client_for(people["attendance_officer"]).get(f"/escalation/cases/{case.pk}/").content.decode()
    assert f'href="/pupils/{case.pupil_id}/" id="pupil-link"' in html
    assert 'href="tel:07700 900111"' in html and 'href="tel:0113 496 0002"' in html
    assert html.count("Send message") == 1  # Sam has only a landline: call, no message
    assert 'id="case-letter-form"' in html


def test_letter_in_two_clicks_then_emailed_and_recorded(case, people):
    c = client_for(people["attendance_officer"])
    template = LetterTemplate.objects.filter(active=True, kind="letter").first()
    # Click 1: choose the template; click 2: render.
    r = c.post(f"/letters/case/{case.pk}/letter/", {"template": template.pk}, follow=True)
    assert r.status_code == 200
    letter = Letter.objects.get(case=case)
    assert letter.status == Letter.Status.RENDERED and letter.file
    assert "Email to correspondence contacts" in r.content.decode()
    r = c.post(f"/letters/letter/{letter.pk}/email/", follow=True)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.EMAILED and letter.emailed_to == "pat@example.org"
    assert [m.to for m in mail.outbox] == [["pat@example.org"]]
    details = list(CaseEvent.objects.filter(case=case, kind="letter").values_list("detail", flat=True))
    assert details == [f"{template.name} rendered.", "Letter emailed to pat@example.org."]
    # A second press sends nothing more.
    c.post(f"/letters/letter/{letter.pk}/email/")
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("how,text", [("posted", "posted to the family"),
                                      ("handed", "handed to the parent")])
def test_letter_marked_posted_or_handed_over(case, people, how, text):
    c = client_for(people["head"])
    template = LetterTemplate.objects.filter(active=True).first()
    c.post(f"/letters/case/{case.pk}/letter/", {"template": template.pk})
    letter = Letter.objects.get(case=case)
    c.post(f"/letters/letter/{letter.pk}/delivered/", {"how": how})
    letter.refresh_from_db()
    assert letter.status == Letter.Status.PRINTED and letter.printed_at
    assert CaseEvent.objects.filter(case=case, detail=f"Letter: {text}.").exists()
    # A bad value is a message, not an error page.
    assert c.post(f"/letters/letter/{letter.pk}/delivered/", {"how": "pigeon"}).status_code == 302


def test_message_a_contact_by_text_recorded_on_the_case(case, people, settings):
    c = client_for(people["attendance_officer"])
    pat = case.pupil.contacts.get(priority=1)
    r = c.post(f"/letters/case/{case.pk}/message/", {"contact": pat.pk, "body": "Please call us."})
    assert r.status_code == 302
    texts = [json.loads(line) for line in open(settings.SMS_FILE_PATH)]
    assert [(t["to"], t["body"]) for t in texts] == [("07700 900111", "Please call us.")]
    event = CaseEvent.objects.get(case=case, kind="contact")
    assert event.channel == "text" and "Please call us." in event.detail


def test_message_refuses_another_pupils_contact(case, people, make_pupil):
    other = make_pupil(legal_forename="Oscar")
    theirs = ContactFactory(pupil=other, forename="Olu", surname="O", mobile="07700 900999")
    r = client_for(people["attendance_officer"]).post(
        f"/letters/case/{case.pk}/message/", {"contact": theirs.pk, "body": "Hello"})
    assert r.status_code == 404
    assert not CaseEvent.objects.filter(kind="contact").exists()


def test_case_letter_pdf_renders_outside_any_transaction(case, people, monkeypatch):
    """Issue 15 item 5: "PDF rendering never inside a request transaction". The letter is
    queued, then rendered with no transaction open beyond the test's own; only storing the
    result is atomic."""
    from django.db import connection

    from letters import pdf

    real, depth = pdf.html_to_pdf, []
    baseline = len(connection.atomic_blocks)

    def spy(*args, **kwargs):
        depth.append(len(connection.atomic_blocks))
        return real(*args, **kwargs)

    monkeypatch.setattr(pdf, "html_to_pdf", spy)
    template = LetterTemplate.objects.filter(active=True, kind="letter").first()
    client_for(people["attendance_officer"]).post(f"/letters/case/{case.pk}/letter/",
                                                  {"template": template.pk})
    assert depth == [baseline]
    assert Letter.objects.get(case=case).status == Letter.Status.RENDERED
