from django.apps import AppConfig


class SpacecraftConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "spacecraft"
    verbose_name = "Spacecraft"

    def ready(self):
        from missionops.live import register_object_topic

        from .selectors import organization_id_for_spacecraft_topic

        register_object_topic("sc", organization_id_for_spacecraft_topic)
