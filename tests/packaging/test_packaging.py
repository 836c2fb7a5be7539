"""Release metadata of the five packages, read from their pyproject.toml and from built artefacts."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["nuvom-core", "nuvom-sqlite", "nuvom-redis", "nuvom-prometheus", "nuvom-dashboard"]
PLUGINS = PACKAGES[1:]
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
URL_LABELS = {"Homepage", "Documentation", "Source", "Changelog", "Issues"}


def project(package: str) -> dict:
    return tomllib.loads((ROOT / package / "pyproject.toml").read_text())


def version_of(package: str) -> Version:
    """The package's one version: its pyproject's, or the file hatch reads it from."""
    data = project(package)
    if "version" in data["project"]:
        return Version(data["project"]["version"])
    path = ROOT / package / data["tool"]["hatch"]["version"]["path"]
    match = re.search(r'^__version__ = "([^"]+)"$', path.read_text(), re.MULTILINE)
    assert match, f"{path} has no __version__"
    return Version(match.group(1))


def core_requirement(package: str) -> Requirement:
    requirements = [Requirement(r) for r in project(package)["project"]["dependencies"]]
    (core,) = [r for r in requirements if r.name == "nuvom-core"]
    return core


@pytest.mark.parametrize("plugin", PLUGINS)
def test_plugin_accepts_the_core_in_the_tree_and_not_the_next_minor(plugin: str) -> None:
    core = version_of("nuvom-core")
    spec = core_requirement(plugin).specifier
    assert spec.contains(core), f"{plugin} needs nuvom-core{spec}, but the tree's nuvom-core is {core}"
    next_minor = Version(f"{core.major}.{core.minor + 1}.0")
    assert not spec.contains(next_minor), f"{plugin}: nuvom-core{spec} has no upper bound below {next_minor}"


@pytest.mark.parametrize("package", PACKAGES)
def test_version_has_one_source(package: str) -> None:
    data = project(package)
    dynamic = "version" in data["project"].get("dynamic", [])
    assert dynamic != ("version" in data["project"]), (
        f"{package}: version both static and dynamic, or neither"
    )
    sources = [p for p in (ROOT / package / "src").rglob("*.py") if "__version__ = " in p.read_text()]
    assert len(sources) == (1 if dynamic else 0), (
        f"{package}: version written in {sources} and pyproject.toml"
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_metadata_is_complete(package: str) -> None:
    meta = project(package)["project"]
    assert meta["license"] == "Apache-2.0"
    assert meta["license-files"] == ["LICENSE"]
    assert (ROOT / package / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert meta["authors"]
    assert set(meta["urls"]) == URL_LABELS
    assert all(url.startswith("https://") for url in meta["urls"].values())
    classifiers = meta["classifiers"]
    prefixes = ("Development Status ::", "Operating System ::", "Topic ::", "Intended Audience ::")
    assert all(any(c.startswith(prefix) for c in classifiers) for prefix in prefixes), classifiers
    assert {f"Programming Language :: Python :: {v}" for v in PYTHONS} <= set(classifiers)
    assert meta["requires-python"] == f">={PYTHONS[0]}"
    assert "Typing :: Typed" in classifiers
    # The index rejects a "License ::" classifier beside a licence expression.
    assert not [c for c in classifiers if c.startswith("License ::")]
    assert list((ROOT / package / "src").glob("*/py.typed"))


@pytest.mark.parametrize("package", PACKAGES)
def test_readme_links_are_absolute(package: str) -> None:
    readme = (ROOT / package / "README.md").read_text()
    targets = re.findall(r"\]\(([^)]+)\)", readme)
    assert targets, f"{package}/README.md links nowhere"
    assert [t for t in targets if not t.startswith("https://")] == []


@pytest.mark.parametrize("package", PACKAGES)
def test_built_sdist_and_wheel_carry_the_licence(package: str, tmp_path: Path) -> None:
    # Given / When: the package built as a release build would (hatchling, no isolation needed)
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(tmp_path)],
        cwd=ROOT / package,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    (sdist,) = tmp_path.glob("*.tar.gz")
    # Then
    licence = (ROOT / "LICENSE").read_bytes()
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(name) == licence
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        assert "License-Expression: Apache-2.0" in archive.read(metadata).decode()
    with tarfile.open(sdist) as archive:
        (member,) = [m for m in archive.getmembers() if m.name.endswith("/LICENSE")]
        extracted = archive.extractfile(member)
        assert extracted is not None and extracted.read() == licence
