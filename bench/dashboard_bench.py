"""What the dashboard's pages cost on a large SQLite result store: each page timed over HTTP.

    python bench/dashboard_bench.py --jobs 1000000

Stores ``--jobs`` finished records (1% failed, the rest successful; tasks a, b, c and a "rare"
one every 100,000; queues default and mail), then prints the median of ``--repeat`` requests of
each page, in milliseconds, through Starlette's TestClient (no network).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

PAGES = [
    "/",
    "/jobs",
    "/jobs?status=failed",
    "/jobs?task=a",
    "/jobs?task=rare",
    "/jobs?queue=mail&status=failed",
    "/jobs?offset=500000",
    "/jobs/job-0500000",
]
BATCH = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nuvom-dashboard-bench-") as tmp:
        os.environ["NUVOM_DATA_DIR"] = str(Path(tmp) / "data")
        for role in ("QUEUE", "RESULT", "SCHEDULER"):
            os.environ[f"NUVOM_{role}_BACKEND"] = "sqlite"
        run(args.jobs, args.repeat)


def run(jobs: int, repeat: int) -> None:
    from starlette.testclient import TestClient

    from nuvom.record import JobRecord, JobStatus
    from nuvom.runtime import get_results
    from nuvom_dashboard import DashboardConfig, create_app

    results, now, started = get_results(), time.time(), time.monotonic()
    batch: list[JobRecord] = []
    for i in range(jobs):
        status = JobStatus.FAILED if i % 100 == 0 else JobStatus.SUCCESS
        at = now - (jobs - i)
        batch.append(
            JobRecord(
                f"job-{i:07d}",
                "rare" if i % 100_000 == 7 else ("a", "b", "c")[i % 3],
                ("default", "mail")[i % 2],
                status,
                b"\x90",
                b"\x80",
                created_at=at,
                started_at=at,
                finished_at=at + 0.1,
                result=b"\xc0" if status is JobStatus.SUCCESS else None,
            )
        )
        if len(batch) == BATCH:
            results.save_many(batch, durable=False)
            batch = []
    results.save_many(batch, durable=False)
    print(f"stored {jobs} records in {time.monotonic() - started:.0f} s")
    with TestClient(create_app(DashboardConfig())) as client:
        for page in PAGES:
            times = []
            for _ in range(repeat):
                begun = time.perf_counter()
                response = client.get(page)
                times.append((time.perf_counter() - begun) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{page} answered {response.status_code}")
            print(f"{page:36s} {statistics.median(times):8.1f} ms")


if __name__ == "__main__":
    main()
