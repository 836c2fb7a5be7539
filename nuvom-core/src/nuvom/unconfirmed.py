"""Writes made but not confirmed durable, taken as made by writers that must not make them twice.

A :class:`~nuvom.errors.WriteNotConfirmed` means the write happened. A producer's ``.delay()``
hears of it (it may look its jobs up); a writer inside Nuvom that would otherwise treat the error
as a failure and write again (a scheduler sending a fire, a worker sending a workflow step or
storing an outcome) goes on as if it were confirmed, through :func:`taken_as_made`, and logs a
warning instead.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from .errors import WriteNotConfirmed

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def taken_as_made(what: str) -> Iterator[None]:
    """Take a write of the block that raises ``WriteNotConfirmed`` as made: log a warning, go on.

    Wrap one write only: what follows it in the block does not run. ``what`` names the write in
    the warning (e.g. ``"schedule s: job s:1700000000000"``).
    """
    try:
        yield
    except WriteNotConfirmed as unconfirmed:
        logger.warning(
            "%s: written but not confirmed durable, so not written again (%s); a failover may lose it",
            what,
            unconfirmed,
        )
