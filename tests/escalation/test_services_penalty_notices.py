"""Penalty notices: amounts, one per parent per child, no more than two in three years."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from escalation.models import PenaltyNotice
from escalation.services import penalty_notice_issue, penalty_notice_withdraw
from tests.factories import ContactFactory


@pytest.fixture
def family(school_a, make_pupil, people):
    child = make_pupil()
    mum = ContactFactory(pupil=child, priority=1, forename="Mary", surname="Parent")
    dad = ContactFactory(pupil=child, priority=2, forename="David", surname="Parent")
    return child, mum, dad, people["head"]


def issue(child, parent, user, on, kind="penalty", n=10):
    return penalty_notice_issue(pupil=child, parent=parent, kind=kind, issued_on=on, window_start=on,
                                window_end=on, unauthorised_sessions=n, user=user)


def test_first_80_or_160_second_160_third_refused(family):
    child, mum, dad, head = family
    first = issue(child, mum, head, date(2024, 10, 1))
    assert (first.sequence, first.amount_early, first.amount) == (1, 80, 160)
    second = issue(child, mum, head, date(2025, 3, 1))
    assert (second.sequence, second.amount_early, second.amount) == (2, None, 160)
    with pytest.raises(ValidationError, match="prosecution under section 444"):
        issue(child, mum, head, date(2026, 1, 5))
    # each parent counts separately: one notice per parent per child
    assert issue(child, dad, head, date(2026, 1, 5)).sequence == 1


def test_withdrawn_notices_do_not_count(family):
    child, mum, _, head = family
    first = issue(child, mum, head, date(2024, 10, 1))
    issue(child, mum, head, date(2025, 3, 1))
    penalty_notice_withdraw(notice=first, user=head, reason="Issued in error")
    third = issue(child, mum, head, date(2026, 1, 5))
    assert third.sequence == 2 and third.amount == 160


@pytest.mark.parametrize("first,later,sequence", [
    (date(2024, 8, 18), date(2025, 1, 6), 1),   # before the framework began: does not count
    (date(2024, 9, 2), date(2027, 9, 2), 1),    # exactly three years later: outside the three years
    (date(2024, 9, 2), date(2027, 9, 1), 2),
])
def test_the_three_years(family, first, later, sequence):
    child, mum, _, head = family
    issue(child, mum, head, first)
    assert issue(child, mum, head, later).sequence == sequence


def test_notice_to_improve_has_no_amount_and_penalty_needs_ten_sessions(family):
    child, mum, _, head = family
    nti = issue(child, mum, head, date(2025, 1, 6), kind="nti", n=8)
    assert nti.amount is None and nti.get_kind_display() == "Notice to Improve"
    with pytest.raises(ValidationError, match="10 or more"):
        issue(child, mum, head, date(2025, 1, 7), n=9)
    assert PenaltyNotice.objects.count() == 1
