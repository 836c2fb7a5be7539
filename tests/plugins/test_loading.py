"""Plugin discovery: built-ins, the entry-point group, .nuvom_plugins.toml, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuvom import runtime, task
from nuvom.errors import PluginError, PluginLoadError, PluginValidationError
from nuvom.plugins.manager import backend_factories, get_plugin_manager, plugin_infos
from nuvom.plugins.targets import resolve_target
from nuvom.testing import drain

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def toml_plugin_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES / "toml_plugin"))


def write_toml(text: str) -> Path:
    path = Path(".nuvom_plugins.toml")
    path.write_text(text)
    runtime.reset()
    return path.resolve()


def test_builtins_come_first_then_the_installed_entry_point() -> None:
    infos = {info.name: info for info in plugin_infos()}
    names = [info.name for info in plugin_infos()]
    assert names[0] == "nuvom.builtin"
    assert infos["nuvom.builtin"].source == "built-in"
    assert infos["nuvom.builtin"].backends == {
        "queue": ["file", "memory"],
        "result": ["file", "memory"],
        "scheduler": ["file", "memory"],
    }
    acme = infos["acme"]
    assert acme.source == "entry point (nuvom-acme-plugin 1.2.3)"
    assert acme.version == "1.2.3"
    assert acme.backends == {"queue": ["acme-memory"]}
    assert "nuvom_job_finished" in acme.hooks and "nuvom_register_commands" in acme.hooks


def test_toml_modules_and_backend_class_shorthand(toml_plugin_on_path: None) -> None:
    path = write_toml(
        '[plugins]\nmodules = ["toml_only_plugin"]\nresult_backend = ["toml_only_plugin:TomlResults"]\n'
    )
    infos = {info.name: info for info in plugin_infos()}
    assert infos["toml_only_plugin"].source == str(path)
    assert infos["toml_only_plugin"].backends == {"result": ["toml-hooked-results"]}
    assert infos[".nuvom_plugins.toml backends"].backends["result"] == ["toml-results"]
    assert {"toml-results", "toml-hooked-results", "file", "memory"} <= set(backend_factories("result"))


def test_a_toml_backend_class_is_selectable_by_name_end_to_end(
    toml_plugin_on_path: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml('[plugins]\nresult_backend = ["toml_only_plugin:TomlResults"]\n')
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", "memory")
    monkeypatch.setenv("NUVOM_RESULT_BACKEND", "toml-results")
    runtime.reset()

    @task(name="plugins_double")
    def double(x: int) -> int:
        return 2 * x

    job = double.delay(21)
    assert drain() == 1
    assert type(runtime.get_results()).__name__ == "TomlResults"
    assert job.get(timeout=1) == 42


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[plugins]\nmodules = ["a",\n', 2, ["malformed TOML"]),
        ('[plugins]\nmodules = []\nmodulez = ["x"]\n', 3, ["unknown key 'modulez'", "known keys: modules"]),
        ("[plugins]\nmodules = []\n\n[extra]\nx = 1\n", 4, ["unknown table 'extra'"]),
        ('[plugins]\n\nmodules = ["no_such_module_xyz"]\n', 3, ["no_such_module_xyz", "ModuleNotFoundError"]),
        (
            '[plugins]\nqueue_backend = ["toml_only_plugin:Missing"]\n',
            2,
            ["toml_only_plugin:Missing", "AttributeError"],
        ),
        ('[plugins]\nmodules = "toml_only_plugin"\n', 2, ["modules must be a list of strings"]),
        ('[plugins]\nqueue_backend = ["pathlib:Path"]\n', 2, ["has no `name` attribute"]),
    ],
    ids=[
        "malformed",
        "unknown-key",
        "unknown-table",
        "unimportable",
        "missing-class",
        "not-a-list",
        "no-name",
    ],
)
def test_a_bad_toml_file_names_the_file_line_and_reason(
    toml_plugin_on_path: None, text: str, line: int, words: list[str]
) -> None:
    path = write_toml(text)
    with pytest.raises(PluginLoadError) as caught:
        get_plugin_manager()
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert caught.value.file == path and caught.value.line == line
    for word in words:
        assert word in message


def test_two_plugins_offering_one_backend_name_is_an_error_naming_both(toml_plugin_on_path: None) -> None:
    write_toml(
        '[plugins]\nmodules = ["toml_only_plugin"]\nresult_backend = ["toml_only_plugin:HookedResults"]\n'
    )
    with pytest.raises(PluginError) as caught:
        backend_factories("result")
    assert "'toml-hooked-results'" in str(caught.value)
    assert "'toml_only_plugin'" in str(caught.value) and ".nuvom_plugins.toml backends" in str(caught.value)


def test_a_hookimpl_with_a_wrong_signature_is_rejected_naming_the_plugin(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "bad_sig_plugin.py").write_text(
        "from nuvom.plugins import hookimpl\n\n"
        "@hookimpl\ndef nuvom_job_finished(job, status, not_a_hook_argument):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    write_toml('[plugins]\nmodules = ["bad_sig_plugin"]\n')
    with pytest.raises(PluginValidationError) as caught:
        get_plugin_manager()
    assert caught.value.plugin == "bad_sig_plugin"
    assert "not_a_hook_argument" in str(caught.value)


def test_resolve_target_by_name_class_and_entry_point() -> None:
    factory, label = resolve_target("memory", "queue")
    assert label == "memory" and type(factory(runtime.get_settings())).__name__ == "MemoryQueue"
    factory, label = resolve_target("nuvom.backends.memory:MemoryResults", "result")
    assert type(factory(runtime.get_settings())).__name__ == "MemoryResults"
    factory, label = resolve_target("nuvom-acme-plugin", "queue")
    assert label == "acme-memory (entry point acme of nuvom-acme-plugin)"
    assert type(factory(runtime.get_settings())).__name__ == "AcmeQueue"
    with pytest.raises(PluginError, match="registered queue backends: acme-memory, file, memory"):
        resolve_target("nothing-like-this", "queue")
    with pytest.raises(PluginError, match="cannot import"):
        resolve_target("no_such_mod:Thing", "queue")


def test_plugin_list_shows_each_plugin_with_its_source(toml_plugin_on_path: None) -> None:
    from typer.testing import CliRunner

    from nuvom.cli.app import app

    path = write_toml('[plugins]\nmodules = ["toml_only_plugin"]\n')
    result = CliRunner().invoke(app, ["plugin", "list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") >= 4}
    assert "built-in" in rows["nuvom.builtin"]
    assert "entry point (nuvom-acme-plugin 1.2.3)" in rows["acme"] and "acme-memory" in rows["acme"]
    assert str(path) in rows["toml_only_plugin"] and "toml-hooked-results" in rows["toml_only_plugin"]
