"""CSV imports of calendars, pupils and marks (interfaces.md).

Each import validates every row first and reports every bad row by line and field;
only a file with no bad row is written, in one transaction.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, connection, transaction
from psycopg import errors as psycopg_errors
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.gb import upn as upn_check

from . import codes, policy
from .calendar import calendar_replace
from .models import (
    YEAR_GROUP_CODES,
    CalendarEntry,
    Contact,
    DeletionGround,
    Mark,
    MarkAmendment,
    Pupil,
    RegistrationGroup,
    SchoolDay,
)


@dataclass
class RowError:
    line: int
    field: str
    message: str

    def __str__(self):
        return f"line {self.line}, {self.field}: {self.message}"


class ImportRejected(Exception):
    def __init__(self, errors: list[RowError], source: str = ""):
        self.errors = errors
        self.source = source
        super().__init__(f"{len(errors)} bad row(s)")

    def lines(self) -> list[str]:
        prefix = f"{self.source}: " if self.source else ""
        return [f"{prefix}{e}" for e in self.errors]


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)


def _reader(data: bytes | str, required: list[str], optional: list[str] = ()):
    """Yield (line_number, row dict) after checking the header."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportRejected([RowError(1, "header", "the file is empty")]) from None
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required and c not in optional]
    if missing or unknown:
        errs = [RowError(1, c, "required column is missing") for c in missing]
        errs += [RowError(1, c, "unknown column") for c in unknown]
        raise ImportRejected(errs)
    return header, reader


def parse_date(value: str) -> date:
    return date.fromisoformat(value.strip())


def validate_upn(value: str) -> str:
    """Return the UPN in canonical form or raise ValueError with a clear message."""
    value = value.strip().upper()
    try:
        return upn_check.validate(value)
    except StdnumError as exc:
        kind = type(exc).__name__
        reason = {
            "InvalidLength": "must be 13 characters",
            "InvalidFormat": "must be a letter, 11 digits and a digit or letter",
            "InvalidComponent": "the LA number (characters 2–4) is not a known LA",
            "InvalidChecksum": "check letter does not match",
        }.get(kind, "not a valid UPN")
        raise ValueError(f"'{value}' is not a valid UPN: {reason}") from None


# --- calendar ---------------------------------------------------------------

def import_calendar(data: bytes | str) -> ImportResult:
    header, reader = _reader(data, ["kind", "start_date", "end_date", "label"])
    errors, entries = [], []
    for line, raw in enumerate(reader, start=2):
        if not any(raw):
            continue
        row = dict(zip(header, (v.strip() for v in raw), strict=False))
        kind = row.get("kind", "").lower()
        if kind not in CalendarEntry.Kind.values:
            errors.append(RowError(line, "kind", f"'{row.get('kind')}' must be term or closure"))
            continue
        try:
            start, end = parse_date(row["start_date"]), parse_date(row["end_date"])
        except (ValueError, KeyError):
            errors.append(RowError(line, "start_date/end_date", "dates must be YYYY-MM-DD"))
            continue
        if end < start:
            errors.append(RowError(line, "end_date", "ends before it starts"))
            continue
        entries.append((line, CalendarEntry(kind=kind, start_date=start, end_date=end,
                                            label=row.get("label") or kind.title())))
    terms = sorted((e for _, e in entries if e.kind == "term"), key=lambda e: e.start_date)
    for a, b in zip(terms, terms[1:], strict=False):
        if b.start_date <= a.end_date:
            line = next(ln for ln, e in entries if e is b)
            errors.append(RowError(line, "start_date", f"term overlaps '{a.label}'"))
    for line, e in entries:
        if e.kind == "closure" and not any(t.start_date <= e.start_date and e.end_date <= t.end_date
                                           for t in terms):
            errors.append(RowError(line, "start_date", "closure is not inside a term"))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: e.line))
    days = calendar_replace(entries=[e for _, e in entries])
    return ImportResult(created=len(entries), notes=[f"{days} school days ({days * 2} sessions)"])


# --- pupils -----------------------------------------------------------------

PUPIL_REQUIRED = ["upn", "legal_surname", "legal_forename", "date_of_birth", "gender",
                  "year_group", "registration_group", "admission_date"]
PUPIL_OPTIONAL = ["preferred_forename", "preferred_surname", "leaving_date", "deletion_ground",
                  "pupil_premium", "fsm", "eal", "sen_status", "lac", "child_protection",
                  "young_carer", "social_worker", "address", "medical_notes"]
BOOL_FIELDS = ["pupil_premium", "fsm", "eal", "lac", "child_protection", "young_carer",
               "social_worker"]


def _pupil_from_row(row: dict, line: int, errors: list) -> dict | None:
    start = len(errors)

    def bad(field_name, message):
        errors.append(RowError(line, field_name, message))

    out = {}
    try:
        out["upn"] = validate_upn(row["upn"])
    except ValueError as exc:
        bad("upn", str(exc))
    for f in ("legal_surname", "legal_forename"):
        if not row.get(f):
            bad(f, "is required")
        out[f] = row.get(f, "")
    for f in ("preferred_forename", "preferred_surname", "address", "medical_notes"):
        out[f] = row.get(f) or ""
    for f in ("date_of_birth", "admission_date", "leaving_date"):
        value = row.get(f) or ""
        if not value:
            if f != "leaving_date":
                bad(f, "is required")
            out[f] = None
            continue
        try:
            out[f] = parse_date(value)
        except ValueError:
            bad(f, f"'{value}' is not a date (YYYY-MM-DD)")
    gender = (row.get("gender") or "").upper()
    if gender not in Pupil.Gender.values:
        bad("gender", f"'{row.get('gender')}' must be F, M or U")
    out["gender"] = gender
    yg = (row.get("year_group") or "").upper().removeprefix("Y")
    if yg not in YEAR_GROUP_CODES:
        bad("year_group", f"'{row.get('year_group')}' must be N1, N2, R or 1–14")
    out["year_group"] = YEAR_GROUP_CODES.get(yg)
    out["registration_group"] = row.get("registration_group", "")
    if not out["registration_group"]:
        bad("registration_group", "is required")
    for f in BOOL_FIELDS:
        v = (row.get(f) or "N").upper()
        if v not in ("Y", "N"):
            bad(f, f"'{row.get(f)}' must be Y or N")
        out[f] = v == "Y"
    sen = (row.get("sen_status") or "N").upper()
    if sen not in Pupil.SEN.values:
        bad("sen_status", f"'{row.get('sen_status')}' must be N, K or E")
    out["sen_status"] = sen
    ground = row.get("deletion_ground") or ""
    if ground and ground not in DeletionGround.values:
        bad("deletion_ground", f"'{ground}' is not a known deletion ground")
    out["deletion_ground"] = ground
    if out.get("leaving_date") and out.get("admission_date") and \
            out["leaving_date"] < out["admission_date"]:
        bad("leaving_date", "is before the admission date")
    if out.get("leaving_date") and not ground:
        bad("deletion_ground", "is required when a leaving date is given")
    return out if len(errors) == start else None


def import_pupils(data: bytes | str) -> ImportResult:
    header, reader = _reader(data, PUPIL_REQUIRED, PUPIL_OPTIONAL)
    errors, parsed, seen = [], [], {}
    for line, raw in enumerate(reader, start=2):
        if not any(raw):
            continue
        row = dict(zip(header, (v.strip() for v in raw), strict=False))
        values = _pupil_from_row(row, line, errors)
        if values is None:
            continue
        if values["upn"] in seen:
            errors.append(RowError(line, "upn", f"duplicate of line {seen[values['upn']]}"))
            continue
        seen[values["upn"]] = line
        parsed.append(values)
    if errors:
        raise ImportRejected(errors)

    result = ImportResult()
    with transaction.atomic():
        groups = {g.name: g for g in RegistrationGroup.objects.all()}
        existing = {p.upn: p for p in Pupil.objects.filter(upn__in=seen)}
        to_create, to_update = [], []
        for values in parsed:
            name = values.pop("registration_group")
            if name not in groups:
                groups[name] = RegistrationGroup.objects.create(name=name,
                                                                year_group=values["year_group"])
            values["registration_group"] = groups[name]
            pupil = existing.get(values["upn"])
            if pupil is None:
                to_create.append(Pupil(**values))
            else:
                for k, v in values.items():
                    setattr(pupil, k, v)
                to_update.append(pupil)
        Pupil.objects.bulk_create(to_create, batch_size=1000)
        fields = [f for f in PUPIL_REQUIRED + PUPIL_OPTIONAL if f != "upn"]
        if to_update:
            Pupil.objects.bulk_update(to_update, fields, batch_size=500)
    result.created, result.updated = len(to_create), len(to_update)
    return result


# --- contacts ---------------------------------------------------------------

CONTACT_REQUIRED = ["upn", "priority", "forename", "surname"]
CONTACT_OPTIONAL = ["title", "relationship", "parental_responsibility", "correspondence", "phone",
                    "mobile", "email", "address"]


def import_contacts(data: bytes | str) -> ImportResult:
    """Contacts in priority order; a pupil's contacts in the file replace their old ones."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    header, reader = _reader(data, CONTACT_REQUIRED, CONTACT_OPTIONAL)
    pupils = dict(Pupil.objects.values_list("upn", "pk"))
    errors, rows, seen = [], [], {}
    for line, raw in enumerate(reader, start=2):
        if not any(raw):
            continue
        row = dict(zip(header, (v.strip() for v in raw), strict=False))
        start = len(errors)
        upn = row.get("upn", "").upper()
        if upn not in pupils:
            errors.append(RowError(line, "upn", f"no pupil with UPN '{upn}'"))
        priority = row.get("priority", "")
        if not (priority.isascii() and priority.isdigit()) or not 1 <= int(priority) <= 9:
            errors.append(RowError(line, "priority", f"'{priority}' must be 1–9"))
        elif (upn, priority) in seen:
            errors.append(RowError(line, "priority", f"duplicate of line {seen[(upn, priority)]}"))
        else:
            seen[(upn, priority)] = line
        for f in ("forename", "surname"):
            if not row.get(f):
                errors.append(RowError(line, f, "is required"))
        for f in ("parental_responsibility", "correspondence"):
            if (row.get(f) or "N").upper() not in ("Y", "N"):
                errors.append(RowError(line, f, f"'{row.get(f)}' must be Y or N"))
        if row.get("email"):
            try:
                validate_email(row["email"])
            except ValidationError:
                errors.append(RowError(line, "email", f"'{row['email']}' is not an email address"))
        if len(errors) == start:
            rows.append(row)
    if errors:
        raise ImportRejected(errors)
    with transaction.atomic():
        pupil_ids = {pupils[r["upn"].upper()] for r in rows}
        old = Contact.objects.filter(pupil_id__in=pupil_ids)
        # Portal logins stay with the same person (matched by name) across a re-import.
        logins = {(c.pupil_id, c.forename.lower(), c.surname.lower()): c.user_id
                  for c in old if c.user_id}
        old.delete()
        Contact.objects.bulk_create(Contact(
            pupil_id=pupils[r["upn"].upper()], priority=int(r["priority"]),
            user_id=logins.get((pupils[r["upn"].upper()], r["forename"].lower(),
                                r["surname"].lower())),
            title=r.get("title", ""), forename=r["forename"], surname=r["surname"],
            relationship=r.get("relationship") or "Parent",
            parental_responsibility=(r.get("parental_responsibility") or "Y").upper() == "Y",
            correspondence=(r.get("correspondence") or "N").upper() == "Y",
            phone=r.get("phone", ""), mobile=r.get("mobile", ""), email=r.get("email", ""),
            address=r.get("address", "")) for r in rows)
    return ImportResult(created=len(rows), notes=[f"for {len(pupil_ids)} pupil(s)"])


# --- marks ------------------------------------------------------------------

_SESSIONS = ("AM", "PM")
_PRESENT = {"AM": "/", "PM": "\\"}
_NULL = "\\N"  # NULL in COPY's text format


def import_marks(data: bytes | str, *, user=None, role: str = "import",
                 history: bool = False) -> ImportResult:
    """Bulk-load marks with full validation.

    Rows are checked in Python against in-memory lookups (pupils' roll dates, open school
    days, the code set), then loaded with COPY and merged in two set-based statements:
    an amendment row for each mark that changes, and an upsert of the marks (or one plain
    INSERT when none of the file's pupils has a mark yet in its date span: see _load_marks).

    The loop is the hot path of a migration (a school year is ~400k rows): a field that is
    already in canonical form (found as is in the lookup) is not stripped or upper-cased.
    """
    header, reader = _reader(data, ["upn", "date", "session", "code"], ["minutes_late"])
    idx = {name: header.index(name) for name in header}
    i_upn, i_date, i_session, i_code = idx["upn"], idx["date"], idx["session"], idx["code"]
    i_min = idx.get("minutes_late")

    # pk as text: it is only written to the COPY stream. Only canonical UPNs can match.
    pupils = {upn: (str(pk), adm.isoformat(), leave.isoformat() if leave else "9999-12-31")
              for upn, pk, adm, leave in Pupil.objects.values_list(
                  "upn", "pk", "admission_date", "leaving_date")
              if upn == upn.strip().upper()}
    # A file holds what happened: later days only take codes from granted leave, accepted
    # parent reports and planned closures (registers.policy), which have their own pages.
    today = policy.clock().date()
    open_days = SchoolDay.objects.filter(closed=False).values_list("date", flat=True)
    days = {d.isoformat() for d in open_days if d <= today}
    future = {d.isoformat() for d in open_days if d > today}
    valid_codes = set(codes.MARKABLE_CODES)
    legacy = codes.LEGACY_CODE_MAP if history else {}
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    out: list[str] = []
    write = out.append
    pupil_ids: set[str] = set()
    used_days: set[str] = set()
    last_pupil = None
    for line, raw in enumerate(reader, start=2):
        if not raw:
            continue
        try:
            upn, day, session, code = raw[i_upn], raw[i_date], raw[i_session], raw[i_code]
            minutes = raw[i_min] if i_min is not None and i_min < len(raw) else ""
        except IndexError:
            errors.append(RowError(line, "row", "too few columns"))
            continue
        pupil = pupils.get(upn)
        if (pupil is not None and day in days and session in _SESSIONS and code in valid_codes
                and not minutes and pupil[1] <= day <= pupil[2]):
            # The common row: canonical, valid, no minutes late. Nothing to normalise or report.
            if code == "/" or code == "\\":
                code = _PRESENT[session]
        else:
            # Canonical values are found as they are; anything else is normalised first.
            if pupil is None:
                upn = upn.strip().upper()
                pupil = pupils.get(upn)
            if day not in days:
                day = day.strip()
            if session not in _SESSIONS:
                session = session.strip().upper()
            if code not in valid_codes:
                code = code.strip().upper()
            if minutes:
                minutes = minutes.strip()
            row_ok = True
            if pupil is None:
                errors.append(RowError(line, "upn", f"no pupil with UPN '{upn}'"))
                row_ok = False
            if day in future:
                errors.append(RowError(line, "date", f"{day} is after today: ahead of time a "
                                       "register only holds granted leave, accepted parent "
                                       "reports and planned closures"))
                row_ok = False
            elif day not in days:
                try:
                    parse_date(day)
                    errors.append(RowError(line, "date", f"{day} is not a school session"))
                except ValueError:
                    errors.append(RowError(line, "date", f"'{day}' is not a date (YYYY-MM-DD)"))
                row_ok = False
            elif pupil is not None and not (pupil[1] <= day <= pupil[2]):
                errors.append(RowError(line, "date", f"pupil {upn} is not on roll on {day}"))
                row_ok = False
            if session not in _SESSIONS:
                errors.append(RowError(line, "session", f"'{session}' must be AM or PM"))
                row_ok = False
            if code in legacy:
                code = legacy[code]
            elif code not in valid_codes:
                hint = " (pre-2024 code: use --history to map it)" if code in codes.LEGACY_CODE_MAP else ""
                errors.append(RowError(line, "code", f"'{code}' is not a national code{hint}"))
                row_ok = False
            if code == "/" or code == "\\":
                code = _PRESENT.get(session, code)
            if minutes:
                if not (minutes.isascii() and minutes.isdigit()) or int(minutes) > 300:
                    errors.append(RowError(line, "minutes_late", f"'{minutes}' is not 0–300"))
                    row_ok = False
                elif code != "L" and code != "U":
                    errors.append(RowError(line, "minutes_late", "only L and U marks have minutes late"))
                    row_ok = False
            if not row_ok:
                continue
        # One key per (pupil, date, session): also the start of the COPY line.
        key = f"{pupil[0]}\t{day}\t{session}"
        if key in seen:
            errors.append(RowError(line, "row", f"duplicate of line {seen[key]}"))
            continue
        seen[key] = line
        if pupil is not last_pupil:  # files usually run pupil by pupil
            pupil_ids.add(pupil[0])
            last_pupil = pupil
        used_days.add(day)
        if code == "\\":
            code = "\\\\"  # COPY's text format escapes a backslash
        write(f"{key}\t{code}\t{minutes or _NULL}\n")
    if errors:
        raise ImportRejected(errors)
    return _load_marks("".join(out), len(seen), user=user, role=role,
                       pupil_ids=[int(pk) for pk in pupil_ids],
                       first_day=min(used_days, default=None),
                       last_day=max(used_days, default=None))


def _load_marks(tsv: str, count: int, *, user, role: str, pupil_ids: list[int] | None = None,
                first_day: str | None = None, last_day: str | None = None) -> ImportResult:
    """COPY validated rows into a temporary table and merge them into the marks.

    When the caller names the file's pupils and date span and none of those pupils has a
    mark in that span (a first import, or a new period), every row is new: one plain
    INSERT, without the amendment join and the upsert's per-row conflict handling. If a
    mark is saved meanwhile for one of those sessions, that INSERT fails on the unique
    constraint, is rolled back to its savepoint and the general merge runs instead.
    """
    mark, amend = Mark._meta.db_table, MarkAmendment._meta.db_table
    user_id = user.pk if user else None
    user_name = (user.get_full_name() or user.username) if user else "import"
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE import_marks (pupil_id bigint, date date, session text, "
                    "code text, minutes_late smallint) ON COMMIT DROP")
        with cur.cursor.copy("COPY import_marks FROM STDIN") as copy:
            copy.write(tsv)
        if pupil_ids and first_day and last_day:
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM {mark} WHERE pupil_id = ANY(%s) "
                        "AND date BETWEEN %s AND %s)",
                        [pupil_ids, date.fromisoformat(first_day), date.fromisoformat(last_day)])
            if not cur.fetchone()[0]:
                try:
                    with transaction.atomic():
                        cur.execute(f"""
                            INSERT INTO {mark} (pupil_id, date, session, code, minutes_late,
                                                recorded_by_id, recorded_at)
                            SELECT pupil_id, date, session, code, minutes_late, %s, now()
                            FROM import_marks""", [user_id])
                        created = cur.rowcount
                except IntegrityError as exc:
                    if not isinstance(exc.__cause__, psycopg_errors.UniqueViolation):
                        raise
                else:
                    cur.execute("DROP TABLE import_marks")  # also inside an outer transaction
                    return ImportResult(created=created, updated=0, unchanged=count - created)
        cur.execute(f"""
            INSERT INTO {amend} (pupil_id, date, session, original_code, original_minutes_late,
                                 new_code, new_minutes_late, reason, user_id, user_name, role, at)
            SELECT m.pupil_id, m.date, m.session, m.code, m.minutes_late, t.code, t.minutes_late,
                   'import', %s, %s, %s, now()
            FROM import_marks t JOIN {mark} m USING (pupil_id, date, session)
            WHERE m.code <> t.code OR m.minutes_late IS DISTINCT FROM t.minutes_late""",
                    [user_id, user_name, role])
        updated = cur.rowcount
        cur.execute(f"""
            INSERT INTO {mark} (pupil_id, date, session, code, minutes_late, recorded_by_id,
                                recorded_at)
            SELECT pupil_id, date, session, code, minutes_late, %s, now() FROM import_marks
            ON CONFLICT (pupil_id, date, session) DO UPDATE
              SET code = EXCLUDED.code, minutes_late = EXCLUDED.minutes_late,
                  recorded_by_id = EXCLUDED.recorded_by_id, recorded_at = EXCLUDED.recorded_at
              WHERE {mark}.code <> EXCLUDED.code
                 OR {mark}.minutes_late IS DISTINCT FROM EXCLUDED.minutes_late""", [user_id])
        written = cur.rowcount
        cur.execute("DROP TABLE import_marks")  # also when inside an outer transaction
    return ImportResult(created=written - updated, updated=updated,
                        unchanged=count - written)
