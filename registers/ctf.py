"""Common Transfer Files: pupils, contacts and attendance in and out (docs/domain.md section 7).

Import reads the published CTF structure (``CTfile/Header`` and ``CTfile/CTFpupilData/Pupil``
with ``BasicDetails``, ``Address``, ``Phones``, ``Email``, ``Contacts/Contact`` and
``Attendance/YearData``) and writes through the CSV importers of registers.imports, so one
set of rules checks a pupil, a contact or a mark however it arrives. A ``YearData`` of
this school (its LAESTAB) becomes register marks through ``import_marks``; a
``YearData`` of any other school is kept as AttendanceHistory and never counted here.

AttendanceMarks: one entry per session from ``AttendanceStartDate``, AM then PM of each
weekday (Saturdays and Sundays have no entry); comma-separated since CTF 24, one
character per session before. ``#`` is a closure and ``-`` (or an empty entry) no mark:
neither is imported. Pre-2024 codes go through codes.LEGACY_CODE_MAP.

The XML parser resolves no entities, loads no DTD and fetches nothing; a file with a
DOCTYPE (the carrier of XXE and "billion laughs" attacks) is refused outright.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from lxml import etree

from . import codes, imports, policy
from .imports import ImportRejected, ImportResult, RowError
from .models import YEAR_GROUP_CODES, YEAR_GROUPS, AttendanceHistory, Contact, Mark, Pupil, SchoolDay
from .school_year import school_year_start

CTF_VERSION = "25.0"
NO_MARK = ("", "-")
CLOSED = "#"
RELATIONSHIPS = {
    "PAR": "Parent", "PAM": "Parent", "PAF": "Parent", "CAR": "Carer",
    "STP": "Step-parent", "STM": "Step-parent", "STF": "Step-parent",
    "FOP": "Foster parent", "FOM": "Foster parent", "FOF": "Foster parent",
    "GRP": "Grandparent", "GRM": "Grandparent", "GRF": "Grandparent",
    "REL": "Relative", "SWR": "Social worker", "CHM": "Childminder", "OTH": "Other",
}
RELATIONSHIP_CODES = {"Parent": "PAR", "Carer": "CAR", "Step-parent": "STP",
                      "Foster parent": "FOP", "Grandparent": "GRP", "Relative": "REL",
                      "Social worker": "SWR", "Childminder": "CHM"}
# SEN provision: N none, K SEN support, E EHC plan; pre-2014 S (statement) and A / P
# (School Action / Plus) as the 2014 transition mapped them.
SEN_CODES = {"N": "N", "K": "K", "E": "E", "S": "E", "A": "K", "P": "K"}
YEAR_LABEL = {n: ("R" if n == 0 else "N1" if n == -2 else "N2" if n == -1 else str(n))
              for n, _ in YEAR_GROUPS}


# --- parsing -------------------------------------------------------------------------------

def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML: no entities, no DTD, no network; a DOCTYPE is refused."""
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True,
                             dtd_validation=False, huge_tree=False, remove_comments=True,
                             remove_pis=True)
    refused = ImportRejected([RowError(1, "DOCTYPE", "the file declares a DOCTYPE or entities, "
                                       "which a Common Transfer File never does: refused "
                                       "(this is how XML entity attacks are carried)")])
    upper = data.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise refused
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ImportRejected([RowError(exc.lineno or 1, "XML",
                                       f"not well-formed XML: {exc.msg}")]) from None
    if root.getroottree().docinfo.doctype:  # e.g. a UTF-16 file, which the byte check misses
        raise refused
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]  # CTFs carry no namespace; tolerate one
    if root.tag != "CTfile":
        raise ImportRejected([RowError(root.sourceline or 1, root.tag,
                                       "the root element must be CTfile")])
    return root


def _text(el, path: str) -> str:
    found = el.find(path) if el is not None else None
    return (found.text or "").strip() if found is not None and found.text else ""


def _yn_or_empty(value: bool | None) -> str:
    return "" if value is None else ("Y" if value else "N")


def _flag(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "y", "yes")


def _address(el) -> str:
    if el is None:
        return ""
    lines = [(x.text or "").strip() for x in el.iter("AddressLine")]
    bs = el.find("BS7666Address")
    if bs is not None:
        house = " ".join(_text(bs, t) for t in ("SAON", "PAON") if _text(bs, t))
        street = " ".join(p for p in (house, _text(bs, "Street")) if p)
        lines = [street] + [_text(bs, t) for t in ("Locality", "Town", "AdministrativeArea",
                                                   "PostTown")]
    lines.append(_text(el, "PostCode"))
    return "\n".join(x for x in lines if x)


def _phones(el) -> dict:
    out = {"phone": "", "mobile": ""}
    for ph in (el.findall("Phones/Phone") if el is not None else []):
        number, kind = _text(ph, "PhoneNo"), _text(ph, "TelephoneType").upper()
        key = "mobile" if kind == "M" else "phone"
        if number and not out[key]:
            out[key] = number
    return out


def split_marks(text: str) -> list[str]:
    """The entries of an AttendanceMarks string, old (one character each) or new (commas)."""
    text = text.strip()
    if "," in text:
        return [t.strip() for t in text.split(",")]
    return list(text)


def sessions_from(start: date):
    """(date, "AM"/"PM") for every weekday session from ``start``, without end."""
    d = start
    while True:
        if d.weekday() < 5:
            yield d, "AM"
            yield d, "PM"
        d += timedelta(days=1)


@dataclass
class YearData:
    line: int
    path: str
    school_year: int | None
    lea: str
    estab: str
    possible: int | None
    authorised: int | None
    unauthorised: int | None
    start: date | None
    marks: list[str]  # normalised: national codes, "#" or "-"
    school_name: str

    @property
    def laestab(self) -> str:
        return f"{self.lea}{self.estab}"


@dataclass
class CTFPupil:
    line: int
    upn: str
    row: dict  # import_pupils columns
    contacts: list[dict] = field(default_factory=list)
    years: list[YearData] = field(default_factory=list)
    schools: list[tuple[str, str]] = field(default_factory=list)  # (LAESTAB, EntryDate)

    def entry_date(self, laestab: str) -> date | None:
        """When the pupil joined the school ``laestab``, from SchoolHistory."""
        return next((date.fromisoformat(d) for s, d in self.schools if s == laestab and d),
                    None)


def _int(value: str, where, errors) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 6:
        errors.append(RowError(*where, f"'{value}' is not a whole number up to 999999"))
        return None
    return int(value)


def _too_long(values: dict, model, where, errors) -> None:
    """A value longer than its column would fail in the database: report it instead."""
    for name, value in values.items():
        try:
            limit = model._meta.get_field(name).max_length
        except FieldDoesNotExist:  # _line and _where are ours
            continue
        if limit and isinstance(value, str) and len(value) > limit and \
                model._meta.get_field(name).get_internal_type() == "CharField":
            errors.append(RowError(*where(name), f"is longer than {limit} characters"))


# Complexity: one branch per optional CTF element, in the schema's order.
def _parse_pupil(el, index: int, errors: list[RowError]) -> CTFPupil | None:  # noqa: C901
    upn_raw = _text(el, "UPN")
    try:
        upn = imports.validate_upn(upn_raw)
    except ValueError as exc:
        errors.append(RowError(el.sourceline, f"Pupil[{index}]/UPN", str(exc)))
        return None
    start = len(errors)

    def bad(node, element, message):
        errors.append(RowError(getattr(node, "sourceline", None) or el.sourceline,
                               f"UPN {upn}: {element}", message))

    basic = el.find("BasicDetails")
    sex = (_text(el, "Sex") or _text(basic, "Sex")).upper()
    nc = (_text(basic, "NCyearActual") or _text(el, "NCyearActual")).upper()
    fsm = any(not _text(inst, "FSMendDate") or _text(inst, "FSMendDate") >= date.today().isoformat()
              for inst in el.findall("FSMhistory/FSMinstance") + el.findall(
                  "BasicDetails/FSMhistory/FSMinstance"))
    fsm_known = bool(el.findall("FSMhistory") or el.findall("BasicDetails/FSMhistory")
                     or (basic is not None and basic.find("FSMeligible") is not None))
    sen = ""
    for s in el.findall("SENhistory/SEN") + el.findall("BasicDetails/SENhistory/SEN"):
        sen = _text(s, "SENprovision") or sen
    sen = sen or _text(basic, "SENprovision")
    row = {
        "upn": upn,
        "legal_surname": _text(el, "Surname") or _text(basic, "Surname"),
        "legal_forename": _text(el, "Forename") or _text(basic, "Forename"),
        "preferred_surname": _text(basic, "PreferredSurname"),
        "preferred_forename": _text(basic, "PreferredForename"),
        "date_of_birth": _text(el, "DOB") or _text(basic, "DOB"),
        "gender": sex if sex in Pupil.Gender.values else ("U" if sex else ""),
        "year_group": nc.removeprefix("Y"),
        # Empty when the file says nothing: a new pupil gets the default, a known one keeps
        # what the school has.
        "fsm": _yn_or_empty((fsm or _flag(_text(basic, "FSMeligible"))) if fsm_known else None),
        "pupil_premium": _yn_or_empty(_flag(_text(basic, "PupilPremium"))
                                      if _text(basic, "PupilPremium") else None),
        "sen_status": SEN_CODES.get(sen.upper(), sen),
        "ethnicity": _text(basic, "Ethnicity").upper(),
        "address": _address(el.find("Address")),
    }
    pupil = CTFPupil(el.sourceline, upn, row)
    _too_long(row, Pupil, lambda name: (el.sourceline, f"UPN {upn}: {name}"), errors)
    for i, s in enumerate(el.findall("SchoolHistory/School"), start=1):
        entry = _text(s, "EntryDate")
        pupil.schools.append((f"{_text(s, 'LEA')}{_text(s, 'Estab')}", entry))
        if entry:
            try:
                date.fromisoformat(entry)
            except ValueError:
                bad(s, f"SchoolHistory/School[{i}]/EntryDate",
                    f"'{entry}' is not a date (YYYY-MM-DD)")
    pupil_email, pupil_phones = _text(el, "Email"), _phones(el)

    for i, c in enumerate(el.findall("Contacts/Contact"), start=1):
        where = f"Contacts/Contact[{i}]"
        order = _text(c, "Order") or str(i)
        rel = _text(c, "Relationship").upper()
        corr = c.find("Correspondence")
        pupil.contacts.append({
            "upn": upn, "priority": order, "title": _text(c, "Title"),
            "forename": _text(c, "Forename"), "surname": _text(c, "Surname"),
            "relationship": RELATIONSHIPS.get(rel, _text(c, "Relationship")) or "Parent",
            "parental_responsibility": "Y" if _flag(_text(c, "Responsibility") or "true") else "N",
            "correspondence": "" if corr is None else ("Y" if _flag(corr.text or "") else "N"),
            "email": _text(c, "Email"), "address": _address(c.find("Address")),
            **_phones(c), "_line": c.sourceline, "_where": where,
        })
    if pupil.contacts and not any(c["correspondence"] for c in pupil.contacts):
        # A file without the flag: letters go to the first contact.
        first = min(pupil.contacts, key=lambda c: c["priority"])
        first["correspondence"] = "Y"
    for c in pupil.contacts:
        _too_long(c, Contact, lambda name, c=c: (c["_line"], f"UPN {upn}: {c['_where']}/{name}"),
                  errors)
        c["correspondence"] = c["correspondence"] or "N"
        c["email"] = c["email"] or ""
        if not (c["phone"] or c["mobile"]) and c is pupil.contacts[0]:
            c.update(pupil_phones)
        if not c["email"] and c is pupil.contacts[0]:
            c["email"] = pupil_email

    for i, y in enumerate(el.findall("Attendance/YearData"), start=1):
        where = f"Attendance/YearData[{i}]"
        loc = (y.sourceline, f"UPN {upn}: {where}")
        year = _int(_text(y, "Year"), (loc[0], loc[1] + "/Year"), errors)
        sessions = y.find("AttendSessions")
        start_text = _text(sessions, "AttendanceStartDate")
        marks_text = _text(sessions, "AttendanceMarks")
        start_day = None
        if marks_text:
            try:
                start_day = date.fromisoformat(start_text)
            except ValueError:
                bad(sessions, f"{where}/AttendSessions/AttendanceStartDate",
                    f"'{start_text}' is not a date (YYYY-MM-DD)")
        marks = []
        for n, ((day, session), token) in enumerate(
                zip(sessions_from(start_day or date(2000, 1, 3)), split_marks(marks_text),
                    strict=False), start=1):
            token = token.upper() if token not in ("\\",) else token
            if token in NO_MARK:
                marks.append("-")
            elif token == CLOSED:
                marks.append(CLOSED)
            elif token in codes.LEGACY_CODE_MAP:
                marks.append(codes.LEGACY_CODE_MAP[token])
            elif token in codes.CODES and token != "Z":
                marks.append(codes.present_code(session) if token in ("/", "\\") else token)
            else:
                bad(sessions, f"{where}/AttendSessions/AttendanceMarks",
                    f"entry {n} ({day} {session}): '{token}' is not an attendance code")
        lea, estab = _text(y, "LEA"), _text(y, "Estab")
        if not (lea.isdigit() and len(lea) == 3):
            bad(y, f"{where}/LEA", f"'{lea}' must be a 3-digit LA number")
        if not (estab.isdigit() and len(estab) == 4):
            bad(y, f"{where}/Estab", f"'{estab}' must be a 4-digit establishment number")
        if year is None:
            bad(y, f"{where}/Year", "is required")
        elif not 1990 <= year <= 2100:
            bad(y, f"{where}/Year", f"{year} is not a school year")
        elif (year, lea, estab) in {(o.school_year, o.lea, o.estab) for o in pupil.years}:
            bad(y, f"{where}/Year", f"a second YearData for {year} at {lea}{estab}")
        pupil.years.append(YearData(
            y.sourceline, where, year, lea, estab,
            _int(_text(y, "SessionsPossible"), (loc[0], loc[1] + "/SessionsPossible"), errors),
            _int(_text(y, "SessionsAuthorised"), (loc[0], loc[1] + "/SessionsAuthorised"), errors),
            _int(_text(y, "SessionsUnauthorised"), (loc[0], loc[1] + "/SessionsUnauthorised"),
                 errors),
            start_day, marks, _text(y, "SchoolName")[:200]))
    return pupil if len(errors) == start else None


def parse_ctf(data: bytes) -> list[CTFPupil]:
    root = parse_xml(data)
    errors: list[RowError] = []
    pupils, seen = [], {}
    elements = root.findall("CTFpupilData/Pupil")
    if not elements:
        raise ImportRejected([RowError(root.sourceline or 1, "CTFpupilData",
                                       "the file holds no Pupil element")])
    for i, el in enumerate(elements, start=1):
        p = _parse_pupil(el, i, errors)
        if p is None:
            continue
        if p.upn in seen:
            errors.append(RowError(el.sourceline, f"UPN {p.upn}",
                                   f"the pupil appears twice (also line {seen[p.upn]})"))
            continue
        seen[p.upn] = el.sourceline
        pupils.append(p)
    if errors:
        raise ImportRejected(errors)
    return pupils


# --- import --------------------------------------------------------------------------------

def _csv(rows: list[dict], columns: list[str]) -> str:
    """An in-memory pipe into the CSV importers, never a file anyone opens: values go
    through unchanged (spreadsheet.safe_cell would alter a name that starts with "-")."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c, "") for c in columns])
    return out.getvalue()


def _remap(exc: ImportRejected, where: list[tuple[int, str]], text: str) -> ImportRejected:
    """Turn the CSV importers' line numbers (where each record starts: a value such as an
    address may span lines) back into the CTF's UPN and element."""
    reader, starts, line = csv.reader(io.StringIO(text)), {}, 1
    next(reader, None)
    for i, _ in enumerate(reader):
        starts[line + 1] = i
        line = reader.line_num
    out = []
    for e in exc.errors:
        i = starts.get(e.line)
        line, path = where[i] if i is not None and i < len(where) else (1, "file")
        out.append(RowError(line, f"{path}/{e.field}", e.message))
    return ImportRejected(out)


PUPIL_COLUMNS = imports.PUPIL_REQUIRED + imports.PUPIL_OPTIONAL
CONTACT_COLUMNS = imports.CONTACT_REQUIRED + imports.CONTACT_OPTIONAL


# Complexity: one pass over the file's pupils: match, add, attendance years, errors.
def import_ctf(data: bytes, *, school, user=None, role: str = "import") -> ImportResult:  # noqa: C901
    """Import a CTF atomically: every problem is reported by UPN and element, or all of it
    is written. Existing pupils keep their group, roll dates and the flags a CTF does not
    carry; their contacts are replaced by the file's."""
    ctf = parse_ctf(data)
    own = school.laestab
    today = policy.clock().date()
    with transaction.atomic():
        existing = {p.upn: p for p in Pupil.objects.select_related("registration_group")
                    .filter(upn__in=[p.upn for p in ctf])}
        rows, where = [], []
        for p in ctf:
            row = dict(p.row)
            old = existing.get(p.upn)
            own_years = [y for y in p.years if own and y.laestab == own and y.start]
            if old is not None:
                for f in PUPIL_COLUMNS:
                    if f not in row or (f in imports.PUPIL_OPTIONAL and not row[f]):
                        value = getattr(old, f)
                        row[f] = ("Y" if value else "N") if isinstance(value, bool) else (
                            value.isoformat() if isinstance(value, date) else value or "")
                row["registration_group"] = old.registration_group.name
                row["year_group"] = row["year_group"] or YEAR_LABEL[old.year_group]
            else:
                admitted = (own and p.entry_date(own)) or min((y.start for y in own_years), default=today)
                row["admission_date"] = admitted.isoformat()
                yg = YEAR_GROUP_CODES.get(row["year_group"])
                row["registration_group"] = (f"New arrivals Y{YEAR_LABEL[yg]}"
                                             if yg is not None else "New arrivals")
            rows.append(row)
            where.append((p.line, f"UPN {p.upn}"))
        text = _csv(rows, PUPIL_COLUMNS)
        try:
            result = imports.import_pupils(text)
        except ImportRejected as exc:
            raise _remap(exc, where, text) from None

        contacts = [c for p in ctf for c in p.contacts]
        if contacts:
            text = _csv(contacts, CONTACT_COLUMNS)
            try:
                imports.import_contacts(text)
            except ImportRejected as exc:
                raise _remap(exc, [(c["_line"], f"UPN {c['upn']}: {c['_where']}")
                                   for c in contacts], text) from None

        ids = dict(Pupil.objects.filter(upn__in=[p.upn for p in ctf]).values_list("upn", "pk"))
        history, mark_rows, mark_where, mismatched = [], [], [], []
        for p in ctf:
            for y in p.years:
                if own and y.laestab == own:
                    if not (y.start and y.marks):
                        continue
                    stated = (y.possible, y.authorised, y.unauthorised)
                    if None not in stated and stated != _counts(y.marks):
                        mismatched.append(f"UPN {p.upn} {y.path}: the file's session counts "
                                          f"{stated} differ from its marks {_counts(y.marks)}")
                    for (day, session), code in zip(sessions_from(y.start), y.marks, strict=False):
                        if code not in ("-", CLOSED):
                            mark_rows.append({"upn": p.upn, "date": day.isoformat(),
                                              "session": session, "code": code})
                            mark_where.append((y.line, f"UPN {p.upn}: {y.path}/AttendanceMarks "
                                                       f"{day} {session}"))
                else:
                    history.append(AttendanceHistory(
                        pupil_id=ids[p.upn], school_year=y.school_year, lea=y.lea,
                        estab=y.estab, school_name=y.school_name,
                        sessions_possible=y.possible, sessions_authorised=y.authorised,
                        sessions_unauthorised=y.unauthorised, start_date=y.start,
                        marks=",".join(y.marks)))
        AttendanceHistory.objects.filter(pupil_id__in=ids.values()).delete()
        AttendanceHistory.objects.bulk_create(history)
        marks = ImportResult()
        if mark_rows:
            text = _csv(mark_rows, ["upn", "date", "session", "code"])
            try:
                marks = imports.import_marks(text, user=user, role=role)
            except ImportRejected as exc:
                raise _remap(exc, mark_where, text) from None
    result.notes = [f"{len(contacts)} contact(s)",
                    f"{marks.created} mark(s) written, {marks.updated} amended",
                    f"{len(history)} school year(s) of attendance at other schools kept"]
    if mismatched:
        # The marks are what is imported; a count that disagrees is worth a look, not a refusal.
        result.notes += mismatched[:5] + ([f"and {len(mismatched) - 5} more"]
                                          if len(mismatched) > 5 else [])
    if not own:
        result.notes.append("this school has no LAESTAB set, so no YearData was taken as its own")
    return result


# --- export --------------------------------------------------------------------------------

def _sub(parent, tag: str, text=None):
    el = etree.SubElement(parent, tag)
    if text not in (None, ""):
        el.text = str(text)
    return el


def _address_el(parent, text: str):
    if not text:
        return
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    addr = _sub(parent, "Address")
    al = _sub(addr, "AddressLines")
    for x in lines:
        _sub(al, "AddressLine", x)


def _year_marks(pupil_marks: dict, days: dict, first: date, last: date) -> list[str]:
    out, d = [], first
    while d <= last:
        if d.weekday() < 5:
            for session in ("AM", "PM"):
                code = pupil_marks.get((d, session))
                out.append(code if code else (CLOSED if days.get(d) else "-"))
        d += timedelta(days=1)
    while out and out[-1] == "-":
        out.pop()
    return out


def _counts(marks: list[str]) -> tuple[int, int, int]:
    cats = [codes.category_of(c) for c in marks if c in codes.CODES]
    possible = sum(c in (codes.PRESENT, codes.AEA, codes.AUTHORISED, codes.UNAUTHORISED)
                   for c in cats)
    return possible, cats.count(codes.AUTHORISED), cats.count(codes.UNAUTHORISED)


# Complexity: writes the CTF elements in the schema's order, optional ones conditionally.
def export_ctf(pupils, *, school, to_laestab: str, now=None) -> bytes:  # noqa: C901
    """A CTF for ``pupils`` with every school year of marks on record (this school's
    registers and the history other schools sent)."""
    now = now or date.today()
    pupils = list(pupils.prefetch_related("contacts", "attendance_history"))
    closed = dict(SchoolDay.objects.values_list("date", "closed"))
    marks: dict[int, dict] = {}
    for pid, day, session, code in Mark.objects.filter(pupil__in=pupils).values_list(
            "pupil_id", "date", "session", "code").order_by():
        marks.setdefault(pid, {})[(day, session)] = code
    lea, estab = (f"{school.la_code:03d}" if school.la_code else ""), school.estab
    root = etree.Element("CTfile")
    header = _sub(root, "Header")
    _sub(header, "DocumentName", "Common Transfer File")
    _sub(header, "CTFversion", CTF_VERSION)
    _sub(header, "DateTime", f"{now.isoformat()}T00:00:00")
    _sub(header, "DocumentQualifier", "partial")
    source = _sub(header, "SourceSchool")
    _sub(source, "LEA", lea)
    _sub(source, "Estab", estab)
    _sub(source, "URN", school.urn)
    _sub(source, "SchoolName", school.name)
    _sub(source, "AcademicYear", school_year_start(now).year)
    dest = _sub(header, "DestSchool")
    _sub(dest, "LEA", to_laestab[:3])
    _sub(dest, "Estab", to_laestab[3:])
    data = _sub(root, "CTFpupilData")
    for p in pupils:
        el = _sub(data, "Pupil")
        _sub(el, "UPN", p.upn)
        _sub(el, "Surname", p.legal_surname)
        _sub(el, "Forename", p.legal_forename)
        _sub(el, "DOB", p.date_of_birth.isoformat())
        _sub(el, "Sex", p.gender)
        basic = _sub(el, "BasicDetails")
        _sub(basic, "PreferredSurname", p.preferred_surname)
        _sub(basic, "PreferredForename", p.preferred_forename)
        _sub(basic, "NCyearActual", YEAR_LABEL[p.year_group])
        _sub(basic, "FSMeligible", "true" if p.fsm else "false")
        _sub(basic, "PupilPremium", "true" if p.pupil_premium else "false")
        _sub(basic, "Ethnicity", p.ethnicity)
        sen = _sub(_sub(el, "SENhistory"), "SEN")
        _sub(sen, "SENprovision", p.sen_status)
        _address_el(el, p.address)
        contacts = _sub(el, "Contacts")
        for c in p.contacts.all():
            ce = _sub(contacts, "Contact")
            _sub(ce, "Order", c.priority)
            _sub(ce, "Title", c.title)
            _sub(ce, "Surname", c.surname)
            _sub(ce, "Forename", c.forename)
            _sub(ce, "Relationship", RELATIONSHIP_CODES.get(c.relationship, c.relationship))
            _sub(ce, "Responsibility", "true" if c.parental_responsibility else "false")
            _sub(ce, "Correspondence", "true" if c.correspondence else "false")
            _address_el(ce, c.address)
            if c.phone or c.mobile:
                phones = _sub(ce, "Phones")
                for kind, number in (("H", c.phone), ("M", c.mobile)):
                    if number:
                        ph = _sub(phones, "Phone")
                        _sub(ph, "TelephoneType", kind)
                        _sub(ph, "PhoneNo", number)
            _sub(ce, "Email", c.email)
        attendance = _sub(el, "Attendance")
        years: dict[int, list[date]] = {}
        for day, _ in marks.get(p.pk, {}):
            years.setdefault(school_year_start(day).year, []).append(day)
        entries = []
        for y, ds in years.items():
            # From the year's first school day on roll, so closures before a first mark show.
            first = min([d for d in closed if school_year_start(d).year == y
                         and d >= p.admission_date] + ds)
            entries.append((y, lea, estab, school.name, first,
                            _year_marks(marks[p.pk], closed, first, max(ds))))
        entries += [(h.school_year, h.lea, h.estab, h.school_name, h.start_date,
                     h.marks.split(",") if h.marks else [], h)
                    for h in p.attendance_history.all()]
        for entry in sorted(entries, key=lambda e: (e[0], e[1], e[2])):
            year, y_lea, y_estab, name, start, codes_list = entry[:6]
            yd = _sub(attendance, "YearData")
            _sub(yd, "Year", year)
            _sub(yd, "LEA", y_lea)
            _sub(yd, "Estab", y_estab)
            _sub(yd, "SchoolName", name)
            if len(entry) == 7:
                h = entry[6]
                counts = (h.sessions_possible, h.sessions_authorised, h.sessions_unauthorised)
            else:
                counts = _counts(codes_list)
            for tag, value in zip(("SessionsPossible", "SessionsAuthorised",
                                   "SessionsUnauthorised"), counts, strict=True):
                _sub(yd, tag, value)
            if start and codes_list:
                sessions = _sub(yd, "AttendSessions")
                _sub(sessions, "AttendanceStartDate", start.isoformat())
                _sub(sessions, "AttendanceMarks", ",".join(codes_list))
        history = _sub(el, "SchoolHistory")
        own = _sub(history, "School")
        _sub(own, "LEA", lea)
        _sub(own, "Estab", estab)
        _sub(own, "SchoolName", school.name)
        _sub(own, "EntryDate", p.admission_date.isoformat())
        if p.leaving_date:
            _sub(own, "LeavingDate", p.leaving_date.isoformat())
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def pupils_for_export(*, upns=None, year_group=None, leavers_since=None):
    """The pupils a CTF is for; raises ValueError naming an unknown UPN."""
    qs = Pupil.objects.all()
    if upns:
        upns = [u.strip().upper() for u in upns]
        found = set(qs.filter(upn__in=upns).values_list("upn", flat=True))
        missing = [u for u in upns if u not in found]
        if missing:
            raise ValueError(f"no pupil with UPN {', '.join(missing)}")
        return qs.filter(upn__in=upns)
    if year_group is not None:
        return qs.filter(year_group=year_group, leaving_date__isnull=True)
    return qs.filter(leaving_date__gte=leavers_since)

