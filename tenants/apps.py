from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Schools, trusts and people"

    def ready(self):
        from . import twofactor  # noqa: F401 - connects the sign-in signal
