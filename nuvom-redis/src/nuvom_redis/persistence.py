"""A worker's start-up check that the server keeps jobs across its own restart."""

from __future__ import annotations

import logging

import redis

from .client import Connection

logger = logging.getLogger(__name__)


def volatility(connection: Connection) -> str | None:
    """What a restart of the server would lose, from its ``appendonly`` and ``save`` settings.

    ``None`` when the append-only file is on, or when the settings cannot be read (``CONFIG``
    renamed, or refused by an ACL): that is logged at debug level, never raised.
    """
    try:
        config = connection.client.config_get("appendonly") | connection.client.config_get("save")
    except redis.RedisError as exc:
        logger.debug("cannot read the persistence settings of Redis at %s: %s", connection.url, exc)
        return None
    if str(config.get("appendonly", "")).lower() == "yes":
        return None
    save = str(config.get("save", "")).strip()
    if not save:
        return "keeps jobs in memory only: a restart loses every queued job"
    return f"keeps jobs in RDB snapshots only (save {save}): a restart loses the jobs since the last one"


def warn_if_volatile(connection: Connection) -> None:
    """Log one warning when the server would lose jobs on a restart, naming the setting to change."""
    risk = volatility(connection)
    if risk is not None:
        logger.warning(
            "Redis at %s %s; set 'appendonly yes' on the server (see docs/backends/redis.md, Persistence)",
            connection.url,
            risk,
        )
