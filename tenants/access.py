"""Tenant- and role-scoped access: the only way views decide who may see what.

Strangers (signed in, but holding no role in this school) get 404, so "not there" and
"not yours" look the same. A member without the needed role gets 403.

The role sets are defined once, in ``tenants.roles``; ``permissions`` turns a person's roles into
the flags templates test (``{% if can.read_reports %}``), so templates never name a role.
Fetching an object a view may show goes through the app's own access module beside this one
(``registers.access.pupil_for_request``, ``escalation.access.case_for_request``, …): tenants is
the bottom layer and cannot import their models (docs/architecture.md).
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .roles import (
    ACCOUNT_MANAGERS,
    ADMIN_STAFF,
    MARKERS,
    PUPIL_READERS,
    REPORT_READERS,
    WHOLE_SCHOOL_MARKERS,
    Role,
)


def roles_for(user, tenant) -> frozenset:
    if tenant is None or tenant.schema_name == "public" or not user.is_authenticated:
        return frozenset()
    roles = set(user.memberships.filter(school_id=tenant.pk).values_list("role", flat=True))
    if tenant.trust_id and user.trust_memberships.filter(trust_id=tenant.trust_id).exists():
        roles.add(Role.TRUST_DIRECTOR)
    return frozenset(Role(r) for r in roles)


def role_required(allowed):
    """View decorator: the person must hold one of ``allowed`` roles in this school."""
    allowed = frozenset(allowed)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            roles = request.roles
            if not roles:
                raise Http404
            if not roles & allowed:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# What a person may do, for templates (tenants.context_processors.school puts it in ``can``).
PERMISSIONS = {
    "take_registers": MARKERS,
    "run_office": WHOLE_SCHOOL_MARKERS,
    "read_pupils": PUPIL_READERS,
    "read_reports": REPORT_READERS,
    "send_letters": ADMIN_STAFF,
    "own_register": frozenset({Role.TEACHER}),
    "run_escalation": frozenset({Role.ATTENDANCE_OFFICER, Role.HEAD}),
    "manage_letters": frozenset({Role.ATTENDANCE_OFFICER, Role.HEAD}),
    "export_all": frozenset({Role.HEAD}),
    "not_full_time": frozenset({Role.ATTENDANCE_OFFICER, Role.HEAD, Role.LA_OFFICER}),
    "class_lists": frozenset({Role.TEACHER, Role.OFFICE}),
    "decide_leave": frozenset({Role.HEAD}),
    "manage_people": ACCOUNT_MANAGERS,
    "la_view": frozenset({Role.LA_OFFICER}),
    "trust_view": frozenset({Role.TRUST_DIRECTOR}),
    "parent_portal": frozenset({Role.PARENT}),
}


def permissions(roles) -> dict[str, bool]:
    """Each permission flag of ``PERMISSIONS`` for someone holding ``roles``."""
    roles = frozenset(roles or ())
    return {name: bool(roles & frozenset(allowed)) for name, allowed in PERMISSIONS.items()}
