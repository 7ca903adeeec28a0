from django import template

from registers import codes

register = template.Library()


@register.filter
def code_plain(code: str) -> str:
    """The plain-English meaning of a national code, for parents."""
    c = codes.CODES.get(code)
    return c.plain if c else code
