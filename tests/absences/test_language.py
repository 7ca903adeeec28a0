"""The family's language (issue 14 item 5) and messages when the school writes (item 2).

Issue 14: "Parents choose their language (and it is remembered on their contact record): the
parent portal, emails, text messages and parent-facing letters come in English, Polish,
Romanian, Urdu and Arabic (right-to-left laid out properly, in the browser and in the PDF
with a font that covers the script)." and "When a letter is issued, a leave decision made or
a report queried, the parent gets a portal message and an email (and a text if the school
turns it on), in their language where a translation exists."
"""

from datetime import date

import pytest
from django.core import mail

from absences import family_messages as fm
from absences import services
from absences.models import ContactPreference, FamilyMessage, MessageSettings, ParentNotice, PortalMessage
from registers.models import Contact
from tests.conftest import client_for
from tests.factories import LetterFactory, MarkFactory

from .notify_stub import API_KEY, TEMPLATE_ID, NotifyStub
from .test_services import TUE, report, submit

DAY = date(2026, 1, 6)


@pytest.fixture
def notify(settings):
    with NotifyStub() as stub:
        settings.SMS_BACKEND = "absences.sms.NotifyBackend"
        settings.NOTIFY_API_KEY = API_KEY
        settings.NOTIFY_SMS_TEMPLATE_ID = TEMPLATE_ID
        settings.NOTIFY_BASE_URL = stub.url
        yield stub


def speaks(pupil, lang, **kw):
    contact = pupil.contacts.order_by("priority").first()
    ContactPreference.objects.update_or_create(contact=contact, defaults={"language": lang, **kw})
    return contact


# --- choosing the language ----------------------------------------------------------------------

def test_parent_chooses_polish_remembered_on_the_contact_record(family, people):
    client = client_for(people["parent"])
    r = client.post("/absences/language/", {"language": "pl", "next": "/absences/"})
    assert r.status_code == 302 and r["Location"] == "/absences/"
    contact = family["child"].contacts.get()
    assert ContactPreference.objects.get(contact=contact).language == "pl"
    page = client.get("/absences/").content.decode()
    assert '<html lang="pl" dir="ltr">' in page
    assert "Twoje dzieci" in page and "Zgłoś nieobecność" in page and "Your children" not in page
    # Remembered on the record, not only in this browser: a new session reads it back.
    assert 'lang="pl"' in client_for(people["parent"]).get("/absences/").content.decode()


def test_arabic_portal_is_right_to_left_with_a_font_for_the_script(family, people):
    speaks(family["child"], "ar")
    page = client_for(people["parent"]).get(f"/absences/children/{family['child'].pk}/").content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert "css/rtl.css" in page and "أطفالك" in page
    css = open("static/css/rtl.css", encoding="utf-8").read()
    assert "NotoNaskhArabic-Regular.ttf" in css and "NotoNastaliqUrdu-Regular.ttf" in css


def test_urdu_is_right_to_left_too(family, people):
    speaks(family["child"], "ur")
    page = client_for(people["parent"]).get("/absences/").content.decode()
    assert '<html lang="ur" dir="rtl">' in page and "آپ کے بچے" in page


def test_staff_pages_stay_english_whatever_the_browser_asks(family, people):
    client = client_for(people["office"])
    page = client.get("/absences/inbox/", HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert '<html lang="en-GB" dir="ltr">' in page


@pytest.mark.parametrize("data", [{"language": "xx"}, {"language": "<script>"}, {}])
def test_a_language_not_offered_is_refused(family, people, data):
    r = client_for(people["parent"]).post("/absences/language/", data)
    assert r.status_code == 302
    assert not ContactPreference.objects.exclude(language="").exists()


@pytest.mark.parametrize("nxt", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_going_back_after_choosing_stays_on_this_site(family, people, nxt):
    r = client_for(people["parent"]).post("/absences/language/", {"language": "ro", "next": nxt})
    assert r.status_code == 302 and r["Location"] == "/absences/"


def test_staff_cannot_use_the_parent_language_switch(family, people):
    assert client_for(people["office"]).post("/absences/language/", {"language": "pl"}).status_code == 403


def test_validation_errors_come_in_the_parents_language(family, people, school_a):
    speaks(family["child"], "ro")
    r = client_for(people["parent"]).post(f"/absences/children/{family['child'].pk}/report/", {
        "reason": "illness", "first_day": "2026-01-14", "last_day": "2026-01-13",
        "first_session": "AM", "last_session": "PM"})
    assert "Ultima zi este înainte de prima zi." in r.content.decode()


# --- first-day messages in the family's language ------------------------------------------------

def test_first_day_text_in_the_familys_language_while_the_school_keeps_the_default(
        family, people, school_a, notify, eager, django_capture_on_commit_callbacks):
    school_a.phone = "0113 496 0000"
    speaks(family["child"], "pl", channel="both")
    for p in (family["child"], family["other"]):
        MarkFactory(pupil=p, date=DAY, session="AM", code="N")
    with django_capture_on_commit_callbacks(execute=True):
        fm.first_day_queue(day=DAY, session="AM", user=people["office"])
    bodies = {s["phone_number"]: s["personalisation"]["body"] for s in notify.sent}
    assert bodies == {
        "07700 900001": "Amira nie ma dziś w szkole. Prosimy o odpowiedź lub telefon: 0113 496 0000.",
        "07700 900002": "Oscar is not in school today. Please reply or call 0113 496 0000.",
    }
    assert [m.subject for m in mail.outbox] == ["Amira nie ma dziś w szkole"]


def test_a_schools_own_wording_is_sent_as_written(family, people, school_a):
    fm.settings_save(template="Where is {forename}? Ring us.", email_subject="Absent")
    speaks(family["child"], "ar")
    MarkFactory(pupil=family["child"], date=DAY, session="AM", code="N")
    fm.first_day_queue(day=DAY, session="AM", user=people["office"])
    assert FamilyMessage.objects.get().body == "Where is Amira? Ring us."


# --- messages when the school writes -------------------------------------------------------------

def test_leave_decision_portal_message_and_email_in_polish(
        family, people, school_a, eager, django_capture_on_commit_callbacks):
    speaks(family["child"], "pl")
    req = submit(family["child"], people["parent"])
    with django_capture_on_commit_callbacks(execute=True):
        services.leave_request_decide(school=school_a, request=req, user=people["head"], role="Head",
                                      outcome="refused", reason="Nie.")
    msg = PortalMessage.objects.get()
    assert msg.subject == "Brak zgody na zwolnienie: Amira" and "Nie." in msg.body
    assert [m.to for m in mail.outbox] == [["pat@example.org"]]
    email = mail.outbox[0]
    assert email.subject == "Brak zgody na zwolnienie: Amira"
    assert email.extra_headers["Content-Language"] == "pl"
    html = email.alternatives[0][0]
    assert "Nie mogę zatwierdzić tego wniosku." in html  # the letter itself, in Polish
    assert ParentNotice.objects.get().status == "sent"
    # Sent once: running the send again does nothing.
    from absences import parent_notices

    assert parent_notices.notice_send(notice_id=ParentNotice.objects.get().pk) is False
    assert len(mail.outbox) == 1


def test_a_queried_report_emails_and_texts_when_the_school_turns_texts_on(
        family, people, school_a, notify, eager, django_capture_on_commit_callbacks):
    MessageSettings.objects.create(text_when_school_writes=True)
    speaks(family["child"], "ro")
    r = report(school_a, family["child"], people["parent"], first_day=TUE, last_day=TUE)
    with django_capture_on_commit_callbacks(execute=True):
        services.absence_report_query(report=r, user=people["office"], message="Ce programare?")
    assert [s["phone_number"] for s in notify.sent] == ["07700 900001"]
    text = notify.sent[0]["personalisation"]["body"]
    assert text.startswith("Școala are o întrebare despre absența lui Amira") and "Ce programare?" in text
    assert [m.to for m in mail.outbox] == [["pat@example.org"]] and "Ce programare?" in mail.outbox[0].body
    assert PortalMessage.objects.get().subject == "Școala are o întrebare despre absența lui Amira"


def test_without_texts_turned_on_only_the_email_goes(
        family, people, school_a, notify, eager, django_capture_on_commit_callbacks):
    r = report(school_a, family["child"], people["parent"], first_day=TUE, last_day=TUE)
    with django_capture_on_commit_callbacks(execute=True):
        services.absence_report_query(report=r, user=people["office"], message="Which day?")
    assert notify.sent == [] and len(mail.outbox) == 1
    assert mail.outbox[0].subject == "The school has a question about Amira's absence"


def test_a_failed_email_is_recorded_never_raised(family, people, school_a, settings, eager,
                                                django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.absences.test_language.BrokenBackend"
    r = report(school_a, family["child"], people["parent"], first_day=TUE, last_day=TUE)
    with django_capture_on_commit_callbacks(execute=True):
        services.absence_report_query(report=r, user=people["office"], message="Which day?")
    n = ParentNotice.objects.get()
    assert n.status == "failed" and "refused" in n.error


class BrokenBackend:
    def __init__(self, *a, **kw):
        pass

    def send_messages(self, messages):
        raise OSError("the mail server refused")


# --- letters in the family's language ----------------------------------------------------------

def _letter_for(pupil, key="absence_warning"):
    from letters.services import render_now

    letter = LetterFactory(pupil=pupil, template_key=key, trigger_key=f"t:{pupil.pk}")
    assert render_now(letter=letter)
    letter.refresh_from_db()
    return letter


@pytest.fixture
def letter_templates(settings, tmp_path):
    from letters.services import template_save

    settings.MEDIA_ROOT = tmp_path
    template_save(key="absence_warning", name="Attendance concern",
                  body="<p>Dear parent of {{ pupil.forename }}.</p>")
    template_save(key="absence_warning__ar", name="Attendance concern (Arabic)",
                  body="<p>عزيزي ولي أمر {{ pupil.forename }}، نود التحدث معك عن الحضور.</p>")


def test_arabic_letter_is_right_to_left_in_a_font_that_covers_the_script(
        family, people, school_a, letter_templates):
    from letters.pdf import pdf_text
    from tests.letters.test_merge_security import fonts_of

    speaks(family["child"], "ar")
    Contact.objects.filter(pupil=family["child"]).update(address="1 Road\nLeeds")
    letter = _letter_for(family["child"])
    data = letter.file.read()
    assert "Letter-Naskh" in " ".join(fonts_of(data))
    assert "Amira" in pdf_text(data)
    # The family is told, in Arabic, in the portal (and by email: the letter is not emailed).
    assert PortalMessage.objects.get().subject.startswith("خطاب من")


def test_a_language_the_school_has_not_translated_gets_the_english_letter(
        family, people, school_a, letter_templates):
    from letters.pdf import pdf_text

    speaks(family["child"], "pl")
    letter = _letter_for(family["child"])
    assert "Dear parent of Amira." in pdf_text(letter.file.read())


def test_the_html_letter_carries_lang_and_dir():
    from letters.merge import sample_context
    from letters.models import LetterTemplate
    from letters.services import template_html

    t = LetterTemplate(key="x", name="X", body="<p>{{ pupil.forename }}</p>")
    assert '<html lang="ar" dir="rtl">' in template_html(template=t, ctx=sample_context(), lang="ar")
    assert '<html lang="en-GB" dir="ltr">' in template_html(template=t, ctx=sample_context())
