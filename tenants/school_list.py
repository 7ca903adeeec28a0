"""A trust's or LA's list of schools as CSV, checked whole before anything is created.

Header (any order, case-insensitive): ``schema,name,domain`` and optionally ``preset,trust,
trust_name,urn,la_code,estab,headteacher,email,phone``. Every problem is reported as
"line N, field: message"; a list with any problem creates nothing (``create_schools``).
"""

import csv
import io
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from .models import Domain, School
from .presets import PRESETS
from .services import SchoolRow

REQUIRED = ("schema", "name", "domain")
OPTIONAL = ("preset", "trust", "trust_name", "urn", "la_code", "estab", "headteacher", "email", "phone")
DETAILS = ("urn", "la_code", "estab", "headteacher", "email", "phone")
SCHEMA_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
MAX_ROWS = 5000


class SchoolListRejected(Exception):
    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


def school_list_read(text: str) -> list[SchoolRow]:
    """The rows of the list, or SchoolListRejected with every problem found."""
    errors: list[str] = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [h for h in REQUIRED if h not in header]
    unknown = [h for h in header if h and h not in REQUIRED + OPTIONAL]
    if missing or unknown:
        raise SchoolListRejected(
            [f"line 1, header: missing column '{h}'" for h in missing]
            + [f"line 1, header: unknown column '{h}' (known: {', '.join(REQUIRED + OPTIONAL)})"
               for h in unknown])
    reader.fieldnames = header
    rows: list[SchoolRow] = []
    seen_schema: dict[str, int] = {}
    seen_domain: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if len(rows) >= MAX_ROWS:
            errors.append(f"line {line}, file: more than {MAX_ROWS} schools in one list")
            break
        cell = {k: (record.get(k) or "").strip() for k in REQUIRED + OPTIONAL}
        if None in record:
            errors.append(f"line {line}, row: more cells than columns")
        if not any(cell.values()):
            continue
        bad = _row_errors(cell, line, seen_schema, seen_domain)
        errors.extend(bad)
        if not bad:
            details = {k: cell[k] for k in DETAILS if cell[k]}
            if "la_code" in details:
                details["la_code"] = int(details["la_code"])
            rows.append(SchoolRow(line=line, schema=cell["schema"], name=cell["name"],
                                  domain=cell["domain"], preset=cell["preset"], trust=cell["trust"],
                                  trust_name=cell["trust_name"], details=details))
    if not rows and not errors:
        errors.append("line 2, file: no schools listed")
    if errors:
        raise SchoolListRejected(errors)
    return rows


# Complexity: one check per CSV column, each reported by line and field.
def _row_errors(cell: dict, line: int, seen_schema: dict, seen_domain: dict) -> list[str]:  # noqa: C901
    errs = []

    def err(field, message):
        errs.append(f"line {line}, {field}: {message}")

    schema, domain = cell["schema"], cell["domain"].lower()
    cell["domain"] = domain
    if not schema:
        err("schema", "required")
    elif not SCHEMA_RE.match(schema):
        err("schema", "lower-case letters, digits and _ only, starting with a letter (at most 63)")
    elif schema in ("public", settings.TENANT_BASE_SCHEMA) or schema.startswith("pg_"):
        err("schema", f"'{schema}' is reserved")
    elif schema in seen_schema:
        err("schema", f"'{schema}' is also on line {seen_schema[schema]}")
    elif School.objects.filter(schema_name__iexact=schema).exists():
        err("schema", f"a school with schema '{schema}' already exists")
    if schema:
        seen_schema.setdefault(schema, line)
    if not cell["name"]:
        err("name", "required")
    elif len(cell["name"]) > 200:
        err("name", "at most 200 characters")
    if not domain:
        err("domain", "required")
    elif not DOMAIN_RE.match(domain):
        err("domain", f"'{domain}' is not a host name")
    elif domain in seen_domain:
        err("domain", f"'{domain}' is also on line {seen_domain[domain]}")
    elif Domain.objects.filter(domain=domain).exists():
        err("domain", f"'{domain}' is already a school's address")
    if domain:
        seen_domain.setdefault(domain, line)
    if cell["preset"] and cell["preset"] not in PRESETS:
        err("preset", f"unknown preset '{cell['preset']}': choose from {', '.join(sorted(PRESETS))}")
    if cell["trust"] and slugify(cell["trust"]) != cell["trust"]:
        err("trust", "a short name of lower-case letters, digits and hyphens (e.g. oak-trust)")
    if cell["la_code"] and not (cell["la_code"].isdigit() and 100 <= int(cell["la_code"]) <= 999):
        err("la_code", "the LA's three-digit number (e.g. 383)")
    if cell["estab"] and not (cell["estab"].isdigit() and len(cell["estab"]) == 4):
        err("estab", "the DfE establishment number: four digits")
    if cell["urn"] and not (cell["urn"].isdigit() and len(cell["urn"]) <= 10):
        err("urn", "digits only (at most 10)")
    if not errs:
        probe = School(schema_name=schema, name=cell["name"],
                       **{k: cell[k] for k in ("urn", "estab", "headteacher", "email", "phone")})
        try:
            probe.full_clean(exclude=["schema_name", "trust"], validate_unique=False)
        except ValidationError as e:
            for field, messages in e.message_dict.items():
                for message in messages:
                    err(field if field != "__all__" else "row", message)
    return errs
