"""What ``nuvom plugin test`` checks before the suite: the interface, then that the backend answers.

A backend that lacks methods would fail every check with the same ``AttributeError`` (and its
teardown errors); one that cannot reach its server would fail every check with the same
``Connection refused``, one timeout after another. Both stop here with one line instead.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from ..backends import NamespacedStore
from ..backends.interface import check_interface
from ..config import Settings
from ..errors import BackendInterfaceError
from .pytest_plugin import NAMESPACE_VARIABLE

Kind = Literal["queue", "result", "scheduler"]

#: How long the backend has to answer its first call.
ANSWER_DEADLINE_SECS = 5.0
_PROBE_ID = "nuvom-suite-probe"
_PROBES: dict[Kind, Callable[[Any], object]] = {
    "queue": lambda backend: backend.qsize(),
    "result": lambda backend: backend.get_full(_PROBE_ID),
    "scheduler": lambda backend: backend.get(_PROBE_ID),
}


@contextlib.contextmanager
def _suite_environment(data_dir: Path) -> Iterator[None]:
    """The variables each check runs with: a fresh data directory and namespace."""
    saved = {name: os.environ.get(name) for name in ("NUVOM_DATA_DIR", NAMESPACE_VARIABLE)}
    os.environ["NUVOM_DATA_DIR"] = str(data_dir)
    os.environ[NAMESPACE_VARIABLE] = f"suite-{uuid.uuid4().hex[:12]}"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _call_with_deadline(call: Callable[[], object], deadline: float) -> BaseException | None:
    """Run ``call`` in a daemon thread; the error it raised, a ``TimeoutError``, or ``None``."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # reported, never raised: the caller stops the run
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, name="nuvom-suite-probe", daemon=True)
    thread.start()
    thread.join(deadline)
    if not outcome:
        return TimeoutError(f"no answer within {deadline:g} s")
    return outcome[0]


def preflight(build: Callable[[Settings], Any], kind: Kind, label: str) -> tuple[str, str] | None:
    """Build one instance and probe it; ``(check, why)`` when the suite would be pointless.

    The instance lives in a scratch data directory and namespace of its own, like a check's, and
    whatever it wrote there is removed.
    """
    with tempfile.TemporaryDirectory(prefix="nuvom-preflight-") as scratch:
        data_dir = Path(scratch) / "nuvom-data"
        with _suite_environment(data_dir):
            started = time.monotonic()
            try:
                backend = build(Settings(data_dir=data_dir))
            except Exception as exc:
                return "backend builds", f"building {label} raised {type(exc).__name__}: {exc}"
            try:
                try:
                    check_interface(kind, backend, label, "the target given to nuvom plugin test")
                except BackendInterfaceError as exc:
                    return "interface", str(exc)
                left = ANSWER_DEADLINE_SECS - (time.monotonic() - started)
                error = _call_with_deadline(lambda: _PROBES[kind](backend), max(left, 0.5))
                if error is not None:
                    return "backend answers", f"{label} does not answer: {type(error).__name__}: {error}"
                if isinstance(backend, NamespacedStore):
                    backend.drop_namespace()
            finally:
                close = getattr(backend, "close", None)
                if callable(close):
                    with contextlib.suppress(Exception):
                        close()
    return None
