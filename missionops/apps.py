from django.apps import AppConfig


class MissionOpsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "missionops"
    label = "missionops"
    verbose_name = "MissionOps platform"

    def ready(self):
        from . import audit, metrics

        audit.connect()
        metrics.register_domain_collector()
