from django import template

from registers import codes

register = template.Library()


@register.filter
def code_plain(code: str) -> str:
    """The plain-English meaning of a national code, for parents."""
    c = codes.CODES.get(code)
    return c.plain if c else code


@register.filter
def holiday_results(results) -> bool:
    """True for a family holiday's rule results: no "meets the rule" ticks are shown for it
    (each passed rule would read as a reason to expect leave that will normally be refused)."""
    return any(r.get("rule") == "family_holiday" if isinstance(r, dict)
               else getattr(r, "rule", "") == "family_holiday" for r in results or [])
