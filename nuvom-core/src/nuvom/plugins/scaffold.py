"""``nuvom plugin scaffold``: write a pip-installable plugin package that passes its suite."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template
from typing import Literal

from ..errors import PluginError
from ..version import __version__

ScaffoldKind = Literal["queue", "result", "scheduler", "monitoring"]
_TEMPLATES = Path(__file__).with_name("templates")
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


def scaffold_plugin(name: str, kind: ScaffoldKind, out: Path) -> Path:
    """Write the package ``nuvom-<name>`` under ``out`` and return its folder.

    Raises:
        PluginError: a bad name, or the folder already exists.
    """
    if not _NAME.match(name):
        raise PluginError(f"plugin name {name!r} is not valid: use lower-case letters, digits, - and _")
    slug = name.replace("-", "_")
    package = f"nuvom_{slug}"
    root = out / f"nuvom-{name}"
    if root.exists():
        raise PluginError(f"{root} already exists; choose another --out or name")
    title = "".join(part.capitalize() for part in re.split(r"[-_]", name))
    check = {
        "queue": f"nuvom plugin test {name}",
        "result": f"nuvom plugin test {name} --kind result",
        "scheduler": f"nuvom plugin test {name} --kind scheduler",
        "monitoring": "pytest",
    }[kind]
    hint = {
        "queue": f"replace the bodies of `{title}Queue` with calls to your storage.",
        "result": f"replace the bodies of `{title}Results` with calls to your storage.",
        "scheduler": f"replace the bodies of `{title}Scheduler` with calls to your storage.",
        "monitoring": "fill in the hooks you need and delete the others.",
    }[kind]
    values = {
        "name": name,
        "dist": f"nuvom-{name}",
        "package": package,
        "title": title,
        "slug": slug,
        "upper": slug.upper(),
        "kind": kind,
        "core_version": __version__,
        "next_core_minor": _next_minor(__version__),
        "check_command": check,
        "start_hint": hint,
    }
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"src/{package}/__init__.py": f"{kind}_plugin.py.tmpl",
        f"tests/test_{kind}.py": f"test_{kind}.py.tmpl",
    }
    for target, template in files.items():
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template((_TEMPLATES / template).read_text()).substitute(values))
    (root / "src" / package / "py.typed").touch()
    return root


def _next_minor(version: str) -> str:
    """``0.1.0`` -> ``0.2``: the first core release a plugin written today may not work with."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return f"{major}.{minor + 1}"
