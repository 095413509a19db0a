"""Audit hooks on third-party models and signals (Django auth, guardian): security events."""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_delete, post_save
from guardian.models import GroupObjectPermission, UserObjectPermission

from .services import record_event, record_security_event_for_user

logger = logging.getLogger("missionops.security")


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def on_login(sender, request, user, **kwargs):
    record_security_event_for_user(user=user, kind="security.login.succeeded", payload={"ip": _client_ip(request)})


def on_login_failed(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get("username", "")
    logger.warning("failed login for %r from %s", username, _client_ip(request))
    user = get_user_model().objects.filter(username=username).first()
    if user is not None:  # an unknown name belongs to no organization: the log line above is its record
        record_security_event_for_user(
            user=user, kind="security.login.failed", payload={"ip": _client_ip(request), "username": username}
        )


def _object_permission_changed(instance, granted: bool):
    target = instance.content_object
    organization = getattr(target, "organization", None)
    if organization is None:
        return
    holder = instance.user if isinstance(instance, UserObjectPermission) else instance.group
    record_event(
        organization=organization,
        kind="security.permission.granted" if granted else "security.permission.revoked",
        subject=target,
        payload={"permission": instance.permission.codename, "holder": str(holder)},
    )


def on_permission_saved(sender, instance, created, **kwargs):
    if created:
        _object_permission_changed(instance, granted=True)


def on_permission_deleted(sender, instance, **kwargs):
    try:
        _object_permission_changed(instance, granted=False)
    except Exception:  # the object itself is being deleted: its own event says so
        logger.debug("permission removed with its object", exc_info=True)


def connect():
    user_logged_in.connect(on_login, dispatch_uid="missionops.audit.login")
    user_login_failed.connect(on_login_failed, dispatch_uid="missionops.audit.login_failed")
    for model in (UserObjectPermission, GroupObjectPermission):
        post_save.connect(
            on_permission_saved, sender=model, dispatch_uid=f"missionops.audit.perm_saved.{model.__name__}"
        )
        post_delete.connect(
            on_permission_deleted, sender=model, dispatch_uid=f"missionops.audit.perm_deleted.{model.__name__}"
        )
