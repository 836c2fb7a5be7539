"""The worker: claims jobs, runs them on threads, stores outcomes, then acknowledges.

Threads of one worker process, each the job of one module:

- the dispatcher (the caller of :meth:`Worker.run`, :mod:`.dispatcher`): claims as many jobs
  as the worker has room for (:mod:`.holdings`);
- job threads (:mod:`.processing`): each takes a claimed job, lets :mod:`.intake` decide
  whether it runs now (:mod:`.admission` holds it to its task's limits), and runs one attempt
  (:mod:`.attempt`); with ``pool="processes"`` the attempt itself runs in a child process
  (:mod:`.processes`);
- the event loop thread (:mod:`.event_loop`): runs the attempts of ``async def`` tasks, whose
  job threads hand them over and go on with their next job;
- the committer (:mod:`.outcomes`, :mod:`.committer`): stores outcomes, then acks or nacks;
- the monitor (:mod:`.monitor`): extends the leases of held jobs, enforces timeouts and
  cancels, fails quarantined jobs and purges expired results;
- the heartbeat (:mod:`.heartbeat`): keeps the worker's description in the queue's registry.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..backends import QueueBackend, ResultBackend
from ..plugins.events import Event, notify
from ..registry import TaskRegistry, registry
from ..unconfirmed import taken_as_made
from .admission import FlowControl
from .dispatcher import Dispatcher
from .draining import drain_queues
from .event_loop import EventLoopThread
from .heartbeat import Heartbeat
from .holdings import Holdings
from .intake import Intake
from .monitor import Monitor
from .outcomes import Outcomes
from .processes import ChildPool, task_modules
from .processing import Processor
from .shutdown import install_signal_handlers

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)

POOLS = ("threads", "processes")


class Worker:
    """Runs jobs from ``queues`` with ``concurrency`` slots until stopped.

    ``pool="threads"`` runs sync tasks on job threads and ``async def`` tasks on one event loop;
    ``pool="processes"`` runs every attempt in a child process, which is killed on timeout or
    cancel, and recycled after ``max_jobs_per_child`` jobs or ``max_memory_per_child`` MB.
    """

    def __init__(
        self,
        settings: Settings,
        queue: QueueBackend,
        results: ResultBackend,
        *,
        queues: Sequence[str] = ("default",),
        concurrency: int | None = None,
        batch_size: int | None = None,
        tasks: TaskRegistry = registry,
        pool: str = "threads",
        max_jobs_per_child: int | None = None,
        max_memory_per_child: float | None = None,
        burst: bool = False,
        runs_schedules: bool = False,
    ) -> None:
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {', '.join(POOLS)}, not {pool!r}")
        self.settings = settings
        self.queue = queue
        self.results = results
        self.queues = tuple(queues)
        self.concurrency = concurrency or settings.max_workers
        self.batch_size = batch_size or settings.batch_size
        self.tasks = tasks
        #: The execution model, ``threads`` or ``processes`` (read by monitoring plugins).
        self.pool = pool
        #: Stop once nothing is due and nothing runs (``nuvom runworker --burst``).
        self.burst = burst
        #: This process also sends due schedules (only said in the start-up line).
        self.runs_schedules = runs_schedules
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        #: Jobs held at most, in all (busy and committing): one per slot and one batch claimed
        #: ahead, so a claim never waits for the last outcomes' commit. Bounds what a ``kill -9``
        #: makes run again.
        self.capacity = self.concurrency + self.batch_size
        self._children: ChildPool | None = None
        if pool == "processes":
            self._children = ChildPool(
                task_modules([t.func.__module__ for t in tasks.all().values()]),
                log_level=settings.log_level,
                max_jobs_per_child=max_jobs_per_child,
                max_memory_mb=max_memory_per_child,
            )
        self._loop = EventLoopThread()
        self._stopping = threading.Event()
        self._holdings = Holdings(self.capacity)
        #: Rate and concurrency limits of the tasks (raises if they need a limiter the queue lacks).
        self._flow = FlowControl(queue, results, settings.lease_secs, tasks.all().values())
        self._outcomes = Outcomes(queue, results, self._holdings)
        self._processor = Processor(
            queue,
            results,
            self.id,
            self._holdings,
            Intake(settings, queue, results, tasks, self._outcomes, self._flow),
            self._outcomes,
            self._flow,
            concurrency=self.concurrency,
            loop=self._loop,
            children=self._children,
            stopping=self._stopping,
        )

    @property
    def running(self) -> int:
        """Jobs this worker holds now (running, or stored but not yet acknowledged)."""
        return len(self._holdings)

    @property
    def processed(self) -> int:
        """Jobs this worker has processed (their outcome stored, or settled without running)."""
        return self._holdings.processed

    def stop(self) -> None:
        """Stop claiming; running jobs finish within the grace period (thread-safe)."""
        self._stopping.set()
        self._holdings.wake()

    def run(self, *, install_signals: bool = True) -> None:
        """Claim and run jobs until :meth:`stop` or SIGINT/SIGTERM, then shut down gracefully."""
        grace = self.settings.shutdown_grace_secs
        if install_signals and threading.current_thread() is threading.main_thread():
            install_signal_handlers(self.stop, self._stopping, grace)
        threads = self._processor.threads
        monitor = Monitor(
            self.settings, self.queue, self.results, self._holdings, self._flow, self._processor.time_out
        )
        monitor.start()
        logger.info(
            "worker %s started: queues %s, %d slots (%s), batch %d, %s",
            self.id,
            ",".join(self.queues),
            self.concurrency,
            self.pool,
            self.batch_size,
            "sends due schedules" if self.runs_schedules else "does not send schedules",
        )
        if self._children is not None:
            self._children.prestart(self.concurrency)
        threads.start()
        self._outcomes.start()
        notify(Event.WORKER_STARTED, worker=self)
        heartbeat = Heartbeat.start(self)
        try:
            self._dispatcher().run()
        finally:
            notify(Event.WORKER_STOPPING, worker=self)
            for attempt in threads.take_unstarted():
                with taken_as_made(f"job {attempt.lease.id}: returned unstarted"):
                    self.queue.nack(attempt.lease)  # claimed but not started: back to the queue
                self._holdings.release(attempt, slot=True, held=True)
            clean = self._holdings.wait_until_empty(grace)
            self._loop.stop()
            if self._children is not None:
                self._children.close()
            self._outcomes.stop()
            monitor.stop()
            threads.stop()
            heartbeat.stop()
            if clean:
                self.queue.close()
                self.results.close()
            logger.info("worker %s stopped after %d jobs", self.id, self.processed)

    def drain(self, *, timeout: float = 5.0) -> int:
        """Run jobs in the calling thread until the queues are empty; return how many ran.

        Jobs not yet due (retries with backoff, countdowns) are waited for, up to ``timeout``
        seconds in all. Timeouts are not enforced here.
        """
        try:
            return drain_queues(
                self.queue,
                self.queues,
                self._holdings,
                self._processor,
                batch_size=self.batch_size,
                lease_secs=self.settings.lease_secs,
                timeout=timeout,
                stopping=self._stopping,
            )
        finally:
            self._loop.stop()
            if self._children is not None:
                self._children.close()

    def _dispatcher(self) -> Dispatcher:
        return Dispatcher(
            self.queue,
            self.queues,
            self._holdings,
            self._processor.threads.put,
            batch_size=self.batch_size,
            lease_secs=self.settings.lease_secs,
            stopping=self._stopping,
            stop=self.stop,
            burst=self.burst,
            worker_id=self.id,
        )
