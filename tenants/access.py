"""Tenant- and role-scoped access: the only way views decide who may see what.

Strangers (signed in, but holding no role in this school) get 404, so "not there" and
"not yours" look the same. A member without the needed role gets 403.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .roles import Role


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


def has_any(request, allowed) -> bool:
    return bool(request.roles & frozenset(allowed))
