"""Connections: one pool per URL and settings, and errors that name the server but not the password."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from typing import Any, cast

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ClusterDownError, RedisClusterException, SlotNotCoveredError
from redis.retry import Retry

from nuvom.errors import BackendError, WriteNotConfirmed
from nuvom.redaction import redact_url

from .sentinel import SentinelAddress
from .settings import SUITE_NAMESPACE_VARIABLE, RedisSettings, is_cluster_url, is_sentinel_url
from .tls import TlsConnection

logger = logging.getLogger(__name__)

#: What a cluster client raises while a shard cannot be reached or serves no slot yet.
CLUSTER_OUTAGES = (ClusterDownError, SlotNotCoveredError)

#: The client repr redis-py's ``MasterNotFoundError`` puts before each Sentinel's error: a whole
#: line of connection options per Sentinel, which says nothing its error does not.
_SENTINEL_CLIENT = re.compile(r"<redis\.client\.Redis\(.*?\)>\)>\)> - ")


def describe(exc: BaseException) -> str:
    """The text of a redis-py error, without the client reprs a failed master discovery quotes."""
    return _SENTINEL_CLIENT.sub("", str(exc))


class ReplicasBehind(redis.RedisError):
    """Fewer replicas than ``NUVOM_REDIS_WAIT_REPLICAS`` acknowledged a write in time.

    The write is on the master but not acknowledged: a failover may lose it.
    """

    def __init__(self, message: str, *, result: Any) -> None:
        #: The reply of the command (or commands) whose write is not acknowledged.
        self.result = result
        super().__init__(message)


class _DemotionIsOutage:
    """Drops the connection and reports an outage when the server answers READONLY.

    A master demoted to a replica (a failover behind one DNS name, as managed services do) refuses
    writes; the next connection resolves the name again. redis-py's Sentinel connections do the
    same for a Sentinel URL.
    """

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        except redis.ReadOnlyError as exc:
            self.disconnect()  # type: ignore[attr-defined]
            raise redis.ConnectionError(f"the server is a read-only replica: {exc}") from None


class _ServerConnection(_DemotionIsOutage, redis.Connection):
    """A TCP connection to one server, for ``redis://``."""


class _TlsServerConnection(_DemotionIsOutage, TlsConnection):
    """A TLS connection to one server, for ``rediss://``."""


class Connection:
    """A Redis client on a blocking pool, and the redacted URL for messages.

    A ``redis+sentinel://`` URL gives a pool of connections to the master the Sentinels name
    (see ``sentinel.py``); a ``redis+cluster://`` URL a cluster client, which offers the same
    commands, each sent to the node of its keys' slot (see ``cluster.py``); any other URL is
    redis-py's.
    """

    def __init__(self, url: str, settings: RedisSettings) -> None:
        self.url = redact_url(url)
        self.socket_timeout = settings.redis_socket_timeout_secs
        #: Replicas an acknowledged write waits for (``NUVOM_REDIS_WAIT_REPLICAS``), and how long.
        self.wait_replicas = settings.redis_wait_replicas
        self.wait_timeout_secs = settings.redis_wait_timeout_secs
        self.client: redis.Redis
        self._server: tuple[Any, ...]
        # A short retry rides out a dropped connection; an outage is reported within a second.
        # Scripts are safe to run twice: enqueue is idempotent per id, and a claim whose reply
        # was lost only leaves a lease to expire.
        options: dict[str, Any] = {
            "max_connections": settings.redis_pool_size,
            "timeout": settings.redis_socket_timeout_secs,
            "socket_timeout": settings.redis_socket_timeout_secs,
            "socket_connect_timeout": settings.redis_connect_timeout_secs,
            "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        }
        #: Whether the URL names a Redis Cluster: scripts then touch one slot each (see ``slots.py``).
        self.is_cluster = is_cluster_url(url)
        if self.is_cluster:
            from .cluster import ClusterAddress  # RedisSettings checked it

            cluster = ClusterAddress.parse(url)
            self._server = cluster.identity
            with self.errors("connecting to the cluster"):
                # RedisCluster answers the commands of redis.Redis; typed as one for the callers.
                self.client = cast(redis.Redis, cluster.client(**options))
            return
        pool: redis.ConnectionPool
        if is_sentinel_url(url):
            address = SentinelAddress.parse(url)  # RedisSettings checked it
            pool = address.pool(**options)
            self._server = address.identity
        else:
            classes = {"redis": _ServerConnection, "rediss": _TlsServerConnection}
            scheme = url.partition("://")[0].lower()
            if scheme in classes:
                options["connection_class"] = classes[scheme]
            pool = redis.BlockingConnectionPool.from_url(url, **options)
            kwargs = pool.connection_kwargs
            self._server = tuple(kwargs.get(k) for k in ("host", "port", "path", "db"))
        self.client = redis.Redis(connection_pool=pool)

    @property
    def server(self) -> tuple[Any, ...]:
        """What identifies the server (or Sentinel-managed master) and database of this connection."""
        return self._server

    @contextlib.contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn a Redis failure into a :class:`BackendError` naming the server and what failed.

        A write too few replicas acknowledged (:class:`ReplicasBehind`) is a
        :class:`~nuvom.errors.WriteNotConfirmed`, carrying the reply.

        The message carries the cause; the chain is cut, as the worker logs every such error
        with its traceback.
        """
        try:
            yield
        except ReplicasBehind as behind:
            message = f"Redis at {self.url} took the write but could not confirm it while {doing}: {behind}"
            raise WriteNotConfirmed(message, result=behind.result) from None
        except redis.AuthenticationError as exc:
            raise BackendError(f"Redis at {self.url} refused the credentials while {doing}: {exc}") from None
        except (redis.ConnectionError, redis.TimeoutError, *CLUSTER_OUTAGES) as exc:
            # One wording for an outage on every path (claims, commits, heartbeats, producers).
            raise BackendError(f"Redis at {self.url} is unreachable while {doing}: {describe(exc)}") from None
        except (redis.RedisError, RedisClusterException) as exc:
            raise BackendError(f"Redis at {self.url} failed while {doing}: {describe(exc)}") from None

    def close(self) -> None:
        """Close every pooled connection. Idempotent."""
        if self.is_cluster:
            self.client.close()
        else:
            self.client.connection_pool.disconnect()


class Outage:
    """Backoff and log lines for a claimer while Redis cannot be reached.

    The first failure logs a warning naming the server; each retry waits twice as long (up to
    ``cap`` seconds) and says so; the first success after an outage logs how long it lasted.
    """

    def __init__(self, url: str, *, first: float = 0.1, cap: float = 2.0) -> None:
        self.url = url
        self.first = first
        self.cap = cap
        self.since: float | None = None
        self.delay = first

    def failed(self, exc: Exception, now: float) -> float:
        """Record a failure at monotonic ``now``; return how long to wait before trying again."""
        if self.since is None:
            self.since = now
            self.delay = self.first
        else:
            self.delay = min(self.cap, self.delay * 2)
        logger.warning(
            "Redis at %s is unreachable (%s: %s); retrying in %.1f s",
            self.url,
            type(exc).__name__,
            describe(exc),
            self.delay,
        )
        return self.delay

    def succeeded(self, now: float) -> None:
        """Record a success; logs the end of an outage."""
        if self.since is not None:
            logger.warning("Redis at %s is reachable again after %.1f s", self.url, now - self.since)
            self.since = None


def drop_keys(connection: Connection, prefix: str) -> int:
    """Delete every key under ``prefix:``; return how many. For the conformance suite's namespaces."""
    if os.environ.get(SUITE_NAMESPACE_VARIABLE) is None:
        raise BackendError(
            f"refusing to delete the keys under {prefix!r}: {SUITE_NAMESPACE_VARIABLE} is unset"
        )
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + ":*"
    deleted = 0
    with connection.errors(f"deleting the keys under {prefix}:"):
        batch: list[bytes] = []
        for key in connection.client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += connection.client.unlink(*batch)
                batch.clear()
        if batch:
            deleted += connection.client.unlink(*batch)
    return deleted


def text(value: Any) -> str:
    """A reply item as text (replies are bytes: the client does not decode them)."""
    return value.decode() if isinstance(value, bytes) else str(value)
