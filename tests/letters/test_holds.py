"""Issue 12 item 10: letters that know the child.

"Before a queued letter goes, the review list shows why it might be wrong to send: medical
evidence on file, an EHC plan or SEN support, a part-time timetable, a recent bereavement,
looked after (talk to the social worker first). Each school chooses which of these hold a
letter automatically; a held letter needs a person to release it or cancel it with a reason."
"""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from escalation.models import CaseEvent, Stage
from escalation.selectors import cases_export
from letters.models import Letter, LetterEvent, LetterSettings
from letters.services import batch_create_queued, letter_cancel, letter_release, letters_hold_check
from tests.conftest import client_for
from tests.factories import CaseFactory, LetterFactory


@pytest.fixture
def queued(school_a, make_pupil):
    """A queued letter from a case, for a pupil made with ``**flags``. The school holds letters
    for looked-after children (every reason is off until the school chooses it)."""
    from escalation import presets

    presets.apply("lap")
    LetterSettings.objects.update_or_create(pk=1, defaults={"hold_looked_after": True})
    stage = Stage.objects.get(key="lap-letter-1")

    def make(**flags):
        p = make_pupil(legal_surname=f"Family{make.n}", **flags)
        make.n += 1
        case = CaseFactory(pupil=p, track=stage.track, stage=stage, opened_on=date(2025, 10, 3),
                           stage_since=date(2025, 10, 3), owner_role=stage.owner_role)
        return LetterFactory(pupil=p, case=case, template_key="lap_letter_1", night=date(2025, 10, 3),
                             trigger_key=f"lap-letter-1:{p.pk}")
    make.n = 0
    return make


def test_the_review_list_shows_every_reason(queued, people):
    from registers.models import PartTimeTimetable

    today = timezone.localdate()
    letters = [queued(medical_evidence=True), queued(sen_status="E"), queued(sen_status="K"),
               queued(bereaved_on=today - timedelta(days=30)), queued(lac=True), queued()]
    PartTimeTimetable.objects.create(pupil=letters[-1].pupil, start_date=today - timedelta(days=7),
                                     planned_end=today + timedelta(days=21), sessions=["MON-AM"],
                                     reason="Anxiety", parent_agreed_on=today - timedelta(days=7))
    page = client_for(people["attendance_officer"]).get("/letters/review/").content.decode()
    for text in ("Medical evidence on file", "EHC plan: talk to the SENCO", "SEN support: talk to the SENCO",
                 f"Bereavement on {today - timedelta(days=30):%-d %B %Y}",
                 "Looked after: talk to the social worker first", "On a part-time timetable"):
        assert text in page.replace("&#x27;", "'"), text
    assert client_for(people["teacher"]).get("/letters/review/").status_code == 403


def test_an_old_bereavement_is_not_recent(queued, people):
    queued(bereaved_on=timezone.localdate() - timedelta(days=400))
    page = client_for(people["attendance_officer"]).get("/letters/review/").content.decode()
    assert "Bereavement" not in page


def test_the_school_chooses_which_reasons_hold_a_letter(queued, people):
    lac, medical, plain = queued(lac=True), queued(medical_evidence=True), queued()
    s = LetterSettings.get()
    assert (s.hold_looked_after, s.hold_medical) == (True, False)
    batch = batch_create_queued(user=people["attendance_officer"])
    assert set(batch.letters.values_list("pk", flat=True)) == {medical.pk, plain.pk}
    lac.refresh_from_db()
    assert lac.status == "held" and lac.hold_reasons == ["looked_after"]
    assert CaseEvent.objects.get(case=lac.case, kind="letter_held").detail == (
        "Letter 'lap_letter_1' held: Looked after: talk to the social worker first")
    row = next(r for r in cases_export(as_of=timezone.localdate()) if r["upn"] == lac.pupil.upn)
    assert "held" in [h["event"] for h in row["history"]]
    assert row["status"] == "open"  # the letter is held, not the case

    # The attendance lead turns on "medical evidence" on the settings page.
    from letters.forms import SettingsForm

    form = {f: getattr(s, f) for f in SettingsForm.Meta.fields if not f.startswith(("hold_", "exempt"))}
    form.update(hold_medical="on", hold_looked_after="on", exempt_junior_intake="on")
    client_for(people["attendance_officer"]).post("/letters/settings/", form)
    assert LetterSettings.get().hold_medical
    again = queued(medical_evidence=True)
    assert letters_hold_check() == 1
    again.refresh_from_db()
    assert again.status == "held" and again.hold_reasons == ["medical"]


def test_a_person_releases_a_held_letter_and_it_is_not_held_again(queued, people):
    lac = queued(lac=True)
    assert letters_hold_check() == 1
    client_for(people["attendance_officer"]).post(f"/letters/letter/{lac.pk}/release/")
    lac.refresh_from_db()
    assert lac.status == "queued" and lac.decided_by_name and lac.decided_at
    assert letters_hold_check() == 0
    batch = batch_create_queued(user=people["attendance_officer"])
    assert list(batch.letters.values_list("pk", flat=True)) == [lac.pk]
    assert "released" in LetterEvent.objects.filter(letter=lac).values_list("kind", flat=True)
    assert CaseEvent.objects.filter(case=lac.case, kind="note", detail__contains="released").exists()
    with pytest.raises(ValidationError, match="Only a held letter"):
        letter_release(letter=lac, user=people["attendance_officer"])


def test_cancelling_needs_a_reason_and_is_recorded(queued, people):
    lac = queued(lac=True)
    letters_hold_check()
    client = client_for(people["attendance_officer"])
    r = client.post(f"/letters/letter/{lac.pk}/cancel/", {"reason": "  "}, follow=True)
    assert "Say why the letter is cancelled" in r.content.decode()
    lac.refresh_from_db()
    assert lac.status == "held"
    client.post(f"/letters/letter/{lac.pk}/cancel/", {"reason": "Social worker advises a visit instead"})
    lac.refresh_from_db()
    assert (lac.status, lac.cancel_reason) == ("cancelled", "Social worker advises a visit instead")
    assert LetterEvent.objects.get(letter=lac, kind="cancelled").user_name
    assert CaseEvent.objects.get(case=lac.case, kind="note").detail == (
        "Letter 'lap_letter_1' cancelled: Social worker advises a visit instead")
    assert batch_create_queued(user=people["attendance_officer"]) is None
    with pytest.raises(ValidationError, match="cannot be cancelled"):
        letter_cancel(letter=lac, user=people["attendance_officer"], reason="again")


def test_a_document_printed_by_hand_is_not_held(queued):
    lac = queued(lac=True)
    Letter.objects.filter(pk=lac.pk).update(trigger_key="manual:support_plan:1")
    assert letters_hold_check() == 0
