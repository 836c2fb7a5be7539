"""Names a module exports without importing their modules until first use (PEP 562).

``import nuvom`` and the loading of a plugin (which every ``nuvom`` command does) stay cheap:
pydantic, redis-py, prometheus_client or Starlette load when a name that needs them is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(module: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``module``: ``exports`` maps each name to the module defining it.

    Defining modules may be relative to ``module``'s package (``".queue"``).
    """

    def attribute(name: str) -> Any:
        defining = exports.get(name)
        if defining is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return getattr(importlib.import_module(defining, sys.modules[module].__package__), name)

    return attribute
