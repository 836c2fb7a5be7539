"""The backend conformance suite: every sentence of a backend contract as a pytest check.

Adopt it in one line, plus a fixture that builds your backend::

    # tests/test_my_backend.py
    from nuvom.testing.suite import *  # noqa: F403

    @pytest.fixture
    def queue_factory(tmp_path):
        return lambda: MyQueue(tmp_path)  # a new instance over the same store on each call

The star import brings ``TestQueueBackend``, ``TestResultBackend`` and ``TestSchedulerBackend``,
which need a ``queue_factory``, ``results_factory`` and ``scheduler_factory`` fixture; the pytest
plugin ``nuvom`` skips each one whose fixture is missing. To adopt one role only, or to override
a check, subclass instead::

    from nuvom.testing.suite import QueueBackendSuite

    class TestMyQueue(QueueBackendSuite):
        def test_a_5_mb_payload_round_trips(self, queue): ...

Optional features are skipped by the capabilities a backend declares, never by its name.
``nuvom plugin test TARGET`` and ``pytest --pyargs nuvom.testing.suite --nuvom-target TARGET`` run
this same suite against a backend named on the command line.
"""

from __future__ import annotations

import pytest

_MODULES = (
    "claimed_record",
    "completion",
    "depths",
    "limits",
    "model",
    "operations",
    "queue",
    "queue_contention",
    "queue_durability",
    "queue_leases",
    "queue_ordering",
    "results",
    "scheduler",
    "support",
)
pytest.register_assert_rewrite(*(f"{__name__}.{m}" for m in _MODULES))

from .queue import QueueBackendSuite  # noqa: E402
from .results import ResultBackendSuite  # noqa: E402
from .scheduler import SchedulerBackendSuite  # noqa: E402


class TestQueueBackend(QueueBackendSuite):
    """The queue suite against the ``queue_factory`` fixture."""


class TestResultBackend(ResultBackendSuite):
    """The result store suite against the ``results_factory`` fixture."""


class TestSchedulerBackend(SchedulerBackendSuite):
    """The scheduler store suite against the ``scheduler_factory`` fixture."""


__all__ = [
    "QueueBackendSuite",
    "ResultBackendSuite",
    "SchedulerBackendSuite",
    "TestQueueBackend",
    "TestResultBackend",
    "TestSchedulerBackend",
]
