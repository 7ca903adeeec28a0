from django.contrib import admin
from django.db import connection


class PlatformAdminSite(admin.AdminSite):
    """Django's admin edits every school's people and domains, so it is for the platform's
    superusers only, and only on the platform (public) host: attendance_site/urls_public.py
    mounts it and a school's host has no /admin/ at all. ``is_staff`` alone is not enough."""

    site_header = "School attendance platform"

    def has_permission(self, request):
        user = request.user
        return (user.is_active and user.is_superuser
                and getattr(connection, "schema_name", "public") == "public")
