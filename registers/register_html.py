"""The register page's pupil rows, built in Python (issue 18.5, the 8.40 peak).

Thirty rows of templates/registers/register.html rendered node by node were half of the
page's time. ``rows_html`` writes the same HTML byte for byte (tests/registers/
test_register_html.py renders the template the rows came from and compares), every value
escaped as the template's autoescape did (``_e``: django.utils.html.conditional_escape's
output, without its per-call wrappers).
"""

import html

from django.utils.safestring import SafeData, mark_safe

from tenants.roles import SAFEGUARDING_READERS

from .templatetags.attendance import code_options

EMPTY = '\n    <li class="alert alert-info">No pupils are on roll in this class on this day.</li>\n  '


def _e(value) -> str:
    """What ``{{ value }}`` prints with autoescape and localize off: str(), HTML-escaped."""
    return value if isinstance(value, SafeData) else html.escape(str(value))


def _initials(pupil) -> str:
    """``{{ p.forename|first }}{{ p.surname|first }}``."""
    return _e(pupil.forename[:1]) + _e(pupil.surname[:1])


def _flags_html(row: dict, pupil, safeguarding: bool) -> str:
    report, planned = row["report"], row["planned"]
    if not (pupil.flags or report or planned):
        return ""
    flags = pupil.safeguarding_flags if safeguarding else pupil.flags
    out = ['<div class="flags">']
    out += [f'<span class="badge text-bg-light border">{_e(f)}</span> ' for f in flags]
    out.append("\n            ")
    if report:
        out.append(f'<span class="badge text-bg-info text-wrap" title="{_e(report.details)}">'
                   f"Parent reported: {_e(report.get_reason_display())} "
                   f"({_e(report.suggested_code)}{', proposed' if row['proposed'] else ''})</span>")
    out.append("\n            ")
    if planned:
        proposed = ", proposed" if row["proposed"] == planned.code else ""
        out.append(f'<span class="badge text-bg-secondary text-wrap planned-badge">'
                   f"{_e(planned.why)} ({_e(planned.code)}{proposed})</span>")
        if planned.overrun:
            out.append(' <span class="badge text-bg-warning">Past its planned end</span>')
    out.append("\n          </div>")
    return "".join(out)


def _row_html(row: dict, errors: dict, safeguarding: bool) -> str:
    p = row["pupil"]
    pk, name = _e(p.pk), _e(p.display_name)
    mark, report, planned, conflict = row["mark"], row["report"], row["planned"], row["conflict"]
    off = "" if row["writable"] else " disabled"
    saved = _e((mark.code or "") if mark else "")
    minutes = "" if mark is None or mark.minutes_late is None else _e(mark.minutes_late)
    avatar = (f'<img src="{_e(p.photo.url)}" alt="" class="avatar">' if p.photo else
              f'<span class="avatar" aria-hidden="true">{_initials(p)}</span>')
    data = (f' data-report="{_e(report.suggested_code)}"' if report else "") + \
        (f' data-planned="{_e(planned.code)}"' if planned else "")
    error = (f'<div class="text-danger small row-error">{_e(errors[p.pk])}</div>'
             if p.pk in errors else "")
    changed = (f'<div class="text-danger small row-error">Changed by {_e(conflict.by)} to '
               f'{_e(conflict.theirs or "unmarked")} after you opened the register: give a '
               f"reason to save yours ({_e(conflict.yours)}).</div>" if conflict else "")
    return (
        f'\n    <li class="register-row{" has-error" if p.pk in errors or conflict else ""}'
        f'{"" if row["writable"] else " is-locked"}" tabindex="0" data-pupil="{pk}"\n'
        f'        data-saved="{saved}" data-saved-minutes="{minutes}"{data}\n'
        f'        data-name="{name}" aria-labelledby="name-{pk}">\n'
        f'      <div class="pupil">\n'
        f"        {avatar}\n"
        f'        <div class="pupil-text">\n'
        f'          <div class="name" id="name-{pk}">{name}</div>\n'
        f"          {_flags_html(row, p, safeguarding)}\n"
        f"          {error}\n"
        f"          {changed}\n"
        f"        </div>\n"
        f"      </div>\n"
        f'      <div class="actions">\n'
        f'        <button type="button" class="btn btn-outline-success act"{off} data-code="present" '
        f'aria-pressed="false" aria-label="Present: {name}"><span aria-hidden="true">&check;</span> '
        f"Present</button>\n"
        f'        <button type="button" class="btn act act-late"{off} data-code="late" '
        f'aria-pressed="false" aria-label="Late: {name}">Late</button>\n'
        f'        <button type="button" class="btn btn-outline-danger act"{off} data-code="N" '
        f'aria-pressed="false" aria-label="Absent: {name} (N, no reason yet)">Absent</button>\n'
        f'        <label class="visually-hidden" for="code-{pk}">Code for {name}</label>\n'
        f'        <input type="hidden" name="base-{pk}" value="{_e(row["base"])}">\n'
        f'        <select class="form-select code" name="code-{pk}" id="code-{pk}"{off}>\n'
        f'          <option value=""{" disabled" if mark else ""}>– unmarked –</option>\n'
        f'          {_e(code_options(row["code"]))}\n'
        f"        </select>\n"
        f'        <div class="late-box input-group">\n'
        f'          <label class="visually-hidden" for="minutes-{pk}">Minutes late for {name}</label>\n'
        f'          <input class="form-control minutes" type="number" min="0" max="300" '
        f'inputmode="numeric" name="minutes-{pk}" id="minutes-{pk}" value="{_e(row["minutes"])}"'
        f'{off} aria-describedby="minutes-unit-{pk}">\n'
        f'          <span class="input-group-text" id="minutes-unit-{pk}">min late</span>\n'
        f"        </div>\n"
        f'        <div class="reason-box">\n'
        f'          <label class="visually-hidden" for="reason-{pk}">Reason for changing the mark '
        f"for {name}</label>\n"
        f'          <input class="form-control reason" name="reason-{pk}" id="reason-{pk}"{off} '
        f'maxlength="300" value="{_e(row["reason"])}" placeholder="Reason for change (required)">\n'
        f"        </div>\n"
        f"      </div>\n"
        f"    </li>\n  ")


def rows_html(rows: list[dict], *, errors: dict, roles) -> str:
    """The register's rows (``views._register_row_fill``'s dicts) as the page shows them."""
    if not rows:
        return mark_safe(EMPTY)  # noqa: S308 (a constant)
    safeguarding = bool(frozenset(roles or ()) & SAFEGUARDING_READERS)
    return mark_safe("".join(  # noqa: S308 (every value escaped by _e)
        _row_html(r, errors, safeguarding) for r in rows))
