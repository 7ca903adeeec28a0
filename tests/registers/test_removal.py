"""Lawful removal from roll on the 20-school-day ground (registers.removal, pupil_off_roll)."""

from datetime import date

import pytest
from django.db import connection

from letters.returns import deletions_return
from registers import removal
from registers.models import Mark, RemovalEnquiry, RollRemoval, SchoolDay
from registers.services import RollError, pupil_off_roll
from tenants.roles import Role
from tests.conftest import client_for
from tests.factories import ContactFactory, LeaveRequestFactory

AS_OF = date(2026, 2, 13)  # a Friday in the spring term


def school_days(n: int, last: date = AS_OF) -> list[date]:
    """The last ``n`` open school days up to ``last``, oldest first."""
    days = SchoolDay.objects.filter(closed=False, date__lte=last).order_by("-date") \
        .values_list("date", flat=True)[:n]
    return sorted(days)


def mark_days(pupil, days, code="N"):
    Mark.objects.bulk_create([Mark(pupil=pupil, date=d, session=s, code=code)
                              for d in days for s in ("AM", "PM")])


@pytest.fixture
def absent(calendar, make_pupil):
    """Zed: present until 20 school days ago, then only N, O and G for 20 school days."""
    zed = make_pupil(group="5A", year_group=5, admission=date(2025, 9, 1), legal_forename="Zed",
                     date_of_birth=date(2015, 10, 1))
    run = school_days(20)
    before = school_days(5, last=SchoolDay.objects.filter(date__lt=run[0], closed=False)
                         .order_by("-date").values_list("date", flat=True).first())
    mark_days(zed, before, "/")
    mark_days(zed, run[:10], "N")
    mark_days(zed, run[10:15], "O")
    mark_days(zed, run[15:], "G")
    ContactFactory(pupil=zed, forename="Mo", surname="Zed", address="2 Low St",
                   mobile="07700 900123")
    return zed, run


def enquiries_all(pupil):
    for kind in RemovalEnquiry.Kind.values:
        removal.enquiry_record(pupil=pupil, kind=kind, done_on=AS_OF, notes="", user=None)


def test_twenty_days_of_n_o_g_qualify(absent):
    zed, run = absent
    r = removal.absence_run(zed, AS_OF)
    assert (r.days, r.first, r.last, r.qualifies) == (20, run[0], AS_OF, True)
    assert [(p.pk, x.days) for p, x in removal.twenty_day_candidates(AS_OF)] == [(zed.pk, 20)]
    # A day earlier it was 19: not yet.
    assert removal.absence_run(zed, run[-2]).days == 19
    assert removal.twenty_day_candidates(run[-2]) == []


@pytest.mark.parametrize("code", ["U", "/", "L", "I"])
def test_one_u_or_present_mark_breaks_the_run(absent, code):
    zed, run = absent
    Mark.objects.filter(pupil=zed, date=run[5], session="PM").update(code=code)
    assert removal.absence_run(zed, AS_OF).days == 14
    assert removal.twenty_day_candidates(AS_OF) == []


def test_an_unmarked_session_inside_the_run_breaks_it_but_today_not_taken_does_not(absent):
    zed, run = absent
    Mark.objects.filter(pupil=zed, date=run[-1], session="PM").delete()  # today's PM not taken
    assert removal.absence_run(zed, AS_OF).days == 19  # the half day does not count
    Mark.objects.filter(pupil=zed, date=run[3], session="AM").delete()
    assert removal.absence_run(zed, AS_OF).days == 15


def test_pupils_below_compulsory_school_age_are_not_listed(absent, make_pupil):
    tot = make_pupil(group="N", year_group=-1, admission=date(2025, 9, 1),
                     date_of_birth=date(2022, 5, 1))
    mark_days(tot, absent[1], "N")
    assert [p.pk for p, _ in removal.twenty_day_candidates(AS_OF)] == [absent[0].pk]


def test_removal_refused_without_the_run(absent):
    zed, run = absent
    enquiries_all(zed)
    Mark.objects.filter(pupil=zed, date=run[0]).update(code="/")  # attended: 19 days left
    with pytest.raises(RollError, match="19 school day"):
        pupil_off_roll(pupil=zed, leaving_date=AS_OF, ground="twenty_days",
                       roles={Role.OFFICE})
    zed.refresh_from_db()
    assert zed.leaving_date is None and not RollRemoval.objects.exists()


def test_removal_refused_without_the_enquiries(absent):
    zed, _ = absent
    removal.enquiry_record(pupil=zed, kind="calls", done_on=AS_OF, notes="", user=None)
    with pytest.raises(RollError, match="Home visit, Joint enquiries"):
        pupil_off_roll(pupil=zed, leaving_date=AS_OF, ground="twenty_days",
                       roles={Role.OFFICE, Role.ATTENDANCE_OFFICER}, override_reason="please")
    zed.refresh_from_db()
    assert zed.leaving_date is None


def test_removal_with_run_and_enquiries_is_logged_and_in_the_deletion_return(absent):
    zed, _ = absent
    enquiries_all(zed)
    pupil_off_roll(pupil=zed, leaving_date=AS_OF, ground="twenty_days", roles={Role.OFFICE},
                   role="Office")
    log = RollRemoval.objects.get(pupil=zed)
    assert (log.ground, log.run_days, log.override_reason) == ("twenty_days", 20, "")
    rec = next(r for r in deletions_return(as_of=AS_OF) if r["upn"] == zed.upn)
    assert "20+ school days" in rec["deletion_ground"]
    assert rec["parent_name"] == "Mo Zed" and rec["emergency_phone"] == "07700 900123"


def test_head_may_override_with_a_reason_only(absent):
    zed, run = absent
    with pytest.raises(RollError, match="Only the head"):
        pupil_off_roll(pupil=zed, leaving_date=AS_OF, ground="twenty_days", roles={Role.HEAD})
    pupil_off_roll(pupil=zed, leaving_date=AS_OF, ground="twenty_days", roles={Role.HEAD},
                   override_reason="LA confirmed the family emigrated")
    assert RollRemoval.objects.get(pupil=zed).override_reason.startswith("LA confirmed")


def test_other_grounds_are_unaffected(absent):
    zed, _ = absent
    pupil_off_roll(pupil=zed, leaving_date=AS_OF, ground="other_school", roles={Role.OFFICE})
    assert RollRemoval.objects.get(pupil=zed).run_days is None


def test_removal_log_is_append_only_for_the_app(absent):
    zed, _ = absent
    pupil_off_roll(pupil=zed, leaving_date=AS_OF, ground="other_school", roles={Role.OFFICE})
    from django.db import transaction
    from django.db.utils import ProgrammingError

    with pytest.raises(ProgrammingError), transaction.atomic():
        RollRemoval.objects.update(override_reason="rewritten")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM registers_rollremoval")
        assert cur.fetchone()[0] == 1


def test_pages_list_candidates_and_record_enquiries(absent, people):
    zed, _ = absent
    c = client_for(people["office"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("django.utils.timezone.localdate", lambda *a: date(2026, 2, 16))
        page = c.get("/off-roll/twenty-days/")
        assert [r["pupil"].pk for r in page.context["rows"]] == [zed.pk]
        assert b"Home visit" in page.content
        r = c.post(f"/pupils/{zed.pk}/enquiries/", {"kind": "home_visit", "done_on": "2026-02-16",
                                                    "notes": "No answer"})
        assert r.status_code == 302
        assert removal.enquiries_missing(zed) == ["Called every contact",
                                                  "Joint enquiries with the local authority"]
        # The off-roll form refuses and says why.
        r = c.post(f"/pupils/{zed.pk}/leave/", {"leaving_date": "2026-02-13",
                                                "ground": "twenty_days"}, follow=True)
        assert b"Cannot remove on the 20-day ground" in r.content
        zed.refresh_from_db()
        assert zed.leaving_date is None


# --- failed to return after agreed leave ---------------------------------------------------

@pytest.fixture
def away(calendar, make_pupil):
    """Lia: granted leave to 23 January 2026, then only N for the 10 school days after."""

    lia = make_pupil(group="5A", year_group=5, admission=date(2025, 9, 1), legal_forename="Lia",
                     date_of_birth=date(2015, 10, 1))
    LeaveRequestFactory(pupil=lia, first_day=date(2026, 1, 19), last_day=date(2026, 1, 23),
                        reason="exceptional", explanation="Funeral abroad",
                        status="granted")
    after = [d for d in school_days(40) if d > date(2026, 1, 23)][:10]
    mark_days(lia, after, "N")
    return lia, after


def test_not_returned_within_ten_school_days_qualifies_and_one_present_mark_breaks_it(away):
    lia, after = away
    assert removal.not_returned(lia, after[-1])[1] is True
    assert removal.not_returned(lia, after[-2])[1] is False  # only 9 days so far
    assert [p.pk for p, _ in removal.not_returned_candidates(after[-1])] == [lia.pk]
    Mark.objects.filter(pupil=lia, date=after[4], session="AM").update(code="/")
    assert removal.not_returned(lia, after[-1])[1] is False
    assert removal.not_returned_candidates(after[-1]) == []


def test_not_returned_removal_needs_the_condition_and_the_enquiries(away, make_pupil):
    lia, after = away
    with pytest.raises(RollError, match="enquiries are not recorded"):
        pupil_off_roll(pupil=lia, leaving_date=after[-1], ground="not_returned", roles={Role.OFFICE})
    enquiries_all(lia)
    Mark.objects.filter(pupil=lia, date=after[2], session="PM").update(code="L")  # came in
    with pytest.raises(RollError, match="have not all passed"):
        pupil_off_roll(pupil=lia, leaving_date=after[-1], ground="not_returned",
                       roles={Role.OFFICE})
    Mark.objects.filter(pupil=lia, date=after[2], session="PM").update(code="N")
    never = make_pupil(group="5A", year_group=5, admission=date(2025, 9, 1))
    enquiries_all(never)
    with pytest.raises(RollError, match="no granted leave"):
        pupil_off_roll(pupil=never, leaving_date=after[-1], ground="not_returned",
                       roles={Role.OFFICE})
    # Marks after the leaving date are refused first, so remove on the last day of the ten.
    pupil_off_roll(pupil=lia, leaving_date=after[-1], ground="not_returned", roles={Role.OFFICE})
    assert RollRemoval.objects.get(pupil=lia).ground == "not_returned"
