"""Who may change which mark when: the one rule every write of a mark goes through.

``marks_save`` asks ``refusal`` for every entry, so the register form, the amendment page and
the absences pages (leave grants, accepted reports, resolving N) all obey the same rule:

- A class teacher takes the registers of their own classes for today. While a register is
  open (until its closing time) they may also change its marks (late arrivals, mistakes);
  after it closes they may still fill in a pupil left unmarked today, but changing a mark
  is an amendment.
- Amendments, and any mark on an earlier day, are for the office, the attendance lead and
  the head (``AMENDERS``).
- A session that has not started yet (a later day, or this afternoon before the PM register
  opens) can only hold codes that come from granted leave, a parent's report the office
  accepted, a planned closure (#), or the X / C2 / B / K / D a pupil's session pattern,
  part-time timetable or off-site provision proposes (``registers.arrangements``).
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from tenants.roles import WHOLE_SCHOOL_MARKERS, Role

AMENDERS = frozenset(WHOLE_SCHOOL_MARKERS)

# Where a mark in a future session may come from (``marks_save(basis=...)``).
LEAVE, REPORT = "leave", "report"
PLANNED_BASES = {LEAVE, REPORT}
CLOSURE_CODE = "#"
# Codes a recorded arrangement proposes (registers.arrangements): X outside a nursery or
# reception pattern, C2 outside a part-time timetable, B / K / D at an off-site provider.
# Only these, on that basis.
ARRANGEMENT = "arrangement"
ARRANGEMENT_CODES = frozenset({"X", "C2", "B", "K", "D"})

FUTURE, OPEN, CLOSED_TODAY, PAST = "future", "open", "closed today", "past"


@dataclass(frozen=True)
class RegisterState:
    """Where a register stands at a moment: one of FUTURE, OPEN, CLOSED_TODAY, PAST."""

    name: str
    day: date
    session: str
    opens: object
    closes: object

    @property
    def future(self) -> bool:
        return self.name == FUTURE


def clock() -> datetime:
    """The school's local time now (one place for tests to set the clock)."""
    return timezone.localtime()


def register_state(*, school, day: date, session: str, now: datetime | None = None) -> RegisterState:
    now = timezone.localtime(now) if now else clock()
    opens, _, closes = school.register_times(session)
    today = now.date()
    if day > today or (day == today and session == "PM" and now.time() < opens):
        name = FUTURE
    elif day < today:
        name = PAST
    else:
        name = OPEN if now.time() <= closes else CLOSED_TODAY
    return RegisterState(name, day, session, opens, closes)


def refusal(*, roles, state: RegisterState, existing: bool, code: str = "",
            basis: str = "") -> str | None:
    """Why these roles may not write ``code`` into this register now (None: they may).

    ``existing``: the pupil already has a mark, so writing is a change. ``code`` "" asks
    about any code typed by hand (what the register page may offer).
    """
    roles = frozenset(roles)
    if state.future:
        if roles & AMENDERS and (basis in PLANNED_BASES or (code == CLOSURE_CODE and not basis)
                                 or (basis == ARRANGEMENT and code in ARRANGEMENT_CODES)):
            return None
        opens = f" The PM register opens at {state.opens:%H:%M}." if state.session == "PM" \
            and state.day == clock().date() else ""
        return ("this session has not started: it can only hold codes from granted leave, a "
                "parent's report the office accepted, a planned closure (#), or a recorded "
                "session pattern, part-time timetable or off-site provision (X, C2, B, K, D)."
                + opens)
    if roles & AMENDERS:
        return None
    if Role.TEACHER not in roles:
        return "only class teachers, the office, the attendance lead and the head record marks."
    if state.name == PAST:
        return ("registers are taken on the day: ask the office, the attendance lead or the "
                "head to enter or correct an earlier mark.")
    if existing and state.name == CLOSED_TODAY:
        return (f"the register closed at {state.closes:%H:%M}, so changing this mark is an "
                "amendment: ask the office, the attendance lead or the head.")
    return None


def may_write(*, roles, state: RegisterState, existing: bool) -> bool:
    """Whether the register page offers this pupil's row for marking by hand."""
    return refusal(roles=roles, state=state, existing=existing) is None
