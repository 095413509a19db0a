"""Lag-tolerant reads on a PostgreSQL streaming replica (DATABASE_REPLICA_URL).

Only reads that say so go to the replica: a view wraps them in `replica_reads(user=...)` (series,
exports, event lists) or runs them through `read_lag_tolerant`, raw SQL takes its connection from
`read_connection()`. Everything else,
and every write, stays on the primary. The replica is chosen only while

- it answers and streams from the primary, with a replay lag (`pg_last_xact_replay_timestamp`,
  0 when it has replayed all it received) of at most REPLICA_MAX_LAG_S, and
- it has replayed the last write of the user who is reading (read-your-writes): after a write
  request `ReadYourWritesMiddleware` stores the primary's WAL insert position for that user (in the
  cache, so every web host sees it: past their commit even when it was asynchronous), and the
  replica must have replayed past it.

Otherwise the read goes to the primary. A replica reading is reused for REPLICA_STATE_TTL_S; a
read that fails on the replica meanwhile (`read_lag_tolerant`) is run again on the primary.
"""

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections

from .shared_metrics import SharedCounter

logger = logging.getLogger(__name__)

REPLICA = "replica"
T = TypeVar("T")
READS = SharedCounter(
    "missionops_replica_reads_total", "Lag-tolerant reads by where they went, in every process", ["target", "reason"]
)

_read_alias: contextvars.ContextVar[str | None] = contextvars.ContextVar("missionops_read_alias", default=None)

# On the replica: lag in seconds (0 when everything received is replayed while streaming; NULL when
# this is not a standby) and the replayed WAL position in bytes.
REPLICA_STATE_SQL = """
SELECT CASE
         WHEN NOT pg_is_in_recovery() THEN NULL
         WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
              AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
         ELSE COALESCE(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 1e9)
       END,
       (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint
"""
# On the primary: the WAL position just past every transaction committed so far, in bytes. The
# insert position, not pg_current_wal_lsn(): that is the *write* position, and a commit made with
# synchronous_commit = off (a server, role or transaction setting) returns before its commit record
# is written, so a replica that has replayed up to the write position may not show that commit yet
# (read-your-writes then served the writer a replica without their write). When the last record
# ended exactly at a WAL page (or segment) boundary, the insert position points past the next
# page's header, where no record ends: a replica that has replayed up to the boundary has it all.
PRIMARY_LSN_SQL = """
SELECT CASE
         WHEN lsn % pg_size_bytes(current_setting('wal_segment_size')) = 40 THEN lsn - 40  -- long header
         WHEN lsn % current_setting('wal_block_size')::bigint = 24 THEN lsn - 24  -- short page header
         ELSE lsn
       END
FROM (SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint AS lsn) AS inserted
"""


@dataclass(frozen=True)
class ReplicaState:
    lag_s: float | None  # None: unreachable, or not a standby
    replay_lsn: int
    read_at: float


class ReplicaRouter:
    """Reads inside `replica_reads` go where it decided; all else (and every write) to the primary."""

    def db_for_read(self, model, **hints):
        return _read_alias.get()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: same rows, same ids

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


_state_lock = threading.Lock()
_state: ReplicaState | None = None


def replica_state(*, fresh: bool = False) -> ReplicaState:
    """The replica's lag and replayed position, read at most every REPLICA_STATE_TTL_S per process."""
    global _state
    with _state_lock:
        if not fresh and _state is not None and time.monotonic() - _state.read_at < settings.REPLICA_STATE_TTL_S:
            return _state
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(REPLICA_STATE_SQL)
            lag_s, replay_lsn = cursor.fetchone()
        state = ReplicaState(None if lag_s is None else float(lag_s), int(replay_lsn or 0), time.monotonic())
    except DatabaseError as error:
        logger.warning("read replica unavailable, reading from the primary: %s", error)
        connections[REPLICA].close()
        state = ReplicaState(None, 0, time.monotonic())
    with _state_lock:
        _state = state
    return state


def _written_key(user_id) -> str:
    return f"replica:written-lsn:{user_id}"


def remember_write(*, user) -> None:
    """Record the primary's WAL position after `user`'s write: their next reads need a replica
    that has replayed at least this far."""
    if not replica_configured() or not getattr(user, "is_authenticated", False):
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(PRIMARY_LSN_SQL)
        (lsn,) = cursor.fetchone()
    # Past a few lag budgets a replica that keeps up has long replayed it.
    cache.set(_written_key(user.pk), int(lsn), timeout=max(60, int(settings.REPLICA_MAX_LAG_S * 20)))


def choose_alias(*, user=None) -> str:
    """Where a lag-tolerant read for `user` (None: no read-your-writes) should go now."""
    if not replica_configured():
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        READS.labels(DEFAULT_DB_ALIAS, "in_transaction").inc()
        return DEFAULT_DB_ALIAS  # the transaction's own writes are only on the primary
    state = replica_state()
    if state.lag_s is None:
        READS.labels(DEFAULT_DB_ALIAS, "replica_unavailable").inc()
        return DEFAULT_DB_ALIAS
    if state.lag_s > settings.REPLICA_MAX_LAG_S:
        READS.labels(DEFAULT_DB_ALIAS, "lag").inc()
        return DEFAULT_DB_ALIAS
    if getattr(user, "is_authenticated", False):
        written = cache.get(_written_key(user.pk))
        if written is not None and state.replay_lsn < written:
            if replica_state(fresh=True).replay_lsn < written:  # the cached reading may be just old
                READS.labels(DEFAULT_DB_ALIAS, "own_write").inc()
                return DEFAULT_DB_ALIAS
    READS.labels(REPLICA, "").inc()
    return REPLICA


@contextmanager
def replica_reads(*, user=None):
    """Inside, model reads (and `read_connection()`) go to the replica when `choose_alias` allows."""
    token = _read_alias.set(choose_alias(user=user))
    try:
        yield _read_alias.get()
    finally:
        _read_alias.reset(token)


def read_lag_tolerant(read: Callable[[], T], *, user=None) -> T:
    """`read()` inside `replica_reads`; if the replica fails under it (a replica host that just
    died while its last reading said healthy), mark it unavailable and run `read()` on the primary."""
    global _state
    with replica_reads(user=user) as alias:
        if alias != REPLICA:
            return read()
        try:
            return read()
        except (OperationalError, InterfaceError) as error:
            if not _replica_broken():
                raise
            logger.warning("read replica failed under a read, reading from the primary: %s", error)
            connections[REPLICA].close()
            with _state_lock:
                _state = ReplicaState(None, 0, time.monotonic())
    with replica_reads(user=user):  # now decides the primary (the replica is marked unavailable)
        return read()


def _replica_broken() -> bool:
    connection = connections[REPLICA]
    return connection.connection is None or connection.is_usable() is False


def current_read_alias() -> str:
    return _read_alias.get() or DEFAULT_DB_ALIAS


def read_connection(using: str | None = None):
    """The connection raw lag-tolerant SQL should use: `using`, else what `replica_reads` chose."""
    return connections[using or current_read_alias()]


class ReadYourWritesMiddleware:
    """After a successful write request, remember the writer's WAL position (see `remember_write`).
    Placed after authentication; DRF sets `request.user` on the Django request as it authenticates."""

    UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method in self.UNSAFE and response.status_code < 400 and replica_configured():
            try:
                remember_write(user=getattr(request, "user", None))
            except DatabaseError:  # the write answered; failing it now would mislead the client
                logger.warning("could not read the primary's WAL position after a write", exc_info=True)
        return response
