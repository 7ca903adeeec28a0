from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "letters"
    verbose_name = "Letters and returns"

    def ready(self):
        # Hooks for the layers below (docs/architecture.md): tenants loads this app's part of a
        # preset; escalation queues, lists and renders a case's letters; a leave decision
        # (absences) is written as a letter.
        from absences.signals import leave_decided
        from escalation import hooks
        from tenants.presets import loader_register

        from . import presets, selectors, services

        loader_register(10, self.name, presets.apply)
        hooks.provide(letters_insert=services.case_letters_insert,
                      previous_letters=selectors.previous_letters,
                      case_letters_export=selectors.case_letters_export,
                      case_letters_render=services.case_letters_render)
        leave_decided.connect(services.leave_decision_letter, dispatch_uid="letters.leave_decision")
