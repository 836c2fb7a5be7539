"""What only the file queue does, seen from inside: quarantine files, crash leftovers, dead owners, the
listing cache. The queue contract itself is checked by the conformance suite (tests/conformance)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from nuvom import serialization
from nuvom.backends import Envelope, Lease, file_queue
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


def test_a_stray_file_beside_the_queue_folders_does_not_break_stats_or_clear(make_queue, root: Path) -> None:
    queue = make_queue()
    queue.enqueue(env("a"))
    (root / "ready" / "README.txt").write_text("not a queue folder")

    assert queue.stats().ready == 1
    assert queue.qsize() == 1
    assert queue.clear() == 1
    assert queue.qsize() == 0


def test_a_more_urgent_job_is_seen_at_once_despite_a_cached_listing(make_queue, monkeypatch) -> None:
    # the cache lives 0.5 s; a longer life makes the outcome independent of this machine's speed
    monkeypatch.setattr(file_queue, "_LISTING_TTL_SECS", 60.0)
    claimer, client = make_queue(), make_queue()  # the client as another process would be
    claimer.enqueue_many([env("low-1", priority=5), env("low-2", priority=5), env("low-3", priority=5)])
    assert [lease.id for lease in pop(claimer, 1)] == ["low-1"]  # priority 5 is now listed and cached

    client.enqueue(env("urgent", priority=0))

    assert [lease.id for lease in pop(claimer, 1)] == ["urgent"]
