"""Policy configuration and case actions: the one write path for escalation.

Every function here is keyword-only and atomic; views, forms, tasks and commands call them.
A change to bands or stages writes a new PolicyVersion; every case action writes a
CaseEvent in the same transaction (docs/architecture.md).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from attendance_site.bulk_sql import insert_rows
from registers import bands as registers_bands
from registers.calendar import open_days
from registers.school_year import csa_end, csa_start, of_compulsory_school_age

from . import hooks
from .models import (
    AttendanceContract,
    Band,
    BandSet,
    Case,
    CaseEvent,
    ContractSignature,
    Meeting,
    PenaltyNotice,
    PolicyVersion,
    Stage,
    SupportPlan,
    Trigger,
    Window,
)

# --- bands ------------------------------------------------------------------------------


@dataclass
class BandSpec:
    name: str
    colour: str
    lower: Decimal | None
    lower_inclusive: bool
    upper: Decimal | None
    upper_inclusive: bool
    description: str = ""


def _edge(value, inclusive, default):
    return (Decimal(default) if value is None else Decimal(value)), bool(inclusive)


def bands_validate(bands: list[BandSpec]) -> None:
    """Bands must cover 0–100 exactly once: no overlap, no gap. Raises ValidationError."""
    if not bands:
        raise ValidationError("A band set needs at least one band.")
    spans = sorted(
        (_edge(b.lower, b.lower_inclusive or b.lower is None, 0)
         + _edge(b.upper, b.upper_inclusive or b.upper is None, 100) + (b.name,))
        for b in bands)
    problems = []
    for lo, lo_inc, hi, hi_inc, name in spans:
        if lo > hi or (lo == hi and not (lo_inc and hi_inc)):
            problems.append(f"'{name}' is empty: its lower bound is not below its upper bound.")
    first, last = spans[0], max(spans, key=lambda s: (s[2], s[3]))
    if first[0] > 0 or (first[0] == 0 and not first[1]):
        problems.append(f"Nothing covers 0%: the lowest band '{first[4]}' starts at {first[0]}.")
    if last[2] < 100 or (last[2] == 100 and not last[3]):
        problems.append(f"Nothing covers 100%: the highest band '{last[4]}' ends at {last[2]}.")
    for a, b in zip(spans, spans[1:], strict=False):
        a_hi, a_inc, b_lo, b_inc = a[2], a[3], b[0], b[1]
        if a_hi > b_lo or (a_hi == b_lo and a_inc and b_inc):
            problems.append(f"'{a[4]}' and '{b[4]}' overlap at {b_lo}%.")
        elif a_hi < b_lo or (a_hi == b_lo and not a_inc and not b_inc):
            problems.append(f"Gap between '{a[4]}' (to {a_hi}%) and '{b[4]}' (from {b_lo}%): "
                            f"a figure of {a_hi}% would have no band.")
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def band_set_create(*, name: str, bands: list[BandSpec], activate: bool = True, user=None) -> BandSet:
    # a preset's bands are plain rows (tenants.presets.BandRow) with BandSpec's fields
    bands = [b if isinstance(b, BandSpec) else BandSpec(**vars(b)) for b in bands]
    bands_validate(bands)
    if activate:
        BandSet.objects.filter(active=True).update(active=False)
    band_set = BandSet.objects.create(name=name, active=activate)
    Band.objects.bulk_create(Band(band_set=band_set, **vars(b)) for b in bands)
    if activate:
        stages_follow_bands()
        policy_version_record(user=user, note=f"Band set '{name}' created and made active")
    return band_set


@transaction.atomic
def band_set_activate(*, band_set: BandSet, user=None) -> BandSet:
    BandSet.objects.filter(active=True).exclude(pk=band_set.pk).update(active=False)
    band_set.active = True
    band_set.save(update_fields=["active"])
    moved = stages_follow_bands()
    note = f"Band set '{band_set.name}' made active"
    if moved:
        note += "; thresholds moved: " + ", ".join(f"{s.key} {'≤' if s.threshold_inclusive else '<'} "
                                                  f"{float(s.threshold):g}%" for s in moved)
    policy_version_record(user=user, note=note)
    return band_set


def stages_follow_bands() -> list[Stage]:
    """One definition per edge (docs/domain.md 5): a stage that follows a band takes that band's upper
    edge of the active set as its threshold, inclusive or not as the band is. Returns the stages
    whose threshold moved. A band the active set does not have leaves the threshold as it was."""
    bands = {b.name: b for b in active_bands()}
    moved = []
    for s in Stage.objects.filter(active=True).exclude(band="").order_by("track", "order", "key"):
        b = bands.get(s.band)
        if b is None or b.upper is None or s.trigger not in PERCENT_TRIGGERS:
            continue
        if (s.threshold, s.threshold_inclusive) != (b.upper, b.upper_inclusive):
            s.threshold, s.threshold_inclusive = b.upper, b.upper_inclusive
            s.save(update_fields=["threshold", "threshold_inclusive"])
            moved.append(s)
    return moved


def active_bands() -> list[Band]:
    return list(Band.objects.filter(band_set__active=True))


band_for = registers_bands.band_for  # one definition; registers/bands.py


# --- stages -----------------------------------------------------------------------------

PERCENT_TRIGGERS = {Trigger.BELOW, Trigger.BELOW_DECLINING}
COUNT_TRIGGERS = {Trigger.UNAUTHORISED, Trigger.CONTINUOUS, Trigger.U_COUNT, Trigger.NO_CONTACT,
                  Trigger.LATE_COUNT, Trigger.MINUTES_LATE, Trigger.DAYS_ABSENT}
# A share of the absent sessions (threshold, %) once there are at least N of them (count).
PATTERN_TRIGGERS = {Trigger.MON_FRI, Trigger.NEXT_TO_BREAK}
STAGE_FIELDS = ["key", "name", "track", "order", "trigger", "threshold", "threshold_inclusive", "band",
                "count", "window", "window_n", "min_possible", "letter_template", "meeting_type", "task",
                "referral", "owner_role", "review_days", "monitor_school_days", "description", "enforcement",
                "direct_entry", "direct_entry_reason", "once_per_year", "exit_threshold", "exit_after_days",
                "recovery_letter", "recovery_task", "active"]


WINDOW_CAPACITY = {Window.LAST_4_WEEKS: 40}  # most possible sessions a window can hold


# Complexity: stage validation: one message per rule, all reported together.
def stage_problems(stage: Stage, *, stages: list[Stage]) -> list[str]:  # noqa: C901
    """Plain-English problems with one stage, given all the school's stages."""
    p, name = [], f"Stage '{stage.name or stage.key}'"
    if stage.trigger not in Trigger.values:
        p.append(f"{name}: unknown trigger '{stage.trigger}'.")
    if stage.band and stage.trigger not in PERCENT_TRIGGERS:
        p.append(f"{name}: only an 'attendance below X%' trigger can follow a band.")
    if stage.trigger in PERCENT_TRIGGERS:
        if stage.threshold is None or not 0 < stage.threshold <= 100:
            p.append(f"{name}: 'attendance below X%' needs X between 0 and 100.")
    elif stage.trigger in PATTERN_TRIGGERS:
        if stage.threshold is None or not 0 < stage.threshold <= 100:
            p.append(f"{name}: a pattern of absence needs X, the share of absent sessions, "
                     "between 0 and 100.")
    elif stage.threshold is not None:
        p.append(f"{name}: a threshold only applies to 'attendance below X%' and pattern triggers.")
    if stage.trigger in COUNT_TRIGGERS | PATTERN_TRIGGERS:
        if not stage.count:
            p.append(f"{name}: this trigger needs N (a number of sessions or school days) of at least 1.")
    elif stage.count:
        p.append(f"{name}: N only applies to count and continuous-absence triggers.")
    if stage.window in (Window.ROLLING_WEEKS, Window.MONTHS):
        if not stage.window_n or stage.window_n > 60:
            p.append(f"{name}: the window '{Window(stage.window).label}' needs N between 1 and 60.")
    elif stage.window not in Window.values:
        p.append(f"{name}: unknown measurement window '{stage.window}'.")
    if stage.trigger in PERCENT_TRIGGERS | {Trigger.PERSISTENT, Trigger.SEVERE}:
        capacity = (10 * stage.window_n if stage.window == Window.ROLLING_WEEKS and stage.window_n
                    else WINDOW_CAPACITY.get(stage.window))
        if capacity is not None and stage.min_possible > capacity:
            p.append(f"{name}: the window '{Window(stage.window).label}' holds at most {capacity} sessions, "
                     f"fewer than the {stage.min_possible} possible sessions the trigger waits for: it "
                     "could never fire.")
        if stage.trigger == Trigger.BELOW_DECLINING and stage.min_possible > 40:
            p.append(f"{name}: 'declining' compares two windows of 4 school weeks (at most 40 sessions "
                     f"each), fewer than the {stage.min_possible} possible sessions it waits for.")
    if not (stage.letter_template or stage.meeting_type or stage.task or stage.referral
            or stage.monitor_school_days):
        p.append(f"{name}: choose at least one action (letter, meeting, task, referral or monitoring).")
    if stage.review_days < 1 or stage.review_days > 366:
        p.append(f"{name}: the review interval must be 1–366 days.")
    if stage.direct_entry:
        if stage.trigger == Trigger.MANUAL:
            p.append(f"{name}: a direct entry needs a trigger that says when to enter it.")
        if not stage.direct_entry_reason.strip():
            p.append(f"{name}: say why this stage may be entered directly (e.g. severe absence, "
                     "safeguarding).")
    if stage.exit_threshold is not None and not 0 < stage.exit_threshold <= 100:
        p.append(f"{name}: the exit threshold is an attendance % between 0 and 100.")
    if not 1 <= stage.exit_after_days <= 366:
        p.append(f"{name}: the figure must stay recovered for 1–366 days before the case steps down.")
    same_track = [s for s in stages if s.track == stage.track and s.active and s.pk != stage.pk]
    above = [s for s in same_track if s.order > stage.order]
    if stage.monitor_school_days and not (stage.next_stage_id or above):
        p.append(f"{name}: a monitoring period needs a next stage to move to if absence continues.")
    by_pk = {s.pk: s for s in stages}
    if stage.next_stage_id:
        nxt = by_pk.get(stage.next_stage_id)
        if nxt is None:
            p.append(f"{name}: its next stage does not exist.")
        elif nxt.pk == stage.pk:
            p.append(f"{name}: a stage cannot be its own next stage.")
        elif nxt.track != stage.track:
            p.append(f"{name}: the next stage '{nxt.name}' is on another track ({nxt.track}).")
        elif nxt.order <= stage.order:
            p.append(f"{name}: the next stage '{nxt.name}' must come later in the ladder "
                     f"(order {nxt.order} is not after {stage.order}).")
        elif (skipped := sorted({s.order for s in above if s.order < nxt.order})):
            p.append(f"{name}: the next stage '{nxt.name}' (order {nxt.order}) skips the stages at order "
                     f"{', '.join(map(str, skipped))}: a case climbs one stage at a time.")
    if (stage.trigger == Trigger.MANUAL and stage.active
            and not any(s.order < stage.order for s in same_track)):
        p.append(f"{name}: a stage with no trigger is reached only from the stage below it, and nothing on "
                 f"the track '{stage.track}' comes below it.")
    return p


def ladder_problems(stages: list[Stage]) -> list[str]:
    """Problems with whole ladders: ones that open at the wrong end or cannot be climbed."""
    p = []
    active = [s for s in stages if s.active and s.trigger in Trigger.values]
    for track in sorted({s.track for s in active}):
        ladder = sorted((s for s in active if s.track == track), key=lambda s: (s.order, s.key))
        for lo in ladder:
            for hi in ladder:
                if hi.order <= lo.order:
                    continue
                if lo.enforcement and not hi.enforcement:
                    p.append(f"Track '{track}': '{lo.name}' is enforcement but comes before the support "
                             f"stage '{hi.name}': support comes first.")
                if hi.trigger != lo.trigger or hi.window != lo.window or hi.window_n != lo.window_n:
                    continue
                if lo.trigger in PERCENT_TRIGGERS and lo.threshold is not None and hi.threshold is not None:
                    easier = (hi.threshold, hi.threshold_inclusive) > (lo.threshold, lo.threshold_inclusive)
                    what = f"below {float(hi.threshold):g}% against {float(lo.threshold):g}%"
                elif lo.trigger in COUNT_TRIGGERS and lo.count and hi.count:
                    easier, what = hi.count < lo.count, f"{hi.count} against {lo.count}"
                else:
                    continue
                if easier:
                    p.append(f"Track '{track}': '{hi.name}' (order {hi.order}) is easier to reach than "
                             f"'{lo.name}' below it (order {lo.order}; {what}): cases would open above the "
                             "stage meant to come first. Swap their order or thresholds.")
    return p


def track_rungs(stages: list[Stage], track: str) -> list[list[Stage]]:
    """The track's active stages grouped by ``order``, lowest rung first."""
    rungs: dict[int, list[Stage]] = {}
    for s in sorted((s for s in stages if s.track == track and s.active), key=lambda s: (s.order, s.key)):
        rungs.setdefault(s.order, []).append(s)
    return [rungs[o] for o in sorted(rungs)]


def next_rung(stage: Stage, stages: list[Stage]) -> list[Stage]:
    """The stages a case at ``stage`` may climb to: its ``next_stage`` and that stage's rung
    (LAP's Letter 3 has two triggers), else the lowest rung above it."""
    above = [r for r in track_rungs(stages, stage.track) if r[0].order > stage.order]
    if stage.next_stage_id:
        for rung in above:
            if any(s.pk == stage.next_stage_id for s in rung):
                return sorted(rung, key=lambda s: s.pk != stage.next_stage_id)
    return above[0] if above else []


def rung_base(stage: Stage, stages: list[Stage]) -> Stage | None:
    """The stage whose trigger measures ``stage``: itself, or for a stage with no trigger the
    nearest triggered stage below it on its track (Cheetwood's letter and meeting stages)."""
    if stage.trigger != Trigger.MANUAL:
        return stage
    below = [s for s in stages if s.track == stage.track and s.order < stage.order
             and s.trigger != Trigger.MANUAL]
    return max(below, key=lambda s: (s.order, s.key), default=None)


def stages_validate(stages: list[Stage]) -> None:
    problems = []
    keys = [s.key for s in stages]
    for k in {k for k in keys if keys.count(k) > 1}:
        problems.append(f"Two stages share the key '{k}'.")
    for s in stages:
        problems += stage_problems(s, stages=stages)
    problems += ladder_problems(stages)
    if problems:
        raise ValidationError(problems)


def policy_snapshot() -> dict:
    bands = BandSet.objects.filter(active=True).first()
    return {
        "band_set": bands.name if bands else None,
        "bands": [{"name": b.name, "colour": b.colour,
                   "lower": None if b.lower is None else str(b.lower), "lower_inclusive": b.lower_inclusive,
                   "upper": None if b.upper is None else str(b.upper), "upper_inclusive": b.upper_inclusive}
                  for b in (bands.bands.all() if bands else [])],
        "stages": [{**{f: (str(v) if isinstance(v := getattr(s, f), Decimal) else v) for f in STAGE_FIELDS},
                    "next_stage": s.next_stage.key if s.next_stage_id else None}
                   for s in Stage.objects.select_related("next_stage").order_by("track", "order", "key")],
    }


def policy_version_record(*, user=None, note: str = "") -> PolicyVersion:
    """Write the next version number with a snapshot of the active bands and stages."""
    number = (PolicyVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    return PolicyVersion.objects.create(number=number, created_by=user, note=note[:200],
                                        snapshot=policy_snapshot())


def policy_version_current() -> PolicyVersion:
    return PolicyVersion.objects.order_by("-number").first() or policy_version_record(note="Initial policy")


@transaction.atomic
def stages_replace(*, specs: list[dict], user=None, note: str = "") -> list[Stage]:
    """Replace every stage (used by presets and "copy a preset"). ``next_stage`` names a key.

    Stages that live cases still point at are kept (deactivated) rather than deleted.
    """
    in_use = set(Case.objects.values_list("stage_id", flat=True))
    Stage.objects.update(next_stage=None)
    for old in Stage.objects.all():
        if old.pk in in_use:
            old.active = False
            old.key = f"{old.key[:30]}-old{old.pk}"[:40]
            old.save(update_fields=["active", "key"])
        else:
            old.delete()
    created, stages = {}, []
    for spec in specs:
        spec = dict(spec)
        spec.pop("next_stage", None)
        stage = Stage(**spec)
        stages.append(stage)
        created[stage.key] = stage
    Stage.objects.bulk_create(stages)  # one INSERT (ids returned), then the links in one UPDATE
    linked = []
    for spec in specs:
        if spec.get("next_stage"):
            s = created[spec["key"]]
            s.next_stage = created[spec["next_stage"]]
            linked.append(s)
    Stage.objects.bulk_update(linked, ["next_stage"])
    stages_follow_bands()
    stages_validate(list(Stage.objects.filter(active=True)))
    policy_version_record(user=user, note=note or "Stages replaced")
    return list(created.values())


@transaction.atomic
def stage_save(*, stage: Stage, user=None) -> Stage:
    """Create or edit one stage; validated against all the others, then versioned."""
    followed = next((b for b in active_bands() if b.name == stage.band), None) if stage.band else None
    if followed is not None and followed.upper is not None and stage.threshold is not None:
        edge = (followed.upper, followed.upper_inclusive)
        if (Decimal(stage.threshold), stage.threshold_inclusive) != edge:
            raise ValidationError(
                f"Stage '{stage.name}' follows the band '{followed.name}' (its edge is "
                f"{'at or below' if edge[1] else 'below'} {float(edge[0]):g}%): change the band, or clear "
                "'band' to set a threshold of its own.")
    stage.save()
    if stage.band and stage in stages_follow_bands():
        stage.refresh_from_db()
    stages_validate(list(Stage.objects.filter(active=True)))
    if not stage.active and (problems := stage_problems(stage, stages=list(Stage.objects.all()))):
        raise ValidationError(problems)
    policy_version_record(user=user, note=f"Stage '{stage.name}' saved")
    return stage


# --- case actions ----------------------------------------------------------------------

def _user_name(user) -> str:
    return (user.get_full_name() or user.username) if user else "Nightly job"


def case_event(*, case: Case | None, pupil_id: int, kind: str, detail: str = "", user=None, channel: str = "",
               stage: Stage | None = None, data: dict | None = None, night: date | None = None,
               key: str | None = None, policy_version: PolicyVersion | None = None,
               at: datetime | None = None) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case, pupil_id=pupil_id, kind=kind, detail=detail, user=user, user_name=_user_name(user),
        channel=channel, stage=stage or (case.stage if case else None), data=data or {}, night=night, key=key,
        policy_version=policy_version or (case.policy_version if case else None), at=at or timezone.now())


@transaction.atomic
def case_contact_log(*, case: Case, channel: str, detail: str, user) -> CaseEvent:
    if channel not in CaseEvent.Channel.values:
        raise ValidationError(f"Unknown contact type '{channel}'.")
    if not detail.strip():
        raise ValidationError("Say what was said or agreed.")
    return case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.CONTACT, channel=channel,
                      detail=detail.strip(), user=user)


@transaction.atomic
def meeting_schedule(*, case: Case, kind: str, starts_at: datetime, location: str = "", attendees: str = "",
                     user) -> Meeting:
    """Schedule (or reschedule) the case's meeting of this kind at its current stage."""
    if timezone.is_naive(starts_at):
        starts_at = timezone.make_aware(starts_at)
    meeting, _ = Meeting.objects.update_or_create(
        case=case, stage=case.stage, kind=kind,
        defaults={"starts_at": starts_at, "location": location, "attendees": attendees,
                  "status": Meeting.Status.SCHEDULED})
    local = timezone.localtime(starts_at)
    case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.MEETING, user=user,
               detail=f"{meeting.get_kind_display()} scheduled for {local:%A %-d %B %Y at %H:%M}"
                      + (f", {location}" if location else ""),
               data={"meeting": meeting.pk, "starts_at": local.isoformat()})
    return meeting


@transaction.atomic
def case_outcome_record(*, case: Case, outcome: str, user, meeting: Meeting | None = None,
                        meeting_status: str = "") -> CaseEvent:
    if not outcome.strip():
        raise ValidationError("Describe the outcome.")
    if meeting is not None:
        meeting.outcome = outcome.strip()
        meeting.status = meeting_status or Meeting.Status.HELD
        meeting.save(update_fields=["outcome", "status"])
        if meeting.status == Meeting.Status.HELD and meeting.stage_id == case.stage_id \
                and not case.stage.letter_template:
            today = timezone.localdate()
            held_on = timezone.localtime(meeting.starts_at).date() if meeting.starts_at else today
            case_told(case=case, on=min(max(held_on, case.stage_since), today), how="meeting", user=user,
                      data={"meeting": meeting.pk})
    return case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.OUTCOME, detail=outcome.strip(),
                      user=user, data={"meeting": meeting.pk} if meeting else {})


def _add_school_days(day: date, n: int) -> date | None:
    return open_days(date_from=day + timedelta(days=1)).order_by("date") \
        .values_list("date", flat=True)[n - 1:n].first()


def event_time(night: date) -> datetime:
    """Automatic events are stamped at the end of their night, so a rerun writes the same row."""
    return timezone.make_aware(datetime.combine(night, time(23, 59)))


# A row to insert: the model and its values by field name (see attendance_site.bulk_sql).
PlannedRow = tuple[type, dict]


def stage_entry_plan(*, case: Case, stage: Stage, night: date, explanation: str, measure: float | None,
                     version: PolicyVersion, kind: str, key: str | None, trigger_key: str, user=None,
                     letter_context: dict | None = None, at: datetime | None = None) -> list[PlannedRow]:
    """Put ``case`` (saved or not) at ``stage`` and return the rows its actions create, unsaved:
    the chronology events, the queued letter and the meeting to arrange. ``at`` stamps the
    events (default: the end of ``night`` for the nightly job, now for a person)."""
    case.stage, case.stage_since, case.owner_role = stage, night, stage.owner_role
    case.review_due = night + timedelta(days=stage.review_days)
    # A monitoring period starts when the family is told (case_told), never when queued.
    case.monitor_until, case.told_on = None, None
    case.explanation, case.entry_measure, case.policy_version = explanation, measure, version
    case.recovered_since = None
    auto = user is None
    at = at or (event_time(night) if auto else timezone.now())
    common = dict(case=case, pupil=case.pupil_id, stage=stage, user=user, user_name=_user_name(user),
                  night=night if auto else None, policy_version=version, at=at)
    rows = [(CaseEvent, dict(common, kind=kind, key=key, detail=f"{stage.name}: {explanation}",
                             data={"actions": stage.actions, "measure": measure}))]
    if stage.letter_template:
        rows.append((hooks.LETTER, dict(pupil=case.pupil_id, trigger_key=trigger_key, night=night, case=case,
                                  template_key=stage.letter_template, context=letter_context or {})))
        rows.append((CaseEvent, dict(common, kind=CaseEvent.Kind.LETTER, key=f"letter:{trigger_key}"[:120],
                                     detail=f"Letter '{stage.letter_template}' queued")))
    if stage.meeting_type:
        rows.append((Meeting, dict(case=case, stage=stage, kind=stage.meeting_type)))
    if stage.referral:
        rows.append((CaseEvent, dict(common, kind=CaseEvent.Kind.REFERRAL,
                                     detail=f"Referral due: {stage.referral}",
                                     key=f"referral:{trigger_key}"[:120])))
    return rows


TOLD_HOW = {"emailed": "letter '{}' emailed", "posted": "letter '{}' posted or handed over",
            "meeting": "{} held", "by_hand": "{}"}


def _school_days_after(day: date, n: int) -> tuple[date, bool]:
    """The nth school day after ``day``; past the end of the calendar, weekdays (flagged)."""
    found = _add_school_days(day, n)
    if found is not None:
        return found, True
    while n:
        day += timedelta(days=1)
        n -= day.weekday() < 5
    return day, False


@transaction.atomic
def case_told(*, case: Case, on: date, how: str, user=None, detail: str = "",
              data: dict | None = None) -> bool:
    """The family was told at the case's current stage on ``on`` (its letter emailed or posted,
    its meeting held, or the warning recorded by hand): start the stage's monitoring clock from
    that day. Only the first telling counts; returns whether the clock started now."""
    case = Case.objects.select_for_update().select_related("stage").get(pk=case.pk)
    if not case.clock_waiting:
        return False
    if on > timezone.localdate():
        raise ValidationError(f"{on:%-d %B %Y} is in the future.")
    if on < case.stage_since:
        raise ValidationError(f"{on:%-d %B %Y} is before the case reached '{case.stage.name}' "
                              f"({case.stage_since:%-d %B %Y}).")
    n = case.stage.monitor_school_days
    case.told_on = on
    case.monitor_until, known = _school_days_after(on, n)
    case.review_due = max(case.review_due or case.monitor_until, case.monitor_until)
    case.save(update_fields=["told_on", "monitor_until", "review_due"])
    what = detail or TOLD_HOW.get(how, "{}").format(case.stage.letter_template
                                                     or case.stage.get_meeting_type_display())
    case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.TOLD, user=user,
               detail=f"Family told on {on:%-d %B %Y} ({what}): {n} school days of monitoring to "
                      f"{case.monitor_until:%-d %B %Y}" + ("" if known else " (weekdays: the calendar ends)"),
               data={"how": how, "told_on": on.isoformat(), **(data or {})})
    return True


def case_told_by_hand(*, case: Case, on: date, how: str, user) -> bool:
    """A person records that the family was told outside the letters machinery: St Luke's
    written warning comes from the School Attendance Improvement Service, so the school records
    the day it was issued; or a letter was handed over, or the family told at a meeting."""
    if how not in ("letter", "in_person"):
        raise ValidationError(f"Unknown way of telling the family '{how}'.")
    case = Case.objects.select_related("stage").get(pk=case.pk)
    if not case.clock_waiting:
        raise ValidationError("This case is not waiting for the family to be told.")
    what = "warning letter issued" if how == "letter" else "told in person"
    return case_told(case=case, on=on, how="by_hand", user=user, detail=what, data={"channel": how})


def cases_told_by_letters(*, sent: list[tuple[int, str, date | None, date, int]], how: str, user=None) -> int:
    """Letters went to families: (case id, template key, night queued, day sent, letter id). A
    case waiting for that stage's letter starts its monitoring clock on the day it went. Called
    by the letters app (which sits above escalation) when it emails or marks letters posted."""
    by_case = {}
    for case_id, template_key, night, on, letter_id in sent:
        if case_id:
            by_case.setdefault(case_id, []).append((template_key, night, on, letter_id))
    started = 0
    for case in Case.objects.select_related("stage").filter(
            pk__in=list(by_case), status=Case.Status.OPEN, monitor_until__isnull=True,
            stage__monitor_school_days__isnull=False).exclude(stage__letter_template=""):
        for template_key, night, on, letter_id in sorted(by_case[case.pk], key=lambda x: x[2]):
            if template_key == case.stage.letter_template and (night is None or night >= case.stage_since):
                started += case_told(case=case, on=on, how=how, user=user, data={"letter": letter_id})
                break
    return started


def rows_save(rows: list[PlannedRow]) -> None:
    """Insert what ``stage_entry_plan`` planned, one statement per table, after the cases they
    belong to are saved; a letter, meeting or keyed event already there is kept."""
    hooks.letters_insert([values for m, values in rows if m == hooks.LETTER])
    for model in (Meeting, CaseEvent):
        insert_rows(model, [values for m, values in rows if m is model], on_conflict="ON CONFLICT DO NOTHING")


@transaction.atomic
def case_advance(*, case: Case, user, to_stage: Stage | None = None, reason: str = "") -> Case:
    """Move a case to its next stage (or a later stage of the same track) by hand."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    target = to_stage or next(iter(next_rung(case.stage, list(Stage.objects.filter(active=True)))), None)
    if target is None:
        raise ValidationError(f"'{case.stage.name}' has no next stage: close the case or choose a stage.")
    if target.track != case.track or target.order <= case.stage.order:
        raise ValidationError(f"'{target.name}' is not a later stage of this case's track.")
    if case.status == Case.Status.CLOSED:
        raise ValidationError("This case is closed.")
    night = timezone.localdate()
    if target.enforcement and not of_compulsory_school_age(case.pupil.date_of_birth, night):
        raise ValidationError(f"'{target.name}' is enforcement, and {case.pupil.display_name} is not of "
                              "compulsory school age.")
    rows = stage_entry_plan(case=case, stage=target, night=night, user=user, version=policy_version_current(),
                            explanation=reason.strip() or f"moved on by {_user_name(user)}",
                            measure=case.entry_measure, kind=CaseEvent.Kind.ADVANCED, key=None,
                            trigger_key=f"{target.key}:manual:{case.pk}:{night}")
    case.save()
    rows_save(rows)
    return case


@transaction.atomic
def case_hold(*, case: Case, user, reason: str) -> Case:
    if case.status != Case.Status.OPEN:
        raise ValidationError("Only an open case can be put on hold.")
    if not reason.strip():
        raise ValidationError("Give a reason for the hold.")
    case.status = Case.Status.HOLD
    case.save(update_fields=["status"])
    case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.HOLD, detail=reason.strip(), user=user)
    return case


@transaction.atomic
def case_resume(*, case: Case, user) -> Case:
    if case.status != Case.Status.HOLD:
        raise ValidationError("The case is not on hold.")
    case.status = Case.Status.OPEN
    case.review_due = max(case.review_due or timezone.localdate(), timezone.localdate())
    case.save(update_fields=["status", "review_due"])
    case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.RESUMED, user=user)
    return case


@transaction.atomic
def case_close(*, case: Case, user, reason: str, night: date | None = None, key: str | None = None) -> Case:
    if case.status == Case.Status.CLOSED:
        raise ValidationError("The case is already closed.")
    if not reason.strip():
        raise ValidationError("Give a reason for closing the case.")
    case.status, case.closed_on = Case.Status.CLOSED, night or timezone.localdate()
    case.close_reason = reason[:200]
    case.save(update_fields=["status", "closed_on", "close_reason"])
    case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.CLOSED, detail=reason.strip(),
               user=user, night=night if user is None else None, key=key)
    return case


def case_owner_candidates(*, case: Case):
    """Who may own ``case``: active people of this school holding the stage's owner role, or
    the attendance officer / lead, or the head. People live in the public schema; their
    Membership rows say which school and role."""
    from django.db import connection

    from tenants.models import User
    from tenants.roles import Role

    roles = {case.stage.owner_role, Role.ATTENDANCE_OFFICER, Role.HEAD}
    return (User.objects.filter(is_active=True, memberships__school_id=connection.tenant.pk,
                                memberships__role__in=roles)
            .distinct().order_by("last_name", "first_name", "username"))


@transaction.atomic
def case_owner_set(*, case: Case, owner, user) -> Case:
    """Name the person who owns the case (``None`` clears it); recorded in the chronology."""
    case = Case.objects.select_for_update().select_related("stage").get(pk=case.pk)
    if case.status == Case.Status.CLOSED:
        raise ValidationError("This case is closed.")
    if owner is not None and not case_owner_candidates(case=case).filter(pk=owner.pk).exists():
        raise ValidationError(
            f"{_user_name(owner)} cannot own this case: choose someone at this school who is "
            f"{case.stage.get_owner_role_display().lower()}, attendance officer or headteacher.")
    if case.owner_id == (owner.pk if owner else None):
        return case
    previous = case.owner
    case.owner = owner
    case.save(update_fields=["owner"])
    detail = f"Owner set to {_user_name(owner)}" if owner else "Owner cleared"
    if previous is not None:
        detail += f" (was {_user_name(previous)})"
    case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.OWNER, user=user, detail=detail,
               data={"owner": owner.pk if owner else None, "previous": previous.pk if previous else None})
    return case


def case_letters_render(*, case: Case) -> tuple[int, int]:
    """Render this case's queued letters now (each in its own transaction, as the letters app
    does). Returns (rendered, failed); a failed letter keeps its reason (letters.Letter.error).
    The letters app does the rendering (escalation/hooks.py)."""
    return hooks.case_letters_render(case.pk)


def _review_interval_check(start: date, review: date) -> None:
    if not 28 <= (review - start).days <= 42:
        raise ValidationError(
            f"Set the review 4–6 weeks after {start:%-d %B %Y}: between "
            f"{start + timedelta(days=28):%-d %B} and {start + timedelta(days=42):%-d %B %Y}.")


@transaction.atomic
def support_plan_save(*, case: Case, plan: SupportPlan, user) -> SupportPlan:
    _review_interval_check(plan.meeting_date, plan.review_date)
    plan.case = case
    plan.save()
    case.review_due = plan.review_date
    case.save(update_fields=["review_due"])
    case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.PLAN, user=user,
               detail=f"Attendance Targeted Support Plan agreed; review {plan.review_date:%-d %B %Y}",
               data={"support_plan": plan.pk})
    return plan


@transaction.atomic
def contract_save(*, case: Case, contract: AttendanceContract, user) -> AttendanceContract:
    _review_interval_check(contract.start_date, contract.review_date)
    contract.case = case
    contract.save()
    case.review_due = contract.review_date
    case.save(update_fields=["review_due"])
    case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.PLAN, user=user,
               detail=f"Attendance Contract started {contract.start_date:%-d %B %Y}; "
                      f"review {contract.review_date:%-d %B %Y}", data={"contract": contract.pk})
    return contract


@transaction.atomic
def contract_signature_record(*, contract: AttendanceContract, signatory: str, name: str, signed_on: date,
                              how: str, user) -> ContractSignature:
    """Record one signature of the contract's signature block (who, when, in person or on paper)."""
    if signatory not in ContractSignature.Signatory.values or how not in ContractSignature.How.values:
        raise ValidationError("Choose who signed and how.")
    if not name.strip():
        raise ValidationError("Give the name of the person who signed.")
    if signed_on > timezone.localdate():
        raise ValidationError(f"{signed_on:%-d %B %Y} is in the future.")
    if signed_on < contract.start_date - timedelta(days=14):
        raise ValidationError(f"{signed_on:%-d %B %Y} is long before the contract started "
                              f"({contract.start_date:%-d %B %Y}).")
    sig = ContractSignature.objects.create(contract=contract, signatory=signatory, name=name.strip()[:150],
                                           signed_on=signed_on, how=how, recorded_by_name=_user_name(user))
    case = contract.case
    case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.PLAN, user=user,
               detail=f"Attendance Contract signed by {sig.name} ({sig.get_signatory_display().lower()}) on "
                      f"{signed_on:%-d %B %Y}, {sig.get_how_display().lower()}",
               data={"contract": contract.pk, "signature": sig.pk})
    return sig


# --- penalty notices (docs/domain.md section 6) -----------------------------------------------

FRAMEWORK_START = date(2024, 8, 19)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def penalty_notices_counting(*, pupil_id: int, parent_id: int, on: date) -> list[PenaltyNotice]:
    """Penalty notices to this parent for this child that count towards the limit on ``on``:
    issued within the three years before, on or after 19 August 2024, not withdrawn."""
    return list(PenaltyNotice.objects.filter(
        pupil_id=pupil_id, parent_id=parent_id, kind=PenaltyNotice.Kind.PENALTY,
        issued_on__gt=_years_before(on, 3), issued_on__lte=on, issued_on__gte=FRAMEWORK_START,
    ).exclude(status=PenaltyNotice.Status.WITHDRAWN).order_by("issued_on"))


@transaction.atomic
def penalty_notice_issue(*, pupil, parent, kind: str, issued_on: date, window_start: date, window_end: date,
                         unauthorised_sessions: int, user, notes: str = "", case: Case | None = None
                         ) -> PenaltyNotice:
    """Issue a Notice to Improve or a penalty notice to one parent for one child.

    £80 within 21 days or £160 within 28; a second within three years is £160 with no
    reduced rate; no more than two in three years (then the route is prosecution).
    """
    if parent.pupil_id != pupil.pk:
        raise ValidationError("That contact is not a parent of this pupil.")
    if not of_compulsory_school_age(pupil.date_of_birth, issued_on):
        raise ValidationError(
            f"{pupil.display_name} is not of compulsory school age on {issued_on:%-d %B %Y} (from "
            f"{csa_start(pupil.date_of_birth):%-d %B %Y} to {csa_end(pupil.date_of_birth):%-d %B %Y}): "
            "no notice to improve or penalty notice can be issued.")
    if kind == PenaltyNotice.Kind.PENALTY and unauthorised_sessions < 10:
        raise ValidationError("A penalty notice needs 10 or more unauthorised sessions in 10 school weeks.")
    notice = PenaltyNotice(pupil=pupil, parent=parent, kind=kind, issued_on=issued_on,
                           window_start=window_start, window_end=window_end,
                           unauthorised_sessions=unauthorised_sessions, notes=notes, created_by=user,
                           case=case)
    if kind == PenaltyNotice.Kind.PENALTY:
        earlier = penalty_notices_counting(pupil_id=pupil.pk, parent_id=parent.pk, on=issued_on)
        if len(earlier) >= 2:
            raise ValidationError(
                f"{parent} has already had two penalty notices for {pupil.display_name} in the last three "
                f"years ({', '.join(f'{n.issued_on:%-d %b %Y}' for n in earlier)}): the route now is "
                "prosecution under section 444 of the Education Act 1996.")
        notice.sequence = len(earlier) + 1
        notice.amount_early, notice.amount = (80, 160) if notice.sequence == 1 else (None, 160)
    if PenaltyNotice.objects.filter(pupil=pupil, parent=parent, kind=kind,
                                    window_start=window_start).exists():
        raise ValidationError(f"{parent} already has a {notice.get_kind_display().lower()} for this window.")
    notice.save()
    amount = (f": £{notice.amount_early} within 21 days, £{notice.amount} within 28"
              if notice.amount_early else (f": £{notice.amount} within 28 days" if notice.amount else ""))
    case_event(case=case, pupil_id=pupil.pk, kind=CaseEvent.Kind.PENALTY, user=user,
               detail=f"{notice.get_kind_display()} issued to {parent}{amount}", data={"notice": notice.pk})
    return notice


@transaction.atomic
def penalty_notice_withdraw(*, notice: PenaltyNotice, user, reason: str) -> PenaltyNotice:
    if not reason.strip():
        raise ValidationError("Give a reason for withdrawing the notice.")
    notice = PenaltyNotice.objects.select_for_update().select_related("parent").get(pk=notice.pk)
    if notice.status == PenaltyNotice.Status.WITHDRAWN:
        raise ValidationError("This notice is already withdrawn.")
    if notice.status == PenaltyNotice.Status.PAID:
        raise ValidationError("This notice has been paid: it cannot be withdrawn.")
    notice.status = PenaltyNotice.Status.WITHDRAWN
    notice.notes = (notice.notes + f"\nWithdrawn: {reason.strip()}").strip()
    notice.save(update_fields=["status", "notes"])
    case_event(case=notice.case, pupil_id=notice.pupil_id, kind=CaseEvent.Kind.PENALTY, user=user,
               detail=f"{notice.get_kind_display()} to {notice.parent} withdrawn: {reason.strip()}",
               data={"notice": notice.pk, "status": notice.status})
    return notice


# Payment (docs/domain.md section 6): £80 within 21 days, £160 within 28; a second notice is £160
# with no reduced rate; unpaid after 28 days, the route is prosecution (s444 Education Act 1996).
# Days are counted from the date of issue (the day after issue is day 1).
EARLY_DAYS, PAY_DAYS = 21, 28


class PaymentOutcome:
    PAID_EARLY = "paid_early"
    PAID = "paid"
    UNPAID = "unpaid"
    choices = [(PAID_EARLY, "Paid at £80 within 21 days"), (PAID, "Paid at £160 within 28 days"),
               (UNPAID, "Unpaid after 28 days: refer for prosecution (s444)")]


# Complexity: one branch per payment outcome of the national framework.
@transaction.atomic
def penalty_notice_payment_record(*, notice: PenaltyNotice, outcome: str, on: date, user,  # noqa: C901
                                  today: date | None = None) -> PenaltyNotice:
    """Record that a penalty notice was paid (at the rate due on ``on``) or, 28 days having
    passed unpaid, referred for prosecution on ``on``. Dates are checked against the issue date."""
    notice = PenaltyNotice.objects.select_for_update().select_related("parent").get(pk=notice.pk)
    today = today or timezone.localdate()
    if notice.kind != PenaltyNotice.Kind.PENALTY:
        raise ValidationError("A Notice to Improve carries no payment.")
    if notice.status != PenaltyNotice.Status.ISSUED:
        raise ValidationError(f"This notice is already {notice.get_status_display().lower()}.")
    if outcome not in dict(PaymentOutcome.choices):
        raise ValidationError(f"Unknown outcome '{outcome}'.")
    issued = notice.issued_on
    if on > today:
        raise ValidationError(f"{on:%-d %B %Y} is in the future.")
    if on < issued:
        raise ValidationError(f"{on:%-d %B %Y} is before the notice was issued ({issued:%-d %B %Y}).")
    days = (on - issued).days
    early_end, end = issued + timedelta(days=EARLY_DAYS), issued + timedelta(days=PAY_DAYS)
    if outcome == PaymentOutcome.UNPAID:
        if days <= PAY_DAYS:
            raise ValidationError(f"The 28 days for payment run to {end:%-d %B %Y}: refer the notice for "
                                  "prosecution only after that.")
        notice.status, notice.referred_on = PenaltyNotice.Status.UNPAID, on
        notice.save(update_fields=["status", "referred_on"])
        detail = (f"Penalty notice to {notice.parent} unpaid after 28 days (issued {issued:%-d %B %Y}): "
                  f"referred for prosecution under section 444 of the Education Act 1996 on {on:%-d %B %Y}")
    else:
        if days > PAY_DAYS:
            raise ValidationError(f"A penalty notice can be paid only within 28 days of issue (to "
                                  f"{end:%-d %B %Y}); unpaid, it is referred for prosecution.")
        if outcome == PaymentOutcome.PAID_EARLY:
            if notice.amount_early is None:
                raise ValidationError(f"This is notice {notice.sequence} in three years: £{notice.amount} "
                                      "with no reduced rate.")
            if days > EARLY_DAYS:
                raise ValidationError(f"The £{notice.amount_early} rate applies only if paid within 21 days "
                                      f"(to {early_end:%-d %B %Y}); £{notice.amount} was due on "
                                      f"{on:%-d %B %Y}.")
            amount = notice.amount_early
        else:
            if notice.amount_early is not None and days <= EARLY_DAYS:
                raise ValidationError(f"Paid within 21 days (to {early_end:%-d %B %Y}): the amount due "
                                      f"was £{notice.amount_early}.")
            amount = notice.amount
        notice.status, notice.paid_on, notice.amount_paid = PenaltyNotice.Status.PAID, on, amount
        notice.save(update_fields=["status", "paid_on", "amount_paid"])
        detail = (f"Penalty notice to {notice.parent} paid: £{amount} on {on:%-d %B %Y}, "
                  f"{days} day{'s' if days != 1 else ''} after issue")
    case_event(case=notice.case, pupil_id=notice.pupil_id, kind=CaseEvent.Kind.PENALTY, user=user,
               detail=detail, data={"notice": notice.pk, "status": notice.status})
    return notice
