"""``nuvom --help`` starts without the sub-commands' modules: each loads only when its command runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuvom.cli.app import COMMANDS, app
from nuvom.cli.lazy import first_paragraph

#: Modules the command line must not load to print its help.
HEAVY = ("nuvom.worker", "nuvom.discovery")
#: The modules of the built-in sub-commands.
SUBCOMMAND_MODULES = sorted({spec.module for spec in COMMANDS.values()})


def modules_loaded_by(args: list[str], *, after: str = "") -> list[str]:
    """The modules ``nuvom ARGS`` loads in a fresh interpreter, beyond those that ``after`` loaded."""
    script = "\n".join(
        [
            "import json, sys",
            after,
            "before = set(sys.modules)",
            f"sys.argv = ['nuvom', *{args!r}]",
            "from nuvom.cli.app import main",
            "try:\n    main()\nexcept SystemExit:\n    pass",
            "print(json.dumps(sorted(set(sys.modules) - before)), file=sys.stderr)",
        ]
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    return list(json.loads(proc.stderr.strip().splitlines()[-1]))


def nuvom_modules(loaded: list[str], prefixes: tuple[str, ...] | list[str]) -> list[str]:
    return [m for m in loaded if any(m == p or m.startswith(f"{p}.") for p in prefixes)]


def test_help_loads_no_subcommand_module_worker_or_discovery_of_its_own() -> None:
    # Given: what `import nuvom` and the installed plugins load by themselves, already loaded
    baseline = (
        "import nuvom, typer\n"
        "from nuvom.plugins.manager import register_commands\n"
        "register_commands(typer.Typer())"
    )
    # When
    loaded = modules_loaded_by(["--help"], after=baseline)
    # Then: the command line itself adds none of them
    assert nuvom_modules(loaded, [*SUBCOMMAND_MODULES, *HEAVY]) == []


def test_help_in_a_fresh_interpreter_loads_no_worker_or_discovery_module() -> None:
    loaded = modules_loaded_by(["--help"])
    assert nuvom_modules(loaded, HEAVY) == []


def test_a_command_loads_its_own_module_only() -> None:
    loaded = modules_loaded_by(["version"], after="import nuvom")
    assert nuvom_modules(loaded, SUBCOMMAND_MODULES) == []
    loaded = modules_loaded_by(["queue", "--help"], after="import nuvom")
    assert nuvom_modules(loaded, SUBCOMMAND_MODULES) == ["nuvom.cli.queue"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listed_help_line_is_the_commands_own(name: str) -> None:
    command = COMMANDS[name].load(name)
    assert COMMANDS[name].help == first_paragraph(command.short_help or command.help or "")


def test_help_lists_the_builtin_commands_in_order() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    listed = [m[1] for m in re.finditer(r"^│ ([a-z]+) {2,}", result.output, re.M)]
    assert [name for name in listed if name in COMMANDS or name == "version"] == ["version", *COMMANDS]


def test_a_mistyped_command_is_told_the_close_names() -> None:
    result = CliRunner().invoke(app, ["runwroker"])
    assert result.exit_code == 2
    assert "Did you mean 'runworker'" in result.output


def test_help_with_a_plugin_that_fails_to_load_prints_one_error_line_only(tmp_path: Path) -> None:
    # Given: a plugin file naming a module that does not exist
    (tmp_path / ".nuvom_plugins.toml").write_text('[plugins]\nmodules = ["no_such_module_here"]\n')
    # When
    proc = subprocess.run(
        [sys.executable, "-m", "nuvom", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    # Then: no half-printed help, one line naming the file and the module
    assert proc.returncode == 2, proc.stdout
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: plugins could not be loaded:") and "no_such_module_here" in line


def test_loading_the_plugins_imports_no_backend_client_or_web_framework() -> None:
    # Given: every plugin of this environment (redis, sqlite, prometheus, dashboard) installed
    script = (
        "import json, sys\n"
        "from nuvom.plugins.manager import get_plugin_manager\n"
        "plugins = [name for name, _ in get_plugin_manager().list_name_plugin()]\n"
        "heavy = [m for m in ('redis', 'starlette', 'sqlite3', 'jinja2') if m in sys.modules]\n"
        "print(json.dumps({'plugins': plugins, 'heavy': heavy}))"
    )
    # When
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    # Then: the plugins are registered, and none of their heavy dependencies is imported yet
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert {"redis", "sqlite", "dashboard"} <= set(found["plugins"]), found
    assert found["heavy"] == []


def test_shell_completion_of_command_names_and_of_a_commands_options() -> None:
    def complete(words: str) -> list[str]:
        env = {**os.environ, "_NUVOM_COMPLETE": "complete_bash", "COMP_WORDS": words}
        env["COMP_CWORD"] = str(len(words.split()) - 1)
        script = Path(sys.executable).with_name("nuvom")  # the env var is named after the program
        proc = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert complete("nuvom ru") == ["runworker", "runscheduler"]
    assert "--pool" in complete("nuvom runworker --po")
