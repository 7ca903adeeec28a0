from django.db import connection

from .access import permissions


def school(request):
    tenant = getattr(connection, "tenant", None)
    is_school = tenant is not None and tenant.schema_name != "public"
    roles = getattr(request, "roles", frozenset())
    return {"school": tenant if is_school else None, "roles": roles, "can": permissions(roles)}
