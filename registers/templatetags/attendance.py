from django import template

from registers import codes

register = template.Library()

CSS = {codes.PRESENT: "code-present", codes.AEA: "code-aea", codes.AUTHORISED: "code-authorised",
       codes.UNAUTHORISED: "code-unauthorised", codes.NOT_POSSIBLE: "code-not",
       codes.ADMIN: "code-not"}


@register.filter
def code_class(code: str) -> str:
    c = codes.CODES.get(code)
    return CSS[c.category] if c else ""


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
