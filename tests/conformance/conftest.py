"""Mark the built-in backends' known contract bugs as strict xfails (see known_bugs.py)."""

from __future__ import annotations

import pytest

from .known_bugs import KNOWN_BUGS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        backend = item.path.stem.removeprefix("test_")
        reason = KNOWN_BUGS.get(backend, {}).get(item.name)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"known bug: {reason}"))
