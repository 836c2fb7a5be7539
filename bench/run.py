"""Nuvom (file, SQLite, Redis) against Huey, RQ, Dramatiq, Celery and arq, in one run.

Usage: ``python bench/run.py [--quick] [--tmp-dir DIR]`` (``nox -s bench [-- --quick]``).

Starts one redis-server (no persistence, free loopback port) for every system, then runs each
measurement of ``bench/scenarios.py`` in its own process after a FLUSHALL, systems interleaved
(A B C … A B C …) for ``--repeats`` rounds, after the raw limits and the scale drains (full run
only). Writes ``results/latest.json`` and ``results/latest.md`` (or under ``--out``), plots the
drain rates to ``docs/benchmarks-drain.png`` (full run), and prints the Markdown. A ``--quick``
run writes under ``results/quick/`` and plots nothing unless asked. Exit code 1 if
any measurement failed (the others are still reported).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from procs import sigterm_exits  # noqa: E402
from raw_sqlite import claim_rate  # noqa: E402
from redis_server import RedisServer  # noqa: E402
from report import markdown, summarize  # noqa: E402
from systems import BULK, SYSTEMS, WORKER_ONLY  # noqa: E402

SIGNAL_DB = 15
SCALE_BACKENDS = ["nuvom-sqlite", "nuvom-redis"]
#: Drained from a small backlog too, each round: is the rate flat from a small to a large backlog?
SMALL_BACKENDS = ["nuvom-file", "nuvom-sqlite", "nuvom-redis"]
SMALL_BACKLOG = 200
#: Scenarios that are drains of another size.
DRAINS = {"scale": "drain", "small": "drain"}
DISTRIBUTIONS = ["nuvom-core", "nuvom-sqlite", "nuvom-redis", "huey", "rq", "dramatiq", "celery", "kombu"]
DISTRIBUTIONS += ["arq", "redis", "hiredis", "matplotlib"]
DEFAULT_TMP = "/root/benchtmp"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def available_systems(only: set[str] | None) -> tuple[list[str], list[str]]:
    """(systems to run, systems skipped because their package is not importable)."""
    run, skipped = [], []
    for name, (_, module) in SYSTEMS.items():
        if only is not None and name not in only:
            continue
        (run if importlib.util.find_spec(module) is not None else skipped).append(name)
    return run, skipped


def plan(args: argparse.Namespace, systems: list[str]) -> list[tuple[str, str, list[str]]]:
    """(system, scenario, options): the scale drains, then rounds of every scenario across all systems.

    Scale comes first so that a run cut short still has it; every step's figures are written as
    soon as it ends.
    """
    n = ["--jobs", str(args.jobs)]
    trips = ["--round-trips", str(args.round_trips), "--idle", str(args.idle)]
    steps: list[tuple[str, str, list[str]]] = []
    if args.scale:
        for system in [s for s in SCALE_BACKENDS if s in systems]:
            steps.append((system, "scale", ["--jobs", str(args.scale), "--count", str(args.jobs)]))
    for _ in range(args.repeats):
        steps += [(s, "enqueue", n) for s in systems if s not in WORKER_ONLY]
        steps += [(s, "bulk", n) for s in systems if s in BULK]
        steps += [(s, "drain", n) for s in systems]
        small = ["--jobs", str(min(SMALL_BACKLOG, args.jobs))]
        steps += [(s, "small", small) for s in SMALL_BACKENDS if s in systems]
        steps += [(s, "roundtrip", trips) for s in systems]
    return steps


def run_scenario(
    server: RedisServer, system: str, scenario: str, options: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """One measurement in its own process, after emptying Redis; raises on failure or timeout."""
    server.cli("FLUSHALL")
    with tempfile.TemporaryDirectory(prefix="nuvom-bench-run-", dir=args.tmp_dir) as tmp:
        out, err = Path(tmp) / "out.json", Path(tmp) / "stderr.txt"
        argv = [sys.executable, str(BENCH_DIR / "scenarios.py"), system, DRAINS.get(scenario, scenario)]
        argv += [*options, "--out", str(out), "--redis-url", server.url(), "--tmp-dir", tmp]
        argv += ["--signal-url", server.url(SIGNAL_DB), "--timeout", str(args.timeout)]
        os.sync()  # the last measurement's writes must not slow this one's fsyncs
        with open(err, "wb") as err_file:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err_file, stderr=err_file)
            try:
                code = proc.wait(timeout=args.timeout + 120)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"timed out after {args.timeout + 120} s") from None
            finally:  # on a timeout or our own SIGTERM: it stops its own worker, then exits
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
        if code != 0 or not out.exists():
            tail = "\n".join(err.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"exit code {code}:\n{tail}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def raw_limits(server: RedisServer, args: argparse.Namespace) -> dict[str, Any]:
    server.cli("FLUSHALL")
    requests = 20_000 if args.quick else 200_000
    limits: dict[str, Any] = {f"redis_P{p}": server.benchmark(requests, p) for p in (1, 16)}
    with tempfile.TemporaryDirectory(prefix="nuvom-bench-raw-", dir=args.tmp_dir) as tmp:
        limits["sqlite_claim"] = claim_rate(Path(tmp), seconds=0.5 if args.quick else 3.0)
    return limits


def uptime() -> str:
    """The 1, 5 and 15 minute load averages."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Nuvom against its peers, one run.")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 jobs, 50 round trips, 1 round")
    parser.add_argument("--jobs", type=int, help="jobs per enqueue/bulk/drain (full 10,000, quick 1,000)")
    parser.add_argument("--round-trips", type=int, help="sequential round trips (full 200, quick 50)")
    parser.add_argument("--repeats", type=int, help="interleaved rounds (full 3, quick 1)")
    parser.add_argument("--scale", type=int, help="backlog for the scale drains, 0 = skip (full 1,000,000)")
    parser.add_argument("--idle", type=float, default=1.0, help="seconds a worker idles before round trips")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for one measurement")
    parser.add_argument("--only", help="comma-separated systems (default: every importable one)")
    parser.add_argument("--tmp-dir", help=f"where data folders go (default {DEFAULT_TMP} if it exists)")
    parser.add_argument(
        "--out", type=Path, help="folder for latest.json/.md (default results/, quick runs results/quick/)"
    )
    parser.add_argument("--plot", type=Path, help="PNG of drain rates (full run default: docs/)")
    parser.add_argument("--render", type=Path, help="only redo latest.md and the plot from this JSON")
    args = parser.parse_args(argv)
    full = not args.quick
    args.jobs = args.jobs or (10_000 if full else 1_000)
    args.round_trips = args.round_trips or (200 if full else 50)
    args.repeats = args.repeats or (3 if full else 1)
    args.scale = (1_000_000 if full else 0) if args.scale is None else args.scale
    if args.out is None:  # a smoke run never overwrites the published figures
        args.out = BENCH_DIR / "results" / ("quick" if args.quick else "")
    if args.tmp_dir is None and Path(DEFAULT_TMP).is_dir():
        args.tmp_dir = DEFAULT_TMP
    if args.plot is None and full:
        args.plot = BENCH_DIR.parent / "docs" / "benchmarks-drain.png"
    return args


def render(args: argparse.Namespace) -> int:
    """Rewrite the Markdown (and the plot, if asked) from a results JSON, measuring nothing."""
    data = json.loads(args.render.read_text())
    table = markdown(data)
    (args.out / "latest.md").write_text(table)
    if args.plot:
        from plot import plot_drain

        plot_drain(data, args.plot)
    print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        return render(args)
    only = set(args.only.split(",")) if args.only else None
    unknown = sorted((only or set()) - set(SYSTEMS))
    if unknown:
        print(f"--only: unknown system(s) {', '.join(unknown)}; known: {', '.join(SYSTEMS)}", file=sys.stderr)
        return 2
    systems, skipped = available_systems(only)
    steps = plan(args, systems)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    errors: dict[str, str] = {}
    meta: dict[str, Any] = {
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_before": uptime(),
        "versions": {dist: _version(dist) for dist in DISTRIBUTIONS},
        "command": " ".join(["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
    }
    began = time.perf_counter()
    limits: dict[str, Any] = {}

    def write() -> str:
        meta["took_s"] = time.perf_counter() - began
        meta["load_after"] = uptime()
        config = {k: getattr(args, k) for k in ("quick", "jobs", "round_trips", "repeats", "scale")}
        data = {
            "config": {**config, "slots": 2, "systems": systems, "skipped": skipped},
            "meta": meta,
            "results": summarize(runs),
            "runs": runs,
            "limits": limits,
            "errors": errors,
        }
        table = markdown(data)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "latest.json").write_text(json.dumps(data, indent=2) + "\n")
        (args.out / "latest.md").write_text(table)
        if args.plot and data["results"]:
            from plot import plot_drain

            plot_drain(data, args.plot)
        return table

    with (
        sigterm_exits(),  # SIGTERM stops the current measurement and the server, and keeps the figures
        tempfile.TemporaryDirectory(prefix="nuvom-bench-redis-", dir=args.tmp_dir) as folder,
        RedisServer(Path(folder)) as server,
    ):
        meta["versions"]["redis-server"] = server.version()
        print("raw limits", file=sys.stderr, flush=True)
        limits.update(raw_limits(server, args))
        for index, (system, scenario, options) in enumerate(steps, 1):
            label = f"{system}.{scenario}"
            print(f"[{index}/{len(steps)}] {label}", end=" ", file=sys.stderr, flush=True)
            started = time.perf_counter()
            try:
                runs.setdefault(system, {}).setdefault(scenario, []).append(
                    run_scenario(server, system, scenario, options, args)
                )
                print(f"ok ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
            except Exception as exc:
                errors[label] = str(exc)
                print(f"FAILED\n{exc}", file=sys.stderr, flush=True)
            write()  # after every step, so an interrupted run still leaves its figures
    print(write())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
