"""`leadbridge run`: the embedded scheduler (APScheduler 3.11, one process, one store).

APScheduler's job store cannot be shared between processes, so it stays in memory and a lease
in the state store keeps a second `leadbridge run` against the same store from starting (the
lease is renewed while running and expires if the process dies). Pairs run one at a time on a
single worker thread: the connectors and their rate budgets are shared.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from leadbridge.errors import LeadbridgeError, SetupError
from leadbridge.store.models import Lease
from leadbridge.sync.jobs import SyncJobs
from leadbridge.sync.runner import SyncReport
from leadbridge.sync.state import SyncState

log = logging.getLogger(__name__)

LEASE = "scheduler"
LEASE_TTL = timedelta(minutes=2)
RENEW_EVERY = timedelta(seconds=30)


def holder_name() -> str:
    """Who holds the scheduler lease: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class EmbeddedScheduler:
    """Interval jobs for every enabled pair, guarded by the scheduler lease."""

    def __init__(
        self,
        *,
        jobs: SyncJobs,
        on_report: Callable[[SyncReport], None] | None = None,
        holder: str | None = None,
        after_sync: Callable[[str], None] | None = None,
    ) -> None:
        from leadbridge.nurture.flow_hook import after_sync_hook  # the nurture layer builds on sync

        self.jobs = jobs
        self.on_report = on_report
        # Scoring, then due workflow steps, after each sync of a pair (docs/workflows.md).
        self.after_sync = after_sync or after_sync_hook(jobs)
        self.holder = holder or holder_name()
        self.state = SyncState(store=jobs.store, pair="*")
        self.scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(max_workers=1)}
        )
        self.stopped = threading.Event()

    def start(self) -> None:
        """Take the lease and schedule every pair (first run immediately)."""
        if not self.state.acquire_lease(name=LEASE, holder=self.holder, ttl=LEASE_TTL):
            with self.jobs.store.session() as session:
                lease = session.get(Lease, LEASE)
                who = f" ({lease.holder}, until {lease.expires_at:%H:%M:%S} UTC)" if lease else ""
            raise SetupError(
                f"another `leadbridge run` is active against this state store{who}",
                hint="stop it first; a crashed one releases its lease within 2 minutes",
                code="SCHEDULER_RUNNING",
            )
        now = datetime.now(UTC)
        for pair in self.jobs.pairs():
            self.scheduler.add_job(
                self._sync,
                IntervalTrigger(minutes=pair.interval_minutes, timezone=UTC),
                args=[pair.name],
                id=f"sync:{pair.name}",
                next_run_time=now,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=60,
            )
        self.scheduler.add_job(
            self._renew,
            IntervalTrigger(seconds=RENEW_EVERY.total_seconds(), timezone=UTC),
            id="lease",
        )
        self.scheduler.start()

    def _sync(self, pair: str) -> None:
        try:
            report = self.jobs.run(pair)
        except LeadbridgeError as error:
            log.error("sync of %s failed: %s", pair, error)
            return
        log.info("sync of %s: %s", pair, report.outcome)
        if self.on_report is not None:
            self.on_report(report)
        self.after_sync(pair)

    def _renew(self) -> None:
        if not self.state.acquire_lease(name=LEASE, holder=self.holder, ttl=LEASE_TTL):
            log.error("lost the scheduler lease to another process; stopping")
            self.stopped.set()

    def wait(self, *, seconds: float | None = None) -> None:
        """Block until stopped (or for `seconds`)."""
        self.stopped.wait(timeout=seconds)

    def stop(self) -> None:
        """Finish the running job, stop scheduling, give the lease back."""
        self.scheduler.shutdown(wait=True)
        self.state.release_lease(name=LEASE, holder=self.holder)
        self.stopped.set()
