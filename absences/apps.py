from django.apps import AppConfig


class AbsencesConfig(AppConfig):
    name = "absences"
    verbose_name = "Absences and leave"
