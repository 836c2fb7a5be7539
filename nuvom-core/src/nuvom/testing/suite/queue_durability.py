"""Durability of the queue contract as pytest checks: jobs survive a restart, corrupt entries are set aside.

Mixed into :class:`~nuvom.testing.suite.queue.QueueBackendSuite`, which provides the ``queue`` and
``make_queue`` fixtures.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ...backends import Capability, QuarantineListing, QueueBackend
from .support import env, plant_corrupt_entry, pop, requires


class QueueDurabilitySuite:
    """Checks of what a backend declaring ``PERSISTENT`` or ``QUARANTINE`` promises."""

    @requires(Capability.PERSISTENT)
    def test_jobs_survive_a_new_instance(
        self, queue: QueueBackend, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """Jobs survive the instance that enqueued them: a new instance claims them intact."""
        sent = [env("a", priority=3), env("b", priority=1, payload=b"\x00\xff")]
        queue.enqueue_many(sent)
        queue.close()

        leases = pop(make_queue())

        envelopes = [lease.envelope for lease in leases]
        assert envelopes == [sent[1], sent[0]], f"a new instance claimed {envelopes}"

    @requires(Capability.QUARANTINE)
    def test_a_corrupt_entry_is_quarantined(self, queue: QueueBackend) -> None:
        """A corrupt entry is quarantined: never delivered, counted by ``stats``, listed if offered."""
        queue.enqueue_many([env("good-1"), env("good-2")])
        try:
            plant_corrupt_entry(queue, "default")
        except NotImplementedError:
            pytest.skip(
                "the backend declares QUARANTINE but offers no plant_corrupt_entry(queue) to test it "
                "(a method, or nuvom.testing.suite.support.plant_corrupt_entry.register)"
            )

        ids = sorted(lease.id for lease in pop(queue))

        assert ids == ["good-1", "good-2"], f"claimed {ids} beside a corrupt entry"
        assert pop(queue, timeout=0.3) == [], "something was claimed after the valid jobs"
        quarantined = queue.stats().quarantined
        assert quarantined == 1, f"stats().quarantined is {quarantined}, expected 1"
        assert queue.qsize() == 0, f"qsize() is {queue.qsize()}: the corrupt entry still counts as waiting"
        if isinstance(queue, QuarantineListing):  # the planted entry's id starts with "corrupt-"
            (entry,) = queue.quarantined()
            assert entry.reason, "a quarantined entry is listed without its reason"
            assert entry.job_id is None or entry.job_id.startswith("corrupt-"), f"listed {entry}"
            assert entry.queue in (None, "default"), f"listed {entry}"
