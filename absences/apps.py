from django.apps import AppConfig


class AbsencesConfig(AppConfig):
    name = "absences"
    verbose_name = "Absences and leave"

    def ready(self):
        # Hooks for the layers below (docs/architecture.md): tenants loads this app's part of a
        # preset; the register pages read parents' reports, messages and leave.
        from registers import hooks
        from tenants.presets import loader_register

        from . import presets, selectors

        loader_register(30, self.name, presets.apply)
        hooks.provide(session_reports=selectors.reports_covering, reports_on=selectors.reports_on,
                      family_messages_by_pupil=selectors.family_messages_by_pupil,
                      latest_granted_leave=selectors.latest_granted_leave,
                      granted_leave_pupils=selectors.granted_leave_pupils)
