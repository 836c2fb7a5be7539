"""The queue backend contract (``nuvom.backends.base.QueueBackend``) as pytest checks.

The checks are grouped by theme in ``queue_ordering``, ``queue_leases``, ``queue_contention`` and
``queue_durability``; :class:`QueueBackendSuite` joins them with the optional interfaces' checks and
holds the fixtures, the counting checks and the reference-model check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import ClassVar

import pytest

from ...backends.base import QueueBackend
from .claimed_record import ClaimedRecordSuite
from .completion import CompletingQueueSuite
from .depths import DepthQueueSuite
from .limits import LimitingQueueSuite
from .model import run_queue_model
from .operations import QueueOperationsSuite
from .queue_contention import QueueContentionSuite
from .queue_durability import QueueDurabilitySuite
from .queue_leases import QueueLeaseSuite
from .queue_ordering import QueueOrderingSuite
from .support import BackendFactory, closing_instances, env, pop, skip_unless_capable


# pytest runs a base class's checks before its subclass's, the last base first: the report lists
# the optional interfaces, then ordering, leases, contention and durability, then the checks here.
class QueueBackendSuite(
    QueueDurabilitySuite,
    QueueContentionSuite,
    QueueLeaseSuite,
    QueueOrderingSuite,
    CompletingQueueSuite,
    ClaimedRecordSuite,
    QueueOperationsSuite,
    DepthQueueSuite,
    LimitingQueueSuite,
):
    """Every sentence of the queue contract, one check each.

    Adopt it with ``from nuvom.testing.suite import *`` (which brings ``TestQueueBackend``) or
    subclass it as ``class TestMyQueue(QueueBackendSuite): ...``, and provide a ``queue_factory``
    fixture: a zero-argument callable returning a new backend instance over the same, initially
    empty store on each call within one check, so two instances act like two processes (a
    backend without ``CROSS_PROCESS`` or ``PERSISTENT`` may return one shared instance). Override
    a check by redefining its method in the subclass.
    """

    #: Examples the reference-model check runs; lower it for a slow backend, raise it to search harder.
    model_examples: ClassVar[int] = 25
    #: Shrink a failure of the model check to its shortest sequence (slow with real I/O).
    model_shrink: ClassVar[bool] = False

    @pytest.fixture
    def make_queue(self, queue_factory: BackendFactory) -> Iterator[Callable[[], QueueBackend]]:
        """Instances from ``queue_factory``, closed when the check ends."""
        yield from closing_instances(queue_factory)

    @pytest.fixture
    def queue(self, make_queue: Callable[[], QueueBackend], request: pytest.FixtureRequest) -> QueueBackend:
        """The backend under test; the check is skipped if it lacks a required capability."""
        backend = make_queue()
        skip_unless_capable(backend, getattr(request, "function", None))
        left = backend.qsize()
        assert left == 0, f"the queue_factory fixture must give each check an empty store; it holds {left}"
        return backend

    # -- counting ------------------------------------------------------------------------------

    def test_qsize_counts_waiting_jobs_and_clear_deletes_all(self, queue: QueueBackend) -> None:
        """``qsize`` counts jobs waiting (due or not, not leased); ``clear`` deletes every job."""
        queue.enqueue_many([env("a1"), env("a2"), env("a3")])
        queue.enqueue(env("b1", queue="other"))
        queue.enqueue(env("later", queue="other", eta=time.time() + 3600))

        sizes = [queue.qsize(), queue.qsize("default"), queue.qsize("other"), queue.qsize("empty")]
        assert sizes == [5, 3, 2, 0], f"qsize() all/default/other/empty is {sizes}, expected [5, 3, 2, 0]"

        (lease,) = pop(queue, 1)
        assert (queue.qsize(), queue.qsize("default")) == (4, 2), "a leased job must not count as waiting"

        cleared = queue.clear()

        assert cleared == 5, f"clear() deleted {cleared} jobs, expected 5 (the leased one included)"
        assert queue.qsize() == 0, f"qsize() is {queue.qsize()} after clear()"
        assert pop(queue, queues=("default", "other")) == [], "a job was claimed after clear()"
        queue.ack(lease)  # acking a cleared job is harmless
        assert queue.clear() == 0, "a second clear() found jobs"

    def test_stats_count_ready_scheduled_and_leased_jobs(self, queue: QueueBackend) -> None:
        """``stats`` counts ready, scheduled (future eta or retry) and leased jobs, and waiting per queue."""
        queue.enqueue_many([env("a1"), env("a2"), env("a3")])
        queue.enqueue(env("b1", queue="other"))
        queue.enqueue(env("later", queue="other", eta=time.time() + 3600))
        leases = pop(queue, 2)
        queue.nack(leases[1], retry_at=time.time() + 3600)

        stats = queue.stats()

        counts = (stats.ready, stats.scheduled, stats.leased, stats.quarantined)
        assert counts == (2, 2, 1, 0), (
            f"ready/scheduled/leased/quarantined is {counts}, expected (2, 2, 1, 0)"
        )
        assert stats.by_queue == {"default": 2, "other": 2}, f"waiting per queue is {stats.by_queue}"

    def test_close_is_idempotent(self, make_queue: Callable[[], QueueBackend], queue: QueueBackend) -> None:
        """``close`` releases the instance and is idempotent."""
        other = make_queue()
        other.enqueue(env("j"))
        pop(other)

        other.close()
        other.close()

    # -- the model -----------------------------------------------------------------------------

    def test_random_operations_agree_with_a_reference_model(
        self, queue: QueueBackend, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """Random sequences of enqueue, claim, ack, nack, extend and expiry agree with a reference model."""
        run_queue_model(make_queue, max_examples=self.model_examples, shrink=self.model_shrink)


__all__ = ["QueueBackendSuite"]
