"""The memory backends pass the conformance suite, adopted as a third party would."""

from __future__ import annotations

import pytest

from nuvom.backends.memory import MemoryQueue, MemoryResults
from nuvom.backends.memory_scheduler import MemoryScheduler
from nuvom.testing.suite import *  # noqa: F403


@pytest.fixture
def queue_factory():
    # The memory store is the instance itself, so every "new instance" is this one.
    queue = MemoryQueue()
    yield lambda: queue
    queue.close()


@pytest.fixture
def results_factory():
    results = MemoryResults()
    yield lambda: results
    results.close()


@pytest.fixture
def scheduler_factory():
    store = MemoryScheduler()
    return lambda: store
