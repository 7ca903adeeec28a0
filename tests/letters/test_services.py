"""Templates, rendering, batches and delivery: tests read the text of the PDFs."""

from datetime import date, datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from letters import merge, pdf, presets, services
from letters.models import Batch, Letter, LetterEvent, LetterTemplate
from registers.models import Pupil
from tests.factories import CaseFactory, LetterFactory

from .conftest import contact, mark, school_days

AS_OF = date(2026, 1, 30)


def text_of(letter: Letter) -> str:
    letter.refresh_from_db()
    with letter.file.open("rb") as f:
        return pdf.pdf_text(f.read())


def flat(text: str) -> str:
    return " ".join(text.split())


def run_batch(batch: Batch) -> dict:
    """What the Celery chunks do, synchronously (the test's transaction never commits, so
    batch_start's enqueue never runs)."""
    services.batch_start(batch=batch)
    out = {"rendered": 0, "failed": 0, "emailed": 0}
    for chunk in batch.chunks.exclude(status="done"):
        for k, v in services.batch_render_chunk(chunk_id=chunk.pk).items():
            out[k] += v
    batch.refresh_from_db()
    return out


@pytest.fixture
def lap1(school_a):
    return services.template_save(key="lap_letter_1", name="LAP Letter 1", body=presets.LAP_LETTER_1)


@pytest.fixture
def sam(calendar, make_pupil):
    """Sam (legal name Samuel Smith), 4B: 20 school days in January, 2 days ill, 1 day O."""
    p = make_pupil(group="4B", year_group=4, legal_forename="Samuel", legal_surname="Smith",
                   preferred_forename="Sam")
    days = school_days(date(2026, 1, 5), 20)
    mark(p, days[:2], "I")
    mark(p, days[2:3], "O")
    mark(p, days[3:], "/")
    return p


# --- templates -----------------------------------------------------------------------

def test_unknown_merge_field_is_refused_naming_the_field(school_a):
    with pytest.raises(ValidationError) as exc:
        services.template_save(key="bad", name="Bad", body="<p>Dear {{ pupil.nickname }}</p>")
    assert "pupil.nickname" in str(exc.value)
    assert not LetterTemplate.objects.filter(key="bad").exists()


@pytest.mark.parametrize("body, words", [
    ("{% for c in contacts %}{{ c.shoe_size }}{% endfor %}", "c.shoe_size"),
    ("{% if meeting.when %}x{% endif %}", "meeting.when"),
    ("{% include 'base.html' %}", "include"),
    ("{% load static %}", "load"),
    ("{{ pupil.forename|safe }}", "safe"),
    ("{{ school.name|default:secret.key }}", "secret.key"),
])
def test_other_template_problems_are_refused_with_a_name(school_a, body, words):
    with pytest.raises(ValidationError) as exc:
        services.template_save(key="bad", name="Bad", body=body)
    assert words in str(exc.value)


def test_template_html_is_sanitised_at_save_time(school_a):
    t = services.template_save(key="x", name="X", body=(
        '<p onclick="steal()" style="background:url(http://evil)">Hi {{ pupil.forename }}</p>'
        '<script>alert(1)</script><img src="http://evil/x.png"><p class="lead bogus">'
        '{% if attendance.pct < 90 %}low{% endif %}</p>'))
    assert "script" not in t.body and "onclick" not in t.body and "img" not in t.body
    assert "style" not in t.body and 'class="lead"' in t.body
    assert "{% if attendance.pct < 90 %}" in t.body  # operators survive sanitising


def test_every_preset_template_compiles_and_renders_with_sample_values():
    for key, (_name, _kind, body) in presets.ALL.items():
        html = merge.render_body(merge.compile_body(merge.sanitise(body)), merge.sample_context())
        assert "{{" not in html and "{%" not in html, key


def test_presets_load_each_seed_schools_letters(school_a):
    names = set(LetterTemplate.objects.values_list("key", flat=True))
    assert {"traffic_light", "leave_decision", "meeting_invitation", "support_plan",
            "attendance_contract"} <= names  # school A is a Beecroft preset
    assert {k for k, *_ in presets.templates_for("lap")} >= {"lap_letter_1", "lap_letter_2", "lap_letter_3"}
    assert {k for k, *_ in presets.templates_for("stlukes")} >= {"stlukes_below_95", "stlukes_below_90"}


# --- rendering ------------------------------------------------------------------------

def test_lap_letter_1_pdf_has_the_merged_values(lap1, sam):
    contact(sam, title="Mrs", forename="Jane", surname="Smith", address="1 High Street\nLeeds\nLS1 1AA")
    contact(sam, title="Mr", forename="John", surname="Doe", priority=2, address="2 Low Road\nLeeds")
    contact(sam, title="Ms", forename="Not", surname="Flagged", priority=3, correspondence=False)
    batch = services.batch_create_picked(template=lap1, pupils=Pupil.objects.filter(pk=sam.pk),
                                         trigger_key="lap1:test", as_of=AS_OF, send_email=False)
    assert run_batch(batch) == {"rendered": 1, "failed": 0, "emailed": 0}
    letter = batch.letters.get()
    assert letter.status == Letter.Status.RENDERED and letter.pages >= 1
    text = flat(text_of(letter))
    # 40 possible sessions, 6 missed: 85.0%.
    assert "Samuel Smith, 4B" in text                       # legal name and tutor group
    assert "Sam's attendance for this academic year currently stands at 85.0%" in text
    assert "total of 6 missed sessions" in text
    assert "Dear Mrs Smith and Mr Doe," in text               # both correspondence contacts
    assert "Mrs Jane Smith 1 High Street Leeds LS1 1AA" in text  # address labels
    assert "Mr John Doe 2 Low Road Leeds" in text
    assert "Not Flagged" not in text
    assert "30 January 2026" in text                          # letter date
    assert "Learning Hours Lost" in text and "96% 182 8 1.5 40" in text  # learning-lost table
    assert "85.0% (now) 161.5 28.5 5.7 142.5" in text
    assert "Test School A" in text                            # letterhead
    assert "June Turner Headteacher" in text                  # signatory (preset headteacher)


def test_multi_page_letters_are_numbered_single_page_letters_are_not(school_a, sam):
    contact(sam)
    short = services.template_save(key="short", name="Short", body="<p>{{ salutation }}, hello.</p>")
    long = services.template_save(key="long", name="Long", body="<p>{{ pupil.forename }}</p>" * 120)
    batch = services.batch_create_picked(template=short, pupils=Pupil.objects.filter(pk=sam.pk),
                                         trigger_key="t1", as_of=AS_OF, send_email=False)
    run_batch(batch)
    one = batch.letters.get()
    assert one.pages == 1 and "Page 1 of" not in text_of(one)
    batch2 = services.batch_create_picked(template=long, pupils=Pupil.objects.filter(pk=sam.pk),
                                          trigger_key="t2", as_of=AS_OF, send_email=False)
    run_batch(batch2)
    two = batch2.letters.get()
    assert two.pages >= 2
    t = text_of(two)
    assert f"Page 1 of {two.pages}" in t and f"Page {two.pages} of {two.pages}" in t


def test_meeting_date_and_time_come_from_the_escalation_meeting(school_a, sam):
    from django.utils import timezone

    from escalation.models import Meeting, Stage

    contact(sam)
    stage = Stage.objects.create(key="l2", name="Letter 2", trigger="manual")
    case = CaseFactory(pupil=sam, track="attendance", stage=stage, opened_on=AS_OF,
                       stage_since=AS_OF, owner_role="attendance_officer")
    Meeting.objects.create(case=case, kind="attendance_support", status="scheduled", location="Room 2",
                           starts_at=timezone.make_aware(datetime(2099, 2, 10, 9, 15)))
    t = services.template_save(key="lap_letter_2", name="L2", body=presets.LAP_LETTER_2)
    batch = services.batch_create_picked(template=t, pupils=Pupil.objects.filter(pk=sam.pk),
                                         trigger_key="l2", as_of=AS_OF, send_email=False)
    run_batch(batch)
    text = flat(text_of(batch.letters.get()))
    assert "appointment for Tuesday 10 February 2099 at 9:15 am" in text
    assert "Page 1 of" in text  # Letter 2 runs to two pages


def test_pupil_without_correspondence_contact_is_reported_not_skipped(lap1, sam, make_pupil):
    flagged = make_pupil(legal_surname="Flagged")
    contact(flagged)
    contact(sam, correspondence=False)
    pupils = Pupil.objects.filter(pk__in=[sam.pk, flagged.pk])
    batch = services.batch_create_picked(template=lap1, pupils=pupils, trigger_key="nc",
                                         as_of=AS_OF, send_email=False)
    assert [p["upn"] for p in batch.report["no_correspondence_contact"]] == [sam.upn]
    assert run_batch(batch) == {"rendered": 1, "failed": 1, "emailed": 0}
    failed = batch.letters.get(pupil=sam)
    assert failed.status == Letter.Status.FAILED and "flagged for correspondence" in failed.error
    assert LetterEvent.objects.filter(letter=failed, kind="failed").exists()
    assert batch.status == Batch.Status.DONE
    assert batch.combined_pages == batch.letters.get(pupil=flagged).pages
    # Fix the contact, retry: it renders.
    sam.contacts.update(correspondence=True)
    assert services.batch_retry(batch=batch) == 1
    [chunk] = batch.chunks.exclude(status="done")
    assert chunk.letter_ids == [failed.pk]
    services.batch_render_chunk(chunk_id=chunk.pk)
    failed.refresh_from_db()
    assert failed.status == Letter.Status.RENDERED and failed.attempts == 2


def test_emailed_once_with_the_pdf_and_never_twice_for_the_same_trigger(lap1, sam, make_pupil):
    contact(sam, email="jane@example.org")
    post = make_pupil(legal_surname="Post")
    contact(post)  # no email address: print pack
    pupils = Pupil.objects.filter(pk__in=[sam.pk, post.pk])
    batch = services.batch_create_picked(template=lap1, pupils=pupils, trigger_key="half-term-1",
                                         as_of=AS_OF)
    assert run_batch(batch) == {"rendered": 2, "failed": 0, "emailed": 1}
    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    assert msg.to == ["jane@example.org"] and msg.attachments[0][2] == "application/pdf"
    assert "Sam" in pdf.pdf_text(msg.attachments[0][1])
    emailed = batch.letters.get(pupil=sam)
    assert emailed.status == Letter.Status.EMAILED and emailed.emailed_to == "jane@example.org"
    # A second claim of the same letter sends nothing.
    assert services.letter_email(letter=emailed) is False and len(mail.outbox) == 1
    # The print pack holds the posted letter only.
    assert batch.combined and batch.combined_pages == batch.letters.get(pupil=post).pages
    with batch.combined.open("rb") as f:
        assert "Post" in pdf.pdf_text(f.read())
    # Same trigger again: nobody gets a second letter.
    again = services.batch_create_picked(template=lap1, pupils=pupils, trigger_key="half-term-1",
                                         as_of=AS_OF)
    assert again.total == 0 and len(again.report["already_sent"]) == 2
    assert Letter.objects.filter(trigger_key="half-term-1").count() == 2
    assert services.letters_mark_printed(batch=batch) == 1
    assert batch.letters.get(pupil=post).status == Letter.Status.PRINTED


def test_nightly_queued_letters_render_with_figures_of_their_night(lap1, sam):
    contact(sam)
    LetterFactory(pupil=sam, template_key="lap_letter_1", trigger_key="stage:l1",
                  night=date(2026, 1, 9))  # 5 days in: 6 of 10 sessions missed = 40.0%
    LetterFactory(pupil=sam, template_key="no_such_template", trigger_key="stage:x", night=AS_OF)
    batch = services.batch_create_queued()
    assert batch.total == 2 and batch.source == Batch.Source.QUEUED
    run_batch(batch)
    ok = batch.letters.get(template_key="lap_letter_1")
    assert "currently stands at 40.0%" in flat(text_of(ok))
    bad = batch.letters.get(template_key="no_such_template")
    assert bad.status == Letter.Status.FAILED and "no_such_template" in bad.error
    assert services.batch_create_queued() is None


def test_documents_have_signature_blocks(school_a, sam):
    for key in ("support_plan", "attendance_contract"):
        t = LetterTemplate.objects.get(key=key)
        letter = services.letter_queue(pupil=sam, template_key=key, trigger_key=f"doc:{key}")
        assert services.render_now(letter=letter, as_of=AS_OF)
        text = flat(text_of(letter))
        assert t.name in text and "Samuel Smith, Year 4 (4B)" in text
        assert "Signed (parent/carer)" in text or "Parent/carer(s)" in text
        assert "85.0%" in text
    assert services.letter_queue(pupil=sam, template_key="support_plan",
                                 trigger_key="doc:support_plan") is None


def test_evidence_pack_has_figures_register_letters_and_chronology(school_a, sam):
    from django.utils import timezone

    from escalation.models import CaseEvent

    contact(sam)
    CaseEvent.objects.create(pupil=sam, kind="contact", channel="home_visit", at=timezone.now(),
                             user_name="Olive Officer", detail="Home visit: nobody in")
    letter = services.letter_queue(pupil=sam, template_key="support_plan", trigger_key="doc")
    services.render_now(letter=letter, as_of=AS_OF)
    data = services.evidence_pack_pdf(pupil=sam, date_from=date(2026, 1, 5), date_to=AS_OF)
    text = flat(pdf.pdf_text(data))
    assert "Attendance evidence pack: Samuel Smith" in text
    assert "40 34 85.0% 4 2" in text            # possible, attended, %, authorised, unauthorised
    assert "Home visit: nobody in" in text and "Olive Officer" in text
    assert "support_plan" in text
    assert "Register extract" in text and "5 Jan 2026 I I I I O O" in text
    assert "Page 1 of" in text


@pytest.mark.parametrize("preset", ["beecroft", "cheetwood", "lap", "stlukes", "bankslane"])
def test_every_letter_a_preset_stage_names_ships_with_that_preset(preset):
    """A stage's letter must exist in the same preset, or the nightly letter would fail."""
    from escalation.presets import STAGES
    from letters.presets import templates_for

    keys = {key for key, *_ in templates_for(preset)}
    named = {s["letter_template"] for s in STAGES[preset] if s["letter_template"]}
    assert named <= keys, named - keys
