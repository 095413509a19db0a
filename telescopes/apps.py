from django.apps import AppConfig


class TelescopesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "telescopes"
    verbose_name = "Telescopes"

    def ready(self):
        from missionops.health import connect_worker_heartbeats

        # Ground-segment health (issue 9): every Celery worker heartbeats into the component registry.
        connect_worker_heartbeats()
