"""Scraping, free ports and the exporter address a worker logs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ..e2e.helpers import WorkerProcess, wait_until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def scrape(url: str) -> Samples:
    """GET ``url`` and parse it with prometheus_client's parser: every sample by name and labels."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def log_text(worker: WorkerProcess) -> str:
    """The worker's log with Rich's line wrapping undone (runs of whitespace become one space)."""
    return " ".join(worker.output().split())


class FleetProcess(WorkerProcess):
    """A ``nuvom prometheus serve`` subprocess (the fleet exporter), stopped by pid."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.cwd = cwd
        self.log_path = cwd / f"fleet-{time.monotonic_ns()}.log"
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "nuvom", "prometheus", "serve", *args],
                cwd=cwd,
                env={**os.environ, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )


def exporter_url(worker: WorkerProcess, timeout: float = 15) -> str:
    """The /metrics URL the worker logged once its exporter listens."""
    found: list[str] = []

    def logged() -> bool:
        match = re.search(r"serves Prometheus metrics at (http://\S+/metrics)", log_text(worker))
        if match:
            found.append(match.group(1))
        return bool(match)

    wait_until(logged, timeout, "the worker to log its exporter's address")
    return found[0]
