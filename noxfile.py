"""Development sessions: tests, lint, typecheck, docs, bench; build and release_check for a release."""

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PACKAGES = ["nuvom-core", "nuvom-dashboard", "nuvom-prometheus", "nuvom-redis", "nuvom-sqlite"]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (arguments go to pytest)."""
    session.install("-r", "requirements-dev.txt")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check, and the import contracts (pyproject.toml [tool.importlinter])."""
    session.install("ruff", "import-linter")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # import-linter reads the source, it imports nothing: the packages need only be findable.
    sources = [str(Path(package, "src").resolve()) for package in PACKAGES]
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": os.pathsep.join(sources)})


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on each package's src/."""
    session.install("-r", "requirements-dev.txt")
    for package in PACKAGES:
        session.run("mypy", f"{package}/src")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation, failing on any warning."""
    session.install("mkdocs")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the peers in one run; `nox -s bench -- --quick` for a smoke run."""
    # The peers live in this session's own environment: arq needs redis below 6, and the
    # development environment type-checks nuvom-redis against the current redis. Only Nuvom's
    # three backends are installed: no test-suite or monitoring plugin adds per-job hooks.
    session.install("-r", "bench/requirements.txt")
    session.run("python", "bench/run.py", *session.posargs)


@nox.session
def chaos(session: nox.Session) -> None:
    """The reliability suite at full size: 20,000 jobs, 4 workers, a fault every ~2 s."""
    session.install("-r", "requirements-dev.txt")
    session.env.update(
        {"NUVOM_CHAOS_JOBS": "20000", "NUVOM_CHAOS_WORKERS": "4", "NUVOM_CHAOS_FAULT_EVERY_SECS": "2"}
    )
    session.run("pytest", "tests/chaos", "-m", "chaos", "-s", "--timeout", "3600", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """sdists and wheels of the five packages into dist/, checked with twine check --strict."""
    session.install("build", "twine")
    shutil.rmtree("dist", ignore_errors=True)
    for package in PACKAGES:
        session.run("python", "-m", "build", "--outdir", "dist", package)
    session.run("twine", "check", "--strict", *sorted(str(p) for p in Path("dist").iterdir()))


@nox.session
def release_check(session: nox.Session) -> None:
    """Install dist/'s wheels in fresh venvs and run each plugin against a real server (after build)."""
    session.run("python", ".ci/release_check.py", "--dist", "dist", *session.posargs)
