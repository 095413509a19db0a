from django.apps import AppConfig


class MissionOpsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "missionops"
    label = "missionops"
    verbose_name = "MissionOps platform"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import audit, metrics, throttling
        from .services import apikeys, event_stream, events, organizations, webhooks

        audit.connect()
        # What follows an event or a membership change, wired here so the event log and the
        # memberships import neither the outbox, the webhooks nor the keys (no import cycle).
        events.event_recorded.connect(event_stream.enqueue_for, dispatch_uid="missionops.outbox")
        events.event_recorded.connect(webhooks.enqueue_deliveries_for, dispatch_uid="missionops.webhooks")
        organizations.membership_changed.connect(apikeys.revoke_keys_of_changed_member, dispatch_uid="missionops.keys")
        user_logged_in.connect(throttling.clear_login_attempts, dispatch_uid="missionops.clear_login_attempts")
        metrics.register_domain_collector()
