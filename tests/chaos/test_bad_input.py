"""Bad input, fuzzed with Hypothesis: it is refused with a clear error or accepted, never a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nuvom import serialization
from nuvom.backends import Envelope
from nuvom.backends.file_queue import FileQueue
from nuvom.backends.file_results import FileResults
from nuvom.config import Settings, load_settings
from nuvom.errors import ConfigError, CorruptEntry
from nuvom.message import JobMessage
from nuvom.record import JobStatus
from nuvom.worker.worker import Worker

pytestmark = pytest.mark.chaos

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)


@FUZZ
@given(values)
def test_msgpack_round_trips_any_nested_supported_value(value: object) -> None:
    assert serialization.loads(serialization.dumps(value)) == value


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_a_payload_are_a_corrupt_entry_never_a_crash(payload: bytes) -> None:
    try:
        JobMessage.decode(payload)
    except CorruptEntry:
        pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_a_worker_fails_an_undecodable_queue_entry_and_goes_on(tmp_path: Path, payload: bytes) -> None:
    # Given an entry of arbitrary bytes in a real file queue
    root = tmp_path / f"q{os.urandom(4).hex()}"
    queue, results = FileQueue(root / "queue", fsync=False), FileResults(root / "results", fsync=False)
    queue.enqueue(Envelope(id="bad", queue="default", payload=payload))

    # When a worker drains it
    Worker(Settings(), queue, results).drain(timeout=1)

    # Then it is settled (failed as corrupt, unless the bytes happen to decode), and acked
    record = results.get_full("bad")
    assert record is not None and record.status.is_terminal
    if record.status is JobStatus.FAILED and record.error is not None and record.error.type == "CorruptEntry":
        assert record.error.message
    assert queue.qsize() == 0 and queue.stats().leased == 0


@FUZZ
@given(
    st.sampled_from(
        [
            "NUVOM_MAX_WORKERS",
            "NUVOM_LEASE_SECS",
            "NUVOM_TIMEOUT_POLICY",
            "NUVOM_FILE_FSYNC",
            "NUVOM_LOG_LEVEL",
            "NUVOM_MAX_ARGS_BYTES",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20),
)
def test_any_string_as_a_setting_is_accepted_or_a_config_error(variable: str, value: str) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv(variable, value)
        try:
            load_settings()
        except ConfigError as exc:
            assert exc.variable == variable and str(exc).startswith(f"{variable}=")


def test_huge_arguments_fail_at_delay_naming_the_largest_and_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import nuvom
    from nuvom import runtime
    from nuvom.errors import ArgumentsTooLarge

    @nuvom.task(name="bad_input.store")
    def store(name: str, blob: bytes, *, note: str = "") -> None: ...

    limit = Settings().max_args_bytes
    assert limit == 10 * 1024 * 1024  # the documented default
    with pytest.raises(ArgumentsTooLarge, match=r"args\[1\].*store large data elsewhere") as info:
        store.delay("x", b"\0" * limit, note="small")
    assert info.value.size > limit and info.value.limit == limit and info.value.largest == "args[1]"

    monkeypatch.setenv("NUVOM_MAX_ARGS_BYTES", "1000")
    runtime.reset()
    with pytest.raises(ArgumentsTooLarge, match=r"NUVOM_MAX_ARGS_BYTES=1,000 \(largest: kwargs\['note'\]"):
        store.delay("x", b"", note="n" * 1000)
    with pytest.raises(ArgumentsTooLarge):
        store.schedule("x", b"\0" * 1000, in_=60)
    with pytest.raises(ArgumentsTooLarge):
        store.s("x", b"\0" * 1000)
    assert runtime.get_queue().qsize() == 0  # nothing was sent
    assert store.delay("x", b"\0" * 900).id  # under the limit it goes
    assert runtime.get_queue().qsize() == 1


def _load_plugins_file(path: Path) -> None:
    """Read ``path`` as ``.nuvom_plugins.toml``: fine, or a PluginLoadError naming file and line."""
    from nuvom.errors import PluginLoadError
    from nuvom.plugins.loading import from_toml

    try:
        list(from_toml(path))
    except PluginLoadError as exc:
        assert exc.file == path and exc.line is not None and exc.line >= 1
        assert str(exc).startswith(f"{path}:{exc.line}: ")


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_plugins_file_garbage_is_an_error_naming_file_and_line(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / ".nuvom_plugins.toml"
    path.write_bytes(garbage)
    _load_plugins_file(path)


#: Import targets that name no installed module, so fuzzing imports nothing real.
missing_targets = st.from_regex(r"\A[a-z_.:]{0,12}\Z").map(lambda s: f"nuvom_fuzz_missing_{s}")


@FUZZ
@given(
    st.sampled_from(["modules", "queue_backends", "result_backends", "scheduler_backends", "other", "x y"]),
    st.lists(missing_targets, max_size=3).map(json.dumps) | st.integers().map(str) | st.just('"one"'),
    st.sampled_from(["[plugins]\n", "", "[other]\n", "[plugins]\n[plugins.sub]\n"]),
)
def test_plugins_file_with_wrong_shapes_or_targets_is_an_error_naming_file_and_line(
    tmp_path: Path, key: str, value: str, header: str
) -> None:
    path = tmp_path / ".nuvom_plugins.toml"
    path.write_text(f"# fuzzed\n{header}{json.dumps(key)} = {value}\n", encoding="utf-8")
    _load_plugins_file(path)
