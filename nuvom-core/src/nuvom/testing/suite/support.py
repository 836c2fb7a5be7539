"""What the suite's checks share: capability gates, polling with a deadline, and test data.

Planting a corrupt entry needs knowledge of a backend's storage, which only the backend has. A
backend that declares :attr:`~nuvom.backends.Capability.QUARANTINE` either has a method
``plant_corrupt_entry(queue: str) -> None`` or registers a function with
:func:`plant_corrupt_entry` (a :func:`functools.singledispatch`, dispatched on the backend's
class, so subclasses inherit it); the built-in file queue registers one here.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import pytest

from ...backends import Capability, Envelope, Lease, QueueBackend, ResultBackend
from ...backends.file_queue import FileQueue

T = TypeVar("T")
B = TypeVar("B", QueueBackend, ResultBackend)
F = TypeVar("F", bound=Callable[..., Any])

#: A zero-argument callable that returns a backend over the store of the running check.
BackendFactory = Callable[[], Any]

_REQUIRES = "__nuvom_requires__"

#: The queue the checks use unless they say otherwise.
DEFAULT_QUEUES: tuple[str, ...] = ("default",)
#: A lease long enough never to lapse during a check.
LONG_LEASE_SECS = 300.0


def requires(*capabilities: Capability) -> Callable[[F], F]:
    """Mark a check as needing ``capabilities``; it is skipped on backends that lack one."""

    def mark(check: F) -> F:
        setattr(check, _REQUIRES, frozenset(capabilities))
        return check

    return mark


def skip_unless_capable(backend: object, check: Callable[..., Any] | None) -> None:
    """Skip the running check when ``backend`` does not declare every capability it requires."""
    needed: frozenset[Capability] = getattr(check, _REQUIRES, frozenset())
    declared: frozenset[Capability] = getattr(backend, "capabilities", frozenset())
    missing = sorted(c.name for c in needed - declared)
    if missing:
        pytest.skip(f"the backend does not declare Capability.{', Capability.'.join(missing)}")


def closing_instances(factory: Callable[[], B]) -> Iterator[Callable[[], B]]:
    """A maker of instances from ``factory`` that closes every one it made when resumed."""
    made: list[B] = []

    def make() -> B:
        made.append(factory())
        return made[-1]

    yield make
    for backend in made:
        backend.close()


def wait_for(produce: Callable[[], T | None], timeout: float, what: str, interval: float = 0.01) -> T:
    """Call ``produce`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = produce()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def claims_of_processes(
    count: int, target: Callable[..., None], args: tuple[Any, ...], timeout: float
) -> list[list[str]]:
    """Run ``target(*args, sender)`` in ``count`` forked processes and return what each claimed.

    Each child sends ``(ids, error)`` once through ``sender``. The check fails if a child does
    not answer within ``timeout`` seconds in all, or if any reports an error.
    """
    context = multiprocessing.get_context("fork")
    pipes = [context.Pipe(duplex=False) for _ in range(count)]
    children = [context.Process(target=target, args=(*args, sender), daemon=True) for _, sender in pipes]
    for child in children:
        child.start()
    claimed: list[list[str]] = []
    errors: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        for receiver, sender in pipes:
            sender.close()
            if not receiver.poll(max(0.0, deadline - time.monotonic())):
                pytest.fail(f"a claiming process did not finish within {timeout:g} s")
            ids, error = receiver.recv()
            claimed.append(ids)
            if error:
                errors.append(error)
    finally:
        for child in children:
            child.join(timeout=10)
            if child.is_alive():
                child.kill()
    assert errors == [], f"claiming processes failed: {'; '.join(errors)}"
    return claimed


def sleep_until(wall_time: float) -> None:
    """Let the wall clock pass ``wall_time`` (a deadline, not a guess at how long work takes)."""
    while (left := wall_time - time.time()) > 0:
        time.sleep(min(left, 0.05))


def env(
    job_id: str,
    *,
    queue: str = "default",
    priority: int = 0,
    eta: float | None = None,
    payload: bytes | None = None,
) -> Envelope:
    """An envelope whose payload names its job, so a mix-up shows."""
    data = payload if payload is not None else f"payload-{job_id}".encode()
    return Envelope(job_id, queue, data, priority, eta)


def pop(
    queue: QueueBackend,
    n: int = 10,
    *,
    queues: Sequence[str] = DEFAULT_QUEUES,
    timeout: float = 0.0,
    lease_secs: float = LONG_LEASE_SECS,
) -> list[Lease]:
    """``pop_batch`` with the suite's defaults: no wait, a long lease."""
    return queue.pop_batch(n, queues=queues, timeout=timeout, lease_secs=lease_secs)


def drain_ids(queue: QueueBackend, *, queues: Sequence[str] = DEFAULT_QUEUES, n: int = 1) -> list[str]:
    """Claim every due job, ``n`` at a time, and return their ids in claim order."""
    ids: list[str] = []
    while leases := pop(queue, n, queues=queues):
        ids.extend(lease.id for lease in leases)
    return ids


def reclaim_after_expiry(queue: QueueBackend, lease: Lease, *, timeout: float = 5.0) -> Lease:
    """Wait for ``lease`` to lapse and return the next claim, which must be of the same job."""

    def claim() -> Lease | None:
        leases = pop(queue, 1, timeout=0.05)
        if not leases:
            return None
        assert leases[0].id == lease.id, f"claimed {leases[0].id!r}, the only job is {lease.id!r}"
        return leases[0]

    return wait_for(claim, timeout, f"job {lease.id!r} to be claimable again after its lease expired")


def first_difference(got: Sequence[str], expected: Sequence[str]) -> str:
    """Describe where two id sequences first differ, briefly (they may hold thousands of ids)."""
    for index, (a, b) in enumerate(zip(got, expected, strict=False)):
        if a != b:
            return f"position {index}: got {a!r}, expected {b!r}"
    return f"got {len(got)} ids, expected {len(expected)}"


# -- corrupt entries -----------------------------------------------------------------------


@functools.singledispatch
def plant_corrupt_entry(backend: object, queue: str) -> None:
    """Put an entry that cannot be decoded among the due jobs of ``queue``.

    Raises:
        NotImplementedError: when the backend offers no way to do it.
    """
    method = getattr(backend, "plant_corrupt_entry", None)
    if not callable(method):
        raise NotImplementedError(type(backend).__qualname__)
    method(queue)


@plant_corrupt_entry.register
def _plant_in_file_queue(backend: FileQueue, queue: str) -> None:
    # A well-named entry of the most urgent priority whose content is not msgpack at all.
    folder = backend.root / "ready" / queue / "0"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"0-{1:019d}~corrupt-{os.urandom(4).hex()}~0~0"
    (folder / name).write_bytes(b"\xc1\xc1 this is not a queue entry")
