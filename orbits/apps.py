from django.apps import AppConfig


class OrbitsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orbits"
    verbose_name = "Orbits"
