"""The plugin boundary: plugin settings in `nuvom config`, hooks called through pluggy one plugin at a time."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nuvom import runtime, task
from nuvom.cli.app import app
from nuvom.config import Settings
from nuvom.errors import BackendInterfaceError, PluginValidationError
from nuvom.plugins import hookspecs
from nuvom.plugins.events import Event, has_listeners, notify
from nuvom.plugins.manager import get_plugin_manager
from nuvom.testing import drain

INSTALLED = {"acme", "dashboard", "prometheus", "redis", "sqlite"}


def plugin_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **modules: str) -> None:
    """Write hook modules beside a `.nuvom_plugins.toml` that registers them, in the order given."""
    for name, text in modules.items():
        (tmp_path / f"{name}.py").write_text(text)
    names = ", ".join(f'"{name}"' for name in modules)
    (tmp_path / ".nuvom_plugins.toml").write_text(f"[plugins]\nmodules = [{names}]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    runtime.reset()


def config_rows(*env: tuple[str, str]) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["config", "--json"], env=dict(env))
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return rows


def test_config_shows_the_core_settings_then_each_installed_plugin_s_own() -> None:
    rows = config_rows(("NUVOM_REDIS_URL", "redis://app:s3cret@10.0.0.1:6380/2"))
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        groups.setdefault(row["plugin"], {})[row["variable"]] = row

    # the core group holds exactly the core's fields: no plugin's setting leaks into it
    assert list(groups)[0] == "core"
    assert set(groups["core"]) == {"NUVOM_" + field.upper() for field in Settings.model_fields}
    assert set(groups) == {"core"} | INSTALLED
    assert groups["redis"]["NUVOM_REDIS_URL"]["value"] == "redis://app:***@10.0.0.1:6380/2"
    assert groups["redis"]["NUVOM_REDIS_URL"]["source"] == "environment"
    assert groups["sqlite"]["NUVOM_SQLITE_PATH"]["value"] is None
    assert groups["prometheus"]["NUVOM_PROMETHEUS_PORT"]["value"] == 9150
    assert groups["dashboard"]["NUVOM_DASHBOARD_TOKEN"]["value"] is None
    assert groups["acme"]["NUVOM_ACME_GREETING"]["value"] == "hello from acme"
    assert "s3cret" not in json.dumps(rows)


def test_config_shows_a_plugin_s_settings_only_while_the_plugin_is_registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a plugin module that declares its settings, registered through .nuvom_plugins.toml
    plugin_modules(
        tmp_path,
        monkeypatch,
        boundary_settings_plugin=(
            "from nuvom.config import PluginSettings, SecretUrl\n"
            "from nuvom.plugins import hookimpl\n\n"
            "class MongoSettings(PluginSettings):\n"
            "    mongo_url: SecretUrl = 'mongodb://127.0.0.1/jobs'\n\n"
            "@hookimpl\ndef nuvom_plugin_settings():\n    return MongoSettings\n"
        ),
    )
    # Then `nuvom config` shows its group, masked like the core's secrets
    rows = config_rows(("NUVOM_MONGO_URL", "mongodb://u:pw@h/x"))
    mongo = [row for row in rows if row["plugin"] == "boundary_settings_plugin"]
    assert mongo == [
        {
            "plugin": "boundary_settings_plugin",
            "variable": "NUVOM_MONGO_URL",
            "value": "mongodb://u:***@h/x",
            "source": "environment",
        }
    ]
    table = CliRunner().invoke(app, ["config"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "Settings of plugin 'boundary_settings_plugin'" in table.output

    # When the plugin is no longer registered, its settings are gone from the output
    Path(".nuvom_plugins.toml").unlink()
    runtime.reset()
    assert {row["plugin"] for row in config_rows()} == {"core"} | INSTALLED


def test_a_bad_plugin_setting_fails_config_naming_the_variable() -> None:
    result = CliRunner().invoke(app, ["config"], env={"NUVOM_REDIS_POOL_SIZE": "many"})
    assert result.exit_code == 2, result.output
    assert "NUVOM_REDIS_POOL_SIZE" in result.output and "'many'" in result.output


def test_a_plugin_settings_hook_must_return_a_plugin_settings_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin_modules(
        tmp_path,
        monkeypatch,
        boundary_bad_settings=(
            "from nuvom.plugins import hookimpl\n\n@hookimpl\ndef nuvom_plugin_settings():\n    return dict\n"
        ),
    )
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code != 0
    assert "boundary_bad_settings" in result.output and "PluginSettings" in result.output


@pytest.mark.parametrize("marker", ["wrapper=True", "hookwrapper=True"])
def test_a_wrapper_hookimpl_is_refused_at_registration_naming_the_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: str
) -> None:
    module = f"boundary_wrapper_{marker.split('=')[0]}"
    plugin_modules(
        tmp_path,
        monkeypatch,
        **{
            module: (
                "from nuvom.plugins import hookimpl\n\n"
                f"@hookimpl({marker})\ndef nuvom_job_started(job):\n    yield\n"
            )
        },
    )
    with pytest.raises(PluginValidationError) as caught:
        get_plugin_manager()
    assert caught.value.plugin == module
    assert "nuvom_job_started is a wrapper" in str(caught.value)


def test_a_raising_hook_is_logged_and_the_other_plugins_and_the_job_carry_on(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    memory_backends: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given two plugins on nuvom_job_started: one raises, and pluggy calls it first (tryfirst)
    record = "SEEN: list = []\n\n@hookimpl\ndef nuvom_job_started(job):\n    SEEN.append(job.id)\n"
    plugin_modules(
        tmp_path,
        monkeypatch,
        boundary_recorder="from nuvom.plugins import hookimpl\n\n" + record,
        boundary_raiser=(
            "from nuvom.plugins import hookimpl\n\n"
            "@hookimpl(tryfirst=True)\ndef nuvom_job_started(job):\n    raise RuntimeError('broken')\n"
        ),
    )

    @task(name="boundary_double")
    def double(x: int) -> int:
        return 2 * x

    # When a job runs
    with caplog.at_level(logging.ERROR, logger="nuvom.plugins.events"):
        job = double.delay(21)
        assert drain() == 1

    # Then the job succeeds, the other plugin was called, and the failure names its plugin
    assert job.get(timeout=1) == 42
    assert sys.modules["boundary_recorder"].SEEN == [job.id]
    assert "plugin 'boundary_raiser' raised in nuvom_job_started" in caplog.text


def test_notify_calls_each_plugin_through_pluggy_in_its_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "boundary_calls.py").write_text("CALLS: list = []\n")
    hook = "from boundary_calls import CALLS\nfrom nuvom.plugins import hookimpl\n\n@hookimpl({})\n"
    body = "def nuvom_scheduler_stopping(scheduler):\n    CALLS.append(({!r}, scheduler))\n"
    plugin_modules(
        tmp_path,
        monkeypatch,
        boundary_last=hook.format("trylast=True") + body.format("last"),
        boundary_first=hook.format("tryfirst=True") + body.format("first"),
    )
    assert has_listeners(Event.SCHEDULER_STOPPING)

    notify(Event.SCHEDULER_STOPPING, scheduler="s")

    # pluggy's tryfirst/trylast decide the order, though registration order is the reverse
    assert sys.modules["boundary_calls"].CALLS == [("first", "s"), ("last", "s")]


def test_every_notification_hookspec_has_its_event() -> None:
    specs = {
        name
        for name in vars(hookspecs)
        if name.startswith("nuvom_")
        and not name.endswith("_backends")
        and name not in ("nuvom_register_commands", "nuvom_plugin_settings")
    }
    assert {event.value for event in Event} == specs


def test_import_nuvom_loads_neither_pydantic_nor_pydantic_settings() -> None:
    code = (
        "import sys\n"
        "import nuvom\n"
        "from nuvom.config import get_settings\n"
        "loaded = sorted(m for m in ('pydantic', 'pydantic_settings') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
        "from nuvom import Settings\n"
        "from nuvom.config import PluginSettings, Settings as ConfigSettings\n"
        "assert Settings is ConfigSettings and issubclass(Settings, PluginSettings)\n"
        "assert isinstance(get_settings(), Settings)\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr


BROKEN_BACKENDS = """
from nuvom.backends.memory import MemoryQueue, MemoryResults
from nuvom.backends.memory_scheduler import MemoryScheduler
from nuvom.plugins import hookimpl


class NoAckQueue(MemoryQueue):
    ack = close = None  # the class lacks ack and close


class NoReadResults(MemoryResults):
    get_full = close = None


class NoClaimScheduler(MemoryScheduler):
    claim_due = close = None


@hookimpl
def nuvom_queue_backends():
    return {"broken": lambda settings: NoAckQueue()}


@hookimpl
def nuvom_result_backends():
    return {"broken": lambda settings: NoReadResults()}


@hookimpl
def nuvom_scheduler_backends():
    return {"broken": lambda settings: NoClaimScheduler()}
"""


@pytest.mark.parametrize(
    ("variable", "load", "kind", "cls", "missing"),
    [
        ("NUVOM_QUEUE_BACKEND", runtime.get_queue, "queue", "NoAckQueue", "ack, close"),
        ("NUVOM_RESULT_BACKEND", runtime.get_results, "result", "NoReadResults", "get_full, close"),
        (
            "NUVOM_SCHEDULER_BACKEND",
            runtime.get_scheduler_store,
            "scheduler",
            "NoClaimScheduler",
            "claim_due, close",
        ),
    ],
    ids=["queue", "result", "scheduler"],
)
def test_a_plugin_backend_missing_methods_fails_at_load_in_one_line_naming_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    load: Callable[[], object],
    kind: str,
    cls: str,
    missing: str,
) -> None:
    plugin_modules(tmp_path, monkeypatch, boundary_broken_backends=BROKEN_BACKENDS)
    monkeypatch.setenv(variable, "broken")
    runtime.reset()

    with pytest.raises(BackendInterfaceError) as caught:
        load()

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"{kind} backend 'broken' (boundary_broken_backends.{cls}, from plugin 'boundary_broken_backends', "
    )
    assert f"missing methods: {missing};" in message


def test_an_unhashable_plugin_object_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "boundary_unhashable.py").write_text(
        "from dataclasses import dataclass\n"
        "from nuvom.plugins import hookimpl\n\n"
        "@dataclass\nclass Plugin:\n"
        "    @hookimpl\n    def nuvom_job_started(self, job):\n        pass\n\n"
        "plugin = Plugin()\n"
    )
    (tmp_path / ".nuvom_plugins.toml").write_text('[plugins]\nmodules = ["boundary_unhashable:plugin"]\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    runtime.reset()

    with pytest.raises(PluginValidationError) as caught:
        get_plugin_manager()

    assert caught.value.plugin == "boundary_unhashable:plugin" and "hashable" in str(caught.value)
