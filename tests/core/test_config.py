"""Settings: defaults, the environment over ``.env``, errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuvom import runtime
from nuvom.backends.memory import MemoryQueue
from nuvom.config import get_settings, load_settings, reset_settings, setting_sources
from nuvom.errors import ConfigError


@pytest.fixture
def no_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop the conftest's NUVOM_DATA_DIR so the default shows."""
    monkeypatch.delenv("NUVOM_DATA_DIR")
    reset_settings()


def write_env(*lines: str) -> None:
    Path(".env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_defaults_match_the_contract(no_data_dir: None) -> None:
    settings = load_settings()

    assert settings.queue_backend == "file"
    assert settings.result_backend == "file"
    assert settings.scheduler_backend == "file"
    assert settings.data_dir == Path(".nuvom")
    assert settings.max_workers == 4
    assert settings.batch_size == 10
    assert settings.job_timeout_secs == 300
    assert settings.timeout_policy == "fail"
    assert settings.retry_delay_secs == 1
    assert settings.lease_secs == 30
    assert settings.log_level == "INFO"
    assert settings.eager is False


def test_dotenv_in_the_working_directory_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    write_env("NUVOM_MAX_WORKERS=7", "NUVOM_LOG_LEVEL=DEBUG")

    settings = load_settings()

    assert settings.max_workers == 7
    assert settings.log_level == "DEBUG"


def test_the_environment_beats_dotenv(monkeypatch: pytest.MonkeyPatch) -> None:
    write_env("NUVOM_MAX_WORKERS=7", "NUVOM_BATCH_SIZE=33")
    monkeypatch.setenv("NUVOM_MAX_WORKERS", "12")

    settings = load_settings()

    assert settings.max_workers == 12  # environment
    assert settings.batch_size == 33  # .env, nothing in the environment


def test_get_settings_is_cached_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    monkeypatch.setenv("NUVOM_MAX_WORKERS", "9")

    assert get_settings() is first
    reset_settings()
    assert get_settings().max_workers == 9


def test_non_integer_max_workers_names_the_variable_and_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUVOM_MAX_WORKERS", "abc")

    with pytest.raises(ConfigError) as info:
        load_settings()

    assert info.value.variable == "NUVOM_MAX_WORKERS"
    assert info.value.value == "abc"
    assert "NUVOM_MAX_WORKERS" in str(info.value)
    assert "'abc'" in str(info.value)


def test_bad_value_in_dotenv_is_named_too() -> None:
    write_env("NUVOM_BATCH_SIZE=0")

    with pytest.raises(ConfigError) as info:
        load_settings()

    assert "NUVOM_BATCH_SIZE" in str(info.value)
    assert "0" in str(info.value)


def test_bad_timeout_policy_names_the_allowed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUVOM_TIMEOUT_POLICY", "bogus")

    with pytest.raises(ConfigError) as info:
        load_settings()

    message = str(info.value)
    assert "NUVOM_TIMEOUT_POLICY" in message
    assert "bogus" in message
    for allowed in ("fail", "retry", "ignore"):
        assert allowed in message


def test_unknown_backend_name_lists_the_available_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", "nope")
    runtime.reset()

    with pytest.raises(ConfigError) as info:
        runtime.get_queue()

    message = str(info.value)
    assert info.value.variable == "NUVOM_QUEUE_BACKEND"
    assert "NUVOM_QUEUE_BACKEND" in message
    assert "'nope'" in message
    assert "file" in info.value.allowed and "memory" in info.value.allowed


def test_unknown_result_backend_name_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUVOM_RESULT_BACKEND", "nope")
    runtime.reset()

    with pytest.raises(ConfigError) as info:
        runtime.get_results()

    assert info.value.variable == "NUVOM_RESULT_BACKEND"
    assert "nope" in str(info.value)


def test_backend_names_select_the_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", "memory")
    runtime.reset()

    assert isinstance(runtime.get_queue(), MemoryQueue)
    assert runtime.get_queue() is runtime.get_queue()


def test_setting_sources_report_environment_dotenv_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    write_env("NUVOM_BATCH_SIZE=33", "NUVOM_MAX_WORKERS=5")
    monkeypatch.setenv("NUVOM_MAX_WORKERS", "12")
    monkeypatch.setenv("NUVOM_LOG_LEVEL", "WARNING")

    rows = {variable: (value, source) for variable, value, source in setting_sources(load_settings())}

    assert rows["NUVOM_MAX_WORKERS"] == (12, "environment")
    assert rows["NUVOM_LOG_LEVEL"] == ("WARNING", "environment")
    assert rows["NUVOM_BATCH_SIZE"] == (33, ".env")
    assert rows["NUVOM_LEASE_SECS"] == (30, "default")
    assert rows["NUVOM_DATA_DIR"][1] == "environment"  # set by the test harness
    assert set(rows) >= {"NUVOM_QUEUE_BACKEND", "NUVOM_RESULT_BACKEND", "NUVOM_TIMEOUT_POLICY"}


def test_setting_sources_without_dotenv_are_defaults(no_data_dir: None) -> None:
    rows = setting_sources(load_settings())

    assert {source for _, _, source in rows} == {"default"}
