"""One claimed job inside a worker, and the states its attempt goes through.

::

    CLAIMED ──► RUNNING ──► DONE
                   │          ▲
                   └► TIMED_OUT

A job stays ``CLAIMED`` while it waits for a slot and while it is prepared; one settled without
running (cancelled, unknown task, poison…) never leaves it. The monitor moves a ``RUNNING``
attempt past its deadline to ``TIMED_OUT`` and settles it; the attempt's late outcome is then
discarded when its thread, child or coroutine returns and moves it to ``DONE``. Any other
transition is a bug and raises :class:`InvalidTransition`.
"""

from __future__ import annotations

import enum
import math
import threading
from dataclasses import dataclass, field

from ..backends import Lease
from ..cancellation import CurrentJob
from ..options import Effective
from ..record import JobRecord
from ..registry import RegisteredTask
from .isolation import Isolation


class AttemptState(enum.Enum):
    """Where a claimed job's attempt stands in its worker."""

    #: Held: waiting for a slot, being prepared, or settled without running.
    CLAIMED = "claimed"
    #: Running on a job thread, in a child process or on the event loop.
    RUNNING = "running"
    #: Past its deadline: the monitor settles it, and its outcome is discarded.
    TIMED_OUT = "timed_out"
    #: Returned: its outcome is being stored, or was discarded after a timeout.
    DONE = "done"


_ALLOWED: dict[AttemptState, frozenset[AttemptState]] = {
    AttemptState.CLAIMED: frozenset({AttemptState.RUNNING}),
    AttemptState.RUNNING: frozenset({AttemptState.TIMED_OUT, AttemptState.DONE}),
    AttemptState.TIMED_OUT: frozenset({AttemptState.DONE}),
    AttemptState.DONE: frozenset(),
}


class InvalidTransition(RuntimeError):
    """An attempt was asked to move to a state its current state does not lead to."""

    def __init__(self, job_id: str, current: AttemptState, wanted: AttemptState) -> None:
        super().__init__(f"job {job_id}: an attempt cannot go from {current.value} to {wanted.value}")
        self.current = current
        self.wanted = wanted


@dataclass(eq=False)
class Attempt:
    """One claimed job inside this worker; ``lock`` guards its state and the fields below."""

    lease: Lease
    lock: threading.Lock = field(default_factory=threading.Lock)
    state: AttemptState = AttemptState.CLAIMED
    deadline: float = math.inf
    started: float = math.inf
    #: Its "running" record is stored.
    published: bool = False
    #: The job thread running it (retired if it times out); ``None`` in a child or on the loop.
    thread_id: int | None = None
    task: RegisteredTask | None = None
    record: JobRecord | None = None
    eff: Effective | None = None
    #: After a timeout under policy "retry": when to nack, once the attempt's thread has exited.
    retry_at: float | None = None
    #: The outcome went to the commit path, which releases the attempt once it is stored.
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
    #: The isolation gate it passed and has not left yet; ``None`` outside it.
    gate: Isolation | None = None

    def move(self, to: AttemptState) -> None:
        """Go to state ``to``; call it with ``lock`` held.

        Raises:
            InvalidTransition: the current state does not lead to ``to``.
        """
        if to not in _ALLOWED[self.state]:
            raise InvalidTransition(self.lease.id, self.state, to)
        self.state = to

    @property
    def timed_out(self) -> bool:
        """The monitor timed it out: its outcome no longer counts."""
        return self.state is AttemptState.TIMED_OUT

    def end(self) -> bool:
        """Move to ``DONE`` once the attempt has returned; ``True`` if it had timed out."""
        with self.lock:
            timed_out = self.timed_out
            self.move(AttemptState.DONE)
        return timed_out

    def enter_gate(self, gate: Isolation, *, alone: bool) -> None:
        """Wait at the isolation gate until it may run (alone: with no other attempt)."""
        gate.enter(alone=alone)
        with self.lock:
            self.alone, self.gate = alone, gate

    def leave_gate(self) -> None:
        """Leave the isolation gate (idempotent).

        An attempt leaves once it no longer runs; one that runs alone, only once its outcome is
        settled, so that no neighbour can stop the worker while its record still says running.
        """
        if self.gate is None:
            return
        with self.lock:
            gate, self.gate = self.gate, None
        if gate is not None:
            gate.leave(alone=self.alone)
