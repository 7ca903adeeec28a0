"""First-day messages (issue 14): the template, who gets what, claim-before-send, GOV.UK
Notify through a local stand-in server (no test reaches the internet), delivery status on
the calling list and the contact log."""

import json
from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from absences import family_messages as fm
from absences.models import ContactPreference, FamilyMessage, MessageSettings
from registers.models import Contact
from tests.conftest import client_for
from tests.factories import ContactFactory, MarkFactory

from .notify_stub import API_KEY, TEMPLATE_ID, NotifyStub

DAY = date(2026, 1, 6)  # a Tuesday in the test term
SCHOOL_PHONE = "0113 496 0000"


@pytest.fixture
def notify(settings):
    with NotifyStub() as stub:
        settings.SMS_BACKEND = "absences.sms.NotifyBackend"
        settings.NOTIFY_API_KEY = API_KEY
        settings.NOTIFY_SMS_TEMPLATE_ID = TEMPLATE_ID
        settings.NOTIFY_BASE_URL = stub.url
        yield stub


@pytest.fixture
def eager():
    """Celery runs each task in this process as it is queued (a real worker is tested in
    test_family_messages_worker-style tests elsewhere; here the point is what is sent)."""
    from attendance_site.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def absent(family, school_a, make_pupil):
    """Four pupils marked N on DAY AM: two families with mobile and email, one with an email
    only, one with no way to reach them; and a pupil who is present."""
    school_a.phone = SCHOOL_PHONE
    email_only = make_pupil(legal_forename="Eve", legal_surname="Mail", serial=703)
    ContactFactory(pupil=email_only, forename="Em", surname="Mail", email="em@example.org")
    nobody = make_pupil(legal_forename="Nat", legal_surname="Nobody", serial=704)
    ContactFactory(pupil=nobody, forename="No", surname="Details", phone="")
    here = make_pupil(legal_forename="Hana", legal_surname="Here", serial=705)
    ContactFactory(pupil=here, forename="Hal", surname="Here", mobile="07700 900005")
    for p in (family["child"], family["other"], email_only, nobody):
        MarkFactory(pupil=p, date=DAY, session="AM", code="N")
    MarkFactory(pupil=here, date=DAY, session="AM", code="/")
    return {**family, "email_only": email_only, "nobody": nobody, "here": here}


# --- the template ------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    "{forename.__class__}", "{forename.__init__.__globals__}", "{forename[0]}",
    "{school_phone!r}", "{forename:>200}", "{password}", "{0}", "{}", "Call {school_phone",
    "{settings.SECRET_KEY}", "{{ forename }} {% load x %}{bogus}",
])
def test_template_refuses_anything_but_the_plain_fields(bad):
    with pytest.raises(ValidationError):
        fm.template_check(bad)
    with pytest.raises(ValidationError):
        fm.template_render(bad, {"forename": "Amira"})


def test_template_fills_the_fields_and_leaves_django_syntax_alone(absent, people):
    fields = fm.merge_fields(pupil=absent["child"], contact=None, day=DAY, session="AM")
    text = fm.template_render(MessageSettings.DEFAULT_TEMPLATE, fields)
    assert text == f"Amira is not in school today. Please reply or call {SCHOOL_PHONE}."
    # Django template syntax is just text here ({{ }} is an escaped brace pair).
    assert fm.template_render("{{ forename }} {session}", fields) == "{ forename } morning"
    with pytest.raises(ValidationError):
        fm.template_render("{% now 'Y' %}", fields)


def test_saving_a_bad_template_is_refused_and_nothing_is_saved(absent, people):
    r = client_for(people["office"]).post("/absences/messages/template/", {
        "template": "Hi {forename.__class__.__mro__}", "email_subject": "Absence"})
    assert r.status_code == 200 and "Unknown merge field" in r.content.decode()
    assert not MessageSettings.objects.exists()
    r = client_for(people["office"]).post("/absences/messages/template/", {
        "template": "{forename} is away ({date}). Ring {school_phone}.", "email_subject": "{school}"})
    assert r.status_code == 302
    assert MessageSettings.get().template == "{forename} is away ({date}). Ring {school_phone}."


# --- who gets what ----------------------------------------------------------------------------

def test_channels_follow_the_preference_among_the_details_on_file():
    both = Contact(mobile="07700 900001", email="a@example.org")
    assert fm.channels_for(both, "auto") == [("sms", "07700 900001")]
    assert fm.channels_for(both, "email") == [("email", "a@example.org")]
    assert fm.channels_for(both, "both") == [("sms", "07700 900001"), ("email", "a@example.org")]
    email_only = Contact(email="a@example.org", phone="0113 000 0000")  # a landline is no use
    assert fm.channels_for(email_only, "sms") == [("email", "a@example.org")]
    assert fm.channels_for(Contact(phone="0113 000 0000"), "auto") == []


def test_the_first_contact_who_can_be_reached_is_used(absent):
    child = absent["child"]
    Contact.objects.filter(pupil=child).update(priority=2)
    ContactFactory(pupil=child, priority=1, forename="Landline", surname="Only",
                   phone="0113 111 1111")
    fm.first_day_queue(day=DAY, session="AM", user=None, pupil=child)
    msg = FamilyMessage.objects.get(pupil=child)
    assert (msg.contact_name, msg.to) == ("Pat Khan", "07700 900001")


# --- sending ----------------------------------------------------------------------------------

def test_one_action_messages_every_unexplained_absence_through_notify(
        absent, people, notify, eager, django_capture_on_commit_callbacks):
    notify.status["*"] = "sending"  # Notify has not heard back from the network yet
    ContactPreference.objects.create(contact=absent["child"].contacts.get(), channel="both")
    with django_capture_on_commit_callbacks(execute=True):
        counts = fm.first_day_queue(day=DAY, session="AM", user=people["office"])
    assert counts == {"queued": 4, "skipped": 0, "unreachable": 1}
    # Exactly what Notify was asked to send: the school's wording, one per mobile.
    assert sorted((s["phone_number"], s["personalisation"]["body"]) for s in notify.sent) == [
        ("07700 900001", f"Amira is not in school today. Please reply or call {SCHOOL_PHONE}."),
        ("07700 900002", f"Oscar is not in school today. Please reply or call {SCHOOL_PHONE}."),
    ]
    assert all(s["template_id"] == TEMPLATE_ID for s in notify.sent)
    assert notify.rejected_auth == 0
    # Emails: Pat asked for both, Em has only an email.
    assert sorted(m.to[0] for m in mail.outbox) == ["em@example.org", "pat@example.org"]
    assert {m.subject for m in mail.outbox} == {"Amira is not in school today",
                                                "Eve is not in school today"}
    rows = {(m.pupil_id, m.channel): m for m in FamilyMessage.objects.all()}
    sms_child = rows[(absent["child"].pk, "sms")]
    assert sms_child.status == "sent" and sms_child.claimed_at and sms_child.sent_at
    assert sms_child.provider_id in {s["id"] for s in notify.sent}
    assert {s["reference"] for s in notify.sent} == {
        f"test_a-{rows[(absent['child'].pk, 'sms')].pk}", f"test_a-{rows[(absent['other'].pk, 'sms')].pk}"}
    assert rows[(absent["email_only"].pk, "email")].status == "sent"
    assert rows[(absent["nobody"].pk, "sms")].status == "failed"
    assert "phone the family" in rows[(absent["nobody"].pk, "sms")].error
    assert absent["here"].pk not in {pid for pid, _ in rows}

    # Delivery reports: one arrived, one the network could not deliver.
    notify.status[sms_child.provider_id] = "delivered"
    notify.status[rows[(absent["other"].pk, "sms")].provider_id] = "permanent-failure"
    assert fm.statuses_refresh(day=DAY, session="AM") == 2
    assert FamilyMessage.objects.get(pk=sms_child.pk).status == "delivered"
    other = FamilyMessage.objects.get(pk=rows[(absent["other"].pk, "sms")].pk)
    assert other.status == "failed" and "could not deliver" in other.error

    # Pressing the button again sends nobody a second message (even the failed ones: the
    # office retries one family from its row).
    with django_capture_on_commit_callbacks(execute=True):
        again = fm.first_day_queue(day=DAY, session="AM", user=people["office"])
    assert again == {"queued": 0, "skipped": 4, "unreachable": 0}
    assert len(notify.sent) == 2 and len(mail.outbox) == 2


def test_a_failed_text_can_be_sent_again_to_that_family(absent, people, notify, eager,
                                                         django_capture_on_commit_callbacks):
    notify.refuse.add("07700 900002")
    with django_capture_on_commit_callbacks(execute=True):
        fm.first_day_queue(day=DAY, session="AM", user=people["office"], pupil=absent["other"])
    failed = FamilyMessage.objects.get(pupil=absent["other"])
    assert failed.status == "failed" and "Not a UK mobile number" in failed.error
    assert notify.sent == []
    notify.refuse.clear()
    Contact.objects.filter(pupil=absent["other"]).update(mobile="07700 900022")
    with django_capture_on_commit_callbacks(execute=True):
        fm.first_day_queue(day=DAY, session="AM", user=people["office"], pupil=absent["other"])
    assert [s["phone_number"] for s in notify.sent] == ["07700 900022"]


def test_nothing_is_sent_before_the_queueing_transaction_commits(absent, people, notify, eager,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        fm.first_day_queue(day=DAY, session="AM", user=people["office"])
    assert notify.sent == [] and mail.outbox == []
    assert set(FamilyMessage.objects.exclude(to="").values_list("status", flat=True)) == {"queued"}
    for cb in callbacks:
        cb()
    assert len(notify.sent) == 2


def test_claimed_before_send_so_a_second_delivery_of_the_task_sends_nothing(absent, people, notify):
    fm.first_day_queue(day=DAY, session="AM", user=people["office"], pupil=absent["child"])
    msg = FamilyMessage.objects.get(pupil=absent["child"])
    assert fm.message_send(message_id=msg.pk) is True
    assert fm.message_send(message_id=msg.pk) is False  # redelivered task
    assert len(notify.sent) == 1
    # A worker that died between claim and record: never sent again, a person checks.
    FamilyMessage.objects.filter(pk=msg.pk).update(status="sending", provider_id="")
    assert fm.message_send(message_id=msg.pk) is False
    from datetime import timedelta

    from django.utils import timezone

    assert fm.sweep_sending(now=timezone.now() + timedelta(minutes=16)) == 1
    assert FamilyMessage.objects.get(pk=msg.pk).status == "check"
    assert len(notify.sent) == 1


def test_a_wrong_api_key_is_a_failed_message_not_an_error_page(absent, people, notify, settings):
    settings.NOTIFY_API_KEY = API_KEY[:-36] + "ffffffff-ffff-ffff-ffff-ffffffffffff"
    fm.first_day_queue(day=DAY, session="AM", user=people["office"], pupil=absent["child"])
    msg = FamilyMessage.objects.get(pupil=absent["child"])
    assert fm.message_send(message_id=msg.pk) is False
    msg.refresh_from_db()
    assert msg.status == "failed" and "Invalid token" in msg.error
    assert notify.rejected_auth == 1 and notify.sent == []


def test_file_backend_records_what_would_have_been_sent(absent, people, settings, tmp_path):
    settings.SMS_BACKEND = "absences.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    fm.first_day_queue(day=DAY, session="AM", user=people["office"], pupil=absent["child"])
    msg = FamilyMessage.objects.get(pupil=absent["child"])
    assert fm.message_send(message_id=msg.pk)
    line = json.loads((tmp_path / "sms.jsonl").read_text())
    assert line["to"] == "07700 900001" and line["body"].startswith("Amira is not in school")
    assert FamilyMessage.objects.get(pk=msg.pk).provider_id == line["id"]


# --- the office's pages ----------------------------------------------------------------------

def test_office_messages_every_family_from_the_calling_list_and_sees_the_status(
        absent, people, notify, eager, django_capture_on_commit_callbacks):
    office = client_for(people["office"])
    page = office.get(f"/office/{DAY.isoformat()}/AM/").content.decode()
    assert "Message every family on this list" in page
    with django_capture_on_commit_callbacks(execute=True):
        r = office.post(f"/absences/messages/{DAY.isoformat()}/AM/send/")
    assert r.status_code == 302 and r["Location"].endswith("#calling-list")
    assert len(notify.sent) == 2
    page = office.get(f"/office/{DAY.isoformat()}/AM/").content.decode()
    assert 'data-status="delivered"' in page  # the eager status check found it delivered
    assert "07700 900002" in page and "No contact with a mobile number" in page


def test_the_message_is_on_the_pupils_contact_log(live_family, people, eager,
                                                  django_capture_on_commit_callbacks):
    from django.utils import timezone

    today = timezone.localdate()
    MarkFactory(pupil=live_family["child"], date=today, session="AM", code="N")
    with django_capture_on_commit_callbacks(execute=True):
        fm.first_day_queue(day=today, session="AM", user=people["office"])
    assert [m.to[0] for m in mail.outbox] == ["pat@example.org"]  # email only on file
    log = client_for(people["office"]).get("/absences/unexplained/").content.decode()
    assert 'class="family-message" data-status="sent"' in log
    assert "Email to Pat Khan" in log and "Office A" in log


def test_one_family_only_and_only_a_pupil_marked_n(absent, people, notify, eager,
                                                   django_capture_on_commit_callbacks):
    office = client_for(people["office"])
    with django_capture_on_commit_callbacks(execute=True):
        office.post(f"/absences/messages/{DAY.isoformat()}/AM/send/", {"pupil": absent["other"].pk})
    assert [s["phone_number"] for s in notify.sent] == ["07700 900002"]
    r = office.post(f"/absences/messages/{DAY.isoformat()}/AM/send/", {"pupil": absent["here"].pk},
                    follow=True)
    assert "not marked absent with no reason" in r.content.decode()
    assert not FamilyMessage.objects.filter(pupil=absent["here"]).exists()
    for bad in ("2026-13-01/AM", "2026-01-06/XX"):
        assert office.post(f"/absences/messages/{bad}/send/").status_code == 404
    assert office.post(f"/absences/messages/{DAY.isoformat()}/AM/send/",
                       {"pupil": "1 OR 1=1"}).status_code == 404


# --- sending automatically when the register closes --------------------------------------------

def test_sent_automatically_within_an_hour_of_the_register_closing(absent, people, notify, eager,
                                                                   school_a):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from absences import tasks

    london = ZoneInfo("Europe/London")

    def at(hh, mm):
        return datetime(2026, 1, 6, hh, mm, tzinfo=london)

    # Off by default.
    assert fm.auto_send_due(now=at(9, 20)) is None and not FamilyMessage.objects.exists()
    fm.settings_save(template=MessageSettings.DEFAULT_TEMPLATE, email_subject="Absence",
                     send_on_close=True)
    assert school_a.am_close.strftime("%H:%M") == "09:10"  # Beecroft
    assert fm.auto_send_due(now=at(9, 5)) is None           # register still open
    assert fm.auto_send_due(now=at(10, 30)) is None         # more than an hour later
    assert not FamilyMessage.objects.exists()
    counts = fm.auto_send_due(now=at(9, 20))
    assert counts == {"queued": 3, "skipped": 0, "unreachable": 1}
    assert FamilyMessage.objects.filter(created_by_name="automatic").count() == 4
    # The next beat run sends nobody anything twice; a closed day sends nothing.
    assert fm.auto_send_due(now=at(9, 25))["queued"] == 0
    from registers.models import SchoolDay

    SchoolDay.objects.filter(date=DAY).update(closed=True)
    assert fm.auto_send_due(now=at(9, 30)) is None
    # The beat task walks every school (here: nothing due at the real time of day).
    assert isinstance(tasks.auto_send_all_schools(), dict)


def test_the_office_turns_automatic_sending_on(people, school_a):
    r = client_for(people["office"]).post("/absences/messages/template/", {
        "template": MessageSettings.DEFAULT_TEMPLATE, "email_subject": "Absence",
        "send_on_close": "on"})
    assert r.status_code == 302 and MessageSettings.get().send_on_close


# --- the parent chooses ------------------------------------------------------------------------

def test_a_parent_chooses_email_and_the_next_message_follows_it(absent, people, notify, eager,
                                                                django_capture_on_commit_callbacks):
    child, other = absent["child"], absent["other"]
    parent = client_for(people["parent"])
    page = parent.get(f"/absences/children/{child.pk}/").content.decode()
    assert "How the school contacts you" in page and "07700 900001" in page
    r = parent.post(f"/absences/children/{child.pk}/messages/", {"pref-channel": "email"})
    assert r.status_code == 302
    assert ContactPreference.objects.get(contact__pupil=child).channel == "email"
    # Nonsense is refused; another family's child is 404 and changes nothing.
    parent.post(f"/absences/children/{child.pk}/messages/", {"pref-channel": "carrier-pigeon"})
    assert ContactPreference.objects.get(contact__pupil=child).channel == "email"
    r = parent.post(f"/absences/children/{other.pk}/messages/", {"pref-channel": "email"})
    assert r.status_code == 404 and not ContactPreference.objects.filter(contact__pupil=other).exists()
    with django_capture_on_commit_callbacks(execute=True):
        fm.first_day_queue(day=DAY, session="AM", user=people["office"], pupil=child)
    assert notify.sent == [] and [m.to for m in mail.outbox] == [["pat@example.org"]]
