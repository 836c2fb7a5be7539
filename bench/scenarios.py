"""One measurement per process: ``python bench/scenarios.py SYSTEM SCENARIO --out FILE [options]``.

``bench/run.py`` runs each measurement in a fresh process and a fresh temporary data directory,
so no state (settings, open backends, warmed caches, queue files) leaks from one to the next.
The result is written as JSON to ``--out``.

Systems: ``nuvom`` (file queue and file results, default settings: fsync on), ``filehuey`` and
``sqlitehuey`` (Huey's FileHuey and SqliteHuey with their defaults).

Scenarios:

- ``enqueue``: ``--jobs`` calls of ``.delay()`` (Huey: calling the task), one by one.
- ``map``: one ``.map()`` of ``--jobs`` calls (Nuvom only).
- ``drain``: ``--jobs`` jobs are queued first (untimed), then a worker with 2 slots is started;
  timed from spawning the worker until the last job's result is stored.
- ``roundtrip``: a worker is started and left idle for 1 s; then ``--round-trips`` sequential
  enqueue + blocking get.
- ``idle``: a worker with an empty queue; its CPU use over ``--seconds``.

The completion signal is the same for every system: each job's result, read through the
system's own result API (Nuvom ``Job.status() is SUCCESS``, Huey ``Result.get(preserve=True)``),
scanned in enqueue order while the worker runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from procs import WorkerProcess, child_env, sigterm_exits

SLOTS = 2
IDLE_BEFORE_ROUND_TRIPS_SECS = 1.0
IDLE_SETTLE_SECS = 1.0
NUVOM_READY = "started: queues"
HUEY_READY = "Huey consumer started"
#: Huey polling lowered to Nuvom's 10 ms (worker poll) for the extra "fast poll" rows.
HUEY_FAST_POLL = ["-d", "0.01", "-m", "0.01", "-b", "1.0"]
HUEY_FAST_GET_MAX_DELAY = 0.01

Result = dict[str, Any]


# -- shared ----------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_summary(samples_s: list[float]) -> Result:
    ms = sorted(s * 1000 for s in samples_s)
    return {
        "round_trips": len(ms),
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "mean_ms": statistics.fmean(ms),
        "min_ms": ms[0],
        "max_ms": ms[-1],
        "samples_ms": [round(s * 1000, 3) for s in samples_s],
    }


def wait_all_done(
    worker: WorkerProcess, is_done: Callable[[int], bool], n: int, *, timeout: float, poll: float = 0.01
) -> float:
    """Scan jobs 0..n-1 in order until each is done; return ``perf_counter()`` when the last is."""
    done = 0
    deadline = time.monotonic() + timeout
    while True:
        while done < n and is_done(done):
            done += 1
        if done == n:
            return time.perf_counter()
        worker.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done} of {n} jobs done after {timeout} s:\n{worker.log_tail()}")
        time.sleep(poll)


def measure_drain(
    worker_cm: AbstractContextManager[WorkerProcess], is_done: Callable[[int], bool], n: int, timeout: float
) -> Result:
    """Start the worker, wait until every job is done, and return the drain figures."""
    with worker_cm as worker:
        worker.wait_ready()
        cpu_ready = worker.cpu()
        done_at = wait_all_done(worker, is_done, n, timeout=timeout)
        cpu_done = worker.cpu()
    return drain_result(worker, n, done_at, cpu_ready, cpu_done)


def drain_result(worker: WorkerProcess, n: int, done_at: float, cpu_ready: float, cpu_done: float) -> Result:
    wall = done_at - worker.started_at
    drain = done_at - worker.ready_at
    return {
        "jobs": n,
        "wall_s": wall,
        "startup_s": worker.ready_at - worker.started_at,
        "drain_s": drain,
        "jobs_per_s": n / wall,
        "jobs_per_s_from_ready": n / drain,
        "cpu_s": cpu_done,
        "cpu_startup_s": cpu_ready,
        "cpu_us_per_job": (cpu_done - cpu_ready) / n * 1e6,
    }


def idle_result(worker: WorkerProcess, seconds: float) -> Result:
    worker.wait_ready()
    time.sleep(IDLE_SETTLE_SECS)
    cpu0, t0 = worker.cpu(), time.perf_counter()
    time.sleep(seconds)
    cpu1, t1 = worker.cpu(), time.perf_counter()
    worker.check_alive()
    return {"seconds": t1 - t0, "cpu_s": cpu1 - cpu0, "cpu_pct": (cpu1 - cpu0) / (t1 - t0) * 100}


# -- Nuvom -----------------------------------------------------------------------------------------


def _nuvom_setup(data_dir: Path, *, fsync: bool = True) -> None:
    for key in [k for k in os.environ if k.startswith("NUVOM_")]:
        del os.environ[key]
    os.environ["NUVOM_DATA_DIR"] = str(data_dir)
    if not fsync:
        os.environ["NUVOM_FILE_FSYNC"] = "false"  # only for filling a queue before a drain


def _nuvom_worker(tmp: Path, data_dir: Path) -> WorkerProcess:
    argv = [sys.executable, "-m", "nuvom", "runworker", "--import", "bench_nuvom_tasks"]
    return WorkerProcess(
        [*argv, "--concurrency", str(SLOTS)],
        env=child_env({"NUVOM_DATA_DIR": str(data_dir)}),
        cwd=tmp,
        log=tmp / "worker.log",
        ready_marker=NUVOM_READY,
    )


def nuvom(scenario: str, args: argparse.Namespace, tmp: Path) -> Result:
    data_dir = tmp / "nuvom-data"
    _nuvom_setup(data_dir, fsync=scenario != "drain")
    from bench_nuvom_tasks import noop

    from nuvom.job import Job
    from nuvom.record import JobStatus
    from nuvom.runtime import get_queue, get_results

    n = args.jobs
    if scenario in ("enqueue", "map"):
        noop.delay()  # warm-up: settings, backends and folders are built on first use
        start = time.perf_counter()
        if scenario == "enqueue":
            for _ in range(n):
                noop.delay()
        else:
            noop.map([()] * n)
        seconds = time.perf_counter() - start
        return {"jobs": n, "seconds": seconds, "jobs_per_s": n / seconds}

    if scenario == "drain":
        ids = []
        for start in range(0, n, 1000):
            ids += [job.id for job in noop.map([()] * min(1000, n - start))]
        assert get_queue().qsize() == n

        def is_done(i: int) -> bool:
            return Job(ids[i]).status() is JobStatus.SUCCESS

        return measure_drain(_nuvom_worker(tmp, data_dir), is_done, n, args.timeout)

    if scenario == "roundtrip":
        get_queue(), get_results()
        samples = []
        with _nuvom_worker(tmp, data_dir) as worker:
            worker.wait_ready()
            time.sleep(IDLE_BEFORE_ROUND_TRIPS_SECS)
            for _ in range(args.round_trips):
                start = time.perf_counter()
                assert noop.delay().get(timeout=30) == 1
                samples.append(time.perf_counter() - start)
        return latency_summary(samples)

    if scenario == "idle":
        with _nuvom_worker(tmp, data_dir) as worker:
            return idle_result(worker, args.seconds)

    raise ValueError(f"nuvom has no scenario {scenario!r}")


# -- Huey ------------------------------------------------------------------------------------------


def _huey_worker(tmp: Path, kind: str, path: Path, *, fast_poll: bool) -> WorkerProcess:
    argv = [sys.executable, "-m", "huey.bin.huey_consumer", "bench_huey_app.huey"]
    argv += ["-w", str(SLOTS), "-k", "thread", *(HUEY_FAST_POLL if fast_poll else [])]
    return WorkerProcess(
        argv,
        env=child_env({"BENCH_HUEY_KIND": kind, "BENCH_HUEY_PATH": str(path)}),
        cwd=tmp,
        log=tmp / "consumer.log",
        ready_marker=HUEY_READY,
    )


def huey(kind: str, scenario: str, args: argparse.Namespace, tmp: Path) -> Result:
    path = tmp / ("huey-data" if kind == "file" else "huey.db")
    os.environ["BENCH_HUEY_KIND"] = kind
    os.environ["BENCH_HUEY_PATH"] = str(path)
    if scenario == "drain":
        os.environ["BENCH_HUEY_NOSYNC"] = "1"  # this process only fills the queue and reads results
    from bench_huey_app import huey as app
    from bench_huey_app import noop

    n = args.jobs
    if scenario == "enqueue":
        noop()  # warm-up: storage and connection are built on first use
        start = time.perf_counter()
        for _ in range(n):
            noop()
        seconds = time.perf_counter() - start
        return {"jobs": n, "seconds": seconds, "jobs_per_s": n / seconds}

    if scenario == "drain":
        results = [noop() for _ in range(n)]
        assert app.pending_count() == n

        def is_done(i: int) -> bool:
            return results[i].get(preserve=True) is not None

        return measure_drain(_huey_worker(tmp, kind, path, fast_poll=False), is_done, n, args.timeout)

    if scenario == "roundtrip":
        app.pending_count()
        samples = []
        get_options = {"max_delay": HUEY_FAST_GET_MAX_DELAY} if args.fast_poll else {}
        with _huey_worker(tmp, kind, path, fast_poll=args.fast_poll) as worker:
            worker.wait_ready()
            time.sleep(IDLE_BEFORE_ROUND_TRIPS_SECS)
            for _ in range(args.round_trips):
                start = time.perf_counter()
                assert noop().get(blocking=True, timeout=30, **get_options) == 1
                samples.append(time.perf_counter() - start)
        return latency_summary(samples)

    if scenario == "idle":
        with _huey_worker(tmp, kind, path, fast_poll=False) as worker:
            return idle_result(worker, args.seconds)

    raise ValueError(f"huey has no scenario {scenario!r}")


# -- entry point -----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory(prefix="nuvom-bench-", dir=args.tmp_dir) as name:
        tmp = Path(name)
        os.chdir(tmp)  # no stray .env or relative data dir is picked up
        try:
            if args.system == "nuvom":
                return nuvom(args.scenario, args, tmp)
            return huey(args.system.removesuffix("huey"), args.scenario, args, tmp)
        finally:
            os.chdir("/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", choices=["nuvom", "filehuey", "sqlitehuey"])
    parser.add_argument("scenario", choices=["enqueue", "map", "drain", "roundtrip", "idle"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--round-trips", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=300.0, help="for one drain")
    parser.add_argument("--fast-poll", action="store_true", help="Huey: poll every 10 ms")
    parser.add_argument("--tmp-dir", default=None)
    args = parser.parse_args()
    with sigterm_exits():
        result = run(args)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
