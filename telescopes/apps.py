from django.apps import AppConfig


class TelescopesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "telescopes"
    verbose_name = "Telescopes"
