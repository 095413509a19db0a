from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "telemetry"
    verbose_name = "Telemetry"

    def ready(self):
        from spacecraft.signals import command_executed, config_changed

        from . import services

        command_executed.connect(services.record_runtime_telemetry, dispatch_uid="telemetry.runtime")
        config_changed.connect(services.sync_for_new_configuration, dispatch_uid="telemetry.definitions")
