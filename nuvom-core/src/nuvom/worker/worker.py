"""The worker: claims jobs, runs them on threads, stores outcomes, then acknowledges.

Threads of one worker process:

- the dispatcher (the caller of :meth:`Worker.run`): claims as many jobs as there are free slots;
- job threads (:class:`JobThreads`): each runs one attempt, stores its outcome, then acks/nacks;
  with ``pool="processes"`` the attempt itself runs in a child process (:mod:`.processes`);
- the event loop thread (:mod:`.event_loop`): runs the attempts of ``async def`` tasks, whose
  job threads hand them over and go on with their next job;
- the monitor: extends the leases of held jobs, enforces timeouts, purges expired results.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING

from ..backends import Completion, Lease, QueueBackend, ResultBackend
from ..cancellation import CurrentJob
from ..errors import CorruptEntry, JobTimeout, TaskNotFound
from ..execution import run_attempt, run_attempt_async, run_hook
from ..lifecycle import Outcome, failed_record, queued_record, running_record, settle, unreadable_record
from ..log import job_context, name_job_task
from ..message import JobMessage
from ..options import Effective
from ..plugins.events import Event, job_finished, job_started, notify
from ..record import ErrorInfo, JobRecord, JobStatus
from ..registry import RegisteredTask, TaskRegistry, is_sensitive, registry
from .admission import FlowControl
from .child import Request
from .committer import Commit, Committer, Stored, store_outcomes
from .event_loop import EventLoopThread
from .heartbeat import Heartbeat
from .isolation import Isolation
from .pool import JobThreads
from .processes import ChildPool, task_modules
from .quarantine import settle_quarantined

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)

_MONITOR_TICK_SECS = 0.05
_PURGE_EVERY_SECS = 60.0
#: How often the quarantine is read for jobs whose records still wait (see :mod:`.quarantine`).
_QUARANTINE_EVERY_SECS = 5.0
#: A job's "running" record is stored once it has run this long: most jobs finish sooner, and
#: their record goes from queued to its outcome in one write.
_PUBLISH_RUNNING_AFTER_SECS = 0.05
#: How often the record of a running job is read to see whether it was cancelled.
_CANCEL_CHECK_SECS = 0.1
#: Test fault injection only: the worker exits at once (as if killed) at this point: ``claimed``
#: (a job claimed, not started), ``completing`` (its outcome known, neither stored nor acked),
#: ``acked`` (stored and acknowledged), or, for a linked job, ``stored`` / ``linked`` (its
#: terminal record stored, before / after sending its follow-ups). Never set it in production.
_FAULT_ENV = "NUVOM_TEST_FAULT_EXIT_AT"


@dataclass(eq=False)
class _Attempt:
    """One claimed job inside this worker."""

    lease: Lease
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: claimed -> running -> done, or running -> timed_out -> done.
    state: str = "claimed"
    deadline: float = math.inf
    started: float = math.inf
    published: bool = False
    thread_id: int | None = None
    task: RegisteredTask | None = None
    record: JobRecord | None = None
    eff: Effective | None = None
    #: After a timeout under policy "retry": when to nack, once the attempt's thread has exited.
    retry_at: float | None = None
    #: The outcome went to the committer, which releases the attempt once it is stored.
    handed_over: bool = False
    #: What ``nuvom.current_job()`` returns inside the task; cancelled when the record is.
    job: CurrentJob | None = None
    #: When the record was last read for a cancel (monotonic).
    checked: float = 0.0
    #: An ``async def`` attempt on the event loop, which enforces its timeout itself.
    in_loop: bool = False
    #: Set once the monitor has settled a timed-out attempt (``retry_at`` is then final).
    timeout_handled: threading.Event | None = None
    #: It runs alone: it was running each time its holders stopped (see :mod:`.isolation`).
    alone: bool = False
    #: It passed the isolation gate and has not left it yet.
    entered: bool = False


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
        self._children: ChildPool | None = None
        if pool == "processes":
            self._children = ChildPool(
                task_modules([t.func.__module__ for t in tasks.all().values()]),
                log_level=settings.log_level,
                max_jobs_per_child=max_jobs_per_child,
                max_memory_mb=max_memory_per_child,
            )
        self._loop = EventLoopThread()
        #: In :meth:`drain`: async attempts are waited for by the calling thread.
        self._draining = False
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._threads: JobThreads[_Attempt] = JobThreads(self._process_in_context, self.concurrency)
        self._isolation = Isolation()
        #: Rate and concurrency limits of the tasks (raises if they need a limiter the queue lacks).
        self._flow = FlowControl(queue, results, settings.lease_secs, tasks.all().values())
        #: This process also sends due schedules (only said in the start-up line).
        self.runs_schedules = runs_schedules
        self._cond = threading.Condition()
        #: Claimed jobs that occupy a slot or wait for one.
        self._busy = 0
        #: Outcomes handed to the committer and not stored yet.
        self._committing = 0
        #: Jobs held at most, in all (busy and committing): what a ``kill -9`` makes run again.
        self.capacity = self.concurrency + min(self.batch_size, self.concurrency)
        self._attempts: dict[str, _Attempt] = {}
        self._stopping = threading.Event()
        self._monitor_done = threading.Event()
        self._committer: Committer | None = None
        self.processed = 0
        #: Quarantined job ids already looked at.
        self._quarantine_seen: set[str] = set()

    @property
    def running(self) -> int:
        """Jobs this worker holds now (running, or stored but not yet acknowledged)."""
        with self._cond:
            return len(self._attempts)

    # -- lifecycle -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming; running jobs finish within the grace period (thread-safe)."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()

    def run(self, *, install_signals: bool = True) -> None:
        """Claim and run jobs until :meth:`stop` or SIGINT/SIGTERM, then shut down gracefully."""
        if install_signals and threading.current_thread() is threading.main_thread():
            self._install_signals()
        monitor = threading.Thread(target=self._monitor, name="nuvom-monitor", daemon=True)
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
        self._threads.start()
        self._committer = Committer(self.queue, self.results)
        self._committer.start()
        notify(Event.WORKER_STARTED, worker=self)
        heartbeat = Heartbeat.start(self)
        try:
            self._dispatch()
        finally:
            notify(Event.WORKER_STOPPING, worker=self)
            for attempt in self._threads.take_unstarted():
                self.queue.nack(attempt.lease)  # claimed but not started: back to the queue
                self._release(attempt, slot=True, held=True)
            clean = self._wait_for_running(self.settings.shutdown_grace_secs)
            self._loop.stop()
            if self._children is not None:
                self._children.close()
            self._committer.stop()
            self._committer = None
            self._monitor_done.set()
            monitor.join()
            self._threads.stop()
            heartbeat.stop()
            if clean:
                self.queue.close()
                self.results.close()
            logger.info("worker %s stopped after %d jobs", self.id, self.processed)

    def _install_signals(self) -> None:
        def handle(signum: int, frame: FrameType | None) -> None:
            if self._stopping.is_set():
                logger.warning("second %s: exiting now", signal.Signals(signum).name)
                os._exit(128 + signum)
            logger.info(
                "%s: finishing running jobs (up to %g s), then stopping",
                signal.Signals(signum).name,
                self.settings.shutdown_grace_secs,
            )
            self.stop()

        signal.signal(signal.SIGINT, handle)
        signal.signal(signal.SIGTERM, handle)

    def _dispatch(self) -> None:
        while not self._stopping.is_set():
            with self._cond:
                while self._held() >= self.capacity and not self._stopping.is_set():
                    self._cond.wait(0.5)
                wanted = min(self.batch_size, self.capacity - self._held())
                # Nothing held during the claim: no retry of ours can have come due meanwhile.
                idle = not self._attempts and self._held() == 0
            if self._stopping.is_set():
                return
            try:
                leases = self.queue.pop_batch(
                    wanted, queues=self.queues, timeout=0.5, lease_secs=self.settings.lease_secs
                )
            except Exception:
                logger.exception("claiming jobs failed; trying again in 1 s")
                self._stopping.wait(1.0)
                continue
            for lease in leases:
                self._threads.put(self._hold(lease))
            if not leases and self.burst and idle:
                logger.info("worker %s: nothing is due and nothing runs; stopping (burst)", self.id)
                self.stop()

    def _held(self) -> int:
        """Jobs this worker holds: waiting, running, or with an outcome not stored yet."""
        return self._busy + self._committing

    def _hold(self, lease: Lease) -> _Attempt:
        attempt = _Attempt(lease)
        with self._cond:
            self._busy += 1
            self._attempts[lease.id] = attempt
        return attempt

    def _wait_for_running(self, grace: float) -> bool:
        """Wait for running attempts; ``True`` when none is left."""
        deadline = time.monotonic() + grace
        with self._cond:
            while self._attempts and time.monotonic() < deadline:
                self._cond.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            left = len(self._attempts)
        if left:
            logger.error(
                "%d job(s) still running after the %g s grace period; their leases will lapse "
                "and they will be delivered again",
                left,
                grace,
            )
        return left == 0

    def _release(self, attempt: _Attempt, *, slot: bool, held: bool, processed: int = 0) -> None:
        with self._cond:
            self.processed += processed
            if slot:
                self._busy -= 1
            if held and self._attempts.get(attempt.lease.id) is attempt:
                del self._attempts[attempt.lease.id]
            self._cond.notify_all()

    # -- one job -----------------------------------------------------------------------------

    def _process_in_context(self, attempt: _Attempt) -> None:
        """:meth:`_process` with the job's id (and task, once known) on every log record."""
        with job_context(attempt.lease.id):
            self._process(attempt)

    def _process(self, attempt: _Attempt) -> None:
        """Prepare and run one claimed job on this job thread (an async one on the event loop)."""
        lease = attempt.lease
        try:
            _fault("claimed")
            if self._stopping.is_set():
                self.queue.nack(lease)  # claimed but not started: back to the queue
                prepared = None
            else:
                prepared = self._prepare(attempt)
            if prepared is not None:
                task, message = prepared
                if attempt.in_loop:
                    future = self._loop.submit(self._run_in_loop(attempt, task, message))
                    if self._draining:
                        future.result()
                    return
                outcome = self._execute(attempt, task, message)
        except Exception:
            # Our own failure (e.g. the result backend is down): stop extending the lease so the
            # job is delivered again when it lapses; its delivery count grows each time.
            logger.exception("job %s could not be processed; it will be delivered again", lease.id)
            prepared = None
        if prepared is None:
            self._stop_running(attempt)
            if not attempt.handed_over:
                self._release(attempt, slot=attempt.state != "timed_out", held=True, processed=1)
            return
        self._finish(attempt, outcome)

    def _execute(self, attempt: _Attempt, task: RegisteredTask, message: JobMessage) -> Outcome:
        """Run the attempt here, or in a child process (killed if it times out or is cancelled)."""
        assert attempt.eff is not None and attempt.job is not None
        if self._children is None:
            return run_attempt(
                task,
                message,
                attempt.eff.store_result,
                current=lambda: attempt.state != "timed_out",
                job=attempt.job,
            )
        job, timeout = attempt.job, attempt.eff.timeout_secs

        def started() -> None:  # the clock starts once a child has the job
            with attempt.lock:
                attempt.deadline = time.monotonic() + timeout

        request = Request(attempt.lease.envelope.payload, job.attempt, attempt.eff.store_result)
        outcome = self._children.run(
            request, stop=lambda: attempt.state == "timed_out" or job.cancelled, started=started
        )
        return outcome or Outcome(cancelled=True)  # killed: a timeout settles it in _finish

    async def _run_in_loop(self, attempt: _Attempt, task: RegisteredTask, message: JobMessage) -> None:
        """Run an async attempt on the loop, then finish it on an executor thread (it blocks)."""
        assert attempt.eff is not None and attempt.job is not None
        outcome = await run_attempt_async(task, message, attempt.eff, attempt.job)
        await asyncio.get_running_loop().run_in_executor(None, self._finish, attempt, outcome)

    def _finish(self, attempt: _Attempt, outcome: Outcome) -> None:
        """Store an attempt's outcome and ack/nack it, unless its timeout already settled it."""
        lease = attempt.lease
        slot_released = False
        self._stop_running(attempt)
        try:
            if attempt.job is not None and attempt.job.cancelled:
                outcome = Outcome(cancelled=True)  # cancelled while it ran: its outcome is discarded
            with attempt.lock:
                timed_out = attempt.state == "timed_out"
                attempt.state = "done"
            if timed_out:
                slot_released = True  # the monitor freed the slot at the timeout
                assert attempt.timeout_handled is not None
                attempt.timeout_handled.wait()  # the monitor decides whether to retry
                if attempt.retry_at is not None:
                    self.queue.nack(lease, retry_at=max(attempt.retry_at, time.time()))
                logger.warning("job %s: its attempt ended after its timeout; outcome discarded", lease.id)
                return
            assert attempt.record is not None and attempt.eff is not None
            self._commit(attempt, settle(attempt.record, outcome, attempt.eff))
        except Exception:
            logger.exception("job %s could not be processed; it will be delivered again", lease.id)
        finally:
            if not attempt.handed_over:
                self._release(attempt, slot=not slot_released, held=True, processed=1)

    def _prepare(self, attempt: _Attempt) -> tuple[RegisteredTask, JobMessage] | None:
        """Decode, look up and mark running; ``None`` when the job was settled without running."""
        lease = attempt.lease
        try:
            message = JobMessage.decode(lease.envelope.payload)
        except CorruptEntry as exc:
            self._fail_unrun(attempt, unreadable_record(lease), ErrorInfo("CorruptEntry", exc.reason))
            return None
        name_job_task(message.task_name)
        try:
            claimed = lease.record  # read with the claim; a cancel since then is seen while it runs
            fresh = claimed is not None and claimed.id == message.id and time.time() < lease.expires_at
            existing = claimed if fresh else self.results.get_full(message.id)
        except CorruptEntry as exc:  # settled now: read again, it would fail at every delivery
            error = ErrorInfo("CorruptEntry", f"the job's stored record cannot be read: {exc.reason}")
            unread = queued_record(message, 0, sensitive=is_sensitive(message.task_name))
            self._fail_unrun(attempt, unread, error)
            return None
        if existing is not None and existing.status is JobStatus.CANCELLED:
            if existing.finished_at is None:  # cancelled while a worker that has died ran it
                self.results.save(existing.replace(finished_at=time.time()))
            self.queue.ack(lease)
            job_finished(existing)  # monitoring counts the cancel, though the job never ran here
            logger.info("job %s (%s) was cancelled; not run", message.id, message.task_name)
            return None
        if existing is not None and existing.status.is_terminal:
            # Its outcome was stored by a worker that stopped before acknowledging it: finish
            # what that worker left (follow-ups are sent once), without running it again.
            continue_workflow(existing, self.queue, self.results)
            self.queue.ack(lease)
            logger.info(
                "job %s (%s) was already %s; not run again",
                message.id,
                message.task_name,
                existing.status.value,
            )
            return None
        alone = self._suspected(lease, existing)
        if alone and existing is not None and existing.isolated:
            reason = (
                f"its worker stopped while it ran alone, after {lease.deliveries} deliveries to "
                f"workers that stopped while it ran (NUVOM_MAX_DELIVERIES="
                f"{self.settings.max_deliveries}); failed as a poison job"
            )
            self._fail_unrun(attempt, existing, ErrorInfo("PoisonJob", reason))
            return None
        task = self.tasks.get(message.task_name)
        if task is None:
            err = TaskNotFound(message.task_name)
            self._fail_unrun(
                attempt, existing or queued_record(message, 0), ErrorInfo("TaskNotFound", str(err))
            )
            return None
        eff = Effective.of(task.opts, message, self.settings)
        admission = self._flow.admit(task, message, lease, existing)
        if admission.error is not None:
            self._fail_unrun(attempt, existing or queued_record(message, eff.max_retries), admission.error)
            return None
        if not admission.granted:
            return None  # deferred: back in the queue, its record says which limit it waits for
        record = running_record(
            existing,
            message,
            lease.envelope.attempts + 1,
            eff.max_retries,
            self.id,
            isolated=alone,
            sensitive=task.opts.sensitive,
            started_at=admission.started_at,
        )
        in_loop = task.is_async and self._children is None
        self._isolation.enter(alone=alone)
        with attempt.lock:
            attempt.alone, attempt.entered = alone, True
        if lease.deliveries > 1:  # so that a redelivered job that stops its worker is seen running
            self.results.save(record, durable=False)
        with attempt.lock:
            attempt.published = lease.deliveries > 1
            attempt.task, attempt.record, attempt.eff = task, record, eff
            attempt.job = CurrentJob(message.id, message.task_name, record.attempts)
            # A thread stuck in a timed-out task is retired; a child is killed, a coroutine cancelled.
            attempt.thread_id = threading.get_ident() if self._children is None and not in_loop else None
            attempt.in_loop = in_loop
            attempt.started = time.monotonic()
            # An async attempt times itself out; a child's starts once the child has the job.
            waits = in_loop or self._children is not None
            attempt.deadline = math.inf if waits else attempt.started + eff.timeout_secs
            attempt.state = "running"
        job_started(record)
        return task, message

    def _suspected(self, lease: Lease, existing: JobRecord | None) -> bool:
        """Past ``NUVOM_MAX_DELIVERIES``, was the job running when its last holder stopped?

        A job that was only held (waiting for a slot) when its worker died is not suspected: it
        runs as usual. A suspected job runs alone; if its worker stops then too, it is poison.
        """
        over = lease.deliveries > self.settings.max_deliveries
        return over and existing is not None and existing.status is JobStatus.RUNNING

    def _stop_running(self, attempt: _Attempt) -> None:
        """Leave the isolation gate once the attempt no longer runs (idempotent)."""
        self._flow.release(attempt.lease.id)
        with attempt.lock:
            entered, attempt.entered = attempt.entered, False
        if entered:
            self._isolation.leave(alone=attempt.alone)

    def _fail_unrun(self, attempt: _Attempt, record: JobRecord, error: ErrorInfo) -> None:
        logger.error("job %s failed without running: %s: %s", attempt.lease.id, error.type, error.message)
        self._commit(attempt, failed_record(record, error))

    def _commit(self, attempt: _Attempt, record: JobRecord) -> None:
        """Store the outcome, then ack or nack: through the committer when it runs, else now.

        Handing over frees the job's slot at once; the lease stays held (and extended) until
        the outcome is stored and the job acknowledged. A finished job with workflow links is
        stored, continued and acknowledged here, in that order (see :meth:`_commit_linked`).
        """
        _fault("completing")
        if record.links is not None and record.status.is_terminal:
            self._commit_linked(attempt, record)
            return
        if self._committer is None:
            (stored,) = store_outcomes(self.queue, self.results, [Completion(attempt.lease, record)])
            attempt.handed_over = True
            self._committed(attempt, record, stored, slot=True)
            return
        attempt.handed_over = True
        with self._cond:
            self._busy -= 1
            self._committing += 1
            self._cond.notify_all()
        # Run by the committer thread in this job's logging context.
        committed = functools.partial(self._committed, attempt, record, slot=False)
        then = functools.partial(contextvars.copy_context().run, committed)
        self._committer.submit(Commit(record, attempt.lease, then))

    def _commit_linked(self, attempt: _Attempt, record: JobRecord) -> None:
        """Store, send the follow-ups, then ack.

        Never through ``complete_many``: it acks in the same step as the store, which leaves no
        point where a crash keeps the job queued until its follow-ups are sent.
        """
        try:
            self.results.save(record)
            _fault("stored")
            continue_workflow(record, self.queue, self.results)
            _fault("linked")
            stored = Stored.STORED
        except Exception:
            logger.exception(
                "job %s: storing or continuing its outcome failed; it will be delivered again",
                attempt.lease.id,
            )
            stored = Stored.FAILED
        attempt.handed_over = True
        self._committed(attempt, record, stored, slot=True)

    def _committed(self, attempt: _Attempt, record: JobRecord, stored: Stored, *, slot: bool) -> None:
        try:
            if stored is Stored.STORED:
                self._acknowledge(attempt.lease, record)
            elif stored is Stored.SETTLED:
                self._log_outcome(attempt.lease, record)
            elif stored is Stored.LEASE_LOST:
                logger.warning(
                    "job %s: lease lost before its outcome was stored; the outcome of the worker "
                    "that holds it now stands",
                    attempt.lease.id,
                )
            if stored in (Stored.STORED, Stored.SETTLED):
                _fault("acked")
                job_finished(record)
        finally:
            if not slot:
                with self._cond:
                    self._committing -= 1
            self._release(attempt, slot=slot, held=True, processed=1)

    def _acknowledge(self, lease: Lease, record: JobRecord) -> None:
        """Ack or nack by the stored status: called only after the record is stored."""
        if record.status is JobStatus.RETRYING:
            assert record.next_retry_at is not None
            self.queue.nack(lease, retry_at=record.next_retry_at)
        else:
            self.queue.ack(lease)
        self._log_outcome(lease, record)

    @staticmethod
    def _log_outcome(lease: Lease, record: JobRecord) -> None:
        name = record.task_name
        if record.status is JobStatus.RETRYING:
            assert record.next_retry_at is not None and record.error is not None
            logger.warning(
                "job %s (%s) attempt %d failed (%s: %s); retrying in %.2f s",
                lease.id,
                name,
                record.attempts,
                record.error.type,
                record.error.message,
                record.next_retry_at - time.time(),
            )
        elif record.status is JobStatus.FAILED:
            assert record.error is not None
            logger.error(
                "job %s (%s) failed after %d attempt(s): %s: %s",
                lease.id,
                name,
                record.attempts,
                record.error.type,
                record.error.message,
            )
        else:
            logger.debug("job %s (%s) succeeded", lease.id, name)

    # -- monitor -----------------------------------------------------------------------------

    def _monitor(self) -> None:
        extend_every = self.settings.lease_secs / 3
        last_extend = last_purge = time.monotonic()
        last_quarantine = -math.inf
        while not self._monitor_done.wait(_MONITOR_TICK_SECS):
            now = time.monotonic()
            try:
                self._watch_running(now)
                if now - last_extend >= extend_every:
                    last_extend = now
                    self._extend_leases()
                if now - last_purge >= _PURGE_EVERY_SECS:
                    last_purge = now
                    self.results.purge_expired()
                if now - last_quarantine >= _QUARANTINE_EVERY_SECS:
                    last_quarantine = now
                    settle_quarantined(self.queue, self.results, self._quarantine_seen)
            except Exception:
                logger.exception("worker monitor failed; retrying on the next tick")

    def _extend_leases(self) -> None:
        self._flow.renew()
        with self._cond:
            held = list(self._attempts.values())
        for attempt in held:
            if not self.queue.extend(attempt.lease, self.settings.lease_secs):
                logger.warning("lease of job %s was lost; another worker may run it too", attempt.lease.id)

    def _watch_running(self, now: float) -> None:
        """Store "running" for attempts past 50 ms, and time out those past their deadline."""
        with self._cond:
            held = list(self._attempts.values())
        for attempt in held:
            with attempt.lock:
                if attempt.state != "running":
                    continue
                if not attempt.published and now - attempt.started >= _PUBLISH_RUNNING_AFTER_SECS:
                    # Under the attempt's lock, so the outcome can only be stored after this.
                    assert attempt.record is not None
                    if not self._saw_cancel(attempt, now):
                        self.results.save(attempt.record, durable=False)
                    attempt.published = True
                elif attempt.published and now - attempt.checked >= _CANCEL_CHECK_SECS:
                    self._saw_cancel(attempt, now)
                if now < attempt.deadline:
                    continue
                assert attempt.eff is not None
                if attempt.eff.timeout_policy == "ignore":
                    attempt.deadline = math.inf
                    logger.warning(
                        "job %s ran past its timeout of %g s; policy ignore lets it run on",
                        attempt.lease.id,
                        attempt.eff.timeout_secs,
                    )
                    continue
                handled = attempt.timeout_handled = threading.Event()
                attempt.state = "timed_out"
            try:
                self._time_out(attempt)
            finally:
                handled.set()

    def _saw_cancel(self, attempt: _Attempt, now: float) -> bool:
        """Read the record of a running job; if it was cancelled, tell the task.

        ``True`` when its "running" record must not be stored: it was cancelled, or it is already
        finished (this worker was stalled past its lease and another one ran it to the end).
        """
        attempt.checked = now
        if attempt.job is None or attempt.job.cancelled:
            return attempt.job is not None
        stored = self.results.get_full(attempt.lease.id)
        if stored is not None and stored.status.is_terminal and stored.status is not JobStatus.CANCELLED:
            return True
        if stored is None or stored.status is not JobStatus.CANCELLED:
            return False
        attempt.job.cancel()
        if stored.finished_at is not None:  # cancelled as queued just as it started: mark it stopping
            self.results.save(stored.replace(finished_at=None), durable=False)
        logger.info("job %s was cancelled while it ran; asking its task to stop", attempt.lease.id)
        return True

    def _time_out(self, attempt: _Attempt) -> None:
        assert attempt.record is not None and attempt.eff is not None and attempt.task is not None
        exc = JobTimeout(attempt.eff.timeout_secs)
        stack = sys._current_frames().get(attempt.thread_id or 0)
        where = "".join(traceback.format_stack(stack)) if stack is not None else ""
        error = ErrorInfo("JobTimeout", str(exc), where)
        run_hook(attempt.task, attempt.task.opts.on_error, exc)
        if attempt.eff.timeout_policy == "retry":
            record = settle(attempt.record, Outcome(error=error), attempt.eff)
        else:
            record = failed_record(attempt.record, error, ttl=attempt.eff.result_ttl_secs)
        self.results.save(record)
        if record.status is JobStatus.RETRYING:
            attempt.retry_at = record.next_retry_at  # nacked by its thread once it exits
        else:
            try:
                continue_workflow(record, self.queue, self.results)
                self.queue.ack(attempt.lease)
            except Exception:  # not acked: delivered again, and the follow-ups are sent then
                logger.exception(
                    "job %s: sending its follow-ups failed; it will be delivered again", attempt.lease.id
                )
        job_finished(record)
        logger.error(
            "job %s (%s) timed out after %g s: %s; its slot is given to the next job",
            attempt.lease.id,
            attempt.task.name,
            attempt.eff.timeout_secs,
            "retry after the attempt exits" if attempt.retry_at is not None else "failed",
        )
        if attempt.thread_id is not None:
            self._threads.retire(attempt.thread_id)
        self._stop_running(attempt)
        self._release(attempt, slot=True, held=attempt.retry_at is None)

    # -- in-process draining (tests) ---------------------------------------------------------

    def drain(self, *, timeout: float = 5.0) -> int:
        """Run jobs in the calling thread until the queues are empty; return how many ran.

        Jobs not yet due (retries with backoff, countdowns) are waited for, up to ``timeout``
        seconds in all. Timeouts are not enforced here.
        """
        deadline = time.monotonic() + timeout
        self._draining = True
        try:
            return self._drain(deadline)
        finally:
            self._draining = False
            self._loop.stop()
            if self._children is not None:
                self._children.close()

    def _drain(self, deadline: float) -> int:
        ran = 0
        while True:
            left = deadline - time.monotonic()
            leases = self.queue.pop_batch(
                self.batch_size, queues=self.queues, timeout=0, lease_secs=self.settings.lease_secs
            )
            for lease in leases:
                self._process_in_context(self._hold(lease))
                ran += 1
            if leases:
                continue
            if left <= 0 or not any(self.queue.qsize(q) for q in self.queues):
                return ran
            self._stopping.wait(min(left, 0.05))  # jobs wait for their due time


def continue_workflow(record: JobRecord, queue: QueueBackend, results: ResultBackend) -> None:
    """Send what a finished job's links ask for (imported late: workflows import the worker's parts)."""
    from ..workflows.continuation import continue_workflow as send_follow_ups

    send_follow_ups(record, queue, results)


def _fault(point: str) -> None:
    """Test fault injection: exit at once, like ``kill -9``, at ``point`` (see ``_FAULT_ENV``)."""
    if os.environ.get(_FAULT_ENV) == point:
        os._exit(137)
