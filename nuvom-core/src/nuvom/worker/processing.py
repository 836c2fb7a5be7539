"""The path of one claimed job inside a worker: admitted, started, run, finished, committed.

A job thread takes each claimed job: :class:`~.intake.Intake` decides whether it runs now;
it is started (its "running" record made, the isolation gate passed); its attempt runs on the
job thread, in a child process (``pool="processes"``), or on the event loop (``async def``
tasks, whose job thread goes on with its next job); and its outcome goes to
:class:`~.outcomes.Outcomes`, which stores it and acknowledges the job.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time

from ..backends import QueueBackend, ResultBackend
from ..cancellation import CurrentJob
from ..execution import run_attempt, run_attempt_async
from ..lifecycle import Outcome, running_record, settle
from ..log import job_context
from ..message import JobMessage
from ..plugins.events import job_started
from ..registry import RegisteredTask
from ..unconfirmed import taken_as_made
from .admission import FlowControl
from .attempt import Attempt, AttemptState
from .child import Request
from .event_loop import EventLoopThread
from .faults import fault
from .holdings import Holdings
from .intake import Accepted, Intake
from .isolation import Isolation
from .outcomes import Outcomes
from .pool import JobThreads
from .processes import ChildPool

logger = logging.getLogger(__name__)


class Processor:
    """Runs the claimed jobs of one worker on ``concurrency`` job threads."""

    def __init__(
        self,
        queue: QueueBackend,
        results: ResultBackend,
        worker_id: str,
        holdings: Holdings,
        intake: Intake,
        outcomes: Outcomes,
        flow: FlowControl,
        *,
        concurrency: int,
        loop: EventLoopThread,
        children: ChildPool | None,
        stopping: threading.Event,
    ) -> None:
        self._queue = queue
        self._results = results
        self._worker_id = worker_id
        self._holdings = holdings
        self._intake = intake
        self._outcomes = outcomes
        self._flow = flow
        self._loop = loop
        self._children = children
        self._stopping = stopping
        self._gate = Isolation()
        #: The job threads; each runs :meth:`process` for the attempts put to it.
        self.threads: JobThreads[Attempt] = JobThreads(self.process, concurrency)
        #: Draining: an async attempt is waited for by the calling thread.
        self.draining = False

    def process(self, attempt: Attempt) -> None:
        """Process one claimed job here, with its id (and task, once known) on every log record."""
        with job_context(attempt.lease.id):
            self._process(attempt)

    def time_out(self, attempt: Attempt) -> None:
        """Settle an attempt the monitor moved to ``TIMED_OUT``, and give its slot to the next job."""
        self._outcomes.store_timeout(attempt)
        if attempt.thread_id is not None:
            self.threads.retire(attempt.thread_id)
        self._stop_running(attempt)
        self._holdings.release(attempt, slot=True, held=attempt.retry_at is None)

    def _process(self, attempt: Attempt) -> None:
        lease = attempt.lease
        try:
            fault("claimed")
            if self._stopping.is_set():
                with taken_as_made(f"job {lease.id}: returned unstarted"):
                    self._queue.nack(lease)  # claimed but not started: back to the queue
                accepted = None
            else:
                accepted = self._intake.receive(attempt)
            if accepted is not None:
                self._start(attempt, accepted)
                if attempt.in_loop:
                    future = self._loop.submit(self._run_in_loop(attempt, accepted.task, accepted.message))
                    if self.draining:
                        future.result()
                    return
                outcome = self._execute(attempt, accepted.task, accepted.message)
        except Exception:
            # Our own failure (e.g. the result backend is down): stop extending the lease so the
            # job is delivered again when it lapses; its delivery count grows each time.
            logger.exception("job %s could not be processed; it will be delivered again", lease.id)
            accepted = None
        if accepted is None:
            self._stop_running(attempt)
            if not attempt.handed_over:
                self._holdings.release(attempt, slot=not attempt.timed_out, held=True, processed=1)
            return
        self._finish(attempt, outcome)

    def _start(self, attempt: Attempt, accepted: Accepted) -> None:
        """Mark an accepted job running: its record, the isolation gate, its clock."""
        lease, task, message, eff = attempt.lease, accepted.task, accepted.message, accepted.eff
        record = running_record(
            accepted.existing,
            message,
            lease.envelope.attempts + 1,
            eff.max_retries,
            self._worker_id,
            isolated=accepted.alone,
            sensitive=task.opts.sensitive,
            started_at=accepted.started_at,
        )
        in_loop = task.is_async and self._children is None
        attempt.enter_gate(self._gate, alone=accepted.alone)
        if lease.deliveries > 1:  # so that a redelivered job that stops its worker is seen running
            self._results.save(record, durable=False)
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
            attempt.move(AttemptState.RUNNING)
        job_started(record)

    def _execute(self, attempt: Attempt, task: RegisteredTask, message: JobMessage) -> Outcome:
        """Run the attempt here, or in a child process (killed if it times out or is cancelled)."""
        assert attempt.eff is not None and attempt.job is not None
        if self._children is None:
            return run_attempt(
                task,
                message,
                attempt.eff.store_result,
                current=lambda: not attempt.timed_out,
                job=attempt.job,
            )
        job, timeout = attempt.job, attempt.eff.timeout_secs

        def started() -> None:  # the clock starts once a child has the job
            with attempt.lock:
                attempt.deadline = time.monotonic() + timeout

        request = Request(attempt.lease.envelope.payload, job.attempt, attempt.eff.store_result)

        def stop() -> bool:  # the child is killed
            return attempt.timed_out or job.cancelled

        outcome = self._children.run(request, stop=stop, started=started)
        return outcome or Outcome(cancelled=True)  # killed: a timeout settles it in _finish

    async def _run_in_loop(self, attempt: Attempt, task: RegisteredTask, message: JobMessage) -> None:
        """Run an async attempt on the loop, then finish it on an executor thread (it blocks)."""
        assert attempt.eff is not None and attempt.job is not None
        outcome = await run_attempt_async(task, message, attempt.eff, attempt.job)
        await asyncio.get_running_loop().run_in_executor(None, self._finish, attempt, outcome)

    def _finish(self, attempt: Attempt, outcome: Outcome) -> None:
        """Commit an attempt's outcome, unless its timeout already settled it."""
        lease = attempt.lease
        slot_released = False
        self._flow.release(lease.id)
        if not attempt.alone:  # one that runs alone leaves once its outcome is settled
            attempt.leave_gate()
        try:
            if attempt.job is not None and attempt.job.cancelled:
                outcome = Outcome(cancelled=True)  # cancelled while it ran: its outcome is discarded
            if attempt.end():
                slot_released = True  # the monitor freed the slot at the timeout
                assert attempt.timeout_handled is not None
                attempt.timeout_handled.wait()  # the monitor decides whether to retry
                if attempt.retry_at is not None:
                    with taken_as_made(f"job {lease.id}: returned for its retry"):
                        self._queue.nack(lease, retry_at=max(attempt.retry_at, time.time()))
                logger.warning("job %s: its attempt ended after its timeout; outcome discarded", lease.id)
                return
            assert attempt.record is not None and attempt.eff is not None
            self._outcomes.commit(attempt, settle(attempt.record, outcome, attempt.eff))
        except Exception:
            logger.exception("job %s could not be processed; it will be delivered again", lease.id)
        finally:
            if not attempt.handed_over:
                attempt.leave_gate()
                self._holdings.release(attempt, slot=not slot_released, held=True, processed=1)

    def _stop_running(self, attempt: Attempt) -> None:
        """The attempt no longer runs: free its limit slots and leave the isolation gate (idempotent)."""
        self._flow.release(attempt.lease.id)
        attempt.leave_gate()
