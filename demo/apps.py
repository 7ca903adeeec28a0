from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Top layer: the demo schools (``seed_demo``), built through every app's services."""

    name = "demo"
    verbose_name = "Demo data"
