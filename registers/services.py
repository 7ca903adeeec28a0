"""The one write path for register marks: taking a register, amending a mark, and the
set-based entry point for many marks at once (imports, the nightly N → O conversion).

Every change of an existing mark leaves one ``MarkAmendment`` row (original and new code and
minutes late, reason, who or which job, role, when), whichever entry point wrote it."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg import errors as psycopg_errors

from . import codes, policy
from .models import Mark, MarkAmendment, MarkWeek, Pupil, SchoolDay
from .signals import marks_saved


@dataclass
class Entry:
    """One pupil's mark as someone wants it.

    ``base`` is the mark the person saw when they opened the register (``mark_token``:
    "" for unmarked). When given, a change whose base has changed since is not saved but
    returned as a conflict. None (services, the amendment page) means "whatever is there now".
    """

    pupil_id: int
    code: str
    minutes_late: int | None = None
    reason: str = ""
    base: str | None = None


@dataclass
class Conflict:
    """Someone else changed this pupil's mark after the register was opened."""

    pupil: Pupil
    yours: str
    theirs: str
    by: str
    at: datetime | None


class RegisterError(Exception):
    """Raised with per-pupil messages; nothing is saved."""

    def __init__(self, errors: dict):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def mark_token(mark: Mark | None) -> str:
    """What a person saw of a mark, for ``Entry.base``: "" (unmarked), "N", "L:12"."""
    if mark is None:
        return ""
    return mark.code if mark.minutes_late is None else f"{mark.code}:{mark.minutes_late}"


def late_code(*, school, session: str, minutes_late: int) -> str:
    """L if the pupil arrived before the register closed, U after (docs/domain.md section 1).

    Minutes late count from the school's "late after" time for that session.
    """
    _, late_after, closes = school.register_times(session)
    arrival = datetime.combine(date.min, late_after) + timedelta(minutes=minutes_late)
    return "L" if arrival.time() <= closes else "U"


def _normalise(entry: Entry, *, school, session: str) -> tuple[str, int | None]:
    code = entry.code.strip().upper() if entry.code != "\\" else entry.code
    if code in ("/", "\\", "PRESENT"):
        return codes.present_code(session), None
    if code not in codes.MARKABLE_CODES:
        raise ValueError(f"'{entry.code}' is not a national code")
    minutes = entry.minutes_late
    if code in ("L", "U"):
        if minutes is not None:
            if minutes < 0 or minutes > 300:
                raise ValueError("minutes late must be 0–300")
            code = late_code(school=school, session=session, minutes_late=minutes)
        return code, minutes
    return code, None


def _user_name(user) -> str:
    return (user.get_full_name() or user.username) if user else "system"


def _roles_of(user, school, roles):
    """The writer's roles: given by the view, looked up for services, or, for server code
    that acts as no one (user None: commands, seeds), those of the office."""
    if roles is not None:
        return frozenset(roles)
    if user is None:
        return policy.AMENDERS
    from tenants.access import roles_for

    return roles_for(user, school)


_INSERT_SQL = """
    INSERT INTO {table} (pupil_id, date, session, code, minutes_late, recorded_by_id, recorded_at)
    SELECT p, %s, %s, c, m, %s, %s
    FROM unnest(%s::int[], %s::text[], %s::int[]) AS t(p, c, m)
    ORDER BY p
    ON CONFLICT (pupil_id, date, session) DO NOTHING
    RETURNING pupil_id"""


def _insert_new(new: list[Mark], *, day, session, user, now) -> set[int]:
    """INSERT ... ON CONFLICT DO NOTHING: the pupils whose mark this save created.

    A pupil missing from the answer was marked by someone else in between; their insert
    has committed by now (PostgreSQL waits for it), so the caller can lock and compare it.
    Rows go in pupil order, as do the locks in marks_save, so two saves cannot deadlock.
    """
    if not new:
        return set()
    with connection.cursor() as cur:
        cur.execute(_INSERT_SQL.format(table=Mark._meta.db_table),
                    [day, session, user.pk if user else None, now,
                     [m.pupil_id for m in new], [m.code for m in new],
                     [m.minutes_late for m in new]])
        return {row[0] for row in cur.fetchall()}


def _locked_marks(pupil_ids, day, session) -> dict[int, Mark]:
    """The marks of these pupils in this session, locked until the save commits."""
    if not pupil_ids:
        return {}
    qs = (Mark.objects.select_for_update(of=("self",)).select_related("recorded_by")
          .filter(pupil_id__in=pupil_ids, date=day, session=session).order_by("pupil_id"))
    return {m.pupil_id: m for m in qs}


@dataclass
class _Plan:
    new: list
    changed: list
    amendments: list
    conflicts: list
    others: list
    errors: dict


def _decide(plan: _Plan, *, entry: Entry, pupil: Pupil, code: str, minutes, mark: Mark | None,
            state, roles, basis: str, user, role: str) -> None:
    """What one entry does against the mark there now: create, change, conflict or error."""
    if mark is not None and mark.code == code and mark.minutes_late == minutes:
        return
    if entry.base is not None and entry.base != mark_token(mark):
        by = _user_name(mark.recorded_by) if mark is not None and mark.recorded_by_id else "someone"
        theirs = Conflict(pupil=pupil, yours=code, theirs=mark.code if mark else "", by=by,
                          at=mark.recorded_at if mark else None)
        # A row the person left as they found it keeps the newer mark; a row they changed
        # is not saved over someone else's change.
        mine = code if minutes is None else f"{code}:{minutes}"
        (plan.others if mine == entry.base else plan.conflicts).append(theirs)
        return
    refused = policy.refusal(roles=roles, state=state, existing=mark is not None, code=code,
                             basis=basis)
    if refused:
        plan.errors[pupil.pk] = f"{pupil.display_name}: {refused}"
        return
    if mark is None:
        plan.new.append(Mark(pupil_id=pupil.pk, code=code, minutes_late=minutes))
        return
    if not entry.reason.strip():
        plan.errors[pupil.pk] = (f"{pupil.display_name}: changing {mark.code} to {code} "
                                 "needs a reason")
        return
    plan.amendments.append(MarkAmendment(
        pupil_id=pupil.pk, date=mark.date, session=mark.session, original_code=mark.code,
        original_minutes_late=mark.minutes_late, new_code=code, new_minutes_late=minutes,
        reason=entry.reason.strip()[:300], user=user, user_name=_user_name(user), role=role))
    mark.code, mark.minutes_late, mark.recorded_by = code, minutes, user
    plan.changed.append(mark)


# Complexity: validate every entry, then write; the steps share one lock scope.
@transaction.atomic
def marks_save(*, school, day: date, session: str, pupils: list[Pupil], entries: list[Entry],  # noqa: C901
               user, role: str, roles=None, basis: str = "", now: datetime | None = None) -> dict:
    """Save marks for one session in a constant number of queries, safe under concurrency.

    New marks are created; a changed mark needs a reason and leaves an amendment row.
    Who may write what when is ``registers.policy`` (``roles``: the writer's roles, looked
    up when not given; ``basis``: "leave" or "report" for codes that come from granted
    leave or an accepted parent report). Any bad entry rejects the whole save with a
    message per pupil. The pupils' marks are locked (SELECT ... FOR UPDATE, INSERT ... ON
    CONFLICT DO NOTHING) so two people saving at once never lose a mark or write two
    amendments from the same original; an entry whose ``base`` no longer matches is not
    saved and comes back in ``conflicts`` for the person to re-apply with a reason.
    """
    if session not in ("AM", "PM"):
        raise RegisterError({"session": "must be AM or PM"})
    if not SchoolDay.objects.filter(date=day, closed=False).exists():
        raise RegisterError({"date": f"{day:%A %-d %B %Y} is not a school session"})
    now = timezone.localtime(now) if now else policy.clock()
    state = policy.register_state(school=school, day=day, session=session, now=now)
    roles = _roles_of(user, school, roles)
    by_id = {p.pk: p for p in pupils}
    entries = sorted(entries, key=lambda e: e.pupil_id or 0)
    existing = _locked_marks([e.pupil_id for e in entries if e.pupil_id in by_id], day, session)
    plan = _Plan([], [], [], [], [], {})
    wanted = {}
    for entry in entries:
        pupil = by_id.get(entry.pupil_id)
        if pupil is None:
            plan.errors[entry.pupil_id] = "not in this register"
            continue
        if not pupil.on_roll(day):
            plan.errors[entry.pupil_id] = f"{pupil.display_name} is not on roll on {day}"
            continue
        try:
            code, minutes = _normalise(entry, school=school, session=session)
        except ValueError as exc:
            plan.errors[entry.pupil_id] = f"{pupil.display_name}: {exc}"
            continue
        wanted[pupil.pk] = (entry, pupil, code, minutes)
        _decide(plan, entry=entry, pupil=pupil, code=code, minutes=minutes,
                mark=existing.get(pupil.pk), state=state, roles=roles, basis=basis, user=user,
                role=role)
    if plan.errors:
        raise RegisterError(plan.errors)
    created = _insert_new(plan.new, day=day, session=session, user=user, now=now)
    raced = [m.pupil_id for m in plan.new if m.pupil_id not in created]
    if raced:
        # Marked by someone else between our read and our insert: decide again against theirs.
        for pupil_id, mark in _locked_marks(raced, day, session).items():
            entry, pupil, code, minutes = wanted[pupil_id]
            _decide(plan, entry=entry, pupil=pupil, code=code, minutes=minutes, mark=mark,
                    state=state, roles=roles, basis=basis, user=user, role=role)
        if plan.errors:
            raise RegisterError(plan.errors)
    if plan.changed:
        for m in plan.changed:
            m.recorded_at = now
        Mark.objects.bulk_update(plan.changed, ["code", "minutes_late", "recorded_by", "recorded_at"])
        MarkAmendment.objects.bulk_create(plan.amendments)
    if created or plan.changed:
        schema = connection.schema_name
        transaction.on_commit(lambda: marks_saved.send(sender=Mark, schema_name=schema))
    return {"created": len(created), "amended": len(plan.changed), "conflicts": plan.conflicts,
            "changed_by_others": plan.others}


def mark_amend(*, school, pupil: Pupil, day: date, session: str, code: str,
               minutes_late: int | None, reason: str, user, role: str, roles=None) -> dict:
    """Correct (or enter) one mark. A correction always needs a reason."""
    if not reason.strip():
        raise RegisterError({pupil.pk: "a reason is required for an amendment"})
    return marks_save(school=school, day=day, session=session, pupils=[pupil],
                      entries=[Entry(pupil.pk, code, minutes_late, reason)], user=user, role=role,
                      roles=roles)


# --- a recorded history: marks as they were taken ------------------------------------------

HISTORY_MARK_COLUMNS = ("pupil_id", "date", "session", "code", "minutes_late", "recorded_by_id",
                        "recorded_at")
HISTORY_AMENDMENT_COLUMNS = ("pupil_id", "date", "session", "original_code",
                             "original_minutes_late", "new_code", "new_minutes_late", "reason",
                             "user_id", "user_name", "role", "at")


def marks_history_load(marks, amendments) -> tuple[int, int]:
    """Load a register history as it was recorded: who took each mark and when, and the
    amendments made since (rows in ``HISTORY_*_COLUMNS`` order), by COPY into a school with no
    marks for those sessions yet. For seeding (the demo builder), never for marks being taken
    now, which go through ``marks_save`` or ``marks_write_staged`` and their rules; a clash
    with an existing mark fails on the unique constraint and the whole load rolls back."""
    counts = []
    with connection.cursor() as cur, connection.wrap_database_errors:
        for model, cols, rows in ((Mark, HISTORY_MARK_COLUMNS, marks),
                                  (MarkAmendment, HISTORY_AMENDMENT_COLUMNS, amendments)):
            n = 0
            with cur.cursor.copy(f"COPY {model._meta.db_table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
            counts.append(n)
    return counts[0], counts[1]


# --- the week counts the dashboards read ------------------------------------------------------

def mark_weeks_compact() -> int:
    """Merge each (pupil, week, code)'s rows of changes in registers_markweek into one row,
    dropping those that sum to nothing, so the dashboards read about a quarter of the marks'
    rows (the triggers of migration 0017 only ever add rows). One statement, run by the
    nightly job; rows a register save adds meanwhile are not in its snapshot, so they stay as
    they are, to be merged the next night. Returns the rows removed."""
    t = MarkWeek._meta.db_table
    cols = [f.column for f in MarkWeek._meta.concrete_fields
            if f.column not in ("id", "pupil_id", "week", "code")]
    sql = f"""
WITH k AS (
  SELECT pupil_id, week, code FROM {t} GROUP BY 1, 2, 3 HAVING count(*) > 1
), gone AS (
  DELETE FROM {t} s USING k
  WHERE s.pupil_id = k.pupil_id AND s.week = k.week AND s.code = k.code
  RETURNING s.*
), merged AS (
  INSERT INTO {t} (pupil_id, week, code, {', '.join(cols)})
  SELECT pupil_id, week, code, {', '.join(f'SUM({c})' for c in cols)}
  FROM gone GROUP BY 1, 2, 3 HAVING SUM(n) <> 0
  RETURNING 1
)
SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM merged)"""
    with connection.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


# --- the set-based write path: many marks at once ------------------------------------------

# The columns ``marks_write_staged`` reads from its staging table (the caller may add more).
STAGING_COLUMNS = "pupil_id bigint, date date, session text, code text, minutes_late smallint"


@dataclass
class MarksWritten:
    created: int
    updated: int


def _insert_all_new(cur, table: str, user_id, fresh_span) -> int | None:
    """When none of ``fresh_span``'s pupils has a mark in its date span, every staged row is new:
    one plain INSERT, without the amendment join and the upsert's per-row conflict handling.
    None when that does not hold (or a mark was saved meanwhile: the INSERT is rolled back to
    its savepoint and the caller merges instead)."""
    pupil_ids, first_day, last_day = fresh_span
    mark = Mark._meta.db_table
    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {mark} WHERE pupil_id = ANY(%s) "
                "AND date BETWEEN %s AND %s)", [list(pupil_ids), first_day, last_day])
    if cur.fetchone()[0]:
        return None
    try:
        with transaction.atomic():
            cur.execute(f"""
                INSERT INTO {mark} (pupil_id, date, session, code, minutes_late,
                                    recorded_by_id, recorded_at)
                SELECT pupil_id, date, session, code, minutes_late, %s, now() FROM {table}""",
                        [user_id])
            return cur.rowcount
    except IntegrityError as exc:
        if not isinstance(exc.__cause__, psycopg_errors.UniqueViolation):
            raise
        return None


def marks_write_staged(*, table: str, user=None, user_name: str, role: str, reason: str,
                       only_from: str | None = None, fresh_span=None) -> MarksWritten:
    """Write the marks staged in the temporary ``table`` (``STAGING_COLUMNS``), set-based.

    A staged mark that differs from the mark there gets an amendment row (``reason``, the user
    or ``user_name``, ``role``) and replaces it; a new one is inserted; an equal one is left
    alone. The marks about to change are locked first, in pupil order as ``marks_save`` locks
    them, so a register saved meanwhile either waits or is seen, and the amendment rows record
    the code that was really replaced. ``only_from`` (the nightly N → O) changes only marks that
    still have that code and creates none. ``fresh_span`` = (pupil ids, first day, last day)
    allows the one-INSERT path of a first import (``_insert_all_new``). Call inside a
    transaction; validation (policy, roll dates, codes) is the caller's, done before staging.
    """
    mark, amend = Mark._meta.db_table, MarkAmendment._meta.db_table
    user_id = user.pk if user else None
    with connection.cursor() as cur:
        if fresh_span is not None and only_from is None and all(fresh_span[1:]):
            created = _insert_all_new(cur, table, user_id, fresh_span)
            if created is not None:
                return MarksWritten(created=created, updated=0)
        differs = ("(m.code <> t.code OR m.minutes_late IS DISTINCT FROM t.minutes_late)"
                   + (" AND m.code = %(from)s" if only_from else ""))
        params = {"from": only_from, "reason": reason, "user_id": user_id, "user_name": user_name,
                  "role": role}
        # Lock the marks about to change and read them in the same statement: a mark changed
        # meanwhile is re-read after its writer commits (and dropped if it no longer differs),
        # so each amendment row records the code really replaced.
        cur.execute(f"""
            WITH locked AS (
                SELECT m.pupil_id, m.date, m.session, m.code, m.minutes_late,
                       t.code AS new_code, t.minutes_late AS new_minutes_late
                FROM {table} t JOIN {mark} m USING (pupil_id, date, session)
                WHERE {differs} ORDER BY m.pupil_id, m.date, m.session FOR UPDATE OF m)
            INSERT INTO {amend} (pupil_id, date, session, original_code, original_minutes_late,
                                 new_code, new_minutes_late, reason, user_id, user_name, role, at)
            SELECT pupil_id, date, session, code, minutes_late, new_code, new_minutes_late,
                   %(reason)s, %(user_id)s, %(user_name)s, %(role)s, now()
            FROM locked""", params)
        updated = cur.rowcount
        if only_from:
            cur.execute(f"""
                UPDATE {mark} m SET code = t.code, minutes_late = t.minutes_late,
                                    recorded_by_id = %(user_id)s, recorded_at = now()
                FROM {table} t
                WHERE m.pupil_id = t.pupil_id AND m.date = t.date AND m.session = t.session
                  AND {differs}""", params)
            return MarksWritten(created=0, updated=cur.rowcount)
        cur.execute(f"""
            INSERT INTO {mark} (pupil_id, date, session, code, minutes_late, recorded_by_id,
                                recorded_at)
            SELECT pupil_id, date, session, code, minutes_late, %(user_id)s, now() FROM {table}
            ON CONFLICT (pupil_id, date, session) DO UPDATE
              SET code = EXCLUDED.code, minutes_late = EXCLUDED.minutes_late,
                  recorded_by_id = EXCLUDED.recorded_by_id, recorded_at = EXCLUDED.recorded_at
              WHERE {mark}.code <> EXCLUDED.code
                 OR {mark}.minutes_late IS DISTINCT FROM EXCLUDED.minutes_late""", params)
        return MarksWritten(created=cur.rowcount - updated, updated=updated)


class RollError(Exception):
    pass


# Complexity: one branch per deletion ground's own check (regulation 9).
@transaction.atomic
def pupil_off_roll(*, pupil: Pupil, leaving_date: date, ground: str, user=None, role: str = "",  # noqa: C901
                   roles=None, override_reason: str = "") -> Pupil:
    """Delete a pupil from the admission register on a date, with a regulation 9 ground.

    On the 20-school-day ground the run must hold at the leaving date, and on the "failed to
    return after leave" ground the 10 school days after granted leave must have passed with
    only G, N or O; on both every enquiry must be recorded (registers.removal), unless the
    head overrides with a reason. Each removal is logged (RollRemoval, append-only), recorded
    in the pupil's history as a form change by ``user``, and feeds the deletion return from the
    pupil's row. A leaving date before some of the pupil's marks is refused, naming them: they
    would vanish from statistics.
    """
    from tenants.roles import Role

    from . import removal
    from .models import DeletionGround, RollRemoval
    from .pupils import history_context, marks_outside_roll, roll_change_refusal

    if ground not in DeletionGround.values:
        raise RollError("Choose a deletion ground.")
    if leaving_date < pupil.admission_date:
        raise RollError(f"The leaving date is before the admission date "
                        f"({pupil.admission_date:%-d %B %Y}).")
    later = marks_outside_roll({pupil.pk: (pupil.admission_date, leaving_date)}).get(pupil.pk)
    if later:
        raise RollError(f"{pupil.display_name}: a leaving date of {leaving_date:%-d %B %Y} "
                        + roll_change_refusal(later, pupil.admission_date, leaving_date) + ".")
    run_days, override = None, ""
    if ground in (DeletionGround.TWENTY_DAYS, DeletionGround.NOT_RETURNED):
        problems = []
        if ground == DeletionGround.TWENTY_DAYS:
            run = removal.absence_run(pupil, leaving_date)
            run_days = run.days
            if not run.qualifies:
                problems.append(f"{pupil.display_name} has been continuously absent (G, N or O) "
                                f"for {run.days} school day(s) up to {leaving_date:%-d %B %Y}, "
                                f"not {removal.RUN_DAYS}")
        else:
            leave, failed = removal.not_returned(pupil, leaving_date)
            if leave is None:
                problems.append(f"{pupil.display_name} has no granted leave that ended before "
                                f"{leaving_date:%-d %B %Y}")
            elif not failed:
                problems.append(f"{removal.RETURN_DAYS} school days after the leave that ended "
                                f"{leave.last_day:%-d %B %Y} have not all passed with only G, N "
                                "or O by then")
        missing = removal.enquiries_missing(pupil)
        if missing:
            problems.append("these enquiries are not recorded: " + ", ".join(missing))
        if problems:
            if roles is None and user is not None:
                roles = _roles_of(user, connection.tenant, None)
            if not (Role.HEAD in frozenset(roles or ()) and override_reason.strip()):
                label = "20-day" if ground == DeletionGround.TWENTY_DAYS else "not-returned"
                raise RollError(f"Cannot remove on the {label} ground: " + "; ".join(problems)
                                + ". Only the head can override, with a reason.")
            override = override_reason.strip()[:300]
    with history_context(source="form", user=user):
        pupil.leaving_date, pupil.deletion_ground = leaving_date, ground
        pupil.save(update_fields=["leaving_date", "deletion_ground"])
    RollRemoval.objects.create(pupil=pupil, leaving_date=leaving_date, ground=ground,
                               run_days=run_days, override_reason=override,
                               user_name=_user_name(user), role=role)
    return pupil
