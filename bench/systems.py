"""How the bench drives each system: enqueue one, bulk enqueue, fill a backlog, and its worker command.

``open_system(name, ctx)`` configures this process for one system (environment, data paths)
and returns a :class:`System`. Every system runs the same no-op task (``bench/apps/``), whose
only work is the completion signal (``done_signal.done``). Workers get 2 execution slots in the
system's default worker model.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SLOTS = 2
FILL_CHUNK = 10_000
BIN = Path(sys.executable).parent

#: System name -> (storage, the Python module it needs). Order is the run order within a step.
SYSTEMS: dict[str, tuple[str, str]] = {
    "nuvom-file": ("file", "nuvom"),
    "nuvom-file-procs": ("file", "nuvom"),
    "filehuey": ("file", "huey"),
    "nuvom-sqlite": ("sqlite", "nuvom_sqlite"),
    "nuvom-sqlite-procs": ("sqlite", "nuvom_sqlite"),
    "sqlitehuey": ("sqlite", "huey"),
    "nuvom-redis": ("redis", "nuvom_redis"),
    "nuvom-redis-procs": ("redis", "nuvom_redis"),
    "redishuey": ("redis", "huey"),
    "rq": ("redis", "rq"),
    "dramatiq": ("redis", "dramatiq"),
    "celery": ("redis", "celery"),
    "arq": ("redis", "arq"),
}


#: Systems with a bulk enqueue (Nuvom ``.map``, RQ ``enqueue_many``, Dramatiq and Celery groups).
BULK = {"nuvom-file", "nuvom-sqlite", "nuvom-redis", "rq", "dramatiq", "celery"}

#: Nuvom with ``--pool processes``: the same client as its threads twin, so only the worker
#: scenarios (drain, round trip) are measured for it.
WORKER_ONLY = {"nuvom-file-procs", "nuvom-sqlite-procs", "nuvom-redis-procs"}


@dataclass
class Context:
    """Where a system keeps its data: a fresh folder and the bench's Redis (database 0)."""

    tmp: Path
    redis_url: str


@dataclass
class System:
    """One system, configured for this process."""

    name: str
    enqueue: Callable[[], object]
    fill: Callable[[int], None]
    worker_argv: list[str]
    worker_env: dict[str, str] = field(default_factory=dict)
    bulk: Callable[[int], object] | None = None
    close: Callable[[], None] = lambda: None


def _chunks(n: int) -> list[int]:
    return [min(FILL_CHUNK, n - start) for start in range(0, n, FILL_CHUNK)]


def _nuvom(name: str, ctx: Context, *, filling: bool) -> System:
    backend = name.removeprefix("nuvom-").removesuffix("-procs")
    env = {"NUVOM_DATA_DIR": str(ctx.tmp / "nuvom-data")}
    if backend != "file":
        env |= {"NUVOM_QUEUE_BACKEND": backend, "NUVOM_RESULT_BACKEND": backend}
    if backend == "redis":
        env["NUVOM_REDIS_URL"] = ctx.redis_url
    for key in [k for k in os.environ if k.startswith("NUVOM_")]:
        del os.environ[key]
    os.environ.update(env)
    if filling:
        os.environ["NUVOM_FILE_FSYNC"] = "false"  # this process only; the worker keeps the default
    from apps.nuvom_app import noop

    def fill(n: int) -> None:
        for size in _chunks(n):
            noop.map([()] * size)

    argv = [sys.executable, "-m", "nuvom", "runworker", "--import", "apps.nuvom_app"]
    argv += ["--concurrency", str(SLOTS)]
    if name in WORKER_ONLY:
        argv += ["--pool", "processes"]
    return System(name, noop.delay, fill, argv, env, bulk=lambda n: noop.map([()] * n))


def _huey(name: str, ctx: Context, *, filling: bool) -> System:
    kind = name.removesuffix("huey")
    path = ctx.tmp / ("huey-data" if kind == "file" else "huey.db")
    env = {"BENCH_HUEY_KIND": kind, "BENCH_HUEY_PATH": str(path), "BENCH_REDIS_URL": ctx.redis_url}
    os.environ.update(env)
    if filling:
        os.environ["BENCH_HUEY_NOSYNC"] = "1"
    from apps.huey_app import noop

    def fill(n: int) -> None:
        for _ in range(n):
            noop()

    argv = [str(BIN / "huey_consumer"), "apps.huey_app.huey", "-w", str(SLOTS), "-k", "thread"]
    return System(name, noop, fill, argv, env)


def _rq(name: str, ctx: Context) -> System:
    import redis
    from apps.rq_app import noop
    from rq import Queue

    queue = Queue("default", connection=redis.Redis.from_url(ctx.redis_url))

    def bulk(n: int) -> None:
        queue.enqueue_many([Queue.prepare_data(noop) for _ in range(n)])

    def fill(n: int) -> None:
        for size in _chunks(n):
            bulk(size)

    argv = [str(BIN / "rq"), "worker-pool", "-n", str(SLOTS), "--url", ctx.redis_url, "default"]
    return System(name, lambda: queue.enqueue(noop), fill, argv, bulk=bulk)


def _dramatiq(name: str, ctx: Context) -> System:
    os.environ["BENCH_REDIS_URL"] = ctx.redis_url
    import dramatiq
    from apps.dramatiq_app import noop

    def bulk(n: int) -> None:
        dramatiq.group(noop.message() for _ in range(n)).run()

    def fill(n: int) -> None:
        for size in _chunks(n):
            bulk(size)

    argv = [str(BIN / "dramatiq"), "apps.dramatiq_app", "--processes", "1", "--threads", str(SLOTS)]
    return System(name, noop.send, fill, argv, {"BENCH_REDIS_URL": ctx.redis_url}, bulk=bulk)


def _celery(name: str, ctx: Context) -> System:
    os.environ["BENCH_REDIS_URL"] = ctx.redis_url
    from apps.celery_app import noop
    from celery import group

    def bulk(n: int) -> None:
        group(noop.s() for _ in range(n)).apply_async()

    def fill(n: int) -> None:
        for size in _chunks(n):
            bulk(size)

    argv = [str(BIN / "celery"), "-A", "apps.celery_app", "worker", "-c", str(SLOTS), "-l", "warning"]
    argv += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
    return System(name, noop.delay, fill, argv, {"BENCH_REDIS_URL": ctx.redis_url}, bulk=bulk)


def _arq(name: str, ctx: Context) -> System:
    os.environ["BENCH_REDIS_URL"] = ctx.redis_url
    from arq import create_pool
    from arq.connections import RedisSettings

    loop = asyncio.new_event_loop()
    pool = loop.run_until_complete(create_pool(RedisSettings.from_dsn(ctx.redis_url)))

    def enqueue() -> object:
        return loop.run_until_complete(pool.enqueue_job("noop"))

    def fill(n: int) -> None:
        async def many() -> None:
            for _ in range(n):
                await pool.enqueue_job("noop")

        loop.run_until_complete(many())

    def close() -> None:
        loop.run_until_complete(pool.aclose())
        loop.close()

    argv = [str(BIN / "arq"), "apps.arq_app.WorkerSettings"]
    return System(name, enqueue, fill, argv, {"BENCH_REDIS_URL": ctx.redis_url}, close=close)


def open_system(name: str, ctx: Context, *, filling: bool = False) -> System:
    """Configure this process for ``name``; ``filling`` relaxes durability for untimed backlog fills."""
    if name.startswith("nuvom-"):
        return _nuvom(name, ctx, filling=filling)
    if name.endswith("huey"):
        return _huey(name, ctx, filling=filling)
    return {"rq": _rq, "dramatiq": _dramatiq, "celery": _celery, "arq": _arq}[name](name, ctx)
