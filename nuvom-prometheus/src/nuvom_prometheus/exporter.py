"""The HTTP endpoint Prometheus scrapes, started by worker processes only."""

from __future__ import annotations

import errno
import logging
import threading
from typing import final
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from pydantic import Field

from nuvom.config import PluginSettings
from nuvom.errors import NuvomError

from .metrics import get_metrics

logger = logging.getLogger(__name__)


class PrometheusSettings(PluginSettings):
    """``NUVOM_PROMETHEUS_ENABLED``, ``NUVOM_PROMETHEUS_HOST`` and ``NUVOM_PROMETHEUS_PORT``."""

    #: Whether worker and scheduler processes serve ``/metrics``.
    prometheus_enabled: bool = True
    #: Interface the exporter binds.
    prometheus_host: str = "127.0.0.1"
    #: Port the exporter binds; 0 lets the system pick a free one (the exporter logs it).
    prometheus_port: int = Field(9150, ge=0, le=65535)


class ExporterError(NuvomError):
    """The exporter cannot listen on its address (``.host``, ``.port``)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        hint = (
            "; another process listens there: give each worker its own NUVOM_PROMETHEUS_PORT, "
            "or 0 for a free one"
            if "in use" in reason
            else ""
        )
        super().__init__(f"cannot serve Prometheus metrics on {host}:{port}: {reason}{hint}")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@final
class Exporter:
    """A running ``/metrics`` endpoint. ``port`` is the bound port (the real one when 0 was asked)."""

    def __init__(self, host: str, server: WSGIServer, thread: threading.Thread) -> None:
        self.host = host
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = thread

    @property
    def url(self) -> str:
        """Where Prometheus scrapes, e.g. ``http://127.0.0.1:9150/metrics``."""
        return f"http://{_url_host(self.host)}:{self.port}/metrics"

    def stop(self) -> None:
        """Stop serving and free the port. Idempotent."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_exporter(settings: PrometheusSettings, registry: CollectorRegistry | None = None) -> Exporter:
    """Serve ``registry`` (Nuvom's metrics by default) on ``NUVOM_PROMETHEUS_HOST:PORT``.

    Serving happens on a daemon thread, so it never keeps the process alive. Call it from a
    process that runs jobs (a worker, a scheduler), never at import time: producers import
    plugins too.

    Args:
        settings: the plugin's settings: ``prometheus_host`` and ``prometheus_port`` (0 picks a free port).
        registry: what to serve.

    Returns:
        The running exporter; :meth:`Exporter.stop` frees the port.

    Raises:
        ExporterError: the address cannot be bound (port in use, unknown host), naming host and port.
    """
    host, port = settings.prometheus_host, settings.prometheus_port
    try:
        server, thread = start_http_server(
            port, addr=host, registry=registry if registry is not None else get_metrics().registry
        )
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else str(exc)
        raise ExporterError(host, port, reason) from None
    return Exporter(host, server, thread)
