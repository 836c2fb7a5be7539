"""Fixtures: the e2e task project, worker subprocesses, and a real Prometheus server."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from ..e2e.conftest import start_worker as start_worker  # the same worker processes as e2e
from ..e2e.helpers import imported_tasks, wait_until
from .helpers import free_port

REPO = Path(__file__).parent.parent.parent
ALERTS = REPO / "docs" / "backends" / "prometheus-alerts.yml"
DASHBOARD = REPO / "docs" / "backends" / "grafana-dashboard.json"


@pytest.fixture
def project(isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The e2e task module, importable here and in the worker; exporters pick a free port."""
    monkeypatch.setenv("NUVOM_PROMETHEUS_PORT", "0")
    with imported_tasks(isolated_nuvom, monkeypatch) as tasks:
        yield tasks


class PrometheusServer:
    """A real ``prometheus`` process on a free loopback port, scraping ``targets`` every second."""

    def __init__(self, directory: Path, targets: list[str]) -> None:
        binary = shutil.which("prometheus")
        assert binary is not None
        directory.mkdir()
        config = directory / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {ALERTS}\n"
            "scrape_configs:\n  - job_name: nuvom\n    static_configs:\n"
            f"      - targets: [{', '.join(repr(t) for t in targets)}]\n"
        )
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = directory / "prometheus.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--web.listen-address={self.url.removeprefix('http://')}",
                    f"--storage.tsdb.path={directory / 'data'}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._ready, 30, f"Prometheus at {self.url} to be ready (log: {self.log})", 0.1)

    def _ready(self) -> bool:
        assert self.proc.poll() is None, f"prometheus exited: {self.log.read_text()}"
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Callable[[list[str]], PrometheusServer]]:
    """Start a real Prometheus server (skipped when the binary is missing); stopped by pid."""
    if shutil.which("prometheus") is None:
        pytest.skip("the prometheus binary is not installed (apt-get install prometheus; .ci/run does)")
    servers: list[PrometheusServer] = []

    def start(targets: list[str]) -> PrometheusServer:
        server = PrometheusServer(tmp_path / f"prometheus-{len(servers)}", targets)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
