"""The Redis plugin's own settings, read from ``NUVOM_REDIS_*`` like the core's."""

from __future__ import annotations

import os

from pydantic import Field, ValidationInfo, field_validator

from nuvom.config import PluginSettings, SecretUrl

#: Schemes of a URL that names a master through Sentinels.
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
#: Schemes of a URL that names the nodes of a Redis Cluster.
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
#: Schemes ``NUVOM_REDIS_URL`` may have: redis-py's, Sentinel's and Cluster's.
URL_SCHEMES = ("redis", "rediss", "unix", *SENTINEL_SCHEMES, *CLUSTER_SCHEMES)
#: Set by the conformance suite (``nuvom plugin test``) to a name unique to the running check.
SUITE_NAMESPACE_VARIABLE = "NUVOM_SUITE_NAMESPACE"
#: Finished records are kept this long unless the task sets ``result_ttl_secs``.
DEFAULT_RESULT_TTL_SECS = 7 * 24 * 3600.0


def is_sentinel_url(url: str) -> bool:
    """Whether ``url`` names a master through Sentinels."""
    return url.partition("://")[0].lower() in SENTINEL_SCHEMES


def is_cluster_url(url: str) -> bool:
    """Whether ``url`` names the nodes of a Redis Cluster."""
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


class RedisSettings(PluginSettings):
    """``NUVOM_REDIS_URL`` and friends.

    The URL may be ``redis://`` or ``rediss://`` (TLS), with ``user:password@`` (ACL) and a
    database index (``/0``), ``redis+sentinel://`` / ``rediss+sentinel://`` naming a master
    through its Sentinels (see ``sentinel.py``), or ``redis+cluster://`` / ``rediss+cluster://``
    naming nodes of a Redis Cluster (see ``cluster.py``).
    """

    #: Where Redis is.
    redis_url: SecretUrl = "redis://127.0.0.1:6379/0"
    #: Prefix of every key, so several apps can share one database.
    redis_prefix: str = Field("nuvom", min_length=1, pattern=r"^[^{}\s]+$")
    #: Connections per process; a caller waits for a free one when all are busy.
    redis_pool_size: int = Field(32, ge=1, le=10_000)
    #: Seconds a command may wait for a reply (blocking waits are cut to fit within it).
    redis_socket_timeout_secs: float = Field(10.0, gt=1)
    #: Seconds to wait for a connection to be made.
    redis_connect_timeout_secs: float = Field(5.0, gt=0)
    #: How long finished records live when the task sets no ``result_ttl_secs``.
    redis_result_ttl_secs: float = Field(DEFAULT_RESULT_TTL_SECS, gt=0)
    #: Most ids kept in each ``list_jobs`` index (the records themselves live until their TTL).
    redis_index_size: int = Field(100_000, ge=100)
    #: Replicas every enqueue and completion waits for (``WAIT``) before it counts as done; 0: none.
    redis_wait_replicas: int = Field(0, ge=0, le=100)
    #: Seconds such a write waits for its replicas before it fails.
    redis_wait_timeout_secs: float = Field(1.0, gt=0)

    @field_validator("redis_url")
    @classmethod
    def _url_reads(cls, url: str) -> str:
        scheme, sep, _ = url.partition("://")
        if not sep or scheme.lower() not in URL_SCHEMES:
            raise ValueError(f"the URL must start with {', '.join(s + '://' for s in URL_SCHEMES)}")
        if is_sentinel_url(url):
            from .sentinel import SentinelAddress  # imports redis-py: only for a Sentinel URL

            SentinelAddress.parse(url)
        if is_cluster_url(url):
            from .cluster import ClusterAddress  # imports redis-py: only for a Cluster URL

            ClusterAddress.parse(url)
        return url

    @field_validator("redis_wait_replicas")
    @classmethod
    def _wait_needs_one_master(cls, replicas: int, info: ValidationInfo) -> int:
        url = info.data.get("redis_url")
        if replicas and url is not None and is_cluster_url(url):
            raise ValueError("is not supported with a Redis Cluster URL (redis+cluster://); leave it at 0")
        return replicas

    @field_validator("redis_wait_timeout_secs")
    @classmethod
    def _wait_ends_before_the_socket_timeout(cls, secs: float, info: ValidationInfo) -> float:
        socket_timeout = info.data.get("redis_socket_timeout_secs")
        if socket_timeout is not None and secs >= socket_timeout:
            raise ValueError(
                f"must be shorter than NUVOM_REDIS_SOCKET_TIMEOUT_SECS ({socket_timeout} s),"
                " or the connection times out while WAIT still waits"
            )
        return secs

    @property
    def key_prefix(self) -> str:
        """``redis_prefix``, plus the check's namespace while the conformance suite runs."""
        namespace = os.environ.get(SUITE_NAMESPACE_VARIABLE)
        return f"{self.redis_prefix}:{namespace}" if namespace else self.redis_prefix
