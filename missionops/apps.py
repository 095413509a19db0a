from django.apps import AppConfig


class MissionOpsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "missionops"
    label = "missionops"
    verbose_name = "MissionOps platform"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import audit, metrics, throttling

        audit.connect()
        user_logged_in.connect(throttling.clear_login_attempts, dispatch_uid="missionops.clear_login_attempts")
        metrics.register_domain_collector()
