"""CSV imports of calendars, pupils, contacts and marks (README.md).

Each import validates every row first and reports every bad row by file, line and field;
only a file with no bad row is written, in one transaction. Files are read as streams
(registers.csvfile): the encoding is detected and reported, and a marks file is copied to
the database in chunks while it is checked, so its size does not set the memory used.
"""

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.gb import upn as upn_check

from . import codes, policy
from .calendar import calendar_replace
from .csvfile import MAX_REPORTED, CsvFile, ImportRejected, Problems, RowError
from .models import (
    CalendarEntry,
    Contact,
    DeletionGround,
    Ethnicity,
    Pupil,
    RegistrationGroup,
    SchoolDay,
    year_group_from_text,
)
from .pupils import history_context, marks_outside_roll, roll_change_refusal
from .services import marks_write_staged

__all__ = ["ImportRejected", "ImportResult", "RowError", "import_calendar", "import_contacts",
           "import_marks", "import_pupils", "parse_date", "validate_upn"]


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)
    encoding: str = ""

    def summary(self) -> str:
        """One line for the command's output and the page's message."""
        return (f"{self.created} created, {self.updated} updated"
                + (f", {self.unchanged} unchanged" if self.unchanged else "")
                + "".join(f"; {n}" for n in self.notes)
                + (f"; read as {self.encoding}" if self.encoding not in ("", "text") else ""))


def parse_date(value: str) -> date:
    return date.fromisoformat(value.strip())


def _too_long(model, name: str, value: str) -> str | None:
    """The message for a value longer than its column, or None."""
    limit = model._meta.get_field(name).max_length
    if limit and len(value) > limit:
        return f"is {len(value)} characters long; at most {limit}"
    return None


def validate_upn(value: str) -> str:
    """Return the UPN in canonical form or raise ValueError with a clear message."""
    value = value.strip().upper()
    shown = value if len(value) <= 20 else value[:20] + "…"
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
        raise ValueError(f"'{shown}' is not a valid UPN: {reason}") from None


# --- calendar ---------------------------------------------------------------

# Complexity: one check per calendar row field, errors collected per line.
def import_calendar(data, *, source: str = "") -> ImportResult:  # noqa: C901
    f = CsvFile(data, ["kind", "start_date", "end_date", "label"], source=source)
    errors, entries = f.problems, []
    for line, row in f.dicts():
        kind = row.get("kind", "").lower()
        if kind not in CalendarEntry.Kind.values:
            errors.add(line, "kind", f"'{row.get('kind', '')[:40]}' must be term or closure")
            continue
        try:
            start, end = parse_date(row["start_date"]), parse_date(row["end_date"])
        except (ValueError, KeyError):
            errors.add(line, "start_date/end_date", "dates must be YYYY-MM-DD")
            continue
        if end < start:
            errors.add(line, "end_date", "ends before it starts")
            continue
        label = row.get("label") or kind.title()
        if problem := _too_long(CalendarEntry, "label", label):
            errors.add(line, "label", problem)
            continue
        entries.append((line, CalendarEntry(kind=kind, start_date=start, end_date=end,
                                            label=label)))
    terms = sorted((e for _, e in entries if e.kind == "term"), key=lambda e: e.start_date)
    for a, b in zip(terms, terms[1:], strict=False):
        if b.start_date <= a.end_date:
            line = next(ln for ln, e in entries if e is b)
            errors.add(line, "start_date", f"term overlaps '{a.label}'")
    for line, e in entries:
        if e.kind == "closure" and not any(t.start_date <= e.start_date and e.end_date <= t.end_date
                                           for t in terms):
            errors.add(line, "start_date", "closure is not inside a term")
    if errors:
        raise f.rejected()
    days = calendar_replace(entries=[e for _, e in entries])
    return ImportResult(created=len(entries), encoding=f.encoding,
                        notes=[f"{days} school days ({days * 2} sessions)"])


# --- pupils -----------------------------------------------------------------

PUPIL_REQUIRED = ["upn", "legal_surname", "legal_forename", "date_of_birth", "gender",
                  "year_group", "registration_group", "admission_date"]
PUPIL_OPTIONAL = ["preferred_forename", "preferred_surname", "leaving_date", "deletion_ground",
                  "pupil_premium", "fsm", "eal", "sen_status", "lac", "child_protection",
                  "young_carer", "social_worker", "address", "medical_notes", "ethnicity"]
BOOL_FIELDS = ["pupil_premium", "fsm", "eal", "lac", "child_protection", "young_carer",
               "social_worker"]
TEXT_FIELDS = ["legal_surname", "legal_forename", "preferred_forename", "preferred_surname",
               "address", "medical_notes"]


# Complexity: one check per pupil field, all errors collected per line.
def _pupil_from_row(row: dict, line: int, errors: Problems) -> dict | None:  # noqa: C901
    """The file's values for the columns it has: an absent column is not in the result,
    so it is left alone on an existing pupil; an empty cell clears its field."""
    start = len(errors)

    def bad(field_name, message):
        errors.add(line, field_name, message)

    def shown(name):
        value = row.get(name, "")
        return value if len(value) <= 40 else value[:40] + "…"

    out = {}
    try:
        out["upn"] = validate_upn(row["upn"])
    except ValueError as exc:
        bad("upn", str(exc))
    for f in TEXT_FIELDS:
        if f not in row:
            continue
        out[f] = row[f]
        if f.startswith("legal_") and not row[f]:
            bad(f, "is required")
        elif problem := _too_long(Pupil, f, row[f]):
            bad(f, problem)
    for f in ("date_of_birth", "admission_date", "leaving_date"):
        if f not in row:
            continue
        if not row[f]:
            if f != "leaving_date":
                bad(f, "is required")
            out[f] = None
            continue
        try:
            out[f] = parse_date(row[f])
        except ValueError:
            bad(f, f"'{shown(f)}' is not a date (YYYY-MM-DD)")
    gender = row.get("gender", "").upper()
    if gender not in Pupil.Gender.values:
        bad("gender", f"'{shown('gender')}' must be F, M or U")
    out["gender"] = gender
    out["year_group"] = year_group_from_text(row.get("year_group", ""))
    if out["year_group"] is None:
        bad("year_group", f"'{shown('year_group')}' must be N1, N2, R or 1–14")
    out["registration_group"] = row.get("registration_group", "")
    if not out["registration_group"]:
        bad("registration_group", "is required")
    elif problem := _too_long(RegistrationGroup, "name", out["registration_group"]):
        bad("registration_group", problem)
    for f in BOOL_FIELDS:
        if f in row:
            v = (row[f] or "N").upper()
            if v not in ("Y", "N"):
                bad(f, f"'{shown(f)}' must be Y or N")
            out[f] = v == "Y"
    if "sen_status" in row:
        out["sen_status"] = (row["sen_status"] or "N").upper()
        if out["sen_status"] not in Pupil.SEN.values:
            bad("sen_status", f"'{shown('sen_status')}' must be N, K or E")
    if "ethnicity" in row:  # the DfE census code; an empty cell: not recorded
        out["ethnicity"] = row["ethnicity"].strip().upper()
        if out["ethnicity"] and out["ethnicity"] not in Ethnicity.values:
            bad("ethnicity", f"'{shown('ethnicity')}' is not a DfE census ethnicity code "
                             "(WBRI, WIRI, … NOBT; empty: not recorded)")
    if "deletion_ground" in row:
        out["deletion_ground"] = row["deletion_ground"]
        if out["deletion_ground"] and out["deletion_ground"] not in DeletionGround.values:
            bad("deletion_ground", f"'{shown('deletion_ground')}' is not a known deletion ground")
    return out if len(errors) == start else None


def _roll_problems(values: dict, current: Pupil | None) -> list[tuple[str, str]]:
    """(field, message) for roll dates that do not fit together once merged with the record."""
    def merged(name):
        return values[name] if name in values else getattr(current, name, None)

    admission, leaving = merged("admission_date"), merged("leaving_date")
    out = []
    if leaving and admission and leaving < admission:
        out.append(("leaving_date", "is before the admission date"))
    if leaving and not merged("deletion_ground"):
        out.append(("deletion_ground", "is required when a leaving date is given"))
    return out


# Complexity: one pass: validate, match by UPN, roll-date checks, create or update.
def import_pupils(data, *, user=None, source: str = "") -> ImportResult:  # noqa: C901
    """Create or update pupils by UPN, changing only the columns the file has.

    Each change is in the pupil's history (source "import"). New roll dates that would
    leave existing marks outside the roll are refused, naming the marks.
    """
    f = CsvFile(data, PUPIL_REQUIRED, PUPIL_OPTIONAL, source=source)
    errors, parsed, seen = f.problems, [], {}
    for line, row in f.dicts():
        values = _pupil_from_row(row, line, errors)
        if values is None:
            continue
        if values["upn"] in seen:
            errors.add(line, "upn", f"duplicate of line {seen[values['upn']]}")
            continue
        seen[values["upn"]] = line
        parsed.append(values)
    if errors:
        raise f.rejected()

    columns = [c for c in f.header if c != "upn"]
    with history_context(source="import", user=user):
        existing = {p.upn: p for p in Pupil.objects.filter(upn__in=seen)}
        for values in parsed:
            for name, message in _roll_problems(values, existing.get(values["upn"])):
                errors.add(seen[values["upn"]], name, message)
        spans = {p.pk: (p.admission_date, p.leaving_date) for p in existing.values()}
        for values in parsed:
            if (p := existing.get(values["upn"])) is not None:
                spans[p.pk] = (values.get("admission_date", p.admission_date),
                               values.get("leaving_date", p.leaving_date))
        for pk, marks in marks_outside_roll(spans).items():
            pupil = next(p for p in existing.values() if p.pk == pk)
            field_name = "admission_date" if marks[0].date < spans[pk][0] else "leaving_date"
            errors.add(seen[pupil.upn], field_name, roll_change_refusal(marks, *spans[pk]))
        if errors:
            raise f.rejected()
        groups = {g.name: g for g in RegistrationGroup.objects.all()}
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
        if to_update:
            Pupil.objects.bulk_update(to_update, columns, batch_size=500)
    return ImportResult(created=len(to_create), updated=len(to_update), encoding=f.encoding)


# --- contacts ---------------------------------------------------------------

CONTACT_REQUIRED = ["upn", "priority", "forename", "surname"]
CONTACT_OPTIONAL = ["title", "relationship", "parental_responsibility", "correspondence", "phone",
                    "mobile", "email", "address"]
CONTACT_DEFAULTS = {"title": "", "relationship": "Parent", "parental_responsibility": True,
                    "correspondence": False, "phone": "", "mobile": "", "email": "", "address": ""}


# Complexity: one check per contact field, errors collected per line.
def _contact_values(row: dict, line: int, errors: Problems) -> dict:  # noqa: C901
    """The contact's fields the file gives (absent columns left out)."""
    out = {"forename": row.get("forename", ""), "surname": row.get("surname", "")}
    for f in ("forename", "surname"):
        if not out[f]:
            errors.add(line, f, "is required")
    for f in ("parental_responsibility", "correspondence"):
        if f in row:
            v = (row[f] or ("Y" if f == "parental_responsibility" else "N")).upper()
            if v not in ("Y", "N"):
                errors.add(line, f, f"'{row[f][:40]}' must be Y or N")
            out[f] = v == "Y"
    for f in ("title", "relationship", "phone", "mobile", "email", "address"):
        if f in row:
            out[f] = row[f] or ("Parent" if f == "relationship" else "")
    for f in ("forename", "surname", "title", "relationship", "phone", "mobile", "email"):
        if f in out and (problem := _too_long(Contact, f, out[f])):
            errors.add(line, f, problem)
    if out.get("email") and len(out["email"]) <= 254:
        try:
            validate_email(out["email"])
        except ValidationError:
            errors.add(line, "email", f"'{out['email']}' is not an email address")
    return out


# Complexity: one pass: validate, match pupil, replace contacts.
def import_contacts(data, *, user=None, source: str = "") -> ImportResult:  # noqa: C901
    """Contacts in priority order; a pupil's contacts in the file replace their old ones.

    A contact already on record with the same name is updated in place (keeping their
    portal login), so the pupil's history shows what changed rather than a removal and an
    addition.
    """
    f = CsvFile(data, CONTACT_REQUIRED, CONTACT_OPTIONAL, source=source)
    pupils = dict(Pupil.objects.values_list("upn", "pk"))
    errors, rows, seen = f.problems, [], {}
    for line, row in f.dicts():
        start = len(errors)
        upn = row.get("upn", "").upper()
        if upn not in pupils:
            errors.add(line, "upn", f"no pupil with UPN '{upn[:20]}'")
        priority = row.get("priority", "")
        if not (priority.isascii() and priority.isdigit()) or not 1 <= int(priority) <= 9:
            errors.add(line, "priority", f"'{priority[:20]}' must be 1–9")
        elif (upn, priority) in seen:
            errors.add(line, "priority", f"duplicate of line {seen[(upn, priority)]}")
        else:
            seen[(upn, priority)] = line
        values = _contact_values(row, line, errors)
        if len(errors) == start:
            rows.append((pupils[upn], int(priority), values))
    if errors:
        raise f.rejected()
    pupil_ids = {pid for pid, _, _ in rows}
    with history_context(source="import", user=user):
        old: dict[tuple, list[Contact]] = {}
        for c in Contact.objects.filter(pupil_id__in=pupil_ids).order_by("priority"):
            old.setdefault((c.pupil_id, c.forename.lower(), c.surname.lower()), []).append(c)
        keep, new = [], []
        for pid, priority, values in rows:
            matches = old.get((pid, values["forename"].lower(), values["surname"].lower()))
            contact = matches.pop(0) if matches else None
            if contact is None:
                new.append(Contact(pupil_id=pid, priority=priority,
                                   **{**CONTACT_DEFAULTS, **values}))
                continue
            contact.priority = priority
            for k, v in values.items():
                setattr(contact, k, v)
            keep.append(contact)
        Contact.objects.filter(pupil_id__in=pupil_ids).exclude(
            pk__in=[c.pk for c in keep]).delete()
        fields = ["priority", *CONTACT_DEFAULTS, "forename", "surname"]
        if keep:
            Contact.objects.bulk_update(keep, fields, batch_size=500)
        Contact.objects.bulk_create(new, batch_size=1000)
        # The priorities are unique per pupil, checked at commit (deferred): check now, so a
        # clash is an error here and not at the end of an outer transaction.
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS unique_contact_priority IMMEDIATE")
            cur.execute("SET CONSTRAINTS unique_contact_priority DEFERRED")
    return ImportResult(created=len(new), updated=len(keep), encoding=f.encoding,
                        notes=[f"for {len(pupil_ids)} pupil(s)"])


# --- marks ------------------------------------------------------------------

_SESSIONS = ("AM", "PM")
_PRESENT = {"AM": "/", "PM": "\\"}
_NULL = "\\N"  # NULL in COPY's text format


CHUNK_ROWS = 10_000  # marks sent to COPY at a time


# Complexity: the streaming hot loop (~400k rows): inlined on purpose for speed.
def import_marks(data, *, user=None, role: str = "import", history: bool = False,  # noqa: C901
                 source: str = "") -> ImportResult:
    """Bulk-load marks with full validation, streaming.

    Rows are checked in Python against in-memory lookups (pupils' roll dates, open school
    days, the code set) and copied, CHUNK_ROWS at a time, into a temporary table inside the
    import's transaction; a bitmap of the sessions seen finds duplicates. Only when no row
    is bad are they merged into the marks in two set-based statements: an amendment row for
    each mark that changes, and an upsert of the marks (or one plain INSERT when none of the file's
    pupils has a mark yet in its date span: see _load_marks). A rejected file rolls back.

    The loop is the hot path of a migration (a school year is ~400k rows): a field that is
    already in canonical form (found as is in the lookup) is not stripped or upper-cased.
    """
    f = CsvFile(data, ["upn", "date", "session", "code"], ["minutes_late"], source=source)
    idx = {name: f.header.index(name) for name in f.header}
    i_upn, i_date, i_session, i_code = idx["upn"], idx["date"], idx["session"], idx["code"]
    i_min = idx.get("minutes_late")

    # pk as text: it is only written to the COPY stream. Only canonical UPNs can match.
    # (pk, admission, leaving, index): the index places the pupil in the ``taken`` bitmap.
    pupils = {upn: (str(pk), adm.isoformat(), leave.isoformat() if leave else "9999-12-31", i)
              for i, (upn, pk, adm, leave) in enumerate(Pupil.objects.values_list(
                  "upn", "pk", "admission_date", "leaving_date"))
              if upn == upn.strip().upper()}
    # A file holds what happened: later days only take codes from granted leave, accepted
    # parent reports and planned closures (registers.policy), which have their own pages.
    today = policy.clock().date()
    days = {d.isoformat(): j for j, d in enumerate(SchoolDay.objects.filter(closed=False, date__lte=today)
                                                   .values_list("date", flat=True))}
    # One bit per (pupil, day, session) seen: a duplicate is found in constant memory (a
    # school of 2,000 pupils and ten years of days is 1 MB), whatever the file's size.
    n_days = len(days)
    taken = bytearray((len(pupils) * n_days * 2) // 8 + 1)
    duplicates: list[tuple] = []
    valid_codes = set(codes.MARKABLE_CODES)
    legacy = codes.LEGACY_CODE_MAP if history else {}
    errors = f.problems
    pupil_ids: set[str] = set()
    used_days: set[str] = set()
    last_pupil = None
    count = 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE import_marks (line integer, pupil_id bigint, date date, "
                    "session text, code text, minutes_late smallint) ON COMMIT DROP")
        out: list[str] = []
        write = out.append
        with cur.cursor.copy("COPY import_marks FROM STDIN") as copy:
            for line, raw in f.rows(check_nul=False):
                try:
                    upn, day, session, code = raw[i_upn], raw[i_date], raw[i_session], raw[i_code]
                    minutes = raw[i_min] if i_min is not None and i_min < len(raw) else ""
                except IndexError:
                    errors.add(line, "row", "too few columns")
                    continue
                pupil = pupils.get(upn)
                if (pupil is not None and day in days and session in _SESSIONS
                        and code in valid_codes and not minutes and pupil[1] <= day <= pupil[2]):
                    # The common row: canonical, valid, no minutes late. Nothing to report.
                    if code == "/" or code == "\\":
                        code = _PRESENT[session]
                else:
                    checked = _check_mark(line, upn, day, session, code, minutes, pupils, days,
                                          valid_codes, legacy, errors)
                    if checked is None:
                        continue
                    pupil, day, session, code, minutes = checked
                k = (pupil[3] * n_days + days[day]) * 2 + (session == "PM")
                if taken[k >> 3] & (1 << (k & 7)):
                    if len(duplicates) < MAX_REPORTED:
                        duplicates.append((line, int(pupil[0]), day, session))
                    else:
                        errors.add(line, "row", "duplicate of an earlier row")
                    continue
                taken[k >> 3] |= 1 << (k & 7)
                if pupil is not last_pupil:  # files usually run pupil by pupil
                    pupil_ids.add(pupil[0])
                    last_pupil = pupil
                used_days.add(day)
                if code == "\\":
                    code = "\\\\"  # COPY's text format escapes a backslash
                write(f"{line}\t{pupil[0]}\t{day}\t{session}\t{code}\t{minutes or _NULL}\n")
                count += 1
                if len(out) >= CHUNK_ROWS:
                    copy.write("".join(out))
                    out.clear()
            copy.write("".join(out))
            out.clear()
        _report_duplicates(cur, duplicates, errors)
        if errors:
            raise f.rejected()
        result = _load_marks(cur, count, user=user, role=role,
                             pupil_ids=[int(pk) for pk in pupil_ids],
                             first_day=min(used_days, default=None),
                             last_day=max(used_days, default=None))
    result.encoding = f.encoding
    return result


# Complexity: one check per mark field, each with its own message.
def _check_mark(line, upn, day, session, code, minutes, pupils, days, valid_codes, legacy,  # noqa: C901
                errors: Problems):
    """Normalise and check a row that is not in canonical form: the values, or None if bad."""
    for name, value in (("upn", upn), ("date", day), ("session", session), ("code", code),
                        ("minutes_late", minutes)):
        if len(value) > 40 or "\x00" in value:
            errors.add(line, name, "contains a NUL byte (0x00)" if "\x00" in value
                       else "is longer than 40 characters")
            return None
    pupil = pupils.get(upn)
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
        errors.add(line, "upn", f"no pupil with UPN '{upn}'")
        row_ok = False
    if day not in days:
        try:
            if parse_date(day) > policy.clock().date():
                errors.add(line, "date", f"{day} is after today: ahead of time a register only holds "
                           "granted leave, accepted parent reports and planned closures")
            else:
                errors.add(line, "date", f"{day} is not a school session")
        except ValueError:
            errors.add(line, "date", f"'{day}' is not a date (YYYY-MM-DD)")
        row_ok = False
    elif pupil is not None and not (pupil[1] <= day <= pupil[2]):
        errors.add(line, "date", f"pupil {upn} is not on roll on {day}")
        row_ok = False
    if session not in _SESSIONS:
        errors.add(line, "session", f"'{session}' must be AM or PM")
        row_ok = False
    if code in legacy:
        code = legacy[code]
    elif code not in valid_codes:
        hint = " (pre-2024 code: use --history to map it)" if code in codes.LEGACY_CODE_MAP else ""
        errors.add(line, "code", f"'{code}' is not a national code{hint}")
        row_ok = False
    if code == "/" or code == "\\":
        code = _PRESENT.get(session, code)
    if minutes:
        if not (minutes.isascii() and minutes.isdigit()) or int(minutes) > 300:
            errors.add(line, "minutes_late", f"'{minutes}' is not 0–300")
            row_ok = False
        elif code != "L" and code != "U":
            errors.add(line, "minutes_late", "only L and U marks have minutes late")
            row_ok = False
    return (pupil, day, session, code, minutes) if row_ok else None


def _report_duplicates(cur, duplicates: list[tuple], errors: Problems) -> None:
    """Name the earlier line of each duplicate row: the first one is in import_marks."""
    if not duplicates:
        return
    lines, pupil_ids, days, sessions = zip(*duplicates, strict=True)
    cur.execute("""
        SELECT d.line, t.line FROM unnest(%s::integer[], %s::bigint[], %s::date[], %s::text[])
            AS d(line, pupil_id, date, session)
        JOIN import_marks t USING (pupil_id, date, session)""",
                [list(lines), list(pupil_ids), list(days), list(sessions)])
    for line, first in cur.fetchall():
        errors.add(line, "row", f"duplicate of line {first}")


def _load_marks(cur, count: int, *, user, role: str, pupil_ids: list[int] | None = None,
                first_day: str | None = None, last_day: str | None = None) -> ImportResult:
    """Write the validated rows of the temporary table import_marks through the one set-based
    write path for marks (``registers.services.marks_write_staged``): an amendment row for each
    mark that changes, and a single plain INSERT when none of the file's pupils has a mark yet
    in its date span (a first import, or a new period)."""
    user_name = (user.get_full_name() or user.username) if user else "import"
    span = (pupil_ids or [], first_day and date.fromisoformat(first_day),
            last_day and date.fromisoformat(last_day))
    written = marks_write_staged(table="import_marks", user=user, user_name=user_name, role=role,
                                 reason="import", fresh_span=span if pupil_ids else None)
    cur.execute("DROP TABLE import_marks")  # also when inside an outer transaction
    changed = written.created + written.updated
    return ImportResult(created=written.created, updated=written.updated, unchanged=count - changed)
