"""The demo-data generator (demo/builder.py), run on one small test school."""

import re
from dataclasses import replace
from datetime import date

import pytest
from django.db import transaction
from django.db.models import Count, F, Q

from demo.builder import (
    DEMO_PASSWORD,
    SCHOOLS,
    SCHOOLS_BY_KEY,
    bank_holidays,
    calendar_entries,
    demo_calendar,
    school_populate,
    term_dates,
)
from registers.codes import CODES, POSSIBLE_CODES
from registers.imports import validate_upn
from registers.models import Contact, Mark, MarkAmendment, Pupil, RegistrationGroup, SchoolDay
from registers.selectors import code_counts, stats_by_pupil, stats_total
from registers.services import late_code
from tenants.models import Membership, User
from tenants.roles import Role

TODAY = date(2026, 11, 24)
YESTERDAY = date(2026, 11, 23)
PUPILS = 80


@pytest.fixture(scope="module")
def password_hash():
    """Hash the demo password once: argon2 takes over a second here."""
    from django.contrib.auth.hashers import make_password

    return make_password(DEMO_PASSWORD)


@pytest.fixture
def demo(school_a, password_hash):
    return school_populate(school=school_a, pupils=PUPILS, seed=5, today=TODAY,
                           password_hash=password_hash)


@pytest.fixture
def open_days(demo):
    return set(SchoolDay.objects.filter(closed=False, date__lte=YESTERDAY).values_list("date", flat=True))


# --- calendar (no database) -----------------------------------------------------------------

def test_term_dates_2026_27_follow_the_english_pattern():
    t = term_dates(2026)
    assert (t["a1_start"], t["a1_end"], t["a2_start"], t["a2_end"]) == (
        date(2026, 9, 1), date(2026, 10, 23), date(2026, 11, 2), date(2026, 12, 18))
    assert (t["s1_start"], t["s1_end"], t["s2_start"], t["s2_end"]) == (
        date(2027, 1, 4), date(2027, 2, 12), date(2027, 2, 22), date(2027, 3, 25))
    assert (t["su1_start"], t["su1_end"], t["su2_start"], t["su2_end"]) == (
        date(2027, 4, 12), date(2027, 5, 28), date(2027, 6, 7), date(2027, 7, 21))
    holidays = bank_holidays(2027)
    for day in (date(2027, 1, 1), date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 3),
                date(2027, 5, 31)):
        assert day in holidays


def test_bank_holidays_are_closures_only_inside_terms_and_inset_days_vary():
    insets = set()
    for spec in SCHOOLS:
        entries = calendar_entries(spec, 2026)
        closures = {e.start_date: e.label for e in entries if e.kind == "closure"}
        assert closures[date(2027, 5, 3)].startswith("Bank holiday")
        for outside in (date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 31), date(2027, 1, 1)):
            assert outside not in closures
        inset = frozenset(d for d, label in closures.items() if label == "INSET day")
        assert len(inset) == 5
        assert all(d.weekday() < 5 for d in inset)
        insets.add(inset)
    assert len(insets) >= 4


def test_marks_run_to_yesterday_or_the_last_day_of_the_year():
    spec = SCHOOLS_BY_KEY["beecroft"]
    _, days, marked = demo_calendar(spec, TODAY)
    assert marked[0] == date(2026, 9, 3)      # two INSET days first
    assert marked[-1] == YESTERDAY
    _, _, summer = demo_calendar(spec, date(2027, 8, 20))   # before the next year starts
    assert summer[-1] == date(2027, 7, 20)    # 21 July is an INSET day at Beecroft
    assert summer == days


# --- one generated school -------------------------------------------------------------------

def test_every_upn_is_valid_and_unique(demo):
    upns = list(Pupil.objects.values_list("upn", flat=True))
    assert len(upns) == PUPILS == demo.pupils
    assert len(set(upns)) == len(upns)
    for upn in upns:
        assert validate_upn(upn) == upn


def test_pupils_are_consistent_with_their_year_group_and_roll(demo):
    for p in Pupil.objects.select_related("registration_group"):
        start = date(2026 - 5 - p.year_group, 9, 1)
        assert start <= p.date_of_birth < date(start.year + 1, 9, 1), p
        assert p.registration_group.year_group == p.year_group
        assert p.admission_date.weekday() < 5
        if p.leaving_date:
            assert p.deletion_ground and p.admission_date <= p.leaving_date < TODAY
    assert Pupil.objects.exclude(leaving_date=None).exists()
    assert Pupil.objects.filter(admission_date__gt=date(2026, 9, 3), admission_date__lt=TODAY).exists()
    assert Pupil.objects.exclude(preferred_forename="").exists()


def test_group_rates_are_realistic(demo):
    n = Pupil.objects.count()

    def share(**kw):
        return Pupil.objects.filter(**kw).count() / n

    assert .18 <= share(pupil_premium=True) <= .34
    assert .15 <= share(fsm=True) <= .30
    assert Pupil.objects.filter(fsm=True, pupil_premium=False).count() == 0   # FSM pupils get PP
    assert .08 <= share(sen_status=Pupil.SEN.SUPPORT) <= .18
    assert 1 <= Pupil.objects.filter(sen_status=Pupil.SEN.EHCP).count() <= 5
    assert Pupil.objects.filter(lac=True).count() >= 1
    assert Pupil.objects.filter(child_protection=True).count() >= 1
    assert Pupil.objects.filter(young_carer=True).exists()
    assert Pupil.objects.exclude(medical_notes="").exists()


def test_every_pupil_has_contacts_in_priority_order_with_one_for_correspondence(demo):
    phone = re.compile(r"^07700 900\d{3}$")
    contacts = {}
    for c in Contact.objects.all():
        contacts.setdefault(c.pupil_id, []).append(c)
    assert set(contacts) == set(Pupil.objects.values_list("pk", flat=True))
    for cs in contacts.values():
        assert len(cs) >= 2
        assert sorted(c.priority for c in cs) == list(range(1, len(cs) + 1))
        assert sum(c.correspondence for c in cs) == 1
        for c in cs:
            assert phone.match(c.mobile) and c.forename and c.surname
        assert cs[0].title


def test_marks_only_on_open_days_while_on_roll_and_every_session_marked(demo, open_days):
    assert Mark.objects.exclude(date__in=open_days).count() == 0
    off_roll = Mark.objects.filter(Q(date__lt=F("pupil__admission_date"))
                                   | Q(date__gt=F("pupil__leaving_date")))
    assert off_roll.count() == 0
    expected = 0
    for p in Pupil.objects.all():
        expected += 2 * sum(1 for d in open_days if p.on_roll(d))
    assert Mark.objects.count() == expected == demo.marks
    assert max(open_days) == YESTERDAY


def test_codes_are_national_codes_used_correctly(demo, school_a):
    codes = code_counts()
    assert set(codes) <= set(CODES)
    assert "#" not in codes and "Z" not in codes
    for code in ("/", "\\", "L", "U", "I", "M", "O", "N", "G", "V", "R", "C"):
        assert codes.get(code), f"no {code} marks"
    assert not Mark.objects.filter(session="AM", code="\\").exists()
    assert not Mark.objects.filter(session="PM", code="/").exists()
    for m in Mark.objects.filter(code__in=["L", "U"]):
        assert m.minutes_late and late_code(school=school_a, session=m.session,
                                            minutes_late=m.minutes_late) == m.code
    assert not Mark.objects.exclude(code__in=["L", "U"]).exclude(minutes_late=None).exists()
    assert not Mark.objects.filter(code="X", pupil__year_group__gt=0).exists()


def test_attendance_figures_have_the_right_shape(demo):
    stats = stats_by_pupil()
    total = stats_total()
    assert 92 <= total.attendance_pct <= 97
    pa = [pk for pk, s in stats.items() if s.persistent]
    severe = [pk for pk, s in stats.items() if s.severe]
    assert .05 <= len(pa) / len(stats) <= .25
    assert 1 <= len(severe) <= 3
    good = sum(1 for s in stats.values() if s.attendance_pct >= 95)
    assert good / len(stats) >= .55
    # A pupil's figures come from their codes: possible = marks with a possible code.
    for pk, s in list(stats.items())[:10]:
        assert s.possible == Mark.objects.filter(pupil_id=pk, code__in=POSSIBLE_CODES).count()


def test_unexplained_absences_resolve_after_five_school_days_with_an_audit_trail(demo, open_days):
    last_five = sorted(open_days)[-5:]
    assert Mark.objects.filter(code="N").exists()
    assert not Mark.objects.filter(code="N").exclude(date__in=last_five).exists()
    amendments = MarkAmendment.objects.all()
    assert amendments.filter(original_code="N", new_code="O").exists()
    assert amendments.filter(original_code="N", new_code="I", reason__icontains="parent phoned").exists()
    for a in amendments:
        mark = Mark.objects.get(pupil_id=a.pupil_id, date=a.date, session=a.session)
        assert mark.code == a.new_code and a.reason and a.user_name
        assert a.at.date() >= a.date
    assert not Mark.objects.filter(code="O").exclude(
        pupil_id__in=amendments.filter(new_code="O").values("pupil_id")).exists()


def test_people_in_every_role_with_the_demo_password(demo, school_a):
    roles = set(Membership.objects.filter(school=school_a).values_list("role", flat=True))
    assert roles >= {Role.OFFICE, Role.HEAD, Role.ATTENDANCE_OFFICER, Role.GOVERNOR,
                     Role.LA_OFFICER, Role.TEACHER, Role.PARENT}
    for group in RegistrationGroup.objects.annotate(n=Count("teachers")):
        assert group.n == 1
        teacher = group.teachers.get()
        assert Membership.objects.filter(user=teacher, school=school_a, role=Role.TEACHER).exists()
    parents = User.objects.filter(memberships__school=school_a, memberships__role=Role.PARENT)
    assert parents.count() >= 3
    for parent in parents:
        assert Contact.objects.filter(user_id=parent.pk).exists()
    assert Contact.objects.exclude(user_id=None).values("pupil").distinct().count() > parents.count()
    assert User.objects.get(username="test_a.office").check_password(DEMO_PASSWORD)


def test_nursery_pupils_are_x_only_on_sessions_they_are_not_required(school_a, password_hash):
    spec = replace(SCHOOLS_BY_KEY["bankslane"], key="test_a", schema="test_a")
    school_populate(school=school_a, pupils=60, seed=2, today=TODAY, spec=spec,
                    password_hash=password_hash)
    assert set(Pupil.objects.values_list("year_group", flat=True)) == {-2, -1, 0, 1, 2}
    assert not Mark.objects.filter(code="X", pupil__year_group__gt=0).exists()
    nursery = Pupil.objects.filter(year_group__lt=0)
    for p in nursery:
        marks = list(p.marks.values_list("date", "session", "code"))
        if not marks:
            continue
        required = [m for m in marks if m[2] != "X"]
        assert len(required) >= len(marks) * .3, p
        # a part-time pattern: the same sessions each week are X
        x_days = {(d.weekday(), s) for d, s, c in marks if c == "X"}
        assert not any((d.weekday(), s) in x_days for d, s, c in required)
    assert Mark.objects.filter(code="X", pupil__in=nursery).exists()
    # Their recorded patterns (registers.arrangements) propose exactly the X they were given.
    from registers.arrangements import planned_codes
    from registers.models import PartTimeTimetable, SessionPattern

    assert SessionPattern.objects.exists()
    for pattern in SessionPattern.objects.select_related("pupil"):
        for d, s, c in pattern.pupil.marks.values_list("date", "session", "code"):
            proposed = planned_codes([pattern.pupil_id], d, s).get(pattern.pupil_id)
            assert (proposed.code if proposed else None) == ("X" if c == "X" else None), (d, s, c)
    t = PartTimeTimetable.objects.get()
    assert t.pupil.year_group >= 1 and t.start_date == TODAY and t.reviews.count() == 2
    # One pupil at off-site provision (issue 13), another pupil, from today: K on its sessions.
    from registers.models import OffSiteProvision

    o = OffSiteProvision.objects.get()
    assert o.pupil_id != t.pupil_id and o.pupil.year_group >= 1 and o.start_date == TODAY
    assert o.code == "K" and o.provider and o.provider_contact
    assert not o.pupil.marks.filter(date__gte=TODAY).exists()


class Rollback(Exception):
    pass


def test_the_same_seed_gives_the_same_school(school_a, password_hash):
    def snapshot():
        pupils = list(Pupil.objects.order_by("upn").values_list(
            "upn", "legal_forename", "legal_surname", "date_of_birth", "admission_date"))
        return pupils, code_counts(), MarkAmendment.objects.count()

    with pytest.raises(Rollback), transaction.atomic():
        school_populate(school=school_a, pupils=30, seed=9, today=TODAY, password_hash=password_hash)
        first = snapshot()
        raise Rollback
    school_populate(school=school_a, pupils=30, seed=9, today=TODAY, password_hash=password_hash)
    assert snapshot() == first
