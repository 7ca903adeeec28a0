from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Top layer: school, trust and pupil figures read from every app below (docs/architecture.md)."""

    name = "dashboards"
    verbose_name = "Dashboards"
