"""planned_codes reads the three kinds of arrangement in one query (issue 18.5): its answer is
the one the three queries before it gave, overlaps, order and ends included."""

from datetime import date, timedelta

from django.db.models import Q

from registers import arrangements
from registers.arrangements import PATTERN_CODE, TIMETABLE_CODE, Planned
from registers.models import OffSiteProvision, PartTimeTimetable, SessionPattern, session_slot

MONDAY = date(2026, 1, 5)


def three_queries(ids, day, session, today):
    """The answer as registers.arrangements worked it out until issue 18.5."""
    def active(qs, end_field):
        return qs.filter(Q(**{f"{end_field}__isnull": True}) | Q(**{f"{end_field}__gte": day}),
                         start_date__lte=day)

    slot = session_slot(day, session)
    if not ids or not slot:
        return {}
    out = {}
    for t in active(PartTimeTimetable.objects.filter(pupil__in=ids), "ended_on"):
        if slot not in t.sessions:
            out.setdefault(t.pupil_id, Planned(TIMETABLE_CODE, "Part-time timetable",
                                               t.overrun(today)))
    for p in active(SessionPattern.objects.filter(pupil__in=ids), "end_date"):
        if slot not in p.sessions:
            out[p.pupil_id] = Planned(PATTERN_CODE, f"Not required this session ({p.label})")
    for o in active(OffSiteProvision.objects.filter(pupil__in=ids), "end_date"):
        if slot in o.sessions:
            out[o.pupil_id] = Planned(o.code, f"At {o.provider}", provision_id=o.pk)
    return out


def timetable(pupil, start, end, sessions, ended=None):
    return PartTimeTimetable.objects.create(
        pupil=pupil, start_date=start, planned_end=end, ended_on=ended, sessions=sessions,
        reason="r", parent_agreed_on=start)


def test_one_query_gives_the_three_queries_answer(calendar, make_pupil,
                                                  django_assert_num_queries):
    a, b, c, d, e = (make_pupil(legal_forename=n) for n in "ABCDE")
    # A: two timetables running at once (the later one wins), one past its planned end.
    timetable(a, MONDAY - timedelta(days=30), MONDAY + timedelta(days=2), ["MON-AM"])
    timetable(a, MONDAY - timedelta(days=9), MONDAY - timedelta(days=1), ["TUE-AM", "MON-PM"])
    # B: a timetable and a pattern (the pattern wins); a pattern ended before.
    timetable(b, MONDAY, MONDAY + timedelta(days=20), ["MON-AM"])
    SessionPattern.objects.create(pupil=b, label="Mornings", sessions=["MON-AM"],
                                  start_date=MONDAY - timedelta(days=5))
    SessionPattern.objects.create(pupil=b, label="<Old>", sessions=[],
                                  start_date=MONDAY - timedelta(days=50),
                                  end_date=MONDAY - timedelta(days=6))
    # C: a pattern and off-site provision (the provision wins where it applies), two patterns.
    SessionPattern.objects.create(pupil=c, label="Short", sessions=["WED-AM"], start_date=MONDAY)
    SessionPattern.objects.create(pupil=c, label="Shorter", sessions=[], start_date=MONDAY)
    OffSiteProvision.objects.create(pupil=c, provider="Bridge & Co", code="K",
                                    sessions=["MON-PM", "TUE-AM"], start_date=MONDAY,
                                    reason="r")
    # D: two provisions; one that has ended, one not yet started. E: nothing.
    OffSiteProvision.objects.create(pupil=d, provider="Oak", code="D", sessions=["MON-AM"],
                                    start_date=MONDAY - timedelta(days=3), reason="r")
    OffSiteProvision.objects.create(pupil=d, provider="Elm", code="B", sessions=["MON-AM"],
                                    start_date=MONDAY - timedelta(days=1), reason="r")
    OffSiteProvision.objects.create(pupil=d, provider="Gone", code="B", sessions=["TUE-PM"],
                                    start_date=MONDAY - timedelta(days=20),
                                    end_date=MONDAY - timedelta(days=1), reason="r")
    OffSiteProvision.objects.create(pupil=d, provider="Later", code="K", sessions=["TUE-PM"],
                                    start_date=MONDAY + timedelta(days=1), reason="r")
    ids = [p.pk for p in (a, b, c, d, e)]
    seen = set()
    for day in (MONDAY - timedelta(days=8) + timedelta(days=n) for n in range(16)):
        for session in ("AM", "PM"):
            for today in (day, MONDAY + timedelta(days=30)):
                with django_assert_num_queries(1 if session_slot(day, session) else 0):
                    got = arrangements.planned_codes(ids, day, session, today=today)
                assert got == three_queries(ids, day, session, today), (day, session, today)
                seen |= {(p.code, p.overrun) for p in got.values()}
    assert {("C2", False), ("C2", True), ("X", False), ("K", False), ("D", False),
            ("B", False)} <= seen
    assert arrangements.planned_codes([], MONDAY, "AM") == {}
