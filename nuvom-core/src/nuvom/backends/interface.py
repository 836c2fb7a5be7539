"""Checking a backend instance against its interface when it is loaded, not at its first job.

A backend written to another interface (the original Nuvom's ``pop_batch(batch_size)``, say)
would otherwise load fine and fail late: at the first ``.delay()``, every second in the worker's
claim loop, or at shutdown. The check names every missing or mis-shaped method at once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import BackendInterfaceError
from .base import QueueBackend, ResultBackend, SchedulerBackend

#: The interface of each kind of backend.
INTERFACES: dict[str, type] = {
    "queue": QueueBackend,
    "result": ResultBackend,
    "scheduler": SchedulerBackend,
}
#: Where a backend author reads the interface.
INTERFACE_DOC = "docs/plugins/writing-a-backend.md"


def interface_methods(interface: type) -> dict[str, Callable[..., Any]]:
    """The methods ``interface`` declares (its own, not ``Protocol``'s), by name."""
    return {
        name: member
        for name, member in vars(interface).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def _accepts(declared: inspect.Signature, implemented: inspect.Signature) -> Iterator[str]:
    """Why a method with ``implemented`` cannot be called as the interface calls ``declared``."""
    params = list(implemented.parameters.values())
    kinds = {p.kind for p in params}
    takes_args = inspect.Parameter.VAR_POSITIONAL in kinds
    takes_kwargs = inspect.Parameter.VAR_KEYWORD in kinds
    positional = [
        p
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    by_name = {p.name: p for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    matched: set[str] = set()
    wanted = [p for p in declared.parameters.values() if p.name != "self"]
    for index, param in enumerate(wanted):
        if param.kind is inspect.Parameter.KEYWORD_ONLY or param.default is not inspect.Parameter.empty:
            # called by name: `queues=`, `durable=`, `limit=`
            found = by_name.get(param.name)
            if found is None and not takes_kwargs:
                yield f"takes no argument {param.name!r}"
            elif found is not None:
                matched.add(found.name)
        elif index < len(positional):
            matched.add(positional[index].name)
        elif not takes_args:
            yield f"takes no positional argument {param.name!r} (number {index + 1})"
    for param in params:
        required = param.default is inspect.Parameter.empty and param.kind not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        )
        if required and param.name not in matched:
            yield f"requires an argument {param.name!r} the interface never passes"


def interface_problems(kind: str, backend: object) -> list[str]:
    """Each missing or mis-shaped method of ``backend`` as a ``kind`` backend; empty when it fits."""
    interface = INTERFACES[kind]
    missing: list[str] = []
    misshaped: list[str] = []
    for name, declared in interface_methods(interface).items():
        method = getattr(backend, name, None)
        if not callable(method):
            missing.append(name)
            continue
        try:
            implemented = inspect.signature(method)
        except (TypeError, ValueError):  # a builtin or C method without a signature: trust it
            continue
        reasons = list(_accepts(inspect.signature(declared), implemented))
        if reasons:
            misshaped.append(f"{name}{implemented} {'; '.join(reasons)}")
    problems = [f"missing methods: {', '.join(missing)}"] if missing else []
    return problems + [f"mis-shaped: {m}" for m in misshaped]


def check_interface(kind: str, backend: object, name: str, origin: str) -> None:
    """Raise when ``backend`` does not implement the ``kind`` interface.

    Args:
        kind: ``"queue"``, ``"result"`` or ``"scheduler"``.
        backend: the instance a factory built.
        name: the name it was chosen by (``NUVOM_QUEUE_BACKEND``'s value, say).
        origin: where it came from (the plugin and its source).

    Raises:
        BackendInterfaceError: one line naming the backend, its origin and every problem.
    """
    problems = interface_problems(kind, backend)
    if problems:
        interface = INTERFACES[kind]
        raise BackendInterfaceError(
            f"{kind} backend {name!r} ({type(backend).__module__}.{type(backend).__qualname__}, "
            f"from {origin}) does not implement {interface.__module__}.{interface.__name__}: "
            f"{'; '.join(problems)}; see {INTERFACE_DOC}",
            problems=problems,
        )
