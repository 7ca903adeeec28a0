"""Issue 17 item 6: the school switcher in the navigation.

With ``SESSION_COOKIE_DOMAIN`` set to the deployment's parent domain, one sign-in holds on
every school host; the switcher lists the schools the person belongs to (directly, or as a
trust director through their trust) and the trust comparison. It is navigation only: what a
person may see on a school's host is decided on every request from their roles *there*
(tenants.middleware.MembershipMiddleware), never from this list.

The list is kept in the session for a few minutes so that the navigation costs no queries
on every page."""

import time

from django import template
from django.conf import settings

from ..models import TrustMembership
from ..selectors import school_address, schools_of

register = template.Library()
KEY, FRESH_FOR = "nav_schools", 300


def _compute(request) -> dict:
    user = request.user
    schools = [{"schema": s.schema_name, "name": s.name, "url": school_address(s, request)}
               for s in schools_of(user)]
    _, colon, port = request.get_host().rpartition(":")
    base = f"{request.scheme}://{settings.TENANT_BASE_DOMAIN}{':' + port if colon and port.isdigit() else ''}"
    trusts = [{"name": name, "url": f"{base}/trust/{slug}/"} for slug, name in
              TrustMembership.objects.filter(user=user).values_list("trust__slug", "trust__name")
              .order_by("trust__name")]
    return {"uid": user.pk, "at": time.time(), "host": request.get_host(), "schools": schools,
            "trusts": trusts}


@register.simple_tag(takes_context=True)
def school_switcher(context) -> dict:
    request = context.get("request")
    if request is None or not request.user.is_authenticated or not hasattr(request, "session"):
        return {"schools": [], "trusts": []}
    cached = request.session.get(KEY)
    if not (cached and cached.get("uid") == request.user.pk and cached.get("host") == request.get_host()
            and time.time() - cached.get("at", 0) < FRESH_FOR):
        cached = _compute(request)
        request.session[KEY] = cached
    school = context.get("school")
    current = school.schema_name if school else None
    return {"schools": [dict(s, current=s["schema"] == current) for s in cached["schools"]],
            "trusts": cached["trusts"]}
