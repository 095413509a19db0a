from django.apps import AppConfig


class AnomaliesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "anomalies"
    verbose_name = "Anomalies"

    def ready(self):
        from spacecraft.config import register_parameter_setting
        from telemetry.signals import samples_stored

        from . import config
        from .services import limit_checks

        register_parameter_setting(key="detectors", validate=config.validate_detectors)
        samples_stored.connect(limit_checks.check_stored_batch, dispatch_uid="anomalies.limits")
