"""URLs that name several hosts (Sentinel, Cluster): their parts, and each ``host[:port]`` item."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class MultiHostUrl:
    """A ``scheme://[login@]host1[:port1],host2[:port2],...[/path][?query]`` URL, split."""

    #: The scheme is a ``rediss...`` one.
    tls: bool
    #: ``user:password@`` as written (still quoted), or ``""``.
    login: str
    #: The comma-separated host items, as written.
    hosts: list[str]
    #: What follows the hosts' ``/``, without it.
    path: str
    #: What follows ``?``, without it (a ``#fragment`` is dropped).
    query: str

    @classmethod
    def split(cls, url: str, schemes: Iterable[str], *, kind: str, no_host: str) -> MultiHostUrl:
        """Split ``url``.

        Args:
            url: the URL, as configured.
            schemes: the schemes it may have (lower case).
            kind: what the URL names, for the errors ("Sentinel", "Cluster").
            no_host: the error when the URL names no host (with an example of the form).

        Raises:
            ValueError: saying which part is wrong (never quoting the password).
        """
        allowed = list(schemes)
        scheme, _, rest = url.partition("://")
        if scheme.lower() not in allowed:
            raise ValueError(f"a {kind} URL starts with {' or '.join(s + '://' for s in allowed)}")
        rest, _, query = rest.partition("#")[0].partition("?")
        netloc, _, path = rest.partition("/")
        userinfo, at, hosts = netloc.rpartition("@")
        if not hosts:
            raise ValueError(no_host)
        return cls(scheme.lower().startswith("rediss"), userinfo + at, hosts.split(","), path, query)


def host_and_port(item: str, *, kind: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` as a host and port.

    Args:
        item: one address of the list, already unquoted.
        kind: what the address names, for the error ("Sentinel", "Cluster node").
        default_port: the port of an address given without one.

    Raises:
        ValueError: naming the address and what is wrong with it.
    """
    if item.startswith("["):
        host, _, rest = item[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
    if not host:
        raise ValueError(f"a {kind} address is empty or has no host: {item!r}")
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"the {kind} address {item!r} has a port that is not a number") from None
    if not 0 < number < 65536:
        raise ValueError(f"the {kind} address {item!r} has a port out of range")
    return host, number
