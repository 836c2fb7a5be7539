"""Benchmark Nuvom's SQLite backends against Huey's SqliteHuey in one run.

Usage: ``python bench/sqlite_bench.py [--quick] [--jobs N] [--tmp-dir DIR]``.

Every figure but the raw rates comes from its own process (this script with ``--one``) and a
fresh temporary folder. Huey's single-process figures come from ``bench/scenarios.py`` (the same
measurement as ``bench/run.py``); both drains with 2 worker processes are measured here. The raw
rates are in-process loops on an otherwise idle database: a bare claim transaction (``BEGIN
IMMEDIATE``, ``UPDATE … RETURNING`` one row, ``COMMIT``) on a minimal table, Nuvom's claim + ack
through ``SqliteQueue``, and Nuvom's claim latency on an empty queue and on a large backlog.
Results go to ``bench/results/sqlite.json``; a Markdown table with ratios Nuvom ÷ Huey is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from procs import WorkerProcess, child_env, sigterm_exits  # noqa: E402
from scenarios import (  # noqa: E402
    HUEY_READY,
    IDLE_BEFORE_ROUND_TRIPS_SECS,
    NUVOM_READY,
    SLOTS,
    drain_result,
    latency_summary,
    measure_drain,
    wait_all_done,
)

RESULTS = BENCH_DIR / "results" / "sqlite.json"
DEFAULT_TMP = "/root/benchtmp"
Result = dict[str, Any]


# -- one measurement per process ---------------------------------------------------------------


def _nuvom_env(data_dir: Path, synchronous: str = "NORMAL") -> dict[str, str]:
    return {
        "NUVOM_DATA_DIR": str(data_dir),
        "NUVOM_QUEUE_BACKEND": "sqlite",
        "NUVOM_RESULT_BACKEND": "sqlite",
        "NUVOM_SQLITE_SYNCHRONOUS": synchronous,
    }


def _nuvom_worker(tmp: Path, data_dir: Path, index: int = 0, synchronous: str = "NORMAL") -> WorkerProcess:
    argv = [sys.executable, "-m", "nuvom", "runworker", "--import", "bench_nuvom_tasks"]
    return WorkerProcess(
        [*argv, "--concurrency", str(SLOTS)],
        env=child_env(_nuvom_env(data_dir, synchronous)),
        cwd=tmp,
        log=tmp / f"worker-{index}.log",
        ready_marker=NUVOM_READY,
    )


def _huey_processes(tmp: Path, path: Path) -> WorkerProcess:
    argv = [sys.executable, "-m", "huey.bin.huey_consumer", "bench_huey_app.huey", "-w", "2", "-k", "process"]
    return WorkerProcess(
        argv,
        env=child_env({"BENCH_HUEY_KIND": "sqlite", "BENCH_HUEY_PATH": str(path)}),
        cwd=tmp,
        log=tmp / "consumer.log",
        ready_marker=HUEY_READY,
    )


def drain_with(
    workers: list[WorkerProcess], is_done: Callable[[int], bool], n: int, timeout: float
) -> Result:
    """Start every worker at once; time from the first spawn until every job is done."""
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready()
        cpu_ready = sum(w.cpu() for w in workers)
        done_at = wait_all_done(workers[0], is_done, n, timeout=timeout)
        cpu_done = sum(w.cpu() for w in workers)
    finally:
        for worker in workers:
            worker.stop()
    first = workers[0]
    first.started_at = min(w.started_at for w in workers)
    first.ready_at = max(w.ready_at for w in workers)
    return drain_result(first, n, done_at, cpu_ready, cpu_done)


def nuvom_one(scenario: str, n: int, tmp: Path, timeout: float) -> Result:
    """One measurement; a scenario ending in ``-full`` runs with ``NUVOM_SQLITE_SYNCHRONOUS=FULL``."""
    data_dir = tmp / "nuvom-data"
    synchronous = "FULL" if scenario.endswith("-full") else "NORMAL"
    scenario = scenario.removesuffix("-full")
    for key in [k for k in os.environ if k.startswith("NUVOM_")]:
        del os.environ[key]
    os.environ.update(_nuvom_env(data_dir, synchronous))
    from bench_nuvom_tasks import noop

    from nuvom.job import Job
    from nuvom.record import JobStatus
    from nuvom.runtime import get_queue, get_results

    if scenario in ("enqueue", "map"):
        noop.delay()  # warm-up: settings, backends and the schema are built on first use
        start = time.perf_counter()
        if scenario == "enqueue":
            for _ in range(n):
                noop.delay()
        else:
            noop.map([()] * n)
        seconds = time.perf_counter() - start
        return {"jobs": n, "seconds": seconds, "jobs_per_s": n / seconds}

    if scenario in ("drain", "drain2procs"):
        ids = []
        for start in range(0, n, 1000):
            ids += [job.id for job in noop.map([()] * min(1000, n - start))]
        assert get_queue().qsize() == n

        def is_done(i: int) -> bool:
            return Job(ids[i]).status() is JobStatus.SUCCESS

        if scenario == "drain":
            return measure_drain(_nuvom_worker(tmp, data_dir, 0, synchronous), is_done, n, timeout)
        workers = [_nuvom_worker(tmp, data_dir, i, synchronous) for i in range(2)]
        return drain_with(workers, is_done, n, timeout)

    if scenario == "roundtrip":
        get_queue(), get_results()
        samples = []
        with _nuvom_worker(tmp, data_dir) as worker:
            worker.wait_ready()
            time.sleep(IDLE_BEFORE_ROUND_TRIPS_SECS)
            for _ in range(n):
                start = time.perf_counter()
                assert noop.delay().get(timeout=30) == 1
                samples.append(time.perf_counter() - start)
        return latency_summary(samples)

    raise ValueError(f"no nuvom scenario {scenario!r}")


def huey_drain_processes(n: int, tmp: Path, timeout: float) -> Result:
    path = tmp / "huey.db"
    os.environ.update({"BENCH_HUEY_KIND": "sqlite", "BENCH_HUEY_PATH": str(path), "BENCH_HUEY_NOSYNC": "1"})
    from bench_huey_app import huey as app
    from bench_huey_app import noop

    results = [noop() for _ in range(n)]
    assert app.pending_count() == n
    return drain_with(
        [_huey_processes(tmp, path)], lambda i: results[i].get(preserve=True) is not None, n, timeout
    )


def one(args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory(prefix="sqlite-bench-", dir=args.tmp_dir) as name:
        tmp = Path(name)
        os.chdir(tmp)
        try:
            if args.one == "sqlitehuey":
                return huey_drain_processes(args.jobs, tmp, args.timeout)
            return nuvom_one(args.scenario, args.jobs, tmp, args.timeout)
        finally:
            os.chdir("/")


# -- raw rates, in this process ----------------------------------------------------------------


def raw_claim_rate(folder: Path, seconds: float = 2.0) -> Result:
    """Bare claim transactions per second on a minimal WAL table (synchronous=NORMAL)."""
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE jobs (seq INTEGER PRIMARY KEY, ready INTEGER, token TEXT, payload BLOB)")
    conn.execute("CREATE INDEX jobs_ready ON jobs (seq) WHERE ready = 1")
    conn.executemany("INSERT INTO jobs (ready, payload) VALUES (1, ?)", [(b"x" * 64,)] * 200_000)
    count, end = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE jobs SET ready = 0, token = 't' WHERE seq = "
            "(SELECT seq FROM jobs WHERE ready = 1 ORDER BY seq LIMIT 1) RETURNING seq, payload"
        ).fetchall()
        conn.execute("COMMIT")
        count += 1
    conn.close()
    return {"transactions": count, "per_s": count / (time.perf_counter() - start)}


def nuvom_claim_rates(folder: Path, backlog: int, samples: int = 2000) -> Result:
    """Nuvom's claim + ack rate, and its claim latency on an empty queue and on ``backlog`` jobs."""
    from nuvom.backends.base import Envelope
    from nuvom_sqlite import SqliteQueue

    def latency(queue: SqliteQueue, refill: bool) -> float:
        times = []
        for i in range(samples):
            if refill:
                queue.enqueue(Envelope(f"x{i}", "default", b"x" * 64))
            start = time.perf_counter()
            (lease,) = queue.pop_batch(1, queues=("default",), timeout=0, lease_secs=60)
            times.append(time.perf_counter() - start)
            queue.ack(lease)
        return statistics.median(times) * 1e6

    empty = SqliteQueue(folder / "empty.db")
    empty_us = latency(empty, refill=True)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2.0:
        empty.enqueue(Envelope(f"r{count}", "default", b"x" * 64))
        (lease,) = empty.pop_batch(1, queues=("default",), timeout=0, lease_secs=60)
        empty.ack(lease)
        count += 1
    per_s = count / (time.perf_counter() - start)
    empty.close()

    full = SqliteQueue(folder / "backlog.db")
    for first in range(0, backlog, 50_000):
        full.enqueue_many(
            [
                Envelope(f"b{i}", "default", b"x" * 64, i % 10)
                for i in range(first, min(backlog, first + 50_000))
            ]
        )
    backlog_us = latency(full, refill=True)
    full.close()
    return {
        "enqueue_claim_ack_per_s": per_s,
        "claim_us_empty": empty_us,
        "claim_us_backlog": backlog_us,
        "backlog": backlog,
        "backlog_ratio": backlog_us / empty_us,
    }


# -- the run ----------------------------------------------------------------------------------


def measure(argv: list[str], tmp_dir: str) -> Result:
    with tempfile.NamedTemporaryFile(suffix=".json", dir=tmp_dir) as out:
        cmd = [sys.executable, *argv, "--out", out.name, "--tmp-dir", tmp_dir]
        print("$", " ".join(cmd[1:]), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True)
        result: Result = json.loads(Path(out.name).read_text())
    result.pop("samples_ms", None)
    return result


def run_all(args: argparse.Namespace) -> Result:
    n, trips, tmp = args.jobs, args.round_trips, args.tmp_dir
    me, scenarios = str(Path(__file__)), str(BENCH_DIR / "scenarios.py")
    nuvom = {
        s: measure([me, "--one", "nuvom", s, "--jobs", str(trips if s == "roundtrip" else n)], tmp)
        for s in ("enqueue", "map", "drain", "drain2procs", "roundtrip", "enqueue-full", "drain-full")
    }
    huey = {
        s: measure([scenarios, "sqlitehuey", s, "--jobs", str(n), "--round-trips", str(trips)], tmp)
        for s in ("enqueue", "drain", "roundtrip")
    }
    huey["drain2procs"] = measure([me, "--one", "sqlitehuey", "drain2procs", "--jobs", str(n)], tmp)
    with tempfile.TemporaryDirectory(prefix="sqlite-raw-", dir=tmp) as folder:
        raw = raw_claim_rate(Path(folder))
        claims = nuvom_claim_rates(Path(folder), args.backlog)
    return {
        "jobs": n,
        "round_trips": trips,
        "sqlite_version": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "nuvom_sqlite": nuvom,
        "sqlitehuey": huey,
        "raw_claim_transactions": raw,
        "nuvom_claims": claims,
    }


def table(data: Result) -> str:
    nv, hu = data["nuvom_sqlite"], data["sqlitehuey"]

    def row(label: str, ours: float | None, theirs: float | None, unit: str, higher_better: bool) -> str:
        ratio = f"{ours / theirs:.2f}" if ours and theirs else "n/a"
        arrow = "↑" if higher_better else "↓"

        def fmt(value: float | None) -> str:
            return "n/a" if value is None else f"{value:,.1f} {unit}"

        return f"| {label} {arrow} | {fmt(ours)} | {fmt(theirs)} | {ratio} |"

    claims = data["nuvom_claims"]
    lines = [
        f"{data['jobs']:,} no-op jobs, SQLite {data['sqlite_version']}, {data['cpus']} CPUs",
        "",
        "| measure | Nuvom SQLite | SqliteHuey | Nuvom ÷ Huey |",
        "|---|---|---|---|",
        row("enqueue one by one", nv["enqueue"]["jobs_per_s"], hu["enqueue"]["jobs_per_s"], "jobs/s", True),
        row("`.map`", nv["map"]["jobs_per_s"], None, "jobs/s", True),
        row(
            "drain, 1 worker with 2 slots",
            nv["drain"]["jobs_per_s"],
            hu["drain"]["jobs_per_s"],
            "jobs/s",
            True,
        ),
        row(
            "drain, 2 worker processes",
            nv["drain2procs"]["jobs_per_s"],
            hu["drain2procs"]["jobs_per_s"],
            "jobs/s",
            True,
        ),
        row(
            "enqueue one by one, FULL",
            nv["enqueue-full"]["jobs_per_s"],
            hu["enqueue"]["jobs_per_s"],
            "jobs/s",
            True,
        ),
        row("drain 2 slots, FULL", nv["drain-full"]["jobs_per_s"], hu["drain"]["jobs_per_s"], "jobs/s", True),
        row("round trip p50", nv["roundtrip"]["p50_ms"], hu["roundtrip"]["p50_ms"], "ms", False),
        row("round trip p99", nv["roundtrip"]["p99_ms"], hu["roundtrip"]["p99_ms"], "ms", False),
        "",
        "Nuvom runs with synchronous=NORMAL (no fsync per commit) unless a row says FULL (an fsync per "
        "commit, like SqliteHuey's default). Drains are timed from spawning the worker(s).",
        "",
        f"Raw claim transactions (BEGIN IMMEDIATE + UPDATE … RETURNING + COMMIT): "
        f"{data['raw_claim_transactions']['per_s']:,.0f}/s. Nuvom enqueue + claim + ack through "
        f"SqliteQueue: {claims['enqueue_claim_ack_per_s']:,.0f}/s. Claim latency (median) "
        f"{claims['claim_us_empty']:.0f} us on an empty queue, {claims['claim_us_backlog']:.0f} us "
        f"on a {claims['backlog']:,}-job backlog ({claims['backlog_ratio']:.2f} times).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 jobs, 50 round trips, 100,000 backlog")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--round-trips", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--tmp-dir", default=DEFAULT_TMP)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--one", choices=["nuvom", "sqlitehuey"], help=argparse.SUPPRESS)
    parser.add_argument("scenario", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    Path(args.tmp_dir).mkdir(parents=True, exist_ok=True)
    with sigterm_exits():
        if args.one:
            args.out.write_text(json.dumps(one(args)))
            return
        if args.quick:
            args.jobs, args.round_trips, args.backlog = 1_000, 50, 100_000
        data = run_all(args)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    print(table(data))


if __name__ == "__main__":
    main()
