"""Celery's no-op task with a Redis broker at ``BENCH_REDIS_URL`` and no result backend."""

import os

from celery import Celery
from done_signal import done

app = Celery("bench", broker=os.environ["BENCH_REDIS_URL"])
app.conf.task_ignore_result = True
app.conf.worker_hijack_root_logger = False


@app.task(name="bench_noop")
def noop() -> int:
    return done()
