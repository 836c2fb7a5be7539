"""What only the file queue promises: quarantine, crash leftovers, cross-process claims, dead owners."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from nuvom import serialization
from nuvom.backends.base import Envelope, Lease
from nuvom.backends.file_queue import FileQueue

from .helpers import wait_for

Q = ("default",)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "queue"


@pytest.fixture
def make_queue(root: Path):
    made: list[FileQueue] = []

    def make() -> FileQueue:
        queue = FileQueue(root, fsync=False)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.close()


def env(job_id: str, priority: int = 0) -> Envelope:
    return Envelope(job_id, "default", f"payload-{job_id}".encode(), priority)


def pop(queue: FileQueue, n: int = 10, *, timeout: float = 0.0, lease_secs: float = 30.0) -> list[Lease]:
    return queue.pop_batch(n, queues=Q, timeout=timeout, lease_secs=lease_secs)


def test_corrupt_entries_are_quarantined_and_valid_jobs_still_claimable(make_queue, root: Path) -> None:
    # Given: valid jobs, a file whose name is not a queue entry, and a well-named file of garbage
    queue = make_queue()
    queue.enqueue_many([env("good-1"), env("good-2")])
    ready = root / "ready" / "default"
    (ready / "garbage").write_bytes(b"not a job")  # not even inside a priority folder
    (ready / "0" / f"0-{1:019d}~badjob~0~0").write_bytes(b"\xc1\xc1 not msgpack")

    # When
    leases = pop(queue)

    # Then
    assert sorted(lease.id for lease in leases) == ["good-1", "good-2"]
    stats = queue.stats()
    assert stats.quarantined == 2
    assert stats.ready == 0
    quarantine = root / "quarantine"
    reasons = sorted(p for p in quarantine.iterdir() if p.name.endswith(".reason"))
    assert len(reasons) == 2
    kept = sorted(p for p in quarantine.iterdir() if not p.name.endswith(".reason"))
    assert {p.read_bytes() for p in kept} == {b"not a job", b"\xc1\xc1 not msgpack"}  # kept, not deleted
    for reason in reasons:
        assert reason.read_text().strip()
    assert pop(queue, timeout=0.05) == []


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(serialization.dumps([1, 2, 3]), id="a-list"),
        pytest.param(serialization.dumps({"id": "x"}), id="missing-keys"),
        pytest.param(b"", id="empty"),
    ],
)
def test_well_formed_msgpack_that_is_not_an_envelope_is_quarantined(
    make_queue, root: Path, content: bytes
) -> None:
    queue = make_queue()
    queue.enqueue(env("good"))
    (root / "ready" / "default" / "0" / f"0-{1:019d}~odd~0~0").write_bytes(content)

    assert [lease.id for lease in pop(queue)] == ["good"]
    assert queue.stats().quarantined == 1


def test_a_leftover_temp_file_is_never_delivered(make_queue, root: Path) -> None:
    queue = make_queue()
    # what a crash between write and rename leaves behind: a complete entry, still in tmp/
    leftover = serialization.dumps(
        {"id": "ghost", "queue": "default", "priority": 0, "eta": None, "payload": b"boo"}
    )
    (root / "tmp" / "12345-deadbeef.tmp").write_bytes(leftover)
    queue.enqueue(env("real"))

    assert [lease.id for lease in pop(queue)] == ["real"]
    assert pop(queue, timeout=0.3) == []  # a sweep runs in that time, and still nothing
    assert queue.qsize() == 0


def test_jobs_survive_a_new_instance_on_the_same_root(make_queue) -> None:
    make_queue().enqueue_many([env("a", priority=3), env("b", priority=1)])

    assert [lease.id for lease in pop(make_queue())] == ["b", "a"]


def test_two_instances_never_claim_the_same_job(make_queue) -> None:
    # Given: 500 jobs and two queue instances on one root, as two processes would have
    total = 500
    make_queue().enqueue_many([env(f"job-{i:03d}") for i in range(total)])
    instances = [make_queue(), make_queue()]
    claimed: list[list[str]] = [[], []]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def claim_all(index: int) -> None:
        queue = instances[index]
        try:
            barrier.wait()
            while True:
                leases = queue.pop_batch(7, queues=Q, timeout=0.05, lease_secs=300)
                if not leases and queue.qsize() == 0:
                    return
                claimed[index].extend(lease.id for lease in leases)
        except BaseException as exc:
            errors.append(exc)

    # When: both claim at once
    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then: every job claimed exactly once
    assert errors == []
    first, second = claimed
    assert set(first) & set(second) == set()
    assert len(first) + len(second) == total
    assert set(first) | set(second) == {f"job-{i:03d}" for i in range(total)}
    assert first and second, "both instances should have claimed some jobs"
    assert instances[0].stats().leased == total


def test_a_dead_owners_leases_are_returned_without_waiting_for_expiry(make_queue) -> None:
    # Given: an owner claims with a long lease, then "dies" (its owner lock is released)
    owner = make_queue()
    owner.enqueue(env("orphan"))
    (held,) = pop(owner, lease_secs=300)
    assert owner._owner_fd is not None
    os.close(owner._owner_fd)
    owner._owner_fd = None

    # When: another instance polls
    other = make_queue()
    started = time.monotonic()
    (lease,) = wait_for(lambda: pop(other, 1, timeout=0.05), 3, "the orphaned job to be returned")

    # Then
    assert time.monotonic() - started < 1.5
    assert lease.id == "orphan"
    assert lease.deliveries == held.deliveries + 1
    assert lease.envelope.payload == held.envelope.payload


def test_a_live_owners_leases_are_not_taken(make_queue) -> None:
    owner = make_queue()
    owner.enqueue(env("mine"))
    pop(owner, lease_secs=300)

    other = make_queue()

    assert pop(other, timeout=0.4) == []  # several sweeps, and the live owner keeps its job
    assert other.stats().leased == 1


def test_ack_and_nack_work_from_another_instance_on_the_same_root(make_queue) -> None:
    first, second = make_queue(), make_queue()
    first.enqueue_many([env("a"), env("b")])
    lease_a, lease_b = pop(first, 2)

    second.ack(lease_a)
    second.nack(lease_b)

    assert [lease.id for lease in pop(second)] == ["b"]
    assert second.stats().leased == 1


def test_a_stray_file_beside_the_queue_folders_does_not_break_stats_or_clear(make_queue, root: Path) -> None:
    queue = make_queue()
    queue.enqueue(env("a"))
    (root / "ready" / "README.txt").write_text("not a queue folder")

    assert queue.stats().ready == 1
    assert queue.qsize() == 1
    assert queue.clear() == 1
    assert queue.qsize() == 0
