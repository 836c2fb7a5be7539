"""A send on a Redis Cluster whose later chunk fails takes back the chunks that ran."""

from __future__ import annotations

import time
from types import ModuleType

import pytest

from nuvom.errors import BackendError, SendIncomplete
from nuvom.options import CallOptions
from nuvom.runtime import get_results
from nuvom.sending import build_message, new_record, send
from nuvom_redis.keys import QueueKeys

from ..conftest import connect


def test_a_send_whose_later_chunk_fails_on_another_node_takes_back_the_chunks_that_ran(
    project: ModuleType, redis_url: str, prefix: str
) -> None:
    # Given two queues in slots of different nodes, the second's ready set spoilt
    connection = connect(redis_url)
    client = connection.client
    node_of = client.get_node_from_key  # type: ignore[attr-defined]
    alpha = QueueKeys(prefix, "alpha").base
    omega = next(
        name for i in range(100) if node_of(QueueKeys(prefix, name := f"omega{i}").base) != node_of(alpha)
    )
    project.nothing.options(queue="alpha").delay("warm-up")
    project.nothing.options(queue=omega).delay("warm-up")
    spoilt = QueueKeys(prefix, omega).ready
    client.delete(spoilt)
    client.set(spoilt, "spoilt")
    now = time.time()
    calls = [(f"alpha-{i}", "alpha") for i in range(1_000)] + [(f"omega-{i}", omega) for i in range(500)]
    messages = [
        build_message(
            project.nothing.opts,
            [key],
            {},
            CallOptions(queue=queue),
            now,
            max_args_bytes=1_000,
            random_id=key,
        )
        for key, queue in calls
    ]

    # When the 1,500 jobs are sent in one call: the first chunk (alpha) runs, the second is refused
    with pytest.raises(BackendError, match=f"{spoilt} holds a string") as caught:
        send(messages, [new_record(m, 0) for m in messages])

    # Then alpha's jobs were taken back (before: left queued, their records removed), and no
    # record of the send is left
    assert not isinstance(caught.value, SendIncomplete)
    assert client.hlen(QueueKeys(prefix, "alpha").meta) == 1
    assert client.zcard(QueueKeys(prefix, "alpha").ready) == 1
    assert all(get_results().get_full(key) is None for key, _ in calls)
    connection.close()
