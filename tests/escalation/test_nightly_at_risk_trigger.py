"""Early warning as a trigger the graduated response can use (issue 19 item 4): "pupils at risk of
persistent absence: not yet PA, but projected below 90% by the end of the year at their current
rate, or with a sharp fall over the last four weeks, or PA last year ... on the head's dashboard
and as a trigger the graduated response can use". St Luke's: "The school will use several
methods to help support pupils at risk of PA".

One rule (registers.at_risk) behind both the recognition list and the ``at_risk_pa`` trigger,
evaluated on the nightly's own figures, with no query per pupil."""

from datetime import date

import pytest

from escalation.models import Case, CaseEvent
from escalation.nightly import night_run
from registers import at_risk
from tests.escalation.helpers import put
from tests.escalation.test_nightly_lateness_patterns import START, one_stage

A, P = "I", "/"
AS_OF = date(2025, 10, 24)  # Friday, the end of autumn 1: 39 open days (78 sessions) from START
LAST4 = 40                   # the last four school weeks: 29 September – 24 October


def year(recent_absent: int = 0, *, every: int | None = None) -> str:
    """78 sessions: the last 40 with ``recent_absent`` absences at their start; or one absence
    in every ``every`` sessions all through (a steady rate)."""
    if every:
        return "".join(A if i % every == every - 1 else P for i in range(78))
    return P * (78 - LAST4) + A * recent_absent + P * (LAST4 - recent_absent)


@pytest.fixture
def crafted(two_years, pupil):
    def make(name, pattern, last_year=None):
        p = pupil(legal_forename=name, legal_surname=name)
        put(p, START, pattern)
        if last_year:
            put(p, date(2025, 6, 2), last_year)  # summer 2 of the year before
        return p

    return {
        # 6 of the last 40 sessions missed (85%), none before: 7.7% absence so far, not PA; at
        # 15% for the rest of the year it ends past 10% (projected below 90%), a 15-point fall.
        "faller": make("Faller", year(6)),
        # 95% all through: 5% for the rest of the year is 5%: neither projected nor a fall.
        "steady": make("Steady", year(every=20)),
        # PA last school year (80% in summer 2), 100% this year.
        "was_pa": make("Waspa", year(0), last_year=A * 8 + P * 32),
        # Already PA this year (12.8%): not "at risk", it has happened.
        "is_pa": make("Ispa", A * 10 + P * 68),
    }


def test_the_rule_on_the_crafted_pupils(crafted):
    left = at_risk.sessions_left(AS_OF)
    assert left == 120  # autumn 2 (less the closed week) and spring 1: 60 open days
    so_far, recent = at_risk.Sessions(78, 6), at_risk.Sessions(40, 6)
    assert at_risk.projected_absence_pct(so_far, recent, left) == pytest.approx((6 + 0.15 * 120) * 100 / 198)
    assert [r.kind for r in at_risk.risks(so_far, recent, None, left)] == ["projected", "sharp_fall"]
    assert at_risk.risks(at_risk.Sessions(78, 4), at_risk.Sessions(40, 2), None, left) == []
    # Already PA (exactly 10%): no early warning.
    S = at_risk.Sessions
    assert at_risk.risks(S(80, 8), S(40, 8), S(40, 20), left) == []


def test_trigger_fires_for_the_pupils_the_early_warning_list_shows(crafted):
    from recognition.selectors import early_warning

    one_stage("at_risk_pa")
    night_run(as_of=AS_OF)
    cased = {c.pupil.legal_forename: c for c in Case.objects.select_related("pupil")}
    assert set(cased) == {"Faller", "Waspa"}
    listed = {r.pupil.legal_forename for r in early_warning(today=AS_OF)}
    assert listed == set(cased)
    faller = cased["Faller"]
    assert faller.entry_measure == pytest.approx(72 * 100 / 78)
    assert "at risk of persistent absence: Projected" in faller.explanation
    assert "Sharp fall: 85.0% in the last 4 weeks, 100.0% before" in faller.explanation
    assert "Previously PA: 80.0% last school year" in cased["Waspa"].explanation
    # Once a school year: the next night does not open it again.
    events = CaseEvent.objects.count()
    night_run(as_of=AS_OF)
    assert CaseEvent.objects.count() == events and Case.objects.count() == 2


def test_at_risk_trigger_costs_no_query_per_pupil(two_years, pupil, django_assert_max_num_queries):
    """Set-based: the night's queries do not grow with the pupils."""
    one_stage("at_risk_pa")
    for i in range(3):
        put(pupil(legal_forename=f"P{i}"), START, year(6))
    Case.objects.all().delete()
    with django_assert_max_num_queries(60) as few:
        night_run(as_of=AS_OF)
    n_few = len(few.captured_queries)
    Case.objects.all().delete()
    for i in range(3, 30):
        put(pupil(legal_forename=f"P{i}"), START, year(6))
    with django_assert_max_num_queries(n_few) as many:
        night_run(as_of=AS_OF)
    assert Case.objects.count() == 30
    assert len(many.captured_queries) == n_few


def test_becoming_pa_is_no_recovery_from_the_at_risk_stage():
    """A case opened because a pupil was at risk of PA does not close because they reached it."""
    from escalation.models import Stage
    from escalation.nightly import stage_check, stage_recovered
    from escalation.selectors import Figures, Windows

    s = Stage(key="risk", name="At risk", trigger="at_risk_pa", task="Call home")
    windows = Windows(AS_OF, {"ytd": date(2025, 8, 1), "last4": date(2025, 9, 29)}, None, sessions_left=120)
    checks = {s.pk: stage_check(s, windows)}

    def figs(ytd, last4):  # (possible, attended, authorised, unauthorised, U, L)
        return Figures(w={"ytd": (ytd[0], ytd[0] - ytd[1], ytd[1], 0, 0, 0),
                          "last4": (last4[0], last4[0] - last4[1], last4[1], 0, 0, 0)})

    assert stage_recovered(s, s, figs((78, 6), (40, 6)), checks) is False    # still at risk
    assert stage_recovered(s, s, figs((78, 10), (40, 10)), checks) is False  # PA now: no recovery
    assert stage_recovered(s, s, figs((78, 2), (40, 1)), checks) is True     # 97.4%, steady
