"""The job worker process: claims jobs, runs their workload, keeps their leases alive, samples this
host's GPUs and sweeps expired leases. `manage.py job_worker` wraps it; run several per host.

A lost database (restart, failover) is waited out, never fatal: claims pause with a doubling
backoff until it answers again, and a finished job's outcome is settled once it does. Leases keep
their meaning meanwhile: a job whose lease ran out while the database was away was re-queued by a
sweeper, and its late outcome is dropped (LeaseLost). The worker heartbeats into the platform's
component registry as `job_worker:<name>` (missionops.health)."""

import contextlib
import logging
import os
import socket
import threading
import time
import traceback
import uuid

from django.db import InterfaceError, OperationalError, close_old_connections, connection

from missionops import health

from . import nvml
from .exceptions import JobCanceled, LeaseLost, PermanentJobError
from .live_messages import publish_progress
from .services import add_attempt_log, dispatch, inventory, sync_run_slots
from .workloads import workload_for

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RECONNECT_FIRST_S, RECONNECT_MAX_S = 0.5, 10.0
HEALTH_HEARTBEAT_S = 5.0


class RunContext:
    """What a workload sees of its job: params are passed separately; this carries progress,
    logs, cancellation and artifacts."""

    PROGRESS_EVERY_S = 0.5

    def __init__(self, job, worker: "JobWorker", gpu_simulated: bool):
        self.job_id, self.organization_id = job.pk, job.organization_id
        self.attempt, self.footprint = job.attempts, job.footprint
        self.gpu_index, self.gpu_simulated = job.gpu_index, gpu_simulated
        self.worker = worker
        self.cancel_requested = False
        self.lease_lost = False
        self.artifacts: list[tuple[str, str, bytes]] = []
        self._last_progress_at = 0.0

    def check(self) -> None:
        """Raise if the job must stop: call it between steps of the work."""
        if self.lease_lost:
            raise LeaseLost(f"job {self.job_id} lease lost")
        if self.cancel_requested:
            raise JobCanceled(f"job {self.job_id} canceled")

    def progress(self, percent: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last_progress_at < self.PROGRESS_EVERY_S and percent < 100:
            return
        self._last_progress_at = now
        try:
            if dispatch.heartbeat(
                job_id=self.job_id, worker=self.worker.name, lease_s=self.worker.lease_s, progress=min(100.0, percent)
            ):
                self.cancel_requested = True
        except LeaseLost:
            self.lease_lost = True
        if message:
            publish_progress(
                job_id=self.job_id, organization_id=self.organization_id, progress=percent, message=message
            )

    def log(self, message: str, *, level: str = "info") -> None:
        add_attempt_log(
            job_id=self.job_id, organization_id=self.organization_id, attempt=self.attempt, message=message, level=level
        )

    def artifact(self, name: str, content_type: str, data: bytes) -> None:
        self.artifacts.append((name, content_type, data))


class JobWorker:
    def __init__(
        self,
        *,
        host: str | None = None,
        lease_s: float = 30.0,
        heartbeat_s: float = 1.0,
        batch: int = 1,
        kinds: list[str] | None = None,
        poll_s: float = 0.5,
        sample_s: float = 5.0,
        sweep_s: float = 10.0,
        max_jobs: int | None = None,
        exit_when_idle_s: float | None = None,
        skip_locked: bool = True,
    ):
        self.host = host or socket.gethostname()
        self.name = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_s, self.heartbeat_s, self.batch, self.kinds = lease_s, heartbeat_s, batch, kinds
        self.poll_s, self.sample_s, self.sweep_s = poll_s, sample_s, sweep_s
        self.max_jobs, self.exit_when_idle_s = max_jobs, exit_when_idle_s
        self.claimer = dispatch.Claimer(
            worker=self.name, host=self.host, lease_s=lease_s, skip_locked=skip_locked, owns_connection=True
        )
        self.stop = threading.Event()
        self.stop_requested = False  # set by request_stop(), from a signal handler
        self.current: dict[int, RunContext] = {}
        self.lock = threading.Lock()
        self.done = 0
        self.gpus: list[nvml.GpuInfo] = []
        self.database_failures = 0  # in a row; 0 while the database answers
        self.database_lost_at: float | None = None

    def run(self) -> int:
        """Work until stopped (or idle long enough, or max_jobs done). Returns jobs finished."""
        self.gpus = nvml.discover()
        inventory.register_host_gpus(host=self.host, gpus=self.gpus)
        sync_run_slots()
        kind = "simulated" if any(g.simulated for g in self.gpus) else "NVML"
        logger.info("worker %s: %d GPU(s) (%s)", self.name, len(self.gpus), kind)
        background = threading.Thread(target=self._background, name="job-heartbeat", daemon=True)
        background.start()
        alive = health.start_heartbeat_thread(
            f"job_worker:{self.name}",
            kind="job_worker",
            interval_s=HEALTH_HEARTBEAT_S,
            detail=f"job worker {self.name}",
        )
        idle_since = time.monotonic()
        try:
            while not self.stop.is_set() and not self.stop_requested:
                jobs = self._claim()
                if jobs is None:  # the database is away: _claim waited, try again
                    idle_since = time.monotonic()
                    continue
                if not jobs:
                    if self.exit_when_idle_s is not None and time.monotonic() - idle_since > self.exit_when_idle_s:
                        break
                    time.sleep(self.poll_s)  # not stop.wait(): see request_stop()
                    continue
                idle_since = time.monotonic()
                simulated = {g.index: g.simulated for g in self.gpus}
                contexts = [RunContext(job, self, simulated.get(job.gpu_index, True)) for job in jobs]
                with self.lock:
                    self.current.update({c.job_id: c for c in contexts})
                for job, ctx in zip(jobs, contexts, strict=True):
                    self._execute(job, ctx)
                    if self.max_jobs is not None and self.done >= self.max_jobs:
                        self.stop.set()
        finally:
            self.stop.set()
            alive.set()
            background.join(timeout=5)
            with contextlib.suppress(*DATABASE_ERRORS):
                dispatch.untune_planner()
        return self.done

    def _claim(self):
        """Claimed jobs, or None after waiting out a database error (doubling backoff)."""
        try:
            jobs = dispatch.claim_jobs(claimer=self.claimer, limit=self.batch, kinds=self.kinds)
        except DATABASE_ERRORS as error:
            self._wait_for_database(error)
            return None
        if self.database_lost_at is not None:
            logger.warning("worker %s: database back after %.1f s", self.name, time.monotonic() - self.database_lost_at)
            self.database_lost_at, self.database_failures = None, 0
        return jobs

    def _wait_for_database(self, error) -> None:
        self.database_failures += 1
        if self.database_lost_at is None:
            self.database_lost_at = time.monotonic()
        delay = min(RECONNECT_MAX_S, RECONNECT_FIRST_S * 2 ** (self.database_failures - 1))
        logger.warning("worker %s: database unavailable (%s); retrying in %.1f s", self.name, error, delay)
        with contextlib.suppress(Exception):
            connection.close()  # a broken connection is replaced on the next query
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not self.stop_requested:
            time.sleep(min(0.1, delay))

    def _settle(self, operation, **kwargs) -> None:
        """Record a job's outcome, waiting out a lost database (the lease decides if it still counts)."""
        failures = 0
        while True:
            try:
                operation(**kwargs)
                return
            except LeaseLost:
                logger.warning("job %s: lease lost before it could be settled", kwargs.get("job_id"))
                return
            except DATABASE_ERRORS as error:
                failures += 1
                if self.stop_requested and failures > 3:
                    logger.warning("job %s: stopping with its outcome unsettled; its lease expires", kwargs["job_id"])
                    return
                self._wait_for_database(error)

    def request_stop(self) -> None:
        """Finish the job in hand, then exit. Safe in a signal handler because it takes no lock:
        Event.set() does, and a signal landing while the main thread holds that lock (inside
        Event.wait or a first set()) deadlocks the process, which then ignores every SIGTERM."""
        self.stop_requested = True

    def _execute(self, job, ctx: RunContext) -> None:
        try:
            if ctx.cancel_requested:
                raise JobCanceled(f"job {job.pk} canceled before it started")
            result = workload_for(job.kind).run(ctx, job.params)
        except JobCanceled:
            self._settle(dispatch.stop_canceled_job, job_id=job.pk, worker=self.name)
        except LeaseLost:
            logger.warning("job %s: lease lost, dropping it (another worker may run it)", job.pk)
        except Exception as error:
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            logger.info("job %s attempt %s failed: %s", job.pk, job.attempts, detail)
            permanent = isinstance(error, PermanentJobError)
            self._settle(dispatch.fail_job, job_id=job.pk, worker=self.name, error=detail, permanent=permanent)
        else:
            self._settle(dispatch.complete_job, job_id=job.pk, worker=self.name, result=result, artifacts=ctx.artifacts)
        finally:
            with self.lock:
                self.current.pop(job.pk, None)
            self.done += 1

    def _background(self) -> None:
        """Heartbeats for every held job; GPU samples and lease sweeps on their own periods."""
        next_sample = next_sweep = 0.0
        try:
            while not self.stop.wait(self.heartbeat_s):
                with self.lock:
                    contexts = list(self.current.values())
                for ctx in contexts:
                    try:
                        if dispatch.heartbeat(job_id=ctx.job_id, worker=self.name, lease_s=self.lease_s):
                            ctx.cancel_requested = True
                    except LeaseLost:
                        ctx.lease_lost = True
                    except Exception:
                        logger.exception("heartbeat of job %s failed", ctx.job_id)
                        close_old_connections()  # a connection the database dropped is replaced
                now = time.monotonic()
                try:
                    if self.sample_s and now >= next_sample:
                        next_sample = now + self.sample_s
                        inventory.record_samples(host=self.host, gpus=self.gpus)
                    if self.sweep_s and now >= next_sweep:
                        next_sweep = now + self.sweep_s
                        for job in dispatch.sweep_expired_leases():
                            logger.warning("swept job %s: lease expired, now %s", job.pk, job.state)
                except Exception:
                    logger.exception("GPU sampling or lease sweep failed")
                    close_old_connections()
        finally:
            connection.close()
