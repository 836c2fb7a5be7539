"""A job id read back from a store is data: a crafted one (``../../x``) never names a file or key."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nuvom import serialization
from nuvom.backends.file_queue import FileQueue
from nuvom.backends.file_results import FileResults
from nuvom.errors import BackendError, CorruptEntry
from nuvom.message import JobMessage
from nuvom.names import check_name
from nuvom.scheduling.runner import fire_job_id
from nuvom.testing.suite.results import record
from nuvom.testing.suite.support import env, pop

CRAFTED = "../../escaped"


def message(job_id: str) -> JobMessage:
    args, kwargs = JobMessage.encode_call((), {})
    return JobMessage(job_id, "tasks.add", args, kwargs, "default", 0, time.time())


def test_a_payload_with_a_crafted_job_id_is_a_corrupt_entry() -> None:
    with pytest.raises(CorruptEntry, match=r"job message: job id '\.\./\.\./escaped' is not valid"):
        JobMessage.decode(message(CRAFTED).encode())


@pytest.mark.parametrize("job_id", ["", ".hidden", "a/b", "line\n", "x" * 201, "tab\tid"])
def test_ids_no_caller_could_send_are_refused_on_decode(job_id: str) -> None:
    with pytest.raises(CorruptEntry, match="is not valid"):
        JobMessage.decode(message(job_id).encode())


def test_ids_nuvom_derives_from_the_longest_caller_ids_still_decode() -> None:
    derived = [fire_job_id("s" * 128, time.time()), f"{'c' * 128}.3.17"]

    assert [JobMessage.decode(message(job_id).encode()).id for job_id in derived] == derived


def test_a_trailing_newline_is_not_part_of_a_valid_id() -> None:
    with pytest.raises(ValueError, match="job_id 'abc\\\\n' is not valid"):
        check_name("job_id", "abc\n")


def test_the_file_result_store_never_names_a_file_outside_its_folder(tmp_path: Path) -> None:
    # Given a store two folders below the test's folder
    store = FileResults(tmp_path / "a" / "results", fsync=False)

    # When a record with a crafted id is stored, read and deleted
    with pytest.raises(BackendError, match="is not valid") as caught:
        store.save(record(CRAFTED))

    # Then the store refuses it, naming its folder, and no file appears anywhere
    assert str(tmp_path / "a" / "results") in str(caught.value)
    assert store.get_full(CRAFTED) is None
    assert store.delete(CRAFTED) is False
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("name_id", "content_id", "reason"),
    [
        pytest.param("crafted", CRAFTED, "job id '../../escaped' is not valid", id="invalid id"),
        pytest.param("other", "victim", "holds job id 'victim', not the one in its name", id="not its name"),
    ],
)
def test_a_file_queue_entry_with_a_crafted_job_id_is_quarantined_with_its_reason(
    tmp_path: Path, name_id: str, content_id: str, reason: str
) -> None:
    # Given a valid job and a well-named entry that carries a crafted id
    queue = FileQueue(tmp_path / "queue", fsync=False)
    queue.enqueue_many([env("good")])
    entry = {"id": content_id, "queue": "default", "priority": 0, "eta": None, "payload": b"p"}
    name = f"0-{1:019d}~{name_id}~0~0"
    (tmp_path / "queue" / "ready" / "default" / "0" / name).write_bytes(serialization.dumps(entry))

    # When claiming
    claimed = [lease.id for lease in pop(queue)]

    # Then only the valid job is delivered, and the crafted entry is set aside with its reason
    assert claimed == ["good"]
    assert queue.stats().quarantined == 1
    (why,) = (tmp_path / "queue" / "quarantine").glob("*.reason")
    assert reason in why.read_text()
    queue.close()
