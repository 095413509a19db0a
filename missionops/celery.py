import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionops.settings")

app = Celery("missionops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Carry the web request id into the tasks it enqueues, so one id follows the work through logs.
@signals.before_task_publish.connect
def _attach_request_id(headers=None, **kwargs):
    from .middleware import request_id_var

    if headers is not None and "request_id" not in headers:
        headers["request_id"] = request_id_var.get()


@signals.task_prerun.connect
def _restore_request_id(task=None, **kwargs):
    from .middleware import request_id_var

    request_id_var.set(getattr(task.request, "request_id", None) or f"task-{task.request.id}")


@signals.worker_init.connect
def _register_worker_heartbeats(**kwargs):
    # Every worker registers in the health component registry and heartbeats (missionops.health).
    from .health import connect_worker_heartbeats

    connect_worker_heartbeats()


@signals.worker_process_shutdown.connect
def _flush_live_messages(**kwargs):
    # Prefork children end with os._exit, which skips atexit: send what is still queued first.
    from . import live, shared_metrics

    live.flush()
    shared_metrics.flush()


@signals.worker_process_init.connect
def _own_database_pool(**kwargs):
    # A prefork child must not lend the connections of its parent's pool (their sockets are shared
    # with the parent) nor count on that pool's threads (not forked): it forgets the pool, without
    # closing anything (psycopg never closes a connection another process opened), and opens its
    # own on first use.
    from django.db.backends.postgresql.base import DatabaseWrapper

    DatabaseWrapper._connection_pools.clear()
