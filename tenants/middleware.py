from django.db import connection

from .access import roles_for


class MembershipMiddleware:
    """Attach ``request.roles``: the roles the signed-in person holds in this school."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.roles = roles_for(request.user, getattr(connection, "tenant", None))
        return self.get_response(request)
