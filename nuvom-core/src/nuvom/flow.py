"""Flow-control options of a task: ``rate_limit``, ``concurrency_limit`` and ``limit_key``.

The worker enforces them through the queue backend's limiter (see :mod:`nuvom.worker.admission`
and :mod:`nuvom.backends.limits`); here they are parsed and checked where they are given.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: A limit key: the name of one of the task's arguments, or a function of the call's arguments.
LimitKey = str | Callable[..., object]

_PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"\s*(\d+)\s*/\s*([smh])\s*")


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` starts in any window of ``period_secs`` seconds."""

    count: int
    period_secs: float
    #: As written (``"10/s"``), for messages.
    text: str

    @classmethod
    def parse(cls, value: object, option: str = "rate_limit") -> RateLimit:
        """Read ``"N/s"``, ``"N/m"`` or ``"N/h"`` (N >= 1).

        Raises:
            ValueError: naming ``option`` and the value.
        """
        match = _RATE.fullmatch(value) if isinstance(value, str) else None
        if match is None or int(match.group(1)) < 1:
            raise ValueError(
                f"{option} {value!r} is not valid: use 'N/s', 'N/m' or 'N/h' with N >= 1, e.g. '10/s'"
            )
        count, unit = int(match.group(1)), match.group(2)
        return cls(count, _PERIODS[unit], f"{count}/{unit}")


def check_rate_limit(value: str | None, option: str = "rate_limit") -> None:
    """Raise ``ValueError`` naming ``option`` unless ``value`` is ``None`` or a valid rate."""
    if value is not None:
        RateLimit.parse(value, option)


def check_concurrency_limit(value: int | None) -> None:
    """Raise ``ValueError`` unless ``value`` is ``None`` or an int >= 1."""
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ValueError(f"concurrency_limit {value!r} is not valid: use an int >= 1")


def check_limit_key(key: LimitKey | None, func: Callable[..., Any], task_name: str) -> None:
    """Raise ``ValueError`` unless ``key`` is ``None``, a callable, or an argument name of ``func``."""
    if key is None or callable(key):
        return
    if not isinstance(key, str):
        raise ValueError(f"limit_key {key!r} is not valid: use an argument name or a callable")
    params = inspect.signature(func).parameters
    if key not in params:
        raise ValueError(
            f"limit_key {key!r} of task {task_name!r} is not one of its arguments ({', '.join(params)})"
        )


def limit_key_of(
    key: LimitKey | None, func: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]
) -> str | None:
    """The key value of one call: the named argument's value, or what ``key`` returns, as text.

    Raises:
        Exception: whatever binding the call or the key function raises.
    """
    if key is None:
        return None
    if callable(key):
        return str(key(*args, **kwargs))
    bound = inspect.signature(func).bind(*args, **kwargs)
    bound.apply_defaults()
    return str(bound.arguments[key])
