"""The ``host[:port]`` items of a Sentinel or Cluster URL's comma-separated address list."""

from __future__ import annotations


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
