"""The letters panel on a pupil's page (staff: every letter; parents: letters sent)."""

from django import template

from tenants.roles import ADMIN_STAFF, Role

from ..models import Letter, LetterTemplate
from ..selectors import SENT

register = template.Library()
STAFF = ADMIN_STAFF


@register.inclusion_tag("letters/_pupil_letters_panel.html", takes_context=True)
def pupil_letters_panel(context, pupil):
    request = context.get("request")
    roles = getattr(request, "roles", frozenset())
    staff = bool(roles & STAFF)
    parent = Role.PARENT in roles
    if not (staff or parent):
        return {"show": False}
    qs = Letter.objects.filter(pupil=pupil).order_by("-created", "-pk")
    if not staff:
        qs = qs.filter(status__in=SENT)
    letters = list(qs[:20])
    names = dict(LetterTemplate.objects.filter(key__in={x.template_key for x in letters})
                 .values_list("key", "name"))
    for x in letters:
        x.name = names.get(x.template_key, x.template_key)
    return {"show": True, "letters": letters, "pupil": pupil, "staff": staff}


@register.simple_tag
def letter_templates():
    """The active templates, for the case page's "letter for this case" choice (issue 17)."""
    return list(LetterTemplate.objects.filter(active=True).order_by("name"))
