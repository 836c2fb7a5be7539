"""Eager mode for a block of code: ``.delay()`` runs jobs inline (see :mod:`nuvom.inline`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..config import get_settings


@contextmanager
def eager() -> Iterator[None]:
    """Within the block, ``.delay()`` and ``.map()`` run jobs inline and store their results."""
    settings = get_settings()
    before = settings.eager
    settings.eager = True
    try:
        yield
    finally:
        settings.eager = before
