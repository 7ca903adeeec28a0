"""Penalty notice payment (domain.md section 6): £80 within 21 days, £160 within 28, a
second notice £160 with no reduced rate, unpaid after 28 days → prosecution (s444)."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from escalation.models import CaseEvent
from escalation.services import (
    penalty_notice_issue,
    penalty_notice_payment_record,
    penalty_notice_withdraw,
)
from tests.conftest import client_for
from tests.factories import CaseFactory, ContactFactory

ISSUED = date(2025, 1, 6)
TODAY = date(2025, 6, 1)


@pytest.fixture
def family(school_a, make_pupil, people):
    child = make_pupil(legal_forename="Casey")
    mum = ContactFactory(pupil=child, priority=1, forename="Mary", surname="Parent")
    return child, mum, people["head"]


def issue(child, parent, user, on=ISSUED, kind="penalty", case=None):
    return penalty_notice_issue(pupil=child, parent=parent, kind=kind, issued_on=on, window_start=on,
                                window_end=on, unauthorised_sessions=12, user=user, case=case)


def record(notice, outcome, days, user, on=None):
    on = on or ISSUED + timedelta(days=days)
    return penalty_notice_payment_record(notice=notice, outcome=outcome, on=on, user=user, today=TODAY)


@pytest.mark.parametrize("outcome,days,status,amount,error", [
    ("paid_early", 0, "paid", 80, None),
    ("paid_early", 21, "paid", 80, None),
    ("paid_early", 22, None, None, "only if paid within 21 days"),
    ("paid", 10, None, None, "the amount due was £80"),
    ("paid", 21, None, None, "the amount due was £80"),
    ("paid", 22, "paid", 160, None),
    ("paid", 28, "paid", 160, None),
    ("paid", 29, None, None, "only within 28 days"),
    ("paid_early", 29, None, None, "only within 28 days"),
    ("unpaid", 28, None, None, "only after that"),
    ("unpaid", 29, "unpaid", None, None),
])
def test_first_notice_payment_table(family, outcome, days, status, amount, error):
    child, mum, head = family
    notice = issue(child, mum, head)
    if error:
        with pytest.raises(ValidationError, match=error):
            record(notice, outcome, days, head)
        notice.refresh_from_db()
        assert notice.status == "issued" and notice.paid_on is None and notice.referred_on is None
        assert CaseEvent.objects.filter(kind="penalty").count() == 1  # the issue only
        return
    record(notice, outcome, days, head)
    notice.refresh_from_db()
    on = ISSUED + timedelta(days=days)
    assert notice.status == status and notice.amount_paid == amount
    assert (notice.paid_on, notice.referred_on) == ((on, None) if status == "paid" else (None, on))
    event = CaseEvent.objects.filter(kind="penalty").latest("pk")
    assert event.data == {"notice": notice.pk, "status": status}
    if status == "paid":
        assert f"paid: £{amount} on {on:%-d %B %Y}, {days} day" in event.detail
    else:
        assert "referred for prosecution under section 444 of the Education Act 1996" in event.detail


def test_second_notice_has_no_reduced_rate(family):
    child, mum, head = family
    issue(child, mum, head, on=date(2024, 10, 1))
    second = issue(child, mum, head)
    assert (second.sequence, second.amount_early, second.amount) == (2, None, 160)
    with pytest.raises(ValidationError, match="no reduced rate"):
        record(second, "paid_early", 3, head)
    record(second, "paid", 3, head)
    second.refresh_from_db()
    assert (second.status, second.amount_paid) == ("paid", 160)


@pytest.mark.parametrize("on,error", [(ISSUED - timedelta(days=1), "before the notice was issued"),
                                      (TODAY + timedelta(days=1), "in the future")])
def test_dates_checked_against_issue_date_and_today(family, on, error):
    child, mum, head = family
    notice = issue(child, mum, head)
    with pytest.raises(ValidationError, match=error):
        record(notice, "paid_early", 0, head, on=on)


def test_only_an_issued_penalty_notice_takes_an_outcome(family):
    child, mum, head = family
    nti = issue(child, mum, head, kind="nti")
    with pytest.raises(ValidationError, match="no payment"):
        record(nti, "paid_early", 1, head)
    notice = issue(child, mum, head, on=date(2025, 1, 13))
    penalty_notice_payment_record(notice=notice, outcome="paid_early", on=date(2025, 1, 14), user=head,
                                  today=TODAY)
    with pytest.raises(ValidationError, match="already paid"):
        penalty_notice_payment_record(notice=notice, outcome="unpaid", on=date(2025, 3, 1), user=head,
                                      today=TODAY)
    with pytest.raises(ValidationError, match="cannot be withdrawn"):
        penalty_notice_withdraw(notice=notice, user=head, reason="x")
    # a withdrawn notice takes no payment, and cannot be withdrawn twice
    nti.refresh_from_db()
    penalty_notice_withdraw(notice=nti, user=head, reason="Engaged with support")
    with pytest.raises(ValidationError, match="already withdrawn"):
        penalty_notice_withdraw(notice=nti, user=head, reason="again")


def test_unpaid_notice_still_counts_towards_the_limit(family):
    from escalation.services import penalty_notices_counting

    child, mum, head = family
    notice = issue(child, mum, head)
    record(notice, "unpaid", 30, head)
    assert penalty_notices_counting(pupil_id=child.pk, parent_id=mum.pk, on=TODAY) == [notice]


# --- views ----------------------------------------------------------------------------

@pytest.fixture
def notice(family):
    child, mum, head = family
    return issue(child, mum, head)


def test_payment_recorded_from_penalties_page_and_shown(notice, people):
    client = client_for(people["attendance_officer"])
    page = client.get("/escalation/penalties/").content.decode()
    assert f"/escalation/penalties/notices/{notice.pk}/payment/" in page
    assert "Paid at £80 within 21 days" in page
    response = client.post(f"/escalation/penalties/notices/{notice.pk}/payment/",
                           {"outcome": "paid_early", "on": "2025-01-20"}, follow=True)
    page = response.content.decode()
    notice.refresh_from_db()
    assert (notice.status, notice.amount_paid, notice.paid_on) == ("paid", 80, date(2025, 1, 20))
    assert "£80 paid 20 Jan 2025" in page and f"/notices/{notice.pk}/payment/" not in page


def test_invalid_payment_from_page_shows_the_reason(notice, people):
    client = client_for(people["head"])
    page = client.post(f"/escalation/penalties/notices/{notice.pk}/payment/",
                       {"outcome": "paid", "on": "2025-01-08"}, follow=True)
    page = " ".join(str(m) for m in page.context["messages"])
    assert "the amount due was £80" in page
    notice.refresh_from_db()
    assert notice.status == "issued"


@pytest.mark.parametrize("who,status", [("office", 403), ("teacher", 403), ("governor", 403),
                                        ("parent", 403), ("other_school_office", 404)])
def test_payment_refused_has_no_side_effect(notice, people, who, status):
    response = client_for(people[who]).post(f"/escalation/penalties/notices/{notice.pk}/payment/",
                                            {"outcome": "paid_early", "on": "2025-01-20"})
    assert response.status_code == status
    notice.refresh_from_db()
    assert notice.status == "issued" and notice.paid_on is None
    assert CaseEvent.objects.filter(kind="penalty").count() == 1


def test_payment_status_in_case_chronology_and_panel(family, people):
    from escalation.models import Stage

    child, mum, head = family
    stage = Stage.objects.create(key="s1", name="Stage one", trigger="manual")
    case = CaseFactory(pupil=child, track="attendance", stage=stage, opened_on=ISSUED,
                       stage_since=ISSUED, owner_role="attendance_officer")
    on_case = issue(child, mum, head, case=case)
    dad = ContactFactory(pupil=child, priority=2, forename="David", surname="Parent")
    off_case = issue(child, dad, head)  # recorded from the penalties page: no case
    record(on_case, "paid", 25, head)
    record(off_case, "unpaid", 40, head)
    page = client_for(people["attendance_officer"]).get(f"/escalation/cases/{case.pk}/").content.decode()
    chron = page[page.index('data-testid="chronology"'):]
    assert "Penalty notice to Mary Parent paid: £160 on 31 January 2025, 25 days after issue" in chron
    assert "Penalty notice to David Parent unpaid after 28 days" in chron
    panel = page[page.index('data-testid="penalty-notices"'):]
    assert "Paid</strong> £160 on 31 Jan 2025" in panel
    assert "Unpaid: referred for prosecution (s444)</strong> on 15 Feb 2025" in panel
