"""The school's leave rules, evaluated on a draft request. Pure: no database access.

``evaluate`` takes the policy (a ``LeavePolicy`` or anything with the same attributes), the
draft and the facts about the pupil that the selectors gathered, and returns one result per
rule the school has switched on: the parent sees them before submitting and the headteacher
sees them in the decision queue. Only ``blocks`` results stop a request being submitted.
"""

import calendar
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

NOTICE = "notice"
RETROSPECTIVE = "retrospective"
RO_CAP = "religious_observance_cap"
ASSESSMENT = "statutory_assessment"
UNAUTHORISED = "unauthorised_absence"
AUTHORISED = "authorised_absence"
ATTENDANCE_FLOOR = "attendance_floor"
FAMILY_HOLIDAY = "family_holiday"

# Leave reasons the attendance floor applies to: performance or activity (code C1).
PERFORMANCE_REASONS = {"performance"}


@dataclass(frozen=True)
class Assessment:
    label: str
    start_date: date
    end_date: date
    year_group: int | None = None


@dataclass
class Draft:
    first_day: date
    last_day: date
    reason: str
    dates: list[date]  # the school days asked for (at least one session on each)
    sessions: int  # number of school sessions asked for
    year_group: int | None = None

    @property
    def days(self) -> Decimal:
        return Decimal(self.sessions) / 2


@dataclass
class Facts:
    """What the school already knows about the pupil this school year."""

    today: date
    possible: int = 0
    authorised: int = 0
    unauthorised: int = 0
    attended: int = 0  # present + approved educational activity
    ro_sessions: int = 0  # sessions already marked R this school year
    assessments: list[Assessment] = field(default_factory=list)


@dataclass
class RuleResult:
    rule: str
    passed: bool
    message: str
    blocks: bool = False  # the request cannot be submitted at all

    def as_dict(self) -> dict:
        return asdict(self)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the end of a shorter month (31 Jan + 1 = 28 Feb)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def earliest_start(policy, today: date) -> date:
    return add_months(today, policy.notice_months or 0) + timedelta(days=policy.notice_days or 0)


def _d(day: date) -> str:
    return date_format(day, "l j F Y")


def _days(n: Decimal) -> str:
    return ngettext("%(n)s day", "%(n)s days", 1 if n == 1 else 2) % {"n": f"{n.normalize():f}"}


def _notice_text(policy) -> str:
    parts = []
    if policy.notice_months:
        parts.append(ngettext("%(n)d month", "%(n)d months", policy.notice_months)
                     % {"n": policy.notice_months})
    if policy.notice_days:
        parts.append(ngettext("%(n)d day", "%(n)d days", policy.notice_days) % {"n": policy.notice_days})
    return _(" and ").join(parts)


def notice(policy, draft: Draft, facts: Facts) -> RuleResult | None:
    if not (policy.notice_days or policy.notice_months):
        return None
    earliest = earliest_start(policy, facts.today)
    need = _notice_text(policy)
    if draft.first_day >= earliest:
        return RuleResult(NOTICE, True, _(
            "Enough notice: the school asks for %(need)s and the leave starts on %(first)s.")
            % {"need": need, "first": _d(draft.first_day)})
    return RuleResult(NOTICE, False, _(
        "Not enough notice: the school asks for requests %(need)s before the first day of leave. "
        "Asked today, the earliest first day is %(earliest)s; this request starts on %(first)s.")
        % {"need": need, "earliest": _d(earliest), "first": _d(draft.first_day)})


def retrospective(policy, draft: Draft, facts: Facts) -> RuleResult | None:
    if not policy.no_retrospective:
        return None
    if draft.first_day >= facts.today:
        return RuleResult(RETROSPECTIVE, True, _("The leave is in the future."))
    return RuleResult(RETROSPECTIVE, False, _(
        "Leave cannot be granted for days that have already passed (%(first)s is before today). "
        "Please speak to the school office instead.") % {"first": _d(draft.first_day)}, blocks=True)


def ro_cap(policy, draft: Draft, facts: Facts) -> RuleResult | None:
    if policy.ro_days_cap is None or draft.reason != "religious":
        return None
    cap = Decimal(policy.ro_days_cap)
    used = Decimal(facts.ro_sessions) / 2
    total = used + draft.days
    values = {"cap": _days(cap), "used": _days(used), "asked": _days(draft.days)}
    if total <= cap:
        return RuleResult(RO_CAP, True, _(
            "Within the school's limit of %(cap)s of religious observance a year: "
            "%(used)s used so far and %(asked)s asked for.") % values)
    return RuleResult(RO_CAP, False, _(
        "Over the school's limit of %(cap)s of religious observance a year: %(used)s used so far "
        "and %(asked)s asked for. Only days set apart by your religious body can be authorised.")
        % values)


def _year_label(start_year: int) -> str:
    return f"{start_year}-{str(start_year + 1)[2:]}"


def assessments(policy, draft: Draft, facts: Facts) -> RuleResult | None:
    if not facts.assessments:
        return None
    from registers.school_year import school_year_start

    asked = {school_year_start(d).year for d in draft.dates}
    entered = {school_year_start(a.start_date).year for a in facts.assessments}
    if draft.dates and not asked & entered:
        # Periods are entered per school year (the leave-rules page): none yet for this one.
        return RuleResult(ASSESSMENT, True, _(
            "No statutory assessment periods are entered for %(year)s yet: check the dates against "
            "the STA timetable.") % {"year": _year_label(min(asked))})
    relevant = [a for a in facts.assessments
                if a.year_group is None or a.year_group == draft.year_group]
    before = timedelta(days=policy.assessment_days_before or 0)
    clashes = [a for a in relevant
               if any(a.start_date - before <= d <= a.end_date for d in draft.dates)]
    if not clashes:
        return RuleResult(ASSESSMENT, True, _("No statutory assessments for this pupil on these dates."))
    a = clashes[0]
    return RuleResult(ASSESSMENT, False, _(
        "The dates fall during or just before %(label)s (%(start)s to %(end)s): the school does "
        "not grant leave then.") % {"label": a.label, "start": _d(a.start_date), "end": _d(a.end_date)})


def unauthorised(policy, draft: Draft, facts: Facts) -> RuleResult | None:
    if not policy.refuse_if_unauthorised:
        return None
    if facts.unauthorised == 0:
        return RuleResult(UNAUTHORISED, True, _("No unauthorised absence this school year."))
    return RuleResult(UNAUTHORISED, False, ngettext(
        "There is %(n)d session of unauthorised absence this school year: the school does not "
        "grant leave when a pupil has any unauthorised absence.",
        "There are %(n)d sessions of unauthorised absence this school year: the school does not "
        "grant leave when a pupil has any unauthorised absence.", facts.unauthorised)
        % {"n": facts.unauthorised})


def authorised(policy, draft: Draft, facts: Facts) -> RuleResult | None:
    limit = policy.refuse_if_authorised_above
    if limit is None:
        return None
    limit = Decimal(limit)
    pct = Decimal(facts.authorised * 100) / facts.possible if facts.possible else Decimal(0)
    shown = f"{pct:.1f}%"
    # Exact comparison (no rounding): 10.0% is not "above 10%".
    if facts.authorised * 100 <= limit * facts.possible:
        return RuleResult(AUTHORISED, True, _(
            "Authorised absence this year is %(pct)s, not above the school's limit of %(limit)s%%.")
            % {"pct": shown, "limit": f"{limit:g}"})
    return RuleResult(AUTHORISED, False, _(
        "Authorised absence this year is already %(pct)s, above the school's limit of %(limit)s%%: "
        "the school does not grant further leave.") % {"pct": shown, "limit": f"{limit:g}"})


def _pct(n: int, d: int) -> str:
    return f"{Decimal(n * 100) / d:.1f}%" if d else "–"


def attendance_floor(policy, draft: Draft, facts: Facts) -> RuleResult | None:
    """St Luke's: performance or activity leave is not authorised if it would take the pupil's
    attendance below the school's floor (95%). The requested sessions are counted as
    authorised absence on top of this year's figures: possible grows, attended does not."""
    floor = getattr(policy, "refuse_if_attendance_below", None)
    if floor is None or draft.reason not in PERFORMANCE_REASONS:
        return None
    floor = Decimal(floor)
    possible = facts.possible + draft.sessions
    values = {"now": _pct(facts.attended, facts.possible), "after": _pct(facts.attended, possible),
              "floor": f"{floor.normalize():f}", "asked": _days(draft.days)}
    # Exact comparison (no rounding): exactly the floor after granting is not below it.
    if facts.attended * 100 >= floor * possible:
        return RuleResult(ATTENDANCE_FLOOR, True, _(
            "Attendance this year is %(now)s; with the %(asked)s asked for counted as authorised "
            "absence it would be %(after)s, not below the school's %(floor)s%%.") % values)
    return RuleResult(ATTENDANCE_FLOOR, False, _(
        "Attendance this year is %(now)s; with the %(asked)s asked for counted as authorised "
        "absence it would fall to %(after)s, below the school's %(floor)s%%: the headteacher "
        "does not authorise performance or activity absence that takes attendance below "
        "%(floor)s%%.") % values)


def family_holiday(policy, draft: Draft, facts: Facts) -> RuleResult | None:
    """Not a school's switch but the law (2024 regulations, docs/domain.md sections 6 and 8): leave
    in term time only in exceptional circumstances, which a family holiday is not normally.
    It does not block sending: the headteacher still decides."""
    if draft.reason != "holiday":
        return None
    return RuleResult(FAMILY_HOLIDAY, False, _(
        "Since the 2024 regulations a headteacher may grant leave in term time only in "
        "exceptional circumstances. A family holiday is not normally an exceptional "
        "circumstance, so this request will normally be refused."))


RULES = [retrospective, family_holiday, notice, ro_cap, assessments, unauthorised, authorised,
         attendance_floor]


def evaluate(policy, draft: Draft, facts: Facts) -> list[RuleResult]:
    """Every rule the school has switched on, in a fixed order."""
    return [r for rule in RULES if (r := rule(policy, draft, facts)) is not None]


def blocking(results: list[RuleResult]) -> list[RuleResult]:
    return [r for r in results if r.blocks and not r.passed]
