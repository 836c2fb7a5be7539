"""Smoke test of the benchmark harness: a tiny run produces a complete results file (no timings checked)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from systems import BULK, SYSTEMS, WORKER_ONLY  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None or shutil.which("redis-benchmark") is None,
    reason="redis-server and redis-benchmark are needed (Debian: apt-get install -y redis-server)",
)


@pytest.mark.timeout(300)
def test_quick_run_reports_every_installed_system(tmp_path: Path) -> None:
    # One process-pool variant stands for the three: each costs worker and child start-ups.
    installed = [name for name, (_, module) in SYSTEMS.items() if importlib.util.find_spec(module)]
    installed = [name for name in installed if name not in WORKER_ONLY - {"nuvom-redis-procs"}]
    out, plot = tmp_path / "results", tmp_path / "drain.png"
    argv = [sys.executable, str(BENCH / "run.py"), "--quick", "--jobs", "20", "--round-trips", "3"]
    argv += ["--only", ",".join(installed)]
    argv += [
        "--scale",
        "40",
        "--idle",
        "0",
        "--out",
        str(out),
        "--plot",
        str(plot),
        "--tmp-dir",
        str(tmp_path),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]

    data = json.loads((out / "latest.json").read_text())
    assert data["config"]["systems"] == installed
    assert data["errors"] == {}
    for system in installed:
        scenarios = {"drain", "roundtrip"} | ({"bulk"} if system in BULK else set())
        scenarios |= set() if system in WORKER_ONLY else {"enqueue"}
        scenarios |= {"scale"} if system in ("nuvom-sqlite", "nuvom-redis") else set()
        scenarios |= {"small"} if system in ("nuvom-file", "nuvom-sqlite", "nuvom-redis") else set()
        assert set(data["results"][system]) == scenarios, system
        assert data["results"][system]["drain"]["jobs_per_s"]["median"] > 0
        assert data["runs"][system]["drain"][0]["jobs"] == 20
        assert data["runs"][system]["roundtrip"][0]["round_trips"] == 3
    assert data["runs"]["nuvom-redis"]["scale"][0]["backlog"] == 40
    assert set(data["limits"]) == {"redis_P1", "redis_P16", "sqlite_claim"}
    report = (out / "latest.md").read_text()
    assert "| Redis drain ≥ 3x RedisHuey |" in report and "| file: drain rate of the large" in report
    assert data["meta"]["versions"]["nuvom-core"] != "not installed"
    assert "| Nuvom (Redis) |" in (out / "latest.md").read_text()
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_only_names_an_unknown_system() -> None:
    argv = [sys.executable, str(BENCH / "run.py"), "--only", "nuvom-redis,redis-huey", "--quick"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "redis-huey" in done.stderr and "redishuey" in done.stderr
