import sys

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.db.models import Prefetch
from django.http import HttpResponseBadRequest, HttpResponseServerError, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.defaults import page_not_found

from .exceptions import DomainError
from .forms import ApiKeyForm, WebhookForm
from .health import UNHEALTHY, platform_health
from .ids import decimal_id
from .models import ApiKey, Webhook, WebhookDelivery
from .services import apikeys, webhooks
from .tenancy import admin_organizations


def server_error(request):
    """handler500: a lost database (restart, failover) is a 503 with a clear message, not a 500."""
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        response = JsonResponse({"detail": "database unavailable, retry shortly"}, status=503)
        response["Retry-After"] = "5"
        return response
    return (
        JsonResponse({"detail": "internal error"}, status=500)
        if request.path.startswith("/api/")
        else (HttpResponseServerError("<h1>Server error</h1><p>The error was logged.</p>"))
    )


def bad_request(request, exception=None):
    """handler400: an oversized body is a JSON 413 naming the limit on every endpoint (pages too)."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return JsonResponse({"detail": f"request body larger than {limit} bytes (the limit)"}, status=413)
    if isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return JsonResponse({"detail": f"more than {limit} form fields (the limit)"}, status=413)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "bad request"}, status=400)
    return HttpResponseBadRequest("<h1>Bad request</h1>")


def not_found(request, exception=None):
    """handler404: a path no API route matches (an id of the wrong shape) is a JSON 404 like any other."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": f"no API resource at {request.path}"}, status=404)
    return page_not_found(request, exception)


def favicon(request):
    """Browsers ask for /favicon.ico where a page names none (an error page, a JSON answer)."""
    return redirect(static("img/favicon.svg"), permanent=True)


@never_cache
def health(request):
    """Public liveness/readiness probe: 200 unless a component is Unhealthy (then 503)."""
    report = platform_health()
    return JsonResponse(report, status=503 if report["status"] == UNHEALTHY else 200)


@login_required
def webhook_list(request):
    organizations = admin_organizations(request.user)
    form = WebhookForm(request.POST or None, organizations=organizations)
    if request.method == "POST":
        if not organizations.exists():
            raise PermissionDenied("webhooks are managed by organization admins")
        if form.is_valid():
            try:
                kinds = [k.strip() for k in form.cleaned_data["event_kinds"].split(",") if k.strip()]
                webhook = webhooks.create_webhook(
                    organization=form.cleaned_data["organization"],
                    name=form.cleaned_data["name"],
                    url=form.cleaned_data["url"],
                    event_kinds=kinds,
                    actor=request.user,
                )
                messages.success(request, f"webhook {webhook.name} created; its signing secret is shown below")
                return redirect("webhooks")
            except DomainError as error:
                form.add_error(None, error.message)
    # The 20 newest deliveries of each (the page shows no more), not every one ever made.
    recent = WebhookDelivery.objects.select_related("event").order_by("-created_at")[:20]
    hooks = Webhook.objects.filter(organization__in=organizations).prefetch_related(
        Prefetch("deliveries", queryset=recent, to_attr="recent_deliveries")
    )
    return render(
        request,
        "missionops/webhooks.html",
        {"hooks": hooks, "form": form, "area": "events", "is_admin": organizations.exists()},
    )


@login_required
@require_POST
def webhook_test(request, pk):
    webhook = get_object_or_404(Webhook.objects.filter(organization__in=admin_organizations(request.user)), pk=pk)
    webhooks.send_test(webhook=webhook, actor=request.user)
    messages.success(request, f"test delivery to {webhook.name} queued")
    return redirect("webhooks")


@login_required
@require_POST
def webhook_redeliver(request, pk, delivery_id):
    webhook = get_object_or_404(Webhook.objects.filter(organization__in=admin_organizations(request.user)), pk=pk)
    delivery = get_object_or_404(webhook.deliveries, pk=delivery_id)
    try:
        webhooks.redeliver(delivery=delivery, actor=request.user)
        messages.success(request, f"delivery {delivery.pk} to {webhook.name} queued again")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("webhooks")


AREAS = {
    "telemetry": "Telemetry",
    "alarms": "Alarms",
    "orbits": "Orbits",
    "jobs": "Jobs",
    "telescopes": "Telescopes",
}


@login_required
def area_not_built(request, area: str):
    """Navigation targets for areas whose capability has not landed yet: says so plainly."""
    return render(request, "missionops/area_pending.html", {"area": area, "title": AREAS[area]})


@login_required
def api_keys(request):
    """Organization admins issue, rotate and revoke API keys; a new key is shown on this response only."""
    organizations = admin_organizations(request.user)
    keys = ApiKey.objects.filter(organization__in=organizations).select_related("organization", "replaced_by")
    issued, form = None, ApiKeyForm(request.POST or None, organizations=organizations)
    if request.method == "POST":
        if not organizations.exists():
            raise PermissionDenied("API keys are managed by organization admins")
        action = request.POST.get("action", "create")
        key_id = decimal_id(request.POST.get("key", "")) or 0  # one the form never sends: no such key
        try:
            if action == "create" and form.is_valid():
                _, issued = apikeys.create_api_key(
                    organization=form.cleaned_data["organization"],
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.cleaned_data["expires_at"],
                    actor=request.user,
                )
            elif action == "rotate":
                _, issued = apikeys.rotate_api_key(key=get_object_or_404(keys, pk=key_id), actor=request.user)
            elif action == "revoke":
                apikeys.revoke_api_key(key=get_object_or_404(keys, pk=key_id), actor=request.user)
                messages.success(request, "key revoked")
        except DomainError as error:
            messages.error(request, error.message)
    return render(
        request,
        "missionops/api_keys.html",
        {
            "keys": keys,
            "form": form,
            "issued": issued,
            "is_admin": organizations.exists(),
            "area": "events",
        },
    )
