"""Return rules at their edges (domain.md section 7)."""

import csv
import io
import json
from datetime import date

import pytest
from django.core.management import call_command

from letters import returns
from registers.calendar import calendar_replace
from registers.models import CalendarEntry

from .conftest import contact, mark, school_days

AS_OF = date(2026, 3, 31)
START = date(2026, 1, 5)  # a Monday in the spring term


def upns(records):
    return {r["upn"] for r in records}


@pytest.fixture
def rules():
    # Irregular attendance off (huge min_possible) so continuous-run rules are tested alone.
    return returns.Rules(regular_min_possible=10_000)


def test_ten_continuous_unauthorised_days_is_on_nine_is_not(calendar, make_pupil, rules):
    ten, nine = make_pupil(legal_surname="Ten"), make_pupil(legal_surname="Nine")
    days = school_days(START, 12)
    mark(ten, days[:10], "O")
    mark(ten, days[10:], "/")
    mark(nine, days[:9], "O")
    mark(nine, days[9:], "/")
    recs = returns.attendance_return(as_of=AS_OF, rules=rules)
    assert upns(recs) == {ten.upn}
    r = recs[0]
    assert r["evidence"]["runs"][0]["school_days"] == 10
    assert r["sessions"] == 20 and r["codes"] == "O:20"
    assert r["dates"].startswith(f"{days[0].isoformat()} to {days[9].isoformat()}")


def test_mixed_unauthorised_codes_make_one_run_and_u_counts(calendar, make_pupil, rules):
    p = make_pupil()
    days = school_days(START, 10)
    mark(p, days[:3], "G")
    mark(p, days[3:6], "N")
    mark(p, days[6:9], "O")
    mark(p, days[9:], "U")
    assert upns(returns.attendance_return(as_of=AS_OF, rules=rules)) == {p.upn}


def test_a_present_session_breaks_the_run(calendar, make_pupil, rules):
    p = make_pupil()
    days = school_days(START, 12)
    mark(p, days[:5], "O")
    mark(p, days[5:6], "O", "/")  # present in the afternoon of day 6
    mark(p, days[6:12], "O")
    assert returns.attendance_return(as_of=AS_OF, rules=rules) == []


def test_an_authorised_absence_breaks_the_unauthorised_run(calendar, make_pupil, rules):
    p = make_pupil()
    days = school_days(START, 12)
    mark(p, days[:5], "O")
    mark(p, days[5:6], "I")
    mark(p, days[6:12], "O")
    assert returns.attendance_return(as_of=AS_OF, rules=rules) == []


def test_weekends_and_closures_inside_a_run_do_not_break_it(school_a, make_pupil, rules):
    # Mon 2 Feb – Fri 13 Feb 2026 with an INSET day on Wed 4 Feb: 9 open days, a weekend and
    # a closure inside. Add Mon 16 Feb: 10 open days in a row.
    calendar_replace(entries=[
        CalendarEntry(kind="term", start_date=date(2026, 1, 5), end_date=date(2026, 3, 27), label="Spring"),
        CalendarEntry(kind="closure", start_date=date(2026, 2, 4), end_date=date(2026, 2, 4), label="INSET"),
    ])
    p = make_pupil()
    days = school_days(date(2026, 2, 2), 10)
    assert date(2026, 2, 4) not in days and days[-1] == date(2026, 2, 16)
    mark(p, days[:9], "N")
    assert returns.attendance_return(as_of=AS_OF, rules=rules) == []
    mark(p, days[9:], "N")
    recs = returns.attendance_return(as_of=AS_OF, rules=rules)
    assert upns(recs) == {p.upn}
    assert recs[0]["evidence"]["runs"][0] == {
        "first_day": "2026-02-02", "last_day": "2026-02-16", "school_days": 10, "sessions": 20,
        "codes": {"N": 20}}


def test_a_run_over_the_half_term_holiday_is_continuous(calendar, make_pupil, rules):
    # conftest calendar: Autumn 1 ends Fri 24 Oct 2025, Autumn 2 starts Mon 3 Nov.
    p = make_pupil()
    days = school_days(date(2025, 10, 20), 10)
    assert days[4] == date(2025, 10, 24) and days[5] == date(2025, 11, 3)
    mark(p, days, "O")
    assert upns(returns.attendance_return(as_of=date(2025, 12, 1), rules=rules)) == {p.upn}


def test_fails_to_attend_regularly_is_persistent_absence_by_default(calendar, make_pupil):
    pa, ok = make_pupil(legal_surname="Pa"), make_pupil(legal_surname="Ok")
    days = school_days(START, 20)
    # 4 days of 20 absent (I) = 20% absence; other pupil 1 day = 5%.
    mark(pa, days[:4], "I")
    mark(pa, days[4:], "/")
    mark(ok, days[:1], "I")
    mark(ok, days[1:], "/")
    recs = returns.attendance_return(as_of=AS_OF, rules=returns.Rules(regular_min_possible=20))
    assert upns(recs) == {pa.upn}
    assert "Fails to attend regularly" in recs[0]["reason"] and recs[0]["absence_pct"] == 20.0
    # Exactly 10% absence is PA (thresholds compare unrounded values, at or above).
    edge = make_pupil(legal_surname="Edge")
    mark(edge, days[:2], "M")
    mark(edge, days[2:], "/")
    assert edge.upn in upns(returns.attendance_return(as_of=AS_OF, rules=returns.Rules()))
    # The LA's own threshold is configurable.
    assert upns(returns.attendance_return(as_of=AS_OF, rules=returns.Rules(regular_absence_pct=25))) == set()


def test_attendance_return_is_compulsory_school_age_only(calendar, make_pupil, rules):
    nursery = make_pupil(group="N1", year_group=-2, date_of_birth=date(2022, 5, 1))
    mark(nursery, school_days(START, 10), "O")
    assert returns.attendance_return(as_of=AS_OF, rules=rules) == []


def test_attendance_return_counts_a_reception_child_once_of_compulsory_school_age(calendar, make_pupil,
                                                                                  rules):
    """Domain.md section 1: CSA per pupil. Born 5 November 2020, of CSA from 31 December 2025, so on
    the return for the spring term although only 4 on 31 August (the national-statistics cohort)."""
    child = make_pupil(group="R", year_group=0, date_of_birth=date(2020, 11, 5))
    younger = make_pupil(group="R", year_group=0, date_of_birth=date(2021, 4, 1))  # CSA from 31 Aug 2026
    for p in (child, younger):
        mark(p, school_days(START, 10), "O")
    assert upns(returns.attendance_return(as_of=AS_OF, rules=rules)) == {child.upn}


def test_sickness_return_is_compulsory_school_age_only(calendar, make_pupil):
    """Domain.md section 6: "Sickness return: pupils of compulsory school age with code I ..."."""
    reception = make_pupil(group="R", year_group=0, date_of_birth=date(2021, 6, 1))  # CSA from 31 Aug 2026
    year_2 = make_pupil(group="2", year_group=2, date_of_birth=date(2018, 6, 1))
    for p in (reception, year_2):
        mark(p, school_days(START, 15), "I")
    assert upns(returns.sickness_return(as_of=AS_OF)) == {year_2.upn}


def test_sickness_29_sessions_is_not_on_30_is(calendar, make_pupil):
    p29, p30 = make_pupil(legal_surname="Nine"), make_pupil(legal_surname="Thirty")
    days = school_days(date(2025, 9, 2), 60)
    # Non-consecutive illness: every other day, AM only for the odd one out.
    ill = days[::2][:15]
    mark(p30, ill, "I")                     # 30 sessions, never 15 days in a row
    mark(p29, ill[:14], "I")
    mark(p29, ill[14:], "I", "/")           # 29 sessions
    recs = returns.sickness_return(as_of=AS_OF)
    assert upns(recs) == {p30.upn}
    assert recs[0]["illness_sessions"] == 30 and recs[0]["codes"] == "I:30"
    assert len(recs[0]["evidence"]["periods"]) == 15


def test_sickness_fifteen_consecutive_days_and_one_entry_per_period(calendar, make_pupil):
    from letters import services
    from letters.models import LAReturn

    p = make_pupil()
    days = school_days(START, 15)
    mark(p, days, "I")
    recs = returns.sickness_return(as_of=AS_OF)
    assert upns(recs) == {p.upn}
    assert "15 consecutive school days" in recs[0]["reason"]
    first = services.return_generate(kind="sickness", period_start=date(2026, 1, 1),
                                     period_end=date(2026, 1, 31))
    assert first.entries.count() == 1
    services.return_submit(la_return=first, user=None)
    # The same continuous period is not reported again next month ...
    second = services.return_generate(kind="sickness", period_start=date(2026, 2, 1),
                                      period_end=date(2026, 2, 28))
    assert second.entries.count() == 0 and "already reported" in second.notes
    # ... but a new period of illness is.
    mark(p, school_days(date(2026, 3, 2), 3), "I")
    third = services.return_generate(kind="sickness", period_start=date(2026, 3, 1), period_end=AS_OF)
    assert list(third.entries.values_list("upn", flat=True)) == [p.upn]
    assert LAReturn.objects.count() == 3


def test_missing_from_school_is_n_and_o_only(calendar, make_pupil):
    missing, holiday = make_pupil(legal_surname="Missing"), make_pupil(legal_surname="Holiday")
    days = school_days(START, 10)
    mark(missing, days[:5], "N")
    mark(missing, days[5:], "O")
    mark(holiday, days, "G")
    contact(missing, forename="Mary", mobile="07700 900999")
    recs = returns.cme_return(as_of=days[-1])
    assert upns(recs) == {missing.upn}
    assert recs[0]["codes"] == "N:10 O:10" and "continuing" in recs[0]["reason"]
    assert recs[0]["parent_phone"] == "07700 900999"
    # Nine days is not enough.
    assert returns.cme_return(as_of=days[-1], rules=returns.Rules(cme_days=11)) == []
    # A nursery child is below compulsory school age: not a child missing education (domain.md 1).
    nursery = make_pupil(group="N2", year_group=-1, date_of_birth=date(2022, 2, 1))
    mark(nursery, days, "N")
    assert upns(returns.cme_return(as_of=days[-1])) == {missing.upn}


def test_new_pupils_due_in_five_school_days_and_reception_intake_exempt(calendar, make_pupil):
    first_day = date(2025, 9, 2)  # 1 Sept is INSET in the test calendar
    intake = make_pupil(group="R", year_group=0, admission=first_day, date_of_birth=date(2020, 10, 1))
    mover = make_pupil(admission=date(2026, 1, 14))
    contact(mover, forename="Ann")
    recs = returns.new_pupils_return(as_of=AS_OF)
    assert upns(recs) == {mover.upn}
    assert recs[0]["due_by"] == "2026-01-21" and recs[0]["parent_name"] == "Mrs Ann Pupil"
    # The LA can ask for the intake too.
    assert upns(returns.new_pupils_return(as_of=AS_OF, rules=returns.Rules(exempt_junior_intake=False))) \
        == {mover.upn, intake.upn}


def test_deletions_have_ground_parent_address_and_emergency_phone(calendar, make_pupil):
    left = make_pupil(admission=date(2020, 9, 1), leaving=date(2026, 2, 6), deletion_ground="moved_away")
    contact(left, forename="Pat", title="Mr", address="9 New Road\nYork", mobile="07700 900555")
    make_pupil()  # still on roll
    recs = returns.deletions_return(as_of=AS_OF, period_start=date(2026, 2, 1))
    assert len(recs) == 1
    r = recs[0]
    assert r["deletion_ground"] == "Ceased to reside within reasonable distance"
    assert r["parent_name"] == "Mr Pat Pupil" and r["parent_address"] == "9 New Road\nYork"
    assert r["emergency_phone"] == "07700 900555" and r["leaving_date"] == "2026-02-06"


def test_census_periods_follow_domain_section_7():
    on = date(2025, 10, 1)
    assert returns.census_period("autumn", on) == (date(2025, 8, 1), date(2025, 12, 31))
    assert returns.census_period("spring", on) == (date(2026, 1, 1), date(2026, 4, 5))  # Easter Sunday
    assert returns.census_period("summer", on) == (date(2026, 4, 6), date(2026, 7, 31))


def test_census_rows_count_possible_and_reasons(calendar, make_pupil):
    p = make_pupil()
    days = school_days(date(2026, 1, 5), 10)
    mark(p, days[:2], "I")
    mark(p, days[2:3], "G")
    mark(p, days[3:4], "X")
    mark(p, days[4:], "/")
    row = next(r for r in returns.census_rows(term="spring", on=date(2026, 1, 5)) if r["upn"] == p.upn)
    assert (row["sessions_possible"], row["sessions_authorised"], row["sessions_unauthorised"]) == (18, 4, 2)
    assert row["reason_I"] == 4 and row["reason_G"] == 2 and row["census"] == "summer census"


def test_export_return_command_json_and_csv(calendar, make_pupil, capsys):
    p = make_pupil(address="5 Mill Lane\nLeeds")
    mark(p, school_days(START, 10), "O")
    call_command("export_return", "--schema=test_a", "--kind=cme", "--as-of=2026-03-31", "--format=json")
    data = json.loads(capsys.readouterr().out)
    assert [r["upn"] for r in data] == [p.upn]
    assert data[0]["address"] == "5 Mill Lane\nLeeds" and data[0]["sessions"] == 20
    assert "pupil_id" not in data[0]
    call_command("export_return", "--schema=test_a", "--kind=attendance", "--as-of=2026-03-31",
                 "--format=csv")
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["upn"] == p.upn and rows[0]["codes"] == "O:20"
    call_command("export_return", "--schema=test_a", "--kind=census", "--as-of=2026-03-31", "--format=csv")
    assert "sessions_possible" in capsys.readouterr().out.splitlines()[0]


def test_export_return_usage_errors(calendar):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("export_return", "--schema=nope", "--kind=cme", "--as-of=2026-03-31", "--format=json")
    with pytest.raises(CommandError):
        call_command("export_return", "--schema=test_a", "--kind=cme", "--as-of=31/03/2026", "--format=json")
