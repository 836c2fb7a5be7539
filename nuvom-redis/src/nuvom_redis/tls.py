"""TLS connections whose failed handshakes say so, instead of being retried as outages."""

from __future__ import annotations

import ssl
from typing import Any

import redis


class TlsHandshakeError(redis.RedisError):
    """The server took the TCP connection but completed no TLS handshake.

    Not a :class:`redis.ConnectionError`, so the client does not retry it: a plain Redis port
    given a ``rediss://`` URL (or a certificate that does not verify) fails the same way every time.
    """


class TlsConnection(redis.SSLConnection):
    """An SSL connection whose handshake failures are :class:`TlsHandshakeError`."""

    def _wrap_socket_with_ssl(self, sock: Any) -> Any:
        try:
            return super()._wrap_socket_with_ssl(sock)  # type: ignore[no-untyped-call]
        except TimeoutError:
            raise TlsHandshakeError(
                f"no TLS handshake answer from {self.host}:{self.port} within"
                f" {self.socket_connect_timeout} s; is it a plain (non-TLS) Redis port? Use redis:// for one"
            ) from None
        except ssl.SSLError as exc:
            raise TlsHandshakeError(f"the TLS handshake with {self.host}:{self.port} failed: {exc}") from None
