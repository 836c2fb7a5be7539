"""Prometheus metrics for Nuvom: installed, every worker process serves ``/metrics``."""

from .exporter import Exporter as Exporter
from .exporter import ExporterError as ExporterError
from .exporter import PrometheusSettings as PrometheusSettings
from .exporter import start_exporter as start_exporter
from .metrics import Metrics as Metrics
from .metrics import get_metrics as get_metrics

__version__ = "0.1.0"

__all__ = [
    "Exporter",
    "ExporterError",
    "Metrics",
    "PrometheusSettings",
    "__version__",
    "get_metrics",
    "start_exporter",
]
