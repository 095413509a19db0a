from django.apps import AppConfig


class JobsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self):
        from django.db.models.signals import post_migrate

        from missionops.live import register_object_topic

        from .selectors import organization_id_for_job_topic
        from .services import ensure_periodic_tasks

        register_object_topic("job", organization_id_for_job_topic)
        # django-celery-beat's PeriodicTask is a third-party model: hook it after migrate.
        post_migrate.connect(ensure_periodic_tasks, sender=self)
