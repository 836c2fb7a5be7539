"""Prometheus metrics for Nuvom: installed, every worker process serves ``/metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nuvom.lazy import lazy_exports

if TYPE_CHECKING:
    from .exporter import Exporter as Exporter
    from .exporter import ExporterError as ExporterError
    from .exporter import PrometheusSettings as PrometheusSettings
    from .exporter import start_exporter as start_exporter
    from .metrics import Metrics as Metrics
    from .metrics import get_metrics as get_metrics

__version__ = "0.1.0"

#: Each public name and the module defining it, imported on first use: loading the plugin (which
#: ``nuvom --help`` and every producer do) must not import prometheus_client or pydantic.
_EXPORTS = {
    "Exporter": ".exporter",
    "ExporterError": ".exporter",
    "PrometheusSettings": ".exporter",
    "start_exporter": ".exporter",
    "Metrics": ".metrics",
    "get_metrics": ".metrics",
}

__all__ = [
    "Exporter",
    "ExporterError",
    "Metrics",
    "PrometheusSettings",
    "__version__",
    "get_metrics",
    "start_exporter",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
