"""Benchmark Nuvom's file backend against Huey (FileHuey, SqliteHuey) in one run.

Usage: ``python bench/run.py [--quick]`` (``nox -s bench [-- --quick]``).

Every figure comes from its own process (``bench/scenarios.py``) with a fresh temporary data
directory. Results go to ``bench/results/latest.json`` and ``bench/results/latest.md``, and the
markdown table is printed to stdout; progress goes to stderr. The exit code is 1 if any
measurement failed (the others are still reported).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from report import markdown  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
SYSTEMS = ["nuvom", "filehuey", "sqlitehuey"]
SMALL_BACKLOG = 200
#: Enqueue and drain figures are the median of this many runs (fsync times vary a lot on VMs).
REPEATS = 3

NOTES = [
    "Ratios are Nuvom ÷ peer: above 1 is better for Nuvom in ↑ rows, below 1 is better in ↓ rows.",
    "Each figure is measured in a fresh process and a fresh temp data dir, with a no-op task that "
    "returns 1. Nuvom runs with default settings (file queue, file results, NUVOM_FILE_FSYNC on); "
    "Huey with its defaults. The worker is `python -m nuvom runworker --concurrency 2` / "
    "`huey_consumer -w 2 -k thread`.",
    "Durability differs: Nuvom fsyncs every queued job (file + folder) and every final result; "
    "SqliteHuey runs WAL with synchronous=FULL (an fsync per commit); FileHuey never fsyncs.",
    "Drains: the backlog is queued before the worker starts (untimed; that fill alone skips fsync). "
    "Time runs from spawning the worker until every job's result is readable through the system's "
    "own API (Nuvom `Job.status()` is SUCCESS, Huey `Result.get(preserve=True)`), scanned in enqueue "
    "order every 10 ms. Nothing is subtracted; 'from ready' rates start at the worker's "
    "'started' log line instead, so they leave out interpreter start-up and imports.",
    f"Enqueue, map and drain figures are the median of {REPEATS} runs (every run is in latest.json); "
    "`os.sync()` runs before each measurement so that earlier writes do not slow its fsyncs.",
    "Worker CPU is utime+stime of the worker process from /proc/<pid>/stat (10 ms ticks).",
    "Round trips: the worker is started and left idle for 1 s, then enqueue + blocking get, one at "
    "a time; p99 is nearest-rank. Polling, by default: Nuvom's worker polls an empty queue every "
    "10 ms and `Job.get()` polls from 2 ms growing to 50 ms; Huey's consumer polls from 100 ms "
    "growing by 1.15x to 10 s while idle and `Result.get()` polls from 50 ms.",
    "Huey logs two INFO lines per executed task by default (to a file here); Nuvom logs each job "
    "at DEBUG, which is off by default.",
]


def _mount_of(path: str) -> str:
    best, fstype = "", "?"
    with contextlib.suppress(OSError), open("/proc/mounts") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) > 2 and path.startswith(parts[1]) and len(parts[1]) > len(best):
                best, fstype = parts[1], parts[2]
    return f"{fstype} ({best or '?'})"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _source_files() -> dict[str, str]:
    """sha256 of each Nuvom source file, by path inside the package."""
    import nuvom

    root = Path(nuvom.__file__).parent
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*.py"))
    }


def _source_fingerprint(files: dict[str, str]) -> dict[str, str]:
    """Which Nuvom source was measured (the tree has no commit while it is being edited)."""
    import nuvom

    root = Path(nuvom.__file__).parent
    digest = hashlib.sha256("\n".join(f"{name} {sha}" for name, sha in files.items()).encode())
    newest = max((root / name).stat().st_mtime for name in files)
    stamp = datetime.datetime.fromtimestamp(newest).astimezone().isoformat(timespec="seconds")
    return {"nuvom_source_sha256": digest.hexdigest()[:16], "nuvom_source_newest_file": stamp}


def plan(args: argparse.Namespace) -> list[tuple[str, str, str, list[str], int]]:
    """(result key, system, scenario, options, repeats), grouped by scenario so systems alternate."""
    n, trips = str(args.jobs), str(args.round_trips)
    small = str(min(SMALL_BACKLOG, args.jobs))
    timeout = ["--timeout", str(args.drain_timeout)]
    steps: list[tuple[str, str, str, list[str], int]] = []
    for system in SYSTEMS:
        steps.append((system, system, "enqueue", ["--jobs", n], REPEATS))
    steps.append(("nuvom", "nuvom", "map", ["--jobs", n], REPEATS))
    for system in SYSTEMS:
        steps.append((system, system, "drain", ["--jobs", n, *timeout], REPEATS))
    for system in SYSTEMS:
        steps.append((system, system, "drain_small", ["--jobs", small, *timeout], REPEATS))
    for system in SYSTEMS:
        steps.append((system, system, "roundtrip", ["--round-trips", trips], 1))
    for system in SYSTEMS[1:]:
        steps.append((f"{system}_fastpoll", system, "roundtrip", ["--round-trips", trips, "--fast-poll"], 1))
    for system in SYSTEMS:
        steps.append((system, system, "idle", ["--seconds", str(args.idle_secs)], 1))
    return steps


def run_scenario(system: str, scenario: str, options: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Run one measurement in its own process; stop it (TERM, then KILL) on timeout or error."""
    with tempfile.TemporaryDirectory(prefix="nuvom-bench-run-") as tmp:
        out, err = Path(tmp) / "out.json", Path(tmp) / "stderr.txt"
        argv = [sys.executable, str(BENCH_DIR / "scenarios.py"), system, scenario.removesuffix("_small")]
        argv += [*options, "--out", str(out)]
        if args.tmp_dir:
            argv += ["--tmp-dir", args.tmp_dir]
        os.sync()  # the last measurement's writes must not slow this one's fsyncs
        with open(err, "wb") as err_file:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err_file, stderr=err_file)
            try:
                code = proc.wait(timeout=args.scenario_timeout)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"timed out after {args.scenario_timeout} s") from None
            finally:
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGTERM)  # it stops its own worker, then exits
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        os.kill(proc.pid, signal.SIGKILL)
                        proc.wait()
        if code != 0 or not out.exists():
            tail = "\n".join(err.read_text(errors="replace").splitlines()[-25:])
            raise RuntimeError(f"exit code {code}: {tail.splitlines()[-1] if tail else ''}\n{tail}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def median_run(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run with the median ``key`` (all its figures, so they stay consistent), plus all runs."""
    if len(runs) == 1:
        return runs[0]
    chosen = sorted(runs, key=lambda r: r[key])[len(runs) // 2]
    return {**chosen, "median_of": len(runs), "median_by": key, "runs": runs}


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main() -> int:
    parser = argparse.ArgumentParser(description="Nuvom vs Huey benchmark.")
    parser.add_argument("--quick", action="store_true", help="1/10 size: 1,000 jobs, 50 round trips")
    parser.add_argument("--tmp-dir", default=None, help="where temp data dirs go (default: system temp)")
    parser.add_argument("--only", default=None, help="comma-separated systems to run (for debugging)")
    args = parser.parse_args()
    args.jobs = 1_000 if args.quick else 10_000
    args.round_trips = 50 if args.quick else 200
    args.idle_secs = 2.0 if args.quick else 5.0
    args.drain_timeout = 120 if args.quick else 400
    args.scenario_timeout = 300 if args.quick else 900

    config = {
        "mode": "quick" if args.quick else "full",
        "jobs": args.jobs,
        "round_trips": args.round_trips,
        "small_backlog": min(SMALL_BACKLOG, args.jobs),
        "repeats": REPEATS,
        "idle_secs": args.idle_secs,
        "worker_slots": 2,
    }
    meta = {
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "nuvom": _version("nuvom-core"),
        "huey": _version("huey"),
        **_source_fingerprint(source_before := _source_files()),
        "tmp_fs": _mount_of(os.path.realpath(args.tmp_dir or tempfile.gettempdir())),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    results: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    only = set(args.only.split(",")) if args.only else None
    steps = [s for s in plan(args) if only is None or s[1] in only]
    began = time.perf_counter()
    for index, (key, system, scenario, options, repeats) in enumerate(steps, 1):
        label = f"{key}.{scenario}"
        print(f"[{index}/{len(steps)}] {label} {' '.join(options)}", end=" ", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            runs = [run_scenario(system, scenario, options, args) for _ in range(repeats)]
            by = "jobs_per_s_from_ready" if scenario == "drain_small" else "jobs_per_s"
            results.setdefault(key, {})[scenario] = median_run(runs, by)
            print(f"ok ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
        except Exception as exc:
            errors[label] = str(exc)
            print(f"FAILED ({time.perf_counter() - started:.1f} s)\n{exc}", file=sys.stderr, flush=True)
    meta["took_s"] = time.perf_counter() - began
    notes = list(NOTES)
    source_after = _source_files()
    changed = sorted(
        n for n in source_before.keys() | source_after.keys() if source_before.get(n) != source_after.get(n)
    )
    if changed:
        meta["nuvom_source_changed_during_run"] = changed
        notes.insert(
            0,
            "**Warning: these Nuvom source files changed during the run, so figures may mix versions: "
            + ", ".join(f"`{name}`" for name in changed)
            + ".**",
        )

    data = {"config": config, "meta": meta, "notes": notes, "results": results, "errors": errors}
    table = markdown(data)
    RESULTS_DIR.mkdir(exist_ok=True)
    write_atomic(RESULTS_DIR / "latest.json", json.dumps(data, indent=2) + "\n")
    write_atomic(RESULTS_DIR / "latest.md", table)
    print(table)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
