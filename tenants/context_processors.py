from django.db import connection


def school(request):
    tenant = getattr(connection, "tenant", None)
    is_school = tenant is not None and tenant.schema_name != "public"
    return {"school": tenant if is_school else None,
            "roles": getattr(request, "roles", frozenset())}
