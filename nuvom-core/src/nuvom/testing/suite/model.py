"""A Hypothesis state machine: random operations on a queue backend against a reference model.

The model is a dict of jobs, each waiting, scheduled (due far in the future), leased or acked, and
the leases it handed out. After every step the backend's ``qsize`` must match. Expiry is real: the
``expire`` rule shortens a live lease with ``extend``, lets it lapse, and claims until the job
comes back, so a lease is never left expired-but-unclaimed (a state whose ``ack`` the contract
leaves open).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ...backends import Envelope, Lease, QueueBackend
from .support import sleep_until

#: A lease that never lapses within one example, unless the ``expire`` rule shortens it.
_LEASE_SECS = 60.0
#: Expiries cost real time (a backend may notice one only at its next sweep), so few per example.
_MAX_EXPIRIES = 2
_QUEUES = ("default", "other")

JobState = Literal["waiting", "scheduled", "leased", "acked"]
When = Literal["now", "past", "future"]
Retry = Literal["none", "now", "future"]

_priorities = st.integers(min_value=0, max_value=9)
# mostly due now, so that most jobs can be claimed
_whens: st.SearchStrategy[When] = st.sampled_from(["now", "now", "past", "future"])
_payloads = st.binary(max_size=32)
_queue_names = st.sampled_from(_QUEUES)
_queue_sets = st.sampled_from([("default",), ("other",), _QUEUES])


@dataclass(eq=False)
class Held:
    """A lease the model handed out."""

    lease: Lease

    def __repr__(self) -> str:
        return f"Held({self.lease.id!r}, deliveries={self.lease.deliveries})"


@dataclass(eq=False)
class _Job:
    envelope: Envelope
    state: JobState
    attempts: int = 0
    deliveries: int = 0
    holder: Held | None = field(default=None, repr=False)


class QueueModel(RuleBasedStateMachine):
    """Random enqueue / claim / ack / nack / extend / expire, checked step by step."""

    #: Builds the backend; bound by :func:`run_queue_model`.
    factory: ClassVar[Callable[[], QueueBackend]]
    leases: Bundle[Held] = Bundle("leases")

    def __init__(self) -> None:
        super().__init__()
        self.queue = type(self).factory()
        self.queue.clear()  # one store serves every example
        self.jobs: dict[str, _Job] = {}
        self.count = 0
        self.expiries = 0

    # -- the model -------------------------------------------------------------------------

    def _envelope(self, priority: int, when: When, queue: str, payload: bytes) -> Envelope:
        self.count += 1
        now = time.time()
        eta = {"now": None, "past": now - 100, "future": now + 3600}[when]
        return Envelope(f"m{self.count}", queue, payload, priority, eta)

    def _add(self, envelope: Envelope) -> None:
        future = envelope.eta is not None and envelope.eta > time.time()
        self.jobs[envelope.id] = _Job(envelope, "scheduled" if future else "waiting")

    def _claimable(self, queues: Sequence[str]) -> list[_Job]:
        return [j for j in self.jobs.values() if j.state == "waiting" and j.envelope.queue in queues]

    def _is_live(self, held: Held) -> bool:
        job = self.jobs[held.lease.id]
        return job.state == "leased" and job.holder is held

    def _record_claim(self, lease: Lease, queues: Sequence[str]) -> Held:
        job = self.jobs.get(lease.id)
        assert job is not None, f"claimed {lease.id!r}, which was never enqueued (or was cleared)"
        assert job.state == "waiting", f"claimed {lease.id!r}, which is {job.state}, not waiting"
        assert job.envelope.queue in queues, f"claimed {lease.id!r} of queue {job.envelope.queue!r}"
        job.deliveries += 1
        assert lease.envelope.payload == job.envelope.payload, f"{lease.id!r} came back with another payload"
        assert lease.envelope.priority == job.envelope.priority, (
            f"{lease.id!r} came back with another priority"
        )
        assert lease.envelope.attempts == job.attempts, (
            f"{lease.id!r} came back with attempts={lease.envelope.attempts}, expected {job.attempts}"
        )
        assert lease.deliveries == job.deliveries, (
            f"{lease.id!r} came back with deliveries={lease.deliveries}, expected {job.deliveries}"
        )
        held = Held(lease)
        job.state, job.holder = "leased", held
        return held

    # -- rules -----------------------------------------------------------------------------

    @rule(batch=st.lists(st.tuples(_priorities, _whens, _queue_names, _payloads), min_size=1, max_size=4))
    def enqueue(self, batch: list[tuple[int, When, str, bytes]]) -> None:
        envelopes = [self._envelope(*job) for job in batch]
        if len(envelopes) == 1:
            self.queue.enqueue(envelopes[0])
        else:
            self.queue.enqueue_many(envelopes)
        for envelope in envelopes:
            self._add(envelope)

    @rule(target=leases, n=st.integers(min_value=1, max_value=4), queues=_queue_sets)
    def claim(self, n: int, queues: tuple[str, ...]) -> MultipleResults[Held]:
        claimable = self._claimable(queues)
        leases = self.queue.pop_batch(n, queues=queues, timeout=0.0, lease_secs=_LEASE_SECS)
        ids = [lease.id for lease in leases]
        expected = min(n, len(claimable))
        assert len(ids) == expected, (
            f"pop_batch({n}, queues={queues}) claimed {ids}, expected {expected} of the due jobs "
            f"{sorted(j.envelope.id for j in claimable)}"
        )
        assert len(set(ids)) == len(ids), f"pop_batch returned one job twice: {ids}"
        priorities = [lease.envelope.priority for lease in leases]
        assert priorities == sorted(priorities), f"pop_batch claimed priorities {priorities} out of order"
        passed_over = [j.envelope.priority for j in claimable if j.envelope.id not in ids]
        assert not (priorities and passed_over) or max(priorities) <= min(passed_over), (
            f"claimed priorities {priorities} while a due job of priority {min(passed_over)} waited"
        )
        return multiple(*(self._record_claim(lease, queues) for lease in leases))

    @rule(held=leases)
    def ack(self, held: Held) -> None:
        live = self._is_live(held)
        self.queue.ack(held.lease)
        if live:
            job = self.jobs[held.lease.id]
            job.state, job.holder = "acked", None

    @rule(held=leases, retry=st.sampled_from(["none", "now", "future"]))
    def nack(self, held: Held, retry: Retry) -> None:
        live = self._is_live(held)
        now = time.time()
        retry_at = {"none": None, "now": now, "future": now + 3600}[retry]
        self.queue.nack(held.lease, retry_at=retry_at)
        if live:
            job = self.jobs[held.lease.id]
            job.state = "scheduled" if retry == "future" else "waiting"
            job.holder = None
            job.deliveries = 0
            job.attempts += retry != "none"

    @rule(held=leases)
    def extend(self, held: Held) -> None:
        live = self._is_live(held)
        extended = self.queue.extend(held.lease, _LEASE_SECS)
        assert extended is live, (
            f"extend returned {extended} for the lease of {held.lease.id!r}, which is "
            f"{'live' if live else 'acked, nacked or lost'}"
        )

    @precondition(lambda self: self.expiries < _MAX_EXPIRIES)
    @rule(target=leases, held=leases)
    def expire(self, held: Held) -> MultipleResults[Held]:
        if not self._is_live(held):
            return multiple()
        self.expiries += 1
        job = self.jobs[held.lease.id]
        assert self.queue.extend(held.lease, 0.05), f"extend of the live lease of {job.envelope.id!r} failed"
        left = held.lease.expires_at - time.time()
        assert left < 1, f"extend(lease, 0.05) left the lease of {job.envelope.id!r} expiring in {left:.1f} s"
        sleep_until(held.lease.expires_at)
        job.state, job.holder = "waiting", None  # claimable again; its deliveries go on
        queues = (job.envelope.queue,)
        claimed: list[Held] = []
        deadline = time.monotonic() + 10
        while not any(h.lease.id == job.envelope.id for h in claimed):
            assert time.monotonic() < deadline, (
                f"{job.envelope.id!r} was not delivered again 10 s after expiry"
            )
            for lease in self.queue.pop_batch(1, queues=queues, timeout=0.05, lease_secs=_LEASE_SECS):
                claimed.append(self._record_claim(lease, queues))
        return multiple(*claimed)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def sizes_agree(self) -> None:
        waiting = [j for j in self.jobs.values() if j.state in ("waiting", "scheduled")]
        assert self.queue.qsize() == len(waiting), (
            f"qsize() is {self.queue.qsize()}; the model has {len(waiting)} jobs waiting"
        )
        for name in _QUEUES:
            expected = sum(1 for j in waiting if j.envelope.queue == name)
            assert self.queue.qsize(name) == expected, (
                f"qsize({name!r}) is {self.queue.qsize(name)}; the model has {expected}"
            )

    def teardown(self) -> None:
        self.queue.clear()


def run_queue_model(
    factory: Callable[[], QueueBackend], *, max_examples: int = 25, steps: int = 30, shrink: bool = False
) -> None:
    """Run :class:`QueueModel` on backends from ``factory`` (instances over one store).

    Shrinking a failure to its shortest sequence replays it hundreds of times, minutes on a
    backend with real I/O, so it is off unless ``shrink``; the failing step's message says what
    disagreed either way, and Hypothesis prints the whole sequence.
    """
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])
    machine = type("QueueModelMachine", (QueueModel,), {"factory": staticmethod(factory)})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            phases=phases,
            report_multiple_bugs=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
