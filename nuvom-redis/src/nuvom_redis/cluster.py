"""Cluster URLs (``redis+cluster://``, ``rediss+cluster://``) and the client of the cluster they name.

The form, as the ``redis+sentinel://`` one (redis-py's own cluster URL names one node)::

    redis+cluster://[user:password@]host1[:port1],host2[:port2],...[/0][?options]

Nodes default to port 6379; any one that answers is enough to discover the others (the client
follows ``MOVED`` and refreshes its slot map itself). ``user:password@`` logs in to every node (ACL
or ``requirepass``), as in a ``redis://`` URL; a Cluster has database 0 only. Other options are
redis-py's URL options for each node's connections. ``rediss+cluster`` uses TLS to every node,
with the same ``ssl_*`` options.

Every script the backends run touches one slot: a queue's keys share the hash tag ``{<queue>}``,
records and their indexes share ``{results}``, schedules ``{schedules}``, each limit key its own
(see ``keys.py``); what would cross slots is done in steps (see ``slots.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import parse_url

from .addresses import MultiHostUrl, host_and_port
from .settings import CLUSTER_SCHEMES
from .tls import TlsConnection

#: The port of a node given without one.
DEFAULT_PORT = 6379


@dataclass(frozen=True)
class ClusterAddress:
    """Which nodes to start from, and how to log in to each."""

    nodes: tuple[tuple[str, int], ...]
    tls: bool
    #: redis-py connection options of every node's connections (``username``, ``ssl_*``...).
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> ClusterAddress:
        """Read a ``redis+cluster://`` or ``rediss+cluster://`` URL.

        Raises:
            ValueError: saying which part is wrong (never quoting the password).
        """
        parts = MultiHostUrl.split(
            url,
            CLUSTER_SCHEMES,
            kind="Cluster",
            no_host="a Cluster URL names at least one node: redis+cluster://host:6379,host:6380",
        )
        nodes = tuple(
            host_and_port(unquote(item), kind="Cluster node", default_port=DEFAULT_PORT)
            for item in parts.hosts
        )
        tls, path, query = parts.tls, parts.path, parts.query
        if path.strip("/") not in ("", "0"):
            raise ValueError(f"a Redis Cluster has database 0 only; the URL names {unquote(path)!r}")
        node_url = f"{'rediss' if tls else 'redis'}://{parts.login}cluster-node/0"
        options = parse_url(node_url + (f"?{query}" if query else ""))  # type: ignore[no-untyped-call]
        for key in ("host", "port", "db", "connection_class"):
            options.pop(key, None)
        return cls(nodes, tls, options)

    @property
    def identity(self) -> tuple[Any, ...]:
        """What identifies the cluster (for "same server" checks)."""
        return ("cluster", tuple(sorted(self.nodes)))

    def client(self, *, retry: Any, **options: Any) -> RedisCluster:
        """A client of the cluster, with ``options`` for each node's connections.

        It connects to the first node that answers, at once, to read the slot map.
        """
        startup = [ClusterNode(host, port) for host, port in self.nodes]  # type: ignore[no-untyped-call]
        options["connection_pool_class"] = redis.BlockingConnectionPool  # callers wait for a free one
        if self.tls:
            options["ssl"] = True
            options["connection_class"] = TlsConnection
        return RedisCluster(startup_nodes=startup, retry=retry, **self.options, **options)
