"""The pytest plugin ``nuvom``: run the conformance suite against a backend named on the command line.

```
pytest --pyargs nuvom.testing.suite --nuvom-target file [--nuvom-kind queue|result] [--nuvom-name NAME]
```
It adds those options and default ``queue_factory`` / ``results_factory`` fixtures that build the
target's backend over a fresh data directory per check. A backend kept on a server (Redis) cannot
be handed a fresh directory, so each check also gets its own ``NUVOM_SUITE_NAMESPACE`` (see
:data:`NAMESPACE_VARIABLE`) for the backend to keep its data apart under, e.g. as a key prefix.
It loads in every pytest run and does nothing there: a fixture of the same name in a conftest or
test module wins, and without ``--nuvom-target`` a check that needs one of these fixtures is
skipped, saying what is missing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from ..errors import PluginError

Kind = Literal["queue", "result", "scheduler"]

#: Set to a name unique to the running check while the suite builds the target's backends.
NAMESPACE_VARIABLE = "NUVOM_SUITE_NAMESPACE"

_FIXTURE_OF: dict[Kind, str] = {
    "queue": "queue_factory",
    "result": "results_factory",
    "scheduler": "scheduler_factory",
}
_resolved_key = pytest.StashKey[dict[Kind, tuple[Callable[[Any], Any], str]]]()


@dataclass
class Cleanup:
    """What the checks' teardowns removed from stores kept outside their data directories."""

    #: Entries (keys, rows) removed by ``drop_namespace`` after the checks.
    removed: int = 0
    #: Checks whose backends keep data outside the data directory (``NamespacedStore``).
    namespaced_checks: int = 0


#: Where the suite's run keeps its :class:`Cleanup`, for ``nuvom plugin test``'s last line.
CLEANUP_KEY = pytest.StashKey[Cleanup]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nuvom", "Nuvom backend conformance suite")
    group.addoption(
        "--nuvom-target",
        metavar="TARGET",
        default=None,
        help="backend to test: a registered backend name, an installed entry point or distribution, "
        "or module:Class",
    )
    group.addoption(
        "--nuvom-kind",
        choices=("queue", "result", "scheduler"),
        default=None,
        help="test only this role of the target (default: every role the tests ask for)",
    )
    group.addoption(
        "--nuvom-name",
        metavar="NAME",
        default=None,
        help="which backend of an entry point that offers several",
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = config.getoption("nuvom_target")
    if target is None:
        return []
    kind = config.getoption("nuvom_kind") or "queue, result and scheduler"
    return [f"nuvom conformance target: {target} ({kind})"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--nuvom-target`` and ``--nuvom-kind``, deselect the suite's checks of the other role."""
    kind = config.getoption("nuvom_kind")
    if config.getoption("nuvom_target") is None or kind is None:
        return
    from .suite import QueueBackendSuite, ResultBackendSuite, SchedulerBackendSuite

    suites: dict[Kind, type] = {
        "queue": QueueBackendSuite,
        "result": ResultBackendSuite,
        "scheduler": SchedulerBackendSuite,
    }
    others = tuple(suite for k, suite in suites.items() if k != kind)
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        cls = getattr(item, "cls", None)
        (drop if cls is not None and issubclass(cls, others) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _resolve(config: pytest.Config, kind: Kind) -> Callable[[Any], Any]:
    cache = config.stash.setdefault(_resolved_key, {})
    if kind not in cache:
        from ..plugins.targets import resolve_target

        target = config.getoption("nuvom_target")
        cache[kind] = resolve_target(target, kind, config.getoption("nuvom_name"))
    return cache[kind][0]


def _instances(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: Kind
) -> Iterator[Callable[[], Any]]:
    config = request.config
    if config.getoption("nuvom_target") is None:
        pytest.skip(f"no {kind} backend to test: define a {_FIXTURE_OF[kind]} fixture or pass --nuvom-target")
    chosen = config.getoption("nuvom_kind")
    try:
        build = _resolve(config, kind)
    except PluginError:
        # The other role is only asked for by checks that need both (fenced completion).
        if chosen is not None and chosen != kind:
            pytest.skip(f"--nuvom-kind is {chosen} and the target offers no {kind} backend")
        raise

    from ..backends import Capability
    from ..config import Settings

    data_dir = tmp_path / "nuvom-data"
    monkeypatch.setenv("NUVOM_DATA_DIR", str(data_dir))
    monkeypatch.setenv(NAMESPACE_VARIABLE, f"suite-{uuid.uuid4().hex[:12]}")
    settings = Settings(data_dir=data_dir)
    made: list[Any] = []
    sharing = {Capability.CROSS_PROCESS, Capability.PERSISTENT}

    def factory() -> Any:
        # A backend that is neither cross-process nor persistent keeps its store in the instance:
        # then the instance itself is what every call must share.
        if made and not sharing & set(getattr(made[0], "capabilities", ())):
            return made[0]
        backend = build(settings)
        made.append(backend)
        return backend

    yield factory
    try:
        _drop_namespaces(config, made)
    finally:
        for backend in made:
            backend.close()


def _drop_namespaces(config: pytest.Config, made: list[Any]) -> None:
    """Empty the check's namespace on stores kept outside its data directory, and verify it."""
    from ..backends import NamespacedStore

    namespaced = [backend for backend in made if isinstance(backend, NamespacedStore)]
    if not namespaced:
        return
    cleanup = config.stash.setdefault(CLEANUP_KEY, Cleanup())
    cleanup.namespaced_checks += 1
    cleanup.removed += sum(backend.drop_namespace() for backend in namespaced)
    left = sum(backend.drop_namespace() for backend in namespaced)
    if left:
        pytest.fail(f"drop_namespace() left {left} entries behind: a second call still removed them")


@pytest.fixture
def queue_factory(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], Any]]:
    """Instances of the ``--nuvom-target`` queue backend over one fresh store per check."""
    yield from _instances(request, tmp_path, monkeypatch, "queue")


@pytest.fixture
def results_factory(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], Any]]:
    """Instances of the ``--nuvom-target`` result backend over one fresh store per check."""
    yield from _instances(request, tmp_path, monkeypatch, "result")


@pytest.fixture
def scheduler_factory(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], Any]]:
    """Instances of the ``--nuvom-target`` scheduler store over one fresh store per check."""
    yield from _instances(request, tmp_path, monkeypatch, "scheduler")
