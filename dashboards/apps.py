from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Top layer: school, trust and pupil figures read from every app below (docs/architecture.md)."""

    name = "dashboards"
    verbose_name = "Dashboards"

    def ready(self):
        from registers import signals

        from . import figures

        # Issue 18.4: register saves (registers.signals.marks_saved) warm the head's dashboard.
        signals.marks_saved.connect(figures.on_marks_saved, dispatch_uid="dashboard_warm")
