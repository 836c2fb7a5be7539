"""Nuvom on Redis against RedisHuey and raw redis-benchmark, on one redis-server, in one run.

``python bench/redis_bench.py [--jobs 10000] [--round-trips 200] [--out bench/results/redis.json]``

Starts its own ``redis-server`` on a free loopback port without persistence, then measures each
(system, scenario) in a fresh process after a FLUSHALL: enqueue one by one, ``.map`` (Nuvom only:
Huey has no bulk enqueue), drain with 2 execution slots (``nuvom runworker --concurrency 2`` /
``huey_consumer -w 2 -k thread``; timed from spawning the worker until the last result is
stored), and round trips with an idle worker (enqueue, then poll the system's own result API
every 0.2 ms; Nuvom's ``Job.get()``, which polls from 2 ms up, is reported beside it). Last,
``redis-benchmark -t lpush,rpop`` plain and with ``-P 16`` shows the server's own ceiling.
Writes JSON to ``--out`` and prints a Markdown table with the Nuvom ÷ Huey ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from procs import WorkerProcess, child_env, sigterm_exits
from scenarios import HUEY_READY, NUVOM_READY, SLOTS, latency_summary, measure_drain

BENCH_DIR = Path(__file__).resolve().parent
#: Between polls of the result API in the round-trip scenario, for both systems.
ROUND_TRIP_POLL_SECS = 0.0002
IDLE_BEFORE_ROUND_TRIPS_SECS = 1.0
PLAN = [
    ("nuvom", "enqueue"),
    ("huey", "enqueue"),
    ("nuvom", "map"),
    ("nuvom", "drain"),
    ("huey", "drain"),
    ("nuvom", "roundtrip"),
    ("huey", "roundtrip"),
]
Result = dict[str, Any]


# -- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A redis-server without persistence on a free loopback port, stopped by pid."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(directory)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while self.cli("PING") != "PONG":
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *command: str) -> str:
        done = subprocess.run(["redis-cli", "-p", str(self.port), *command], capture_output=True, text=True)
        return done.stdout.strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


# -- one measurement, in a child process ---------------------------------------------------------


def _per_second(n: int, seconds: float) -> Result:
    return {"jobs": n, "seconds": seconds, "jobs_per_s": n / seconds}


def _poll_round_trips(n: int, enqueue: Any, done: Any) -> Result:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        handle = enqueue()
        while not done(handle):
            time.sleep(ROUND_TRIP_POLL_SECS)
        samples.append(time.perf_counter() - start)
    return latency_summary(samples)


def measure_nuvom(scenario: str, args: argparse.Namespace, tmp: Path) -> Result:
    env = {"NUVOM_QUEUE_BACKEND": "redis", "NUVOM_RESULT_BACKEND": "redis", "NUVOM_REDIS_URL": args.url}
    env["NUVOM_DATA_DIR"] = str(tmp / "nuvom-data")
    os.environ.update(env)
    from bench_nuvom_tasks import noop

    from nuvom.job import Job
    from nuvom.record import JobStatus
    from nuvom.runtime import get_results

    n = args.jobs
    noop.delay()  # warm-up: settings, plugin, connections and scripts on first use
    if scenario in ("enqueue", "map"):
        start = time.perf_counter()
        if scenario == "enqueue":
            for _ in range(n):
                noop.delay()
        else:
            noop.map([()] * n)
        return _per_second(n, time.perf_counter() - start)

    argv = [sys.executable, "-m", "nuvom", "runworker", "--import", "bench_nuvom_tasks"]
    worker = WorkerProcess(
        [*argv, "--concurrency", str(SLOTS)],
        env={**child_env({}), **env},
        cwd=tmp,
        log=tmp / "worker.log",
        ready_marker=NUVOM_READY,
    )
    results = get_results()
    if scenario == "drain":
        ids = [job.id for job in noop.map([()] * n)]

        def is_done(i: int) -> bool:
            record = results.get_full(ids[i])
            return record is not None and record.status is JobStatus.SUCCESS

        return measure_drain(worker, is_done, n, args.timeout)

    with worker:
        worker.wait_ready()
        time.sleep(IDLE_BEFORE_ROUND_TRIPS_SECS)

        def finished(job: Job) -> bool:
            record = results.get_full(job.id)
            return record is not None and record.status is JobStatus.SUCCESS

        polled = _poll_round_trips(args.round_trips, noop.delay, finished)
        samples = []
        for _ in range(args.round_trips):
            start = time.perf_counter()
            assert noop.delay().get(timeout=30) == 1
            samples.append(time.perf_counter() - start)
    polled["job_get"] = latency_summary(samples)
    return polled


def measure_huey(scenario: str, args: argparse.Namespace, tmp: Path) -> Result:
    os.environ["BENCH_REDIS_URL"] = args.url
    from bench_redis_huey_app import noop

    n = args.jobs
    noop()
    if scenario == "enqueue":
        start = time.perf_counter()
        for _ in range(n):
            noop()
        return _per_second(n, time.perf_counter() - start)

    argv = [sys.executable, "-m", "huey.bin.huey_consumer", "bench_redis_huey_app.huey"]
    worker = WorkerProcess(
        [*argv, "-w", str(SLOTS), "-k", "thread"],
        env=child_env({"BENCH_REDIS_URL": args.url}),
        cwd=tmp,
        log=tmp / "consumer.log",
        ready_marker=HUEY_READY,
    )
    if scenario == "drain":
        handles = [noop() for _ in range(n)]
        return measure_drain(worker, lambda i: handles[i].get(preserve=True) is not None, n, args.timeout)

    with worker:
        worker.wait_ready()
        time.sleep(IDLE_BEFORE_ROUND_TRIPS_SECS)
        return _poll_round_trips(args.round_trips, noop, lambda handle: handle.get(preserve=True) is not None)


def measure(args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory(prefix="nuvom-redis-bench-") as name:
        tmp = Path(name)
        os.chdir(tmp)
        try:
            if args.system == "nuvom":
                return measure_nuvom(args.scenario, args, tmp)
            return measure_huey(args.scenario, args, tmp)
        finally:
            os.chdir("/")


# -- the run -------------------------------------------------------------------------------------


def redis_benchmark(port: int, pipeline: int) -> Result:
    argv = ["redis-benchmark", "-p", str(port), "-t", "lpush,rpop", "-n", "100000", "-q"]
    out = subprocess.run([*argv, "-P", str(pipeline)], capture_output=True, text=True, check=True).stdout
    rates = dict(re.findall(r"(\w+): ([\d.]+) requests per second", out.replace("\r", "\n")))
    return {name.lower(): float(rate) for name, rate in rates.items()}


def run_child(system: str, scenario: str, args: argparse.Namespace, server: Server) -> Result:
    server.cli("FLUSHALL")
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        argv = [sys.executable, str(Path(__file__).resolve()), "--measure", system, scenario]
        argv += ["--url", server.url, "--jobs", str(args.jobs), "--round-trips", str(args.round_trips)]
        argv += ["--measure-out", out.name, "--timeout", str(args.timeout)]
        subprocess.run(argv, check=True, cwd=BENCH_DIR)
        return dict(json.loads(Path(out.name).read_text()))


def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(results: dict[str, Result]) -> str:
    """The figures as a Markdown table, with Nuvom / Huey ratios."""

    def get(system: str, scenario: str, key: str) -> float | None:
        value = results.get(f"{system}/{scenario}", {}).get(key)
        return float(value) if value is not None else None

    rows = [
        ("enqueue one by one (jobs/s)", "enqueue", "jobs_per_s"),
        (".map (jobs/s)", "map", "jobs_per_s"),
        ("drain, 2 slots (jobs/s)", "drain", "jobs_per_s"),
        ("round trip p50 (ms)", "roundtrip", "p50_ms"),
        ("round trip p99 (ms)", "roundtrip", "p99_ms"),
    ]
    lines = ["| measure | Nuvom (redis) | RedisHuey | Nuvom / Huey |", "|---|---:|---:|---:|"]
    for label, scenario, key in rows:
        ours, theirs = get("nuvom", scenario, key), get("huey", scenario, key)
        ratio = _cell(ours / theirs, 2) if ours and theirs else "-"
        lines.append(f"| {label} | {_cell(ours)} | {_cell(theirs)} | {ratio} |")
    job_get = results.get("nuvom/roundtrip", {}).get("job_get", {})
    if job_get:
        both = f"{job_get['p50_ms']:.2f} / {job_get['p99_ms']:.2f}"
        lines.append(f"| round trip with `Job.get()`, p50 / p99 (ms) | {both} | - | - |")
    for pipeline in (1, 16):
        raw = results.get(f"redis-benchmark/P{pipeline}", {})
        if raw:
            rates = f"{raw.get('lpush', 0):,.0f} / {raw.get('rpop', 0):,.0f}"
            lines.append(f"| redis-benchmark -P {pipeline}, LPUSH / RPOP (requests/s) | {rates} | | |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--round-trips", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "redis.json")
    parser.add_argument("--measure", nargs=2, metavar=("SYSTEM", "SCENARIO"), help=argparse.SUPPRESS)
    parser.add_argument("--measure-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        args.system, args.scenario = args.measure
        with sigterm_exits():
            args.measure_out.write_text(json.dumps(measure(args)))
        return 0

    if shutil.which("redis-server") is None or shutil.which("redis-benchmark") is None:
        print("redis-server and redis-benchmark are needed (Debian: apt-get install redis-server)")
        return 2
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="nuvom-redis-server-") as directory:
        server = Server(Path(directory))
        try:
            for system, scenario in PLAN:
                print(f"measuring {system} {scenario} ...", file=sys.stderr)
                results[f"{system}/{scenario}"] = run_child(system, scenario, args, server)
            server.cli("FLUSHALL")
            for pipeline in (1, 16):
                results[f"redis-benchmark/P{pipeline}"] = redis_benchmark(server.port, pipeline)
            version = server.cli("INFO", "server")
        finally:
            server.stop()
    report = {
        "jobs": args.jobs,
        "round_trips": args.round_trips,
        "slots": SLOTS,
        "redis": re.search(r"redis_version:(\S+)", version).group(1) if "redis_version" in version else "?",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
