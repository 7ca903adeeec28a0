from django.db import connection
from django.utils.functional import SimpleLazyObject

from .access import roles_for


class MembershipMiddleware:
    """Attach ``request.roles``: the roles the signed-in person holds in this school."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(connection, "tenant", None)
        request.roles = SimpleLazyObject(lambda: roles_for(request.user, tenant))
        return self.get_response(request)
