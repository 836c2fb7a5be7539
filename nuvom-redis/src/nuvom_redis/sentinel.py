"""Sentinel URLs (``redis+sentinel://``, ``rediss+sentinel://``) and the pool of the master they name.

The form, as Prefect's and RedisVL's ``redis+sentinel://`` (redis-py has no URL for Sentinel)::

    redis+sentinel://[user:password@]host1[:port1],host2[:port2],.../SERVICE[/DB][?options]

Sentinels default to port 26379. ``user:password@`` logs in to the master (ACL or ``requirepass``),
as in a ``redis://`` URL; ``sentinel_username`` and ``sentinel_password`` options log in to the
Sentinels. Other options are redis-py's URL options for the master's connections. The
``rediss+sentinel`` scheme uses TLS to the master and to the Sentinels, with the same ``ssl_*``
options. redis-py's :class:`~redis.sentinel.SentinelConnectionPool` asks the Sentinels for the
master on every new connection, and drops a connection whose server answers READONLY (a
demoted master) as a connection error, so callers retry on the new master.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import redis
from redis.connection import parse_url
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

from .addresses import MultiHostUrl, host_and_port
from .settings import SENTINEL_SCHEMES
from .tls import TlsConnection

#: The port of a Sentinel given without one.
DEFAULT_PORT = 26379
#: Options that go to the Sentinels' connections instead of the master's.
_SENTINEL_OPTIONS = {"sentinel_username": "username", "sentinel_password": "password"}


class _SentinelConnection(SentinelManagedConnection):
    """A connection to the master that asks the Sentinels where it is on every connect.

    redis-py's own asks only in ``connect()``, but a command retried after a connection error
    (READONLY from a demoted master becomes one) reconnects through ``connect_check_health``,
    to the old address (redis/redis-py#3874): the retry would meet READONLY again.
    """

    def connect(self) -> None:
        self.retry.call_with_retry(
            lambda: self.connect_check_health(
                check_health=self.connection_pool.check_connection, retry_socket_connect=False
            ),
            lambda error: None,
        )

    def connect_check_health(self, check_health: bool = True, retry_socket_connect: bool = True) -> None:
        if self._sock is None:
            self.host, self.port = self.connection_pool.get_master_address()
        super().connect_check_health(check_health=check_health, retry_socket_connect=retry_socket_connect)


class _SentinelTlsConnection(_SentinelConnection, TlsConnection):
    """A Sentinel-managed TLS connection whose handshake failures name TLS (see ``tls.py``)."""


class _BlockingSentinelPool(SentinelConnectionPool, redis.BlockingConnectionPool):
    """A Sentinel-managed pool whose callers wait for a free connection, as on one server."""


@dataclass(frozen=True)
class SentinelAddress:
    """Where the Sentinels are, which master they watch, and how to log in to each."""

    sentinels: tuple[tuple[str, int], ...]
    #: The master's name in the Sentinels' configuration (``sentinel monitor SERVICE ...``).
    service: str
    db: int
    tls: bool
    #: redis-py connection options of the master's connections (``username``, ``ssl_*``...).
    master_options: dict[str, Any] = field(default_factory=dict)
    #: Connection options of the Sentinels' connections (login, and TLS options on ``rediss+``).
    sentinel_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> SentinelAddress:
        """Read a ``redis+sentinel://`` or ``rediss+sentinel://`` URL.

        Raises:
            ValueError: saying which part is wrong (never quoting the password).
        """
        parts = MultiHostUrl.split(
            url,
            SENTINEL_SCHEMES,
            kind="Sentinel",
            no_host="a Sentinel URL names at least one Sentinel: redis+sentinel://host:26379/SERVICE",
        )
        sentinels = tuple(
            host_and_port(item, kind="Sentinel", default_port=DEFAULT_PORT) for item in parts.hosts
        )
        tls, path, query = parts.tls, parts.path, parts.query
        service, _, db_text = path.partition("/")
        service = unquote(service)
        if not service:
            raise ValueError("a Sentinel URL names the master's service after the hosts: .../SERVICE[/DB]")
        if "/" in db_text.rstrip("/") or (db_text.strip("/") and not db_text.strip("/").isdigit()):
            raise ValueError(f"the database after the service must be a number, not {db_text!r}")
        pieces = [p for p in query.split("&") if p]
        sentinel_options: dict[str, Any] = {}
        for name, value in parse_qsl("&".join(p for p in pieces if p.split("=")[0] in _SENTINEL_OPTIONS)):
            sentinel_options[_SENTINEL_OPTIONS[name]] = value
        master_query = "&".join(p for p in pieces if p.split("=")[0] not in _SENTINEL_OPTIONS)
        db = db_text.strip("/") or "0"
        master_url = f"{'rediss' if tls else 'redis'}://{parts.login}sentinel-master/{db}"
        master_options = parse_url(master_url + (f"?{master_query}" if master_query else ""))  # type: ignore[no-untyped-call]
        for key in ("host", "port", "connection_class"):
            master_options.pop(key, None)
        if tls:
            sentinel_options["ssl"] = True
            sentinel_options.update({k: v for k, v in master_options.items() if k.startswith("ssl_")})
        db_index = int(master_options.pop("db", 0))
        return cls(sentinels, service, db_index, tls, master_options, sentinel_options)

    @property
    def identity(self) -> tuple[Any, ...]:
        """What identifies the master and database (for "same server" checks)."""
        return ("sentinel", self.service, tuple(sorted(self.sentinels)), self.db)

    def pool(self, *, retry: Any, **options: Any) -> redis.ConnectionPool:
        """A blocking pool of connections to the current master, with ``options`` for each.

        The Sentinels are asked with the same timeouts and no retry of their own: master
        discovery moves on to the next Sentinel, and ``retry`` retries the whole connect.
        """
        timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
        manager = Sentinel(self.sentinels, sentinel_kwargs={**timeouts, **self.sentinel_options})
        if self.tls:  # a failed handshake with a Sentinel names TLS and is not retried as an outage
            for sentinel in manager.sentinels:
                sentinel.connection_pool.connection_class = TlsConnection
        return _BlockingSentinelPool(  # type: ignore[no-untyped-call]
            self.service,
            manager,
            connection_class=_SentinelTlsConnection if self.tls else _SentinelConnection,
            db=self.db,
            retry=retry,
            **self.master_options,
            **options,
        )
