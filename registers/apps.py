from django.apps import AppConfig


class RegistersConfig(AppConfig):
    name = "registers"
    verbose_name = "Registers and pupils"

    def ready(self):
        from . import dashboard, signals

        # Issue 18.4: register saves warm the head's dashboard (registers/dashboard.py).
        signals.marks_saved.connect(dashboard.on_marks_saved, dispatch_uid="dashboard_warm")
