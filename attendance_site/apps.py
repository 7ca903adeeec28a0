from django.contrib.admin.apps import AdminConfig


class PlatformAdminConfig(AdminConfig):
    """django.contrib.admin with the platform's own site (superusers, platform host only)."""

    default_site = "attendance_site.admin_site.PlatformAdminSite"
