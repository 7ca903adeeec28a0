from functools import lru_cache

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from registers import codes

register = template.Library()

CSS = {codes.PRESENT: "code-present", codes.AEA: "code-aea", codes.AUTHORISED: "code-authorised",
       codes.UNAUTHORISED: "code-unauthorised", codes.NOT_POSSIBLE: "code-not",
       codes.ADMIN: "code-not"}


@register.filter
def code_class(code: str) -> str:
    c = codes.CODES.get(code)
    return CSS[c.category] if c else ""


@lru_cache(maxsize=64)  # bounded: ``selected`` can be any code posted back to a register
def _code_options(selected: str) -> str:
    return format_html_join("", '<option value="{}"{}>{} {}</option>', (
        (c.code, mark_safe(" selected") if c.code == selected else "", c.code, c.meaning)
        for c in (codes.CODES[k] for k in codes.MARKABLE_CODES)))


@register.filter
def code_options(selected) -> str:
    """The register's code <option>s with ``selected`` chosen, built once per code: 30 pupils
    × 25 codes rendered node by node were most of a register page's time (issue 18's peak)."""
    return _code_options(selected or "")


@register.filter
def code_meaning(code: str) -> str:
    c = codes.CODES.get(code)
    return c.meaning if c else code


@register.filter
def pct(value) -> str:
    """One decimal place for display; thresholds always use the unrounded value. Text (a
    figure hidden by registers.disclosure) is shown as it is."""
    if isinstance(value, str):
        return value
    return f"{value:.1f}%" if isinstance(value, int | float) else "–"


@register.filter
def bar_x(value, floor: int = 80) -> float:
    """Where a percentage falls on a bar that runs from ``floor``% to 100%, as 0-100 (the bars'
    SVG viewBox); at least 2, so a value below the floor still shows as a stub."""
    if not isinstance(value, int | float):
        return 0
    return round(min(100.0, max(2.0, (float(value) - floor) * 100 / (100 - floor))), 2)


@register.filter
def flags_for(pupil, request) -> list[str]:
    """A pupil's flags as this person may see them (child protection for the DSL, the head
    and the attendance lead; a neutral "see the DSL" marker for everyone else)."""
    from tenants.roles import SAFEGUARDING_READERS

    roles = getattr(request, "roles", frozenset())
    return pupil.safeguarding_flags if roles & SAFEGUARDING_READERS else pupil.flags
