"""Request ids (carried into logs and Celery tasks) and a clear 503 while the database is away."""

import contextvars
import json
import logging
import uuid

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdMiddleware:
    """Takes X-Request-ID from the client (or makes one), exposes it to logs, echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class DatabaseUnavailableMiddleware:
    """PostgreSQL restarting is an outage, not a bug: answer 503 with Retry-After, never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            logging.getLogger(__name__).error("database unavailable: %s", exception)
            response = JsonResponse({"detail": "database unavailable, retry shortly"}, status=503)
            response["Retry-After"] = "5"
            return response
        return None


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (+ exception)."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class RejectNulBytesMiddleware:
    """PostgreSQL text cannot hold NUL: refuse such query strings up front with a clear 400
    instead of letting a view hand them to the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A decoded NUL can only come from "%00" (a raw NUL cannot be in a request line).
        if "%00" in request.META.get("QUERY_STRING", ""):
            return JsonResponse({"detail": "query parameters must not contain NUL characters"}, status=400)
        return self.get_response(request)
