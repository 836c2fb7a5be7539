"""Workflow overhead on the file backend: one ``nuvom runworker`` process, 4 slots.

Each scenario is timed from the first send to the last result read back, with the worker
already running. Run: ``python bench/workflows_bench.py [--jobs N] [--steps N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from procs import WorkerProcess, child_env, sigterm_exits

_READY = "started: queues"


def _timed(label: str, units: int, run: Callable[[], object]) -> None:
    started = time.perf_counter()
    run()
    secs = time.perf_counter() - started
    print(f"{label:<44} {units:>6} jobs  {secs:7.2f} s  {units / secs:8.0f} jobs/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per fan-out scenario")
    parser.add_argument("--steps", type=int, default=100, help="steps of the long chain")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nuvom-wf-bench-") as scratch, sigterm_exits():
        tmp = Path(scratch)
        data = tmp / ".nuvom"
        os.environ["NUVOM_DATA_DIR"] = str(data)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import bench_workflow_tasks as t

        from nuvom import chain, group
        from nuvom.job import Job

        argv = [sys.executable, "-m", "nuvom", "runworker", "--import", "bench_workflow_tasks"]
        env = child_env({"NUVOM_DATA_DIR": str(data), "NUVOM_LOG_LEVEL": "WARNING"})
        worker = WorkerProcess(
            [*argv, "--concurrency", "4"], env=env, cwd=tmp, log=tmp / "w.log", ready_marker=_READY
        )
        env["NUVOM_LOG_LEVEL"] = "INFO"
        with worker:
            worker.wait_ready()
            n = args.jobs

            def plain() -> None:
                jobs = t.inc.map(range(n))
                for job in jobs:
                    job.get(timeout=300)

            def fan_out() -> None:
                group(t.inc.s(i) for i in range(n)).delay().get(timeout=300)

            def callbacks() -> None:
                jobs = [t.inc.s(i).on_success(t.inc.s()).delay() for i in range(n)]
                for job in jobs:
                    Job(f"{job.id}.s0.1").get(timeout=300)

            def chord() -> None:
                chain(group(t.inc.s(i) for i in range(n)), t.total.s()).delay().get(timeout=300)

            def long_chain() -> None:
                assert (
                    chain(t.inc.s(0), *[t.inc.s() for _ in range(args.steps - 1)]).delay().get(timeout=300)
                    == args.steps
                )

            _timed("plain .map() (baseline)", n, plain)
            _timed("group(...).delay().get()", n, fan_out)
            _timed("each job with one on_success callback", 2 * n, callbacks)
            _timed("chord: group then a sum step", n + 1, chord)
            _timed(f"chain of {args.steps} steps (sequential)", args.steps, long_chain)


if __name__ == "__main__":
    main()
