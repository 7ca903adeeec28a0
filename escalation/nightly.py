"""The nightly job for one school: figures, snapshots, bands, triggers, cases, letters, N → O.

``night_run(as_of=D)`` runs in the current school schema, in ONE transaction guarded by an
advisory lock: a killed worker leaves nothing half done and the rerun completes the night;
running it twice for the same night changes nothing the second time (snapshots are upserted
only when different; every automatic case event carries a unique key).

Figures come from one aggregate over the marks: a single scan grouped by (pupil, code) counts
the marks on or after each window boundary, which feeds every window (year to date, term,
last/previous 4 school weeks, the penalty window of domain.md section 6 and any window a stage
asks for); the same pass finds the dates behind the current runs of absence. The reads live
in ``escalation.selectors``; this module decides and writes.

A night, step by step (``_run``): N → O; ``Night.load`` (policy, windows, figures);
``snapshots_step``; ``candidates_step`` (triggers that hold where no case is live, direct
entries); ``moves_step`` (leaving out triggers already acted on); ``recovery_step``;
``enter_step`` (open and move up); ``follow_up_step`` (monitoring periods, step-downs,
carry-overs, reviews); ``save_step`` (every write in a few statements).
"""

import gc
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from attendance_site.bulk_sql import insert_rows, update_rows
from registers.models import Mark, SchoolDay
from registers.school_year import csa_start, of_compulsory_school_age
from registers.services import STAGING_COLUMNS, mark_weeks_compact, marks_write_staged

from . import hooks
from .models import Case, CaseEvent, NightlyRun, PolicyVersion, PupilSnapshot, Stage, Trigger, Window
from .selectors import (  # (re-exported: the job's reads lived here before)
    EXTRA_METRICS,
    NO_MARKS,
    PENALTY_SESSIONS,
    PENALTY_WEEKS,
    ClosedThisYear,
    Figures,
    LiveCase,
    Windows,
    closed_this_year,
    figures,
    keys_seen,
    live_cases,
    previous_bands,
    pupils_on_roll_born,
    school_weeks,
    stage_window_key,
    unauthorised_dates,
)
from .services import (
    active_bands,
    band_for,
    case_event,
    event_time,
    next_rung,
    policy_version_current,
    rows_save,
    rung_base,
    stage_entry_plan,
    track_rungs,
)

log = logging.getLogger(__name__)

N_TO_O_SCHOOL_DAYS = 5
EVIDENCE_WAIT_DAYS = 7  # a review without the evidence a percentage needs waits a week
N_TO_O_REASON = "No reason received within 5 school days"
NIGHTLY_ROLE = "Nightly job"


def night_of(now=None) -> date:
    """The night a run belongs to: before noon it is still finishing yesterday's registers."""
    now = timezone.localtime(now)
    return now.date() - timedelta(days=1) if now.hour < 12 else now.date()


# --- triggers -------------------------------------------------------------------------------

@dataclass
class Fired:
    stage: Stage
    measure: float | None
    explanation: str
    period: str  # what makes the trigger key unique: the school year or the episode's first day

    @property
    def key(self) -> str:
        return f"{self.stage.key}:{self.period}"


def _pct_text(f: Figures, key: str, label: str) -> str:
    return (f"attendance ({label}) {f.pct(key):.1f}% = {f.get(key, 'attended')} of "
            f"{f.get(key, 'possible')} possible sessions")


def stage_measure(stage: Stage, f: Figures) -> float | None:
    """The figure a stage watches: attendance % (higher is better) or a count (lower is better)."""
    key = stage_window_key(stage)
    if stage.trigger in (Trigger.UNAUTHORISED, Trigger.U_COUNT):
        return float(f.get(key, "unauthorised" if stage.trigger == Trigger.UNAUTHORISED else "u"))
    if stage.trigger == Trigger.CONTINUOUS:
        return float(f.absent_days)
    if stage.trigger == Trigger.NO_CONTACT:
        return float(f.no_contact_days)
    if stage.trigger == Trigger.LATE_COUNT:
        return float(f.get(key, "late"))
    if stage.trigger == Trigger.MINUTES_LATE:
        return float(f.get(key, "minutes"))
    if stage.trigger == Trigger.DAYS_ABSENT:
        return f.absent(key) / 2
    if stage.trigger in (Trigger.MON_FRI, Trigger.NEXT_TO_BREAK):
        absent = f.absent(key)
        return f.get(key, EXTRA_METRICS[stage.trigger]) * 100.0 / absent if absent else None
    return f.pct("ytd" if stage.trigger in (Trigger.MANUAL, Trigger.AT_RISK_PA) else key)


LOWER_IS_BETTER = (Trigger.UNAUTHORISED, Trigger.U_COUNT, Trigger.CONTINUOUS, Trigger.NO_CONTACT,
                   Trigger.LATE_COUNT, Trigger.MINUTES_LATE, Trigger.DAYS_ABSENT, Trigger.MON_FRI,
                   Trigger.NEXT_TO_BREAK)


def lower_is_better(stage: Stage) -> bool:
    return stage.trigger in LOWER_IS_BETTER


def _window_label(stage: Stage) -> str:
    label = Window(stage.window).label
    return (label.replace("N", str(stage.window_n)) if stage.window in (Window.ROLLING_WEEKS, Window.MONTHS)
            else label).lower()


def stage_fires(stage: Stage, f: Figures, *, windows: Windows) -> str | None:
    """The decision of ``evaluate`` without its words: the trigger key's period (the school year
    or the episode's first day) if ``stage`` fires for ``f``, else None."""
    return stage_check(stage, windows)(f)


# Complexity: one branch per trigger kind and its required fields.
def stage_check(stage: Stage, windows: Windows):  # noqa: C901
    """``stage_fires`` for one stage and night as a function of the figures alone: the nightly
    job asks it of every stage for every pupil, so the stage's settings are read once here."""
    key, t = stage_window_key(stage), stage.trigger
    # A stage acted on once a year is keyed by the school year; any other by the night it fired
    # (a case closed and reopened later is a new episode).
    year = str(windows.starts["ytd"].year) if stage.once_per_year else windows.as_of.isoformat()
    count, min_possible = stage.count, max(stage.min_possible, 1)
    if t in (Trigger.BELOW, Trigger.BELOW_DECLINING):
        x, inclusive = float(stage.threshold), stage.threshold_inclusive
        declining = t == Trigger.BELOW_DECLINING

        def below(f: Figures) -> str | None:
            possible, attended = f.w.get(key, NO_MARKS)[:2]
            if possible < min_possible:
                return None
            hit = attended * 100 <= x * possible if inclusive else attended * 100 < x * possible
            if hit and declining:  # both windows compared must have the evidence too
                hit = (f.w.get("last4", NO_MARKS)[0] >= min_possible
                       and f.w.get("prev4", NO_MARKS)[0] >= min_possible and f.declining)
            return year if hit else None
        return below
    if t in (Trigger.PERSISTENT, Trigger.SEVERE):
        limit = 10 if t == Trigger.PERSISTENT else 50

        def absent(f: Figures) -> str | None:
            possible, _, authorised, unauthorised = f.w.get(key, NO_MARKS)[:4]
            if possible < min_possible:
                return None
            return year if (authorised + unauthorised) * 100 >= limit * possible else None
        return absent
    if t in (Trigger.UNAUTHORISED, Trigger.U_COUNT):
        metric = 3 if t == Trigger.UNAUTHORISED else 4
        return lambda f: year if f.w.get(key, NO_MARKS)[metric] >= count else None
    if t == Trigger.LATE_COUNT:
        return lambda f: year if f.w.get(key, NO_MARKS)[5] >= count else None
    if t == Trigger.MINUTES_LATE:
        return lambda f: year if f.x.get((key, "minutes"), 0) >= count else None
    if t == Trigger.DAYS_ABSENT:  # "more than N school days": more than 2N sessions
        return lambda f: year if sum(f.w.get(key, NO_MARKS)[2:4]) > 2 * count else None
    if t in (Trigger.MON_FRI, Trigger.NEXT_TO_BREAK):
        x, metric = float(stage.threshold), EXTRA_METRICS[t]

        def pattern(f: Figures) -> str | None:
            absent = sum(f.w.get(key, NO_MARKS)[2:4])
            return year if absent >= count and f.x.get((key, metric), 0) * 100 >= x * absent else None
        return pattern
    if t == Trigger.CONTINUOUS:
        return lambda f: f.absent_since.isoformat() if f.absent_days >= count else None
    if t == Trigger.NO_CONTACT:
        return lambda f: f.no_contact_since.isoformat() if f.no_contact_days >= count else None
    if t == Trigger.AT_RISK_PA:  # registers.at_risk, on the nightly's own figures
        return lambda f: year if f.risks(windows) else None
    if t == Trigger.MANUAL:
        return lambda f: None
    raise ValueError(f"stage '{stage.key}' has an unknown trigger '{t}'")


def enforcement_start(stage: Stage, windows: Windows, f: Figures) -> date:
    """The first day whose sessions an enforcement stage's trigger counts: a child must have
    been of compulsory school age since then for the stage to apply (domain.md sections 1 and 6:
    sessions before the pupil reached CSA do not count)."""
    if stage.trigger == Trigger.CONTINUOUS:
        return f.absent_since or windows.as_of
    if stage.trigger == Trigger.NO_CONTACT:
        return f.no_contact_since or windows.as_of
    if stage.trigger == Trigger.MANUAL:
        return windows.as_of
    return windows.starts.get(stage_window_key(stage), windows.as_of)


def evaluate(stage: Stage, f: Figures, *, windows: Windows) -> Fired | None:
    """Does ``stage`` fire for a pupil with figures ``f``, and why? ``stage_check`` decides
    (thresholds compare unrounded values); this puts the figures behind it into words."""
    period = stage_fires(stage, f, windows=windows)
    if period is None:
        return None
    key, t = stage_window_key(stage), stage.trigger
    if t in (Trigger.BELOW, Trigger.BELOW_DECLINING):
        words = f"{'at or below' if stage.threshold_inclusive else 'below'} {float(stage.threshold):g}%"
        if t == Trigger.BELOW_DECLINING:
            words += (f" and declining (last 4 school weeks {f.pct('last4'):.1f}% against "
                      f"{f.pct('prev4'):.1f}% the 4 weeks before)")
        return Fired(stage, f.pct(key), f"{_pct_text(f, key, _window_label(stage))}; {words}", period)
    if t in (Trigger.PERSISTENT, Trigger.SEVERE):
        limit = 10 if t == Trigger.PERSISTENT else 50
        words = (f"absence {f.absent(key) * 100.0 / f.get(key, 'possible'):.1f}% is at least {limit}% "
                 f"({'persistent' if limit == 10 else 'severe'} absence)")
        return Fired(stage, f.pct(key), f"{_pct_text(f, key, _window_label(stage))}; {words}", period)
    if t in (Trigger.UNAUTHORISED, Trigger.U_COUNT):
        metric = "unauthorised" if t == Trigger.UNAUTHORISED else "u"
        n = f.get(key, metric)
        what = ("unauthorised sessions (G, N, O, U)" if metric == "unauthorised"
                else "late-after-close (U) marks")
        return Fired(stage, float(n), f"{n} {what} in the {_window_label(stage)} since "
                                      f"{windows.starts[key]:%-d %b %Y} (threshold {stage.count})", period)
    since = f"since {windows.starts.get(key, windows.as_of):%-d %b %Y}"
    if t in (Trigger.LATE_COUNT, Trigger.MINUTES_LATE):
        n = f.get(key, "late" if t == Trigger.LATE_COUNT else "minutes")
        what = "late (L) marks" if t == Trigger.LATE_COUNT else "minutes late"
        return Fired(stage, float(n), f"{n} {what} in the {_window_label(stage)} {since} "
                                      f"(threshold {stage.count})", period)
    if t == Trigger.DAYS_ABSENT:
        n = f.absent(key)
        return Fired(stage, n / 2, f"absent {n / 2:g} school days ({n} sessions) in the "
                                   f"{_window_label(stage)} {since}: more than {stage.count}", period)
    if t in (Trigger.MON_FRI, Trigger.NEXT_TO_BREAK):
        absent, n = f.absent(key), f.get(key, EXTRA_METRICS[t])
        where = "on Mondays and Fridays" if t == Trigger.MON_FRI else "next to a weekend or holiday"
        share = n * 100.0 / absent
        return Fired(stage, share, f"{n} of {absent} absent sessions in the {_window_label(stage)} {since} "
                                   f"were {where} ({share:.0f}%; threshold {float(stage.threshold):g}% of at "
                                   f"least {stage.count})", period)
    if t == Trigger.AT_RISK_PA:
        return Fired(stage, f.pct("ytd"), f"{_pct_text(f, 'ytd', 'year to date')}; at risk of persistent "
                                          f"absence: {'; '.join(r.text for r in f.risks(windows))}", period)
    days, since = ((f.absent_days, f.absent_since) if t == Trigger.CONTINUOUS
                   else (f.no_contact_days, f.no_contact_since))
    what = "absent" if t == Trigger.CONTINUOUS else "absent with no reason received (N or O)"
    return Fired(stage, float(days), f"{what} for {days} school days in a row since {since:%-d %b %Y} "
                                     f"(threshold {stage.count})", period)


# --- the run -----------------------------------------------------------------------------------

def n_to_o(*, as_of: date) -> int:
    """N marks still unresolved 5 school days after their session become O, each with an
    amendment row (docs/domain.md section 5), through registers.services.marks_write_staged."""
    days = list(SchoolDay.objects.filter(closed=False, date__lte=as_of).order_by("-date")
                .values_list("date", flat=True)[:N_TO_O_SCHOOL_DAYS + 1])
    if len(days) <= N_TO_O_SCHOOL_DAYS:
        return 0
    cutoff = days[N_TO_O_SCHOOL_DAYS]  # a session on or before this day has had 5 school days since
    # Through the one set-based write path for marks (registers.services), which writes the
    # amendment rows and changes only marks that are still N when it locks them.
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE n_to_o ({STAGING_COLUMNS}) ON COMMIT DROP")
        cur.execute(f"""
            INSERT INTO n_to_o (pupil_id, date, session, code, minutes_late)
            SELECT pupil_id, date, session, 'O', minutes_late FROM {Mark._meta.db_table}
            WHERE code = 'N' AND date <= %s""", [cutoff])
        written = marks_write_staged(table="n_to_o", user_name=NIGHTLY_ROLE, role=NIGHTLY_ROLE,
                                     reason=N_TO_O_REASON, only_from="N")
        cur.execute("DROP TABLE n_to_o")
    return written.updated


SNAPSHOT_COLS = ["possible", "attended", "authorised", "unauthorised", "u_count", "attendance_pct", "band",
                 "band_colour", "last4_pct", "prev4_pct", "trend", "penalty_unauthorised", "absent_days",
                 "no_contact_days"]


def snapshots_upsert(*, night: date, rows: dict[int, dict]) -> set[int]:
    """Write the night's snapshots; returns the pupils whose snapshot was written.

    A night without snapshots yet (every night but a rerun) takes them all with COPY. A rerun
    leaves out the rows equal to those already there (compared exactly: ints, floats read back
    as sent, text), and upserts the rest: INSERT ... ON CONFLICT (pupil, night) DO UPDATE."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT pupil_id, {', '.join(SNAPSHOT_COLS)} FROM escalation_pupilsnapshot "
                    "WHERE night = %s", [night])
        there = {r[0]: r[1:] for r in cur.fetchall()}
    new = [dict(r, pupil=p, night=night) for p, r in rows.items()
           if not there or there.get(p) != tuple(r[c] for c in SNAPSHOT_COLS)]
    if not there:
        insert_rows(PupilSnapshot, new)
        return set(rows)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in SNAPSHOT_COLS)
    written = insert_rows(
        PupilSnapshot, new, returning="pupil_id",
        on_conflict=f"""ON CONFLICT (pupil_id, night) DO UPDATE SET {sets}
                        WHERE ({", ".join(f"escalation_pupilsnapshot.{c}" for c in SNAPSHOT_COLS)})
                              IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in SNAPSHOT_COLS)})""")
    return {r[0] for r in written}


def cases_insert(cases: list[Case]) -> None:
    """``Case.objects.bulk_create(cases)`` in one statement (``insert_rows``), setting each
    case's pk from RETURNING (each new case is the only one of its pupil and track)."""
    fields = [f.attname for f in Case._meta.concrete_fields if not f.primary_key]
    returned = insert_rows(Case, [{f: getattr(c, f) for f in fields} for c in cases],
                           returning="id, pupil_id, track")
    ids = {(pupil_id, track): pk for pk, pupil_id, track in returned}
    for c in cases:
        c.pk = ids[(c.pupil_id, c.track)]
        c._state.adding, c._state.db = False, connection.alias


PERCENT_BASED = (Trigger.BELOW, Trigger.BELOW_DECLINING, Trigger.PERSISTENT, Trigger.SEVERE)


def evidence(stage: Stage, f: Figures) -> tuple[int, int] | None:
    """(possible sessions in the window, sessions needed) when a percentage trigger lacks its
    minimum evidence, else None."""
    if stage.trigger not in PERCENT_BASED:
        return None
    possible = f.w.get(stage_window_key(stage), NO_MARKS)[0]
    need = max(stage.min_possible, 1)
    return (possible, need) if possible < need else None


def stage_recovered(stage: Stage, base: Stage | None, f: Figures, checks: dict) -> bool | None:
    """Has the pupil recovered from ``stage``? Its exit threshold if set (attendance % at or
    above it), else its trigger (or, for a stage with no trigger, that of the stage it stands
    on) no longer holds; for 'below X% and declining' the figure is back at X% or above. None
    when the window has too little evidence to say (the start of a school year)."""
    if base is None or evidence(base, f):
        return None
    key = stage_window_key(base)
    if stage.exit_threshold is not None:
        pct = f.pct(key if base.trigger in PERCENT_BASED else "ytd")
        return pct is not None and pct >= float(stage.exit_threshold)
    if base.trigger == Trigger.BELOW_DECLINING:
        pct = f.pct(key)
        x = float(base.threshold)
        return pct is not None and (pct > x if base.threshold_inclusive else pct >= x)
    if base.trigger == Trigger.AT_RISK_PA:  # no longer at risk because now PA is no recovery
        return checks[base.pk](f) is None and not f.sessions("ytd").persistent
    return checks[base.pk](f) is None


def cases_recovered_set(pks: list[int], since: date | None) -> None:
    if pks:
        Case.objects.filter(pk__in=pks).update(recovered_since=since)


@dataclass
class Engine:
    as_of: date
    version: PolicyVersion
    stats: Counter = field(default_factory=Counter)
    rows: list = field(default_factory=list)
    new_cases: list = field(default_factory=list)
    changed_cases: dict = field(default_factory=dict)
    previous_letters: dict = field(default_factory=dict)  # case pk -> (template key, night)

    def __post_init__(self):
        self.at = event_time(self.as_of)

    def letter_context(self, f: Figures) -> dict:
        return {"attendance_pct": f.pct("ytd"), "possible": f.get("ytd", "possible"),
                "attended": f.get("ytd", "attended"), "absent_sessions": f.absent("ytd"),
                "unauthorised": f.get("ytd", "unauthorised"), "night": self.as_of.isoformat()}

    def enter(self, case: Case, stage: Stage, *, explanation: str, measure, kind: str, key: str,
              trigger_key: str, f: Figures) -> None:
        context = self.letter_context(f)
        if case.pk in self.previous_letters:  # a letter can name the one before it and its date
            template, night = self.previous_letters[case.pk]
            context.update(previous_letter=template,
                           previous_letter_date=night.isoformat() if night else None)
        self.rows += stage_entry_plan(case=case, stage=stage, night=self.as_of, explanation=explanation,
                                      measure=measure, version=self.version, kind=kind, key=key,
                                      trigger_key=trigger_key, letter_context=context, at=self.at)
        self.stats["letters_queued"] += bool(stage.letter_template)
        if case.pk:
            self.changed_cases[case.pk] = case

    def event(self, case: Case, *, kind: str, detail: str, key: str, data=None) -> None:
        self.rows.append((CaseEvent, dict(case=case, pupil=case.pupil_id, kind=kind, detail=detail, key=key,
                                          stage=case.stage, user_name=NIGHTLY_ROLE, night=self.as_of,
                                          at=self.at, policy_version=self.version, data=data or {})))

    def review(self, case: Case, f: Figures, base: Stage | None, stages: list[Stage], checks: dict,
               may_enforce) -> None:
        """A review: too little evidence postpones it; improvement keeps the stage; otherwise the
        case climbs one rung if the next stage's condition holds (no trigger: always)."""
        stage, as_of = case.stage, self.as_of
        key = f"review:{case.track}:{stage.key}:{case.review_due}"
        if base is not None and (short := evidence(base, f)):
            self.event(case, kind=CaseEvent.Kind.REVIEW, key=key, data={"improved": None},
                       detail=f"Not enough evidence yet ({short[0]} of the {short[1]} possible sessions the "
                              f"stage waits for): reviewed again in {EVIDENCE_WAIT_DAYS} days")
            case.review_due = as_of + timedelta(days=EVIDENCE_WAIT_DAYS)
            self.changed_cases[case.pk] = case
            self.stats["reviews_postponed"] += 1
            return
        now, entry = stage_measure(stage, f), case.entry_measure
        improved = (now is not None and entry is not None
                    and (now < entry if lower_is_better(stage) else now > entry))
        fmt = "{:.1f}%".format if not lower_is_better(stage) else "{:g}".format
        change = f"{fmt(entry) if entry is not None else '–'} → {fmt(now) if now is not None else '–'}"
        rung = next_rung(stage, stages)
        target = None if improved else next(
            (s for s in rung
             if (s.trigger == Trigger.MANUAL or checks[s.pk](f) is not None) and may_enforce(s)), None)
        if target is not None:
            self.enter(case, target, kind=CaseEvent.Kind.ADVANCED, key=key, f=f,
                       trigger_key=f"{target.key}:{case.track}:{case.review_due}",
                       measure=stage_measure(target, f),
                       explanation=f"no improvement by the review due {case.review_due:%-d %b %Y} ({change})")
            self.stats["cases_advanced"] += 1
            return
        if improved:
            detail = f"Improved since the stage began ({change}); next review in {stage.review_days} days"
        elif rung:
            detail = (f"No improvement ({change}), but the next stage's condition does not hold "
                      f"({', '.join(s.name for s in rung)}): staying at this stage; next review in "
                      f"{stage.review_days} days")
        else:
            detail = f"No improvement ({change}) and no further stage: decide the next step"
        self.event(case, kind=CaseEvent.Kind.REVIEW, detail=detail, key=key, data={"improved": improved})
        case.review_due = as_of + timedelta(days=stage.review_days)
        self.changed_cases[case.pk] = case
        self.stats["reviews"] += 1

    def step_down(self, case: Case, ascending: list[Stage], checks: dict, f: Figures, may_enforce) -> None:
        """The figure has stayed recovered for the stage's exit time: step down to the highest
        stage below whose trigger still holds, or close; then the stage's recovery actions."""
        stage, since = case.stage, case.recovered_since
        days = (self.as_of - since).days
        now = stage_measure(stage, f)
        figure = (f"{now:.1f}%" if now is not None and not lower_is_better(stage) else
                  f"{now:g}" if now is not None else "–")
        why = f"recovered since {since:%-d %b %Y} ({days} days; now {figure})"
        lower = next((s for s in reversed(ascending) if s.order < stage.order
                      and checks[s.pk](f) is not None and may_enforce(s)), None)
        suffix = f"{case.track}:{stage.key}:{since}"
        if lower is not None:
            case.stage, case.stage_since, case.owner_role = lower, self.as_of, lower.owner_role
            case.review_due = self.as_of + timedelta(days=lower.review_days)
            case.monitor_until, case.recovered_since, case.told_on = None, None, None
            case.entry_measure = stage_measure(lower, f)
            case.explanation = f"stepped down from '{stage.name}': {why}"
            self.event(case, kind=CaseEvent.Kind.STEPPED_DOWN, key=f"down:{suffix}",
                       detail=f"{stage.name} → {lower.name}: {why}",
                       data={"from": stage.key, "to": lower.key})
            self.stats["cases_stepped_down"] += 1
        else:
            case.status, case.closed_on = Case.Status.CLOSED, self.as_of
            case.close_reason = f"Recovered from '{stage.name}': {why}"[:200]
            self.event(case, kind=CaseEvent.Kind.CLOSED, key=f"close:{suffix}", detail=case.close_reason,
                       data={"from": stage.key, "recovered": True})
            self.stats["cases_closed_recovered"] += 1
        self.changed_cases[case.pk] = case
        if stage.recovery_letter:
            trigger_key = f"recovered:{suffix}"[:120]
            self.rows.append((hooks.LETTER, dict(pupil=case.pupil_id, trigger_key=trigger_key,
                                                 night=self.as_of, case=case,
                                                 template_key=stage.recovery_letter,
                                                 context=self.letter_context(f))))
            self.event(case, kind=CaseEvent.Kind.LETTER, key=f"letter:{trigger_key}"[:120],
                       detail=f"Letter '{stage.recovery_letter}' queued")
            self.stats["letters_queued"] += 1
        if stage.recovery_task:
            self.event(case, kind=CaseEvent.Kind.TASK, key=f"task:{suffix}"[:120], detail=stage.recovery_task)


@contextmanager
def gc_paused():
    """No cyclic garbage collection meanwhile: a night allocates many short-lived objects (no
    cycles), which would set off collections that each walk every long-lived object of the
    worker, about a tenth of the night's time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def night_run(*, as_of: date) -> NightlyRun:
    """Run the nightly job for the current school schema and night ``as_of``."""
    started = timezone.now()
    try:
        with gc_paused(), transaction.atomic():
            with connection.cursor() as cur:  # one run per school at a time
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                            [f"nightly:{connection.schema_name}"])
            run = _run(as_of=as_of, started=started)
            mark_weeks_compact()  # the day's rows of changes to the week counts, merged
            return run
    except Exception as exc:
        log.exception("nightly run failed for %s on %s", connection.schema_name, as_of)
        if not connection.needs_rollback:  # the night's own transaction is already rolled back
            with transaction.atomic():
                NightlyRun.objects.create(night=as_of, status=NightlyRun.Status.FAILED, started=started,
                                          finished=timezone.now(),
                                          error=f"{type(exc).__name__}: {exc}"[:2000])
        raise


# --- the night, step by step ------------------------------------------------------------------

class Ladder(NamedTuple):
    """One track's stages with a trigger, lowest rung first, and its direct entries, highest first."""

    ascending: list[Stage]
    direct: list[Stage]


class Candidate(NamedTuple):
    """A track where a trigger holds tonight: no live case yet (``case_pk`` None), or a direct
    entry above the live case's stage. ``prefs``: (stage, trigger key), preferred first."""

    pupil_id: int
    figures: Figures
    track: str
    case_pk: int | None
    prefs: list[tuple[Stage, str]]


class Move(NamedTuple):
    """A case to open (``case_pk`` None) or to move up, at ``stage``, for the trigger ``key``."""

    pupil_id: int
    figures: Figures
    track: str
    case_pk: int | None
    stage: Stage
    key: str


class Recovery(NamedTuple):
    """Live cases whose run of recovered figures starts tonight, ends tonight, or is long enough
    for the case to step down."""

    started: list[int]
    ended: list[int]
    due_down: set[int]


@dataclass
class Night:
    """What the night's steps share: the policy, the windows and every pupil's figures."""

    as_of: date
    all_stages: dict[int, Stage]  # inactive ones too: live cases may be at one
    stages: list[Stage]           # the active ones
    windows: Windows
    figs: dict[int, Figures]      # every pupil on roll
    csa_since: dict[int, date]    # pupils of compulsory school age: since when
    checks: dict[int, Callable[[Figures], str | None]]
    bases: dict[int, Stage | None]
    ladders: dict[str, Ladder]

    @property
    def ytd(self) -> date:
        return self.windows.starts["ytd"]

    @classmethod
    def load(cls, as_of: date) -> "Night":
        all_stages = {s.pk: s for s in Stage.objects.all()}
        stages = [s for s in all_stages.values() if s.active]
        windows = Windows.build(as_of, all_stages.values())
        born = pupils_on_roll_born(as_of)
        # Enforcement applies only to children of compulsory school age (domain.md section 1).
        csa_since = {pid: csa_start(dob) for pid, dob in born.items() if of_compulsory_school_age(dob, as_of)}
        figs = {pid: f for pid, f in figures(as_of=as_of, windows=windows).items() if pid in born}
        for pid in born.keys() - figs.keys():
            figs[pid] = Figures()
        # The ladders (domain.md section 5): a case opens at the lowest stage whose trigger holds
        # (or at a direct entry), climbs one rung at a time at a review, steps down on recovery.
        ladders = {}
        for track in sorted({s.track for s in stages}):
            ascending = [s for rung in track_rungs(stages, track) for s in rung
                         if s.trigger != Trigger.MANUAL]
            ladders[track] = Ladder(ascending, [s for s in reversed(ascending) if s.direct_entry])
        checks = {s.pk: stage_check(s, windows) for s in all_stages.values() if s.trigger != Trigger.MANUAL}
        bases = {pk: rung_base(s, stages + ([] if s.active else [s])) for pk, s in all_stages.items()}
        return cls(as_of, all_stages, stages, windows, figs, csa_since, checks, bases, ladders)

    def may_enforce(self, pid: int, stage: Stage | None, f: Figures) -> bool:
        if stage is None or not stage.enforcement:
            return True
        since = self.csa_since.get(pid)
        return since is not None and since <= enforcement_start(stage, self.windows, f)

    def fired(self, pid: int, f: Figures, stages, above: int = 0) -> Iterator[tuple[Stage, str]]:
        """(stage, trigger key) for each of ``stages`` above order ``above`` whose trigger holds
        and which may apply to the pupil."""
        for s in stages:
            if s.order > above and (p := self.checks[s.pk](f)) is not None and self.may_enforce(pid, s, f):
                yield s, f"{s.key}:{p}"


def snapshots_step(night: Night, eng: "Engine") -> None:
    """Every pupil's snapshot for the night, the band moves since the last one, and the count of
    penalty-notice candidates."""
    bands, before = active_bands(), previous_bands(night.as_of)
    snap = {}
    for pid, f in night.figs.items():
        possible, attended, authorised, unauthorised, u = f.w.get("ytd", NO_MARKS)[:5]
        pct = attended * 100.0 / possible if possible else None
        band = band_for(pct, bands)
        snap[pid] = {"possible": possible, "attended": attended, "authorised": authorised,
                     "unauthorised": unauthorised, "u_count": u, "attendance_pct": pct,
                     "band": band.name if band else "", "band_colour": band.colour if band else "",
                     "last4_pct": f.pct("last4"), "prev4_pct": f.pct("prev4"), "trend": f.trend,
                     "penalty_unauthorised": f.w.get("pn", NO_MARKS)[3],
                     "absent_days": f.absent_days, "no_contact_days": f.no_contact_days}
    written = snapshots_upsert(night=night.as_of, rows=snap)
    eng.stats["snapshots_written"] = len(written)
    for pid in written:  # band moves since the previous night's snapshot, counted when first seen
        if pid in before and before[pid] != snap[pid]["band"]:
            eng.stats[f"band: {before[pid] or '–'} → {snap[pid]['band'] or '–'}"] += 1
    pn = night.windows.starts["pn"]
    eng.stats["penalty_candidates"] = sum(1 for pid, s in snap.items()
                                          if s["penalty_unauthorised"] >= PENALTY_SESSIONS
                                          and night.csa_since.get(pid, night.as_of) <= pn)


# Complexity: per track: the lowest firing stage or a direct entry above a live case.
def candidates_step(night: Night, live: dict[tuple[int, str], LiveCase],  # noqa: C901
                    closed: ClosedThisYear) -> list[Candidate]:
    """Tracks with no live case where a stage's trigger holds, and live cases a direct entry above
    their stage holds for."""
    out = []
    checks, may_enforce = night.checks, night.may_enforce
    ladders = list(night.ladders.items())
    for pid, f in night.figs.items():
        for track, ladder in ladders:
            row = live.get((pid, track))
            if row is None:
                if (pid, track) in closed.tonight:
                    continue
                floor = closed.floor.get((pid, track), 0)
                # Direct entries first (the highest), then the ladder from the bottom: up to the
                # first stage not limited to once a year, which is the choice if nothing before it is.
                # (The stages' checks are inlined: this loop runs for every pupil and track.)
                prefs = [(s, f"{s.key}:{p}") for s in ladder.direct if s.order > floor
                         and (p := checks[s.pk](f)) is not None and may_enforce(pid, s, f)]
                for s in ladder.ascending:
                    if s.order > floor and (p := checks[s.pk](f)) is not None and may_enforce(pid, s, f):
                        prefs.append((s, f"{s.key}:{p}"))
                        if not s.once_per_year:
                            break
                if prefs:
                    out.append(Candidate(pid, f, track, None, prefs))
            elif ladder.direct and row.reviewable:
                fired = list(night.fired(pid, f, ladder.direct, night.all_stages[row.stage_id].order))
                if fired:
                    out.append(Candidate(pid, f, track, row.pk, fired))
    return out


def moves_step(candidates: list[Candidate], seen: set[tuple[int, str]]) -> list[Move]:
    """Each candidate's first stage not acted on already (a once-a-year stage acted on this year is
    passed over, the next one taken)."""
    moves = []
    for c in candidates:
        choice = next(((s, key) for s, key in c.prefs if (c.pupil_id, key) not in seen), None)
        if choice:
            moves.append(Move(c.pupil_id, c.figures, c.track, c.case_pk, *choice))
    return moves


def recovery_step(night: Night, live: dict[tuple[int, str], LiveCase], touched: set) -> Recovery:
    """The first night of a run of recovered figures is kept on the case; a run long enough for
    the stage's exit time makes the case due to step down."""
    started, ended, due_down = [], [], set()
    for key, r in live.items():
        if key in touched or not r.reviewable:
            continue
        stage = night.all_stages[r.stage_id]
        rec = stage_recovered(stage, night.bases[stage.pk], night.figs[r.pupil_id], night.checks)
        since = r.recovered_since
        if rec and since is None:
            started.append(r.pk)
            since = night.as_of
        elif rec is False and since is not None:
            ended.append(r.pk)
            since = None
        if rec and (night.as_of - since).days >= stage.exit_after_days:
            due_down.add(r.pk)
    cases_recovered_set(started, night.as_of)
    cases_recovered_set(ended, None)
    return Recovery(started, ended, due_down)


def enter_step(night: Night, eng: "Engine", moves: list[Move], cases: dict[int, Case]) -> None:
    """Open the new cases and move the others up, each at its stage, with its actions."""
    for m in moves:
        fired = evaluate(m.stage, m.figures, windows=night.windows)
        explanation = fired.explanation
        if m.case_pk is None:
            case = Case(pupil_id=m.pupil_id, track=m.track, opened_on=night.as_of)
            eng.new_cases.append(case)
            kind = CaseEvent.Kind.OPENED
            eng.stats["cases_opened"] += 1
        elif (case := cases.get(m.case_pk)) is not None:  # (unless deleted meanwhile)
            kind = CaseEvent.Kind.ADVANCED
            eng.stats["cases_advanced"] += 1
        else:
            continue
        lowest = night.ladders[m.track].ascending[0]
        if m.stage.direct_entry and (m.case_pk is not None or m.stage is not lowest):
            explanation += f" (direct entry: {m.stage.direct_entry_reason})"
        eng.enter(case, m.stage, explanation=explanation, measure=fired.measure, kind=kind, key=m.key,
                  trigger_key=m.key, f=m.figures)


def monitoring_step(night: Night, eng: "Engine", case: Case, dates: list[date] | None) -> None:
    """A case in a monitoring period: unauthorised absence in it moves the case up; a period
    completed without any closes it."""
    f, stage = night.figs[case.pupil_id], case.stage
    key = f"monitor:{case.track}:{stage.key}:{case.stage_since}"
    target = next((s for s in next_rung(stage, night.stages) if night.may_enforce(case.pupil_id, s, f)), None)
    if dates and target:
        listed = ", ".join(f"{d:%-d %b}" for d in dates)
        eng.enter(case, target, kind=CaseEvent.Kind.ADVANCED, key=key, f=f,
                  trigger_key=f"{target.key}:{case.track}:{case.stage_since}",
                  measure=stage_measure(target, f),
                  explanation=f"unauthorised absence during the monitoring period ({listed})")
        eng.stats["cases_advanced"] += 1
    elif not dates and night.as_of >= case.monitor_until:
        case.status, case.closed_on = Case.Status.CLOSED, night.as_of
        case.close_reason = (f"{stage.monitor_school_days} school days of monitoring with no "
                             "unauthorised absence")
        eng.event(case, kind=CaseEvent.Kind.CLOSED, detail=case.close_reason, key=key)
        eng.changed_cases[case.pk] = case
        eng.stats["monitoring_completed"] += 1


def follow_up_step(night: Night, eng: "Engine", waiting: list[Case], due_down: set[int],
                   carry: dict[int, str]) -> None:
    """The cases not moved tonight: monitoring periods, step-downs, carry-overs and reviews."""
    monitored = [c for c in waiting if c.monitor_until]
    absences = unauthorised_dates(cases=monitored, as_of=night.as_of)
    year = night.ytd.year
    for case in waiting:
        f, stage = night.figs[case.pupil_id], case.stage

        def may_enforce(s, c=case, f=f):
            return night.may_enforce(c.pupil_id, s, f)

        if case.monitor_until:
            monitoring_step(night, eng, case, absences.get(case.pk))
            continue
        if case.pk in due_down:
            eng.step_down(case, night.ladders[case.track].ascending, night.checks, f, may_enforce)
            continue
        if case.pk in carry:
            eng.event(case, kind=CaseEvent.Kind.REVIEW, key=carry[case.pk],
                      detail=f"Carried over into the school year {year}/{str(year + 1)[2:]}: reviewed "
                             "once this year's marks give enough evidence")
            case.review_due = night.as_of
            eng.changed_cases[case.pk] = case
            eng.stats["cases_carried_over"] += 1
        if case.review_due is None or case.review_due > night.as_of:
            continue
        eng.review(case, f, night.bases[stage.pk], night.stages, night.checks, may_enforce)


def save_step(eng: "Engine") -> None:
    cases_insert(eng.new_cases)
    update_rows(list(eng.changed_cases.values()), [
        "stage", "stage_since", "owner_role", "review_due", "monitor_until", "explanation", "entry_measure",
        "policy_version", "status", "closed_on", "close_reason", "recovered_since", "told_on"])
    rows_save(eng.rows)


def _run(*, as_of: date, started) -> NightlyRun:
    version = policy_version_current()
    eng = Engine(as_of, version)
    eng.stats["n_to_o"] = n_to_o(as_of=as_of)
    night = Night.load(as_of)
    eng.stats["pupils"] = len(night.figs)
    snapshots_step(night, eng)

    live = live_cases(night.figs)
    candidates = candidates_step(night, live, closed_this_year(since=night.ytd, as_of=as_of))
    # Open cases from an earlier school year carry over to a review (once).
    pupil_of = {r.pk: r.pupil_id for r in live.values()}
    carry = {r.pk: f"carry:{r.track}:{night.ytd.year}" for r in live.values()
             if r.reviewable and r.stage_since < night.ytd}
    seen = keys_seen([(c.pupil_id, key) for c in candidates for _, key in c.prefs]
                     + [(pupil_of[pk], key) for pk, key in carry.items()])
    moves = moves_step(candidates, seen)
    touched = {(m.pupil_id, m.track) for m in moves}
    recovery = recovery_step(night, live, touched)
    carry = {pk: key for pk, key in carry.items() if (pupil_of[pk], key) not in seen}

    # Only the cases the night acts on are loaded as objects.
    waiting = [r.pk for k, r in live.items() if k not in touched and r.open and not r.held
               and (r.monitor_until or (r.review_due is not None and r.review_due <= as_of)
                    or r.pk in carry or r.pk in recovery.due_down)]
    cases = Case.objects.select_related("stage").in_bulk([m.case_pk for m in moves if m.case_pk] + waiting)
    eng.previous_letters = hooks.previous_letters(list(cases), as_of)

    enter_step(night, eng, moves, cases)
    follow_up_step(night, eng, [cases[pk] for pk in waiting if pk in cases], recovery.due_down, carry)
    save_step(eng)
    summary = {k: v for k, v in sorted(eng.stats.items()) if v}
    summary["policy_version"] = version.number
    return NightlyRun.objects.create(night=as_of, status=NightlyRun.Status.COMPLETED, started=started,
                                     finished=timezone.now(), policy_version=version, summary=summary)


def run_for_schema(schema_name: str, as_of: date) -> NightlyRun:
    from django_tenants.utils import schema_context

    with schema_context(schema_name):
        return night_run(as_of=as_of)


__all__ = ["night_run", "run_for_schema", "figures", "Windows", "Figures", "evaluate", "night_of",
           "case_event", "PENALTY_SESSIONS", "PENALTY_WEEKS", "school_weeks"]
