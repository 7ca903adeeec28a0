"""Merge fields: the sandboxed template language of letter templates.

A template body is school-edited HTML with Django template syntax (``{{ pupil.forename }}``).
It is sanitised with nh3 and checked at save time: only the tags and filters below are
available (no ``include``, ``load``, ``url``...), and every variable must be a documented merge
field, so a typo is refused with the field's name instead of printing nothing in 500 letters.
Rendering only ever sees plain dicts (never model instances), so a template cannot reach
data that is not a merge field. Merge values and quoted text are always escaped, and the
merged HTML is sanitised again before it goes to WeasyPrint (issue 10: letters cannot reach
outside themselves).
"""

from __future__ import annotations

import re
import secrets

import nh3
from django.template import (
    Context,
    Engine,
    Library,
    Template,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.template.base import FilterExpression, Variable, VariableNode, tag_re
from django.template.defaulttags import ForNode, IfNode
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.safestring import mark_safe

# --- the fields -------------------------------------------------------------------

FIELDS: dict[str, str] = {
    "pupil.forename": "Preferred first name (the legal one if none)",
    "pupil.surname": "Preferred surname (the legal one if none)",
    "pupil.preferred_name": "Preferred full name",
    "pupil.legal_forename": "Legal first name",
    "pupil.legal_surname": "Legal surname",
    "pupil.legal_name": "Legal full name",
    "pupil.class": "Class / tutor group",
    "pupil.year_group": "Year group, e.g. Year 4",
    "pupil.upn": "Unique pupil number",
    "pupil.date_of_birth": "Date of birth",
    "pupil.admission_date": "Date joined the school",
    "pupil.sen": "SEN status",
    "attendance.pct": "Attendance % this school year, one decimal place (e.g. 93.2)",
    "attendance.absence_pct": "Absence % this school year, one decimal place",
    "attendance.possible": "Possible sessions this school year",
    "attendance.attended": "Sessions attended this school year",
    "attendance.sessions_missed": "Sessions missed (authorised + unauthorised)",
    "attendance.authorised": "Authorised absence sessions",
    "attendance.unauthorised": "Unauthorised absence sessions",
    "attendance.late": "Late sessions (L)",
    "attendance.late_after_close": "Late after the register closed (U)",
    "attendance.band": "Attendance band name (e.g. Amber)",
    "attendance.band_colour": "Attendance band colour (#rrggbb)",
    "attendance.from": "First day counted (start of the school year)",
    "attendance.to": "Last day counted",
    "learning_lost.days": "Days of learning lost",
    "learning_lost.weeks": "Weeks of learning lost",
    "learning_lost.hours": "Learning hours lost (5 hours a day)",
    "learning_lost_table": "The LAP table: percentage, days in and off school, weeks, hours lost",
    "meeting.date": "Date of the pupil's next meeting",
    "meeting.time": "Time of the pupil's next meeting",
    "meeting.type": "Kind of meeting (e.g. Attendance Support Meeting)",
    "meeting.place": "Where the meeting is held",
    "contacts": "Contacts flagged for correspondence (use in {% for c in contacts %})",
    "contacts.name": "Contact's name, e.g. Mrs Jane Smith",
    "contacts.salutation": "Contact's salutation, e.g. Dear Mrs Smith",
    "contacts.address_label": "Contact's address as a label (one line each)",
    "contacts.relationship": "Relationship to the pupil",
    "recipients": "Names of everyone the letter is addressed to",
    "salutation": "Salutation for everyone the letter is addressed to",
    "address_label": "Address label of the first correspondence contact",
    "school.name": "School name",
    "school.address": "School address",
    "school.phone": "School telephone",
    "school.email": "School email",
    "school.headteacher": "Headteacher",
    "school.la_name": "Local authority",
    "signatory.name": "Who signs the letter",
    "signatory.title": "Signatory's title (e.g. Headteacher)",
    "attendance_lead": "Attendance lead / champion named in letters",
    "today": "Date of the letter",
    "leave.start": "Leave requested from",
    "leave.end": "Leave requested to",
    "leave.days_requested": "School days requested",
    "leave.days_granted": "School days granted",
    "leave.decision": "Granted / Refused",
    "leave.reason": "Reason given by the parent",
    "leave.comment": "Headteacher's comment",
    "award.title": "Award or certificate title (e.g. 100% attendance, Most improved)",
    "award.period": "Period the award is for (e.g. Autumn term 2025)",
    "award.date": "Date the award is given",
    "part_time.start": "Part-time timetable: start date",
    "part_time.planned_end": "Part-time timetable: planned end",
    "part_time.sessions": "Part-time timetable: sessions attended (e.g. Monday AM, Tuesday AM)",
    "part_time.sessions_per_week": "Part-time timetable: sessions attended a week (of 10)",
    "part_time.reason": "Part-time timetable: reason",
    "part_time.parent_agreed_on": "Part-time timetable: date the parent agreed",
    "part_time.reviews": "Part-time timetable: planned review dates",
    "part_time.social_worker_informed_on": "Part-time timetable: social worker informed on",
    "part_time.la_consulted_on": "Part-time timetable: EHC plan, LA consulted on",
}
LISTS = {"contacts"}  # fields that are lists of dicts; their sub-fields are "contacts.x"
LOOP_VARS = {"forloop.counter", "forloop.counter0", "forloop.first", "forloop.last"}

ALLOWED_FILTERS = ["date", "time", "floatformat", "default", "upper", "lower", "title", "capfirst",
                   "linebreaksbr", "join", "yesno", "length", "pluralize", "add"]
ALLOWED_TAGS = {"if": defaulttags.do_if, "for": defaulttags.do_for, "comment": defaulttags.comment}

_library = Library()
_library.tags.update(ALLOWED_TAGS)
for _name in ALLOWED_FILTERS:
    _library.filters[_name] = defaultfilters.register.filters[_name]

ENGINE = Engine(autoescape=True, string_if_invalid="")
ENGINE.template_builtins = [_library]

# --- sanitising -----------------------------------------------------------------
#
# The body is sanitised twice: at save time (the stored HTML, template tags kept) and after
# every merge (the HTML that goes to WeasyPrint). Both use the one allow-list below: no link,
# object, embed, iframe, img, svg, style element or attribute, no rel (nh3 forces
# "noopener noreferrer", so never rel=attachment), and links only to https/mailto/tel.

ALLOWED_HTML_TAGS = frozenset({
    "p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "table", "thead", "tbody", "tr",
    "th", "td", "h1", "h2", "h3", "h4", "span", "div", "hr", "blockquote", "small", "sup", "sub",
    "a", "section", "caption", "colgroup", "col"})
ALLOWED_ATTRIBUTES = {"a": {"href"}, "td": {"colspan", "rowspan"},
                      "th": {"colspan", "rowspan", "scope"}, "col": {"span"}}
ALLOWED_CLASSES = frozenset({
    "signature-block", "signature-line", "lost-table", "page-break", "boxed", "muted", "right",
    "centre", "field", "small", "lead", "notice", "form-table", "blank", "tall"})
URL_SCHEMES = frozenset({"https", "mailto", "tel"})

# Django's own lexer pattern, so the sanitiser and the compiler agree on what a tag is.
_TOKEN_RE = tag_re
_TAG_OPEN_RE = re.compile(r"<[A-Za-z!/?]")


def clean_html(html: str) -> str:
    """The allow-list applied to any HTML: formatting markup only, nothing fetched."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_HTML_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes={tag: set(ALLOWED_CLASSES) for tag in ALLOWED_HTML_TAGS},
        url_schemes=set(URL_SCHEMES),
        url_relative="deny",
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def sanitise(html: str) -> str:
    """Sanitise a template body, keeping its template tags exactly as written.

    Each tag is swapped for an unguessable placeholder, the HTML is cleaned, and the tags are
    put back: nothing is ever un-escaped afterwards, so escaped markup stays text. Markup
    inside a tag is refused by ``compile_body``; merged output is cleaned again anyway.
    """
    nonce = secrets.token_hex(8)
    held: list[str] = []

    def hold(m: re.Match) -> str:
        held.append(m.group(0))
        return f"mergetag{nonce}n{len(held) - 1}z"

    cleaned = clean_html(_TOKEN_RE.sub(hold, html))
    return re.sub(rf"mergetag{nonce}n(\d+)z", lambda m: held[int(m.group(1))], cleaned)


# --- checking ---------------------------------------------------------------------

class MergeError(ValueError):
    """A template problem, in words the person editing it can act on."""


def _var_paths(fe) -> list[tuple[str, str]]:
    """(path, literal-or-'') for the variable of a FilterExpression and its filter arguments."""
    out = []
    if isinstance(fe, FilterExpression):
        if isinstance(fe.var, Variable) and fe.var.lookups is not None:
            out.append(".".join(fe.var.lookups))
        for _func, args in fe.filters:
            for lookup, arg in args:
                if lookup and isinstance(arg, Variable) and arg.lookups is not None:
                    out.append(".".join(arg.lookups))
    return out


def _expressions(cond) -> list[FilterExpression]:
    """The FilterExpressions of an ``{% if %}`` condition (operands of its operators)."""
    if cond is None:
        return []
    if isinstance(getattr(cond, "value", None), FilterExpression):
        return [cond.value]
    out = []
    for side in ("first", "second"):
        out += _expressions(getattr(cond, side, None))
    return out


def _condition_paths(cond) -> list[str]:
    return [p for fe in _expressions(cond) for p in _var_paths(fe)]


def _literal(value):
    """Text in quotes is printed escaped, like a merge value, and never holds markup.

    Django marks template string literals safe (``{{ "<b>" }}`` prints live HTML): the
    check refuses markup characters and the copy drops the mark, so autoescape applies."""
    if isinstance(value, Promise):  # _("...") is a lazy, still-safe string: not for letters
        raise MergeError("Translated text _(\"...\") cannot be used in letters.")
    if isinstance(value, str):
        if "<" in value or ">" in value:
            raise MergeError(f"Text in quotes cannot contain < or > ({value[:40]!r}).")
        return str.__str__(value)  # a plain str, no longer SafeString
    return value


def _plain_literals(fe) -> None:
    """Check and un-safe every string literal of a FilterExpression (value and arguments)."""
    if not isinstance(fe, FilterExpression):
        return
    if isinstance(fe.var, Variable):
        fe.var.literal = _literal(fe.var.literal)
    else:
        fe.var = _literal(fe.var)
    filters = []
    for func, args in fe.filters:
        out = []
        for lookup, arg in args:
            if isinstance(arg, Variable):
                arg.literal = _literal(arg.literal)
            else:
                arg = _literal(arg)
            out.append((lookup, arg))
        filters.append((func, out))
    fe.filters = filters


def _check_path(path: str, scope: dict[str, str]) -> None:
    head, _, rest = path.partition(".")
    if head in scope:  # a loop variable over a list field
        full = f"{scope[head]}.{rest}" if rest else scope[head]
        if full in FIELDS or (not rest):
            return
        raise MergeError(f"Unknown merge field '{path}' (no field '{rest}' on {scope[head]}).")
    if path in FIELDS or path in LOOP_VARS:
        return
    raise MergeError(f"Unknown merge field '{path}'.")


# Complexity: one branch per template node type a letter may contain (the allow-list).
def _walk(nodelist, scope: dict[str, str]) -> None:  # noqa: C901
    for node in nodelist:
        if isinstance(node, VariableNode):
            _plain_literals(node.filter_expression)
            for p in _var_paths(node.filter_expression):
                _check_path(p, scope)
        elif isinstance(node, IfNode):
            for cond, body in node.conditions_nodelists:
                for fe in _expressions(cond):
                    _plain_literals(fe)
                for p in _condition_paths(cond):
                    _check_path(p, scope)
                _walk(body, scope)
        elif isinstance(node, ForNode):
            _plain_literals(node.sequence)
            seq = _var_paths(node.sequence)
            for p in seq:
                _check_path(p, scope)
            inner = dict(scope)
            if len(node.loopvars) == 1 and seq and seq[0] in LISTS:
                inner[node.loopvars[0]] = seq[0]
            elif len(node.loopvars) == 1 and seq:
                raise MergeError(f"'{seq[0]}' is not a list: only {', '.join(sorted(LISTS))} "
                                 "can be used in a for loop.")
            _walk(node.nodelist_loop, inner)
            _walk(node.nodelist_empty, scope)
        else:
            for attr in getattr(node, "child_nodelists", ()):
                _walk(getattr(node, attr, None) or [], scope)


def compile_body(body: str) -> Template:
    """Compile a sanitised body, refusing unknown tags, filters and merge fields, markup
    inside template tags and markup in quoted text."""
    for token in _TOKEN_RE.findall(body):
        if _TAG_OPEN_RE.search(token):
            raise MergeError(f"HTML cannot go inside a merge tag: {token[:60]}")
    try:
        template = Template(body, engine=ENGINE)
    except TemplateSyntaxError as exc:
        msg = str(exc)
        m = re.search(r"Invalid block tag on line \d+: '(\w+)'", msg)
        if m:
            raise MergeError(f"The tag '{{% {m.group(1)} %}}' is not allowed in letters.") from None
        m = re.search(r"Invalid filter: '(\w+)'", msg)
        if m:
            raise MergeError(f"The filter '{m.group(1)}' is not allowed in letters.") from None
        raise MergeError(f"Template error: {msg}") from None
    _walk(template.nodelist, {})
    return template


def render_body(template: Template, context: dict) -> str:
    """Merge, then sanitise the result again: whatever the template or the values did, only
    allow-listed markup reaches the PDF."""
    return clean_html(template.render(Context(context, autoescape=True)))


# --- building values ----------------------------------------------------------------

class OneDp(float):
    """A figure shown to one decimal place that still compares as a number in {% if %}."""

    def __str__(self) -> str:
        return f"{float(self):.1f}"


def label(lines: list[str]) -> str:
    """Safe HTML: escaped lines joined with <br>."""
    return mark_safe("<br>".join(escape(line) for line in lines if line))


def address_lines(address: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[\n,]", address or "") if p.strip()]
    return parts


# The LAP letter 1 table as printed in the seed (annex 5): percentage, days in school, days
# off school, weeks off school, learning hours lost, for a 190-day year.
LOST_TABLE_ROWS = [("100", "190", "0", "0", "0"), ("96%", "182", "8", "1.5", "40"),
                   ("95%", "180", "10", "2", "50"), ("90%", "170", "20", "4", "100"),
                   ("85%", "160", "30", "6", "150"), ("80%", "150", "40", "8", "200"),
                   ("75%", "140", "50", "10", "250")]


def learning_lost_table(current_pct: float | None = None) -> str:
    """The LAP letter 1 table, with the pupil's own row added when known."""
    rows = ["<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in LOST_TABLE_ROWS]
    if current_pct is not None:
        off = 190 * (100 - current_pct) / 100
        rows.append(f'<tr class="lead"><td>{current_pct:.1f}% (now)</td><td>{190 - off:g}</td>'
                    f"<td>{off:g}</td><td>{off / 5:.1f}</td><td>{off * 5:g}</td></tr>")
    return mark_safe(
        '<table class="lost-table"><thead><tr><th>Percentage</th><th>Days in School</th>'
        "<th>Days off School</th><th>Weeks off School</th><th>Learning Hours Lost</th></tr>"
        "</thead><tbody>" + "".join(rows) + "</tbody></table>")


def sample_context() -> dict:
    """Values for every field, used to preview without a pupil and to validate renders."""
    from datetime import date

    return {
        "pupil": {"forename": "Sam", "surname": "Smith", "preferred_name": "Sam Smith",
                  "legal_forename": "Samuel", "legal_surname": "Smith", "legal_name": "Samuel Smith",
                  "class": "4B", "year_group": "Year 4", "upn": "A123456789012",
                  "date_of_birth": date(2016, 5, 1), "admission_date": date(2020, 9, 1),
                  "sen": "No SEN"},
        "attendance": {"pct": OneDp(89.5), "absence_pct": OneDp(10.5), "possible": 200, "attended": 179,
                       "sessions_missed": 21, "authorised": 15, "unauthorised": 6, "late": 3,
                       "late_after_close": 1, "band": "Red", "band_colour": "#c62828",
                       "from": date(2025, 9, 1), "to": date(2026, 1, 30)},
        "learning_lost": {"days": OneDp(10.5), "weeks": OneDp(2.1), "hours": OneDp(52.5)},
        "learning_lost_table": learning_lost_table(89.5),
        "meeting": {"date": date(2026, 2, 10), "time": "9:15", "type": "Attendance Support Meeting",
                    "place": "School office"},
        "contacts": [{"name": "Mrs Jane Smith", "salutation": "Dear Mrs Smith",
                      "address_label": label(["1 High Street", "Leeds", "LS1 1AA"]),
                      "relationship": "Mother"}],
        "recipients": "Mrs Jane Smith", "salutation": "Dear Mrs Smith",
        "address_label": label(["1 High Street", "Leeds", "LS1 1AA"]),
        "school": {"name": "Example School", "address": "School Road", "phone": "0113 000 0000",
                   "email": "office@example.org", "headteacher": "A Head", "la_name": "Leeds"},
        "signatory": {"name": "A Head", "title": "Headteacher"},
        "attendance_lead": "Mrs Lead",
        "today": date(2026, 2, 1),
        "leave": {"start": date(2026, 3, 2), "end": date(2026, 3, 6), "days_requested": 5,
                  "days_granted": 0, "decision": "Refused", "reason": "Family wedding",
                  "comment": ""},
        "award": {"title": "100% attendance", "period": "Autumn term 2025", "date": date(2025, 12, 19)},
        "part_time": {"start": date(2026, 1, 5), "planned_end": date(2026, 2, 13),
                      "sessions": "Monday AM, Tuesday AM, Wednesday AM", "sessions_per_week": 3,
                      "reason": "Reintegration after a long illness",
                      "parent_agreed_on": date(2026, 1, 2), "reviews": "19 January 2026",
                      "social_worker_informed_on": "", "la_consulted_on": ""},
    }
