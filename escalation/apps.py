from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self):
        # Hooks for the layers below (docs/architecture.md): tenants loads this app's part of
        # a preset, registers and absences read the active bands, without importing escalation.
        from registers.bands import reader_register
        from tenants.presets import loader_register

        from . import presets
        from .services import active_bands

        loader_register(20, self.name, presets.apply)
        reader_register(active_bands)
