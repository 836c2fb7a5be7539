"""Drain and idle latency of nuvom-redis on a 3-master Redis Cluster, next to one redis-server.

``python bench/redis_cluster_bench.py [--jobs 6000] [--queues 6] [--workers 2] [--concurrency 2]
[--trips 100] [--repeats 3]`` starts its own servers (no persistence, loopback ports): one
redis-server, and a Redis Cluster of 3 masters (``redis-cli --cluster create``). For each, and
each round (the two interleaved), it queues ``--jobs`` no-op jobs spread over ``--queues``
queues, starts ``--workers`` ``nuvom runworker`` processes serving every queue, and times the
drain from the first job done to the last (each job pushes to a list on a separate signal
server). Then, with the workers idle, it sends ``--trips`` jobs one at a time, each to the next
queue, and times each from ``.delay()`` to the job's signal: the idle latency. Prints the
median, min and max of each over the rounds; writes nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import redis
from redis_server import RedisServer, free_port

TASKS = """
import os

import redis

from nuvom import task

SIGNAL = redis.Redis.from_url(os.environ["BENCH_SIGNAL_URL"])


@task
def noop(i):
    SIGNAL.rpush("done", i)
"""


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) exists."""
    while (port := free_port()) + 10_000 >= 65_536:
        pass
    return port


@contextmanager
def redis_cluster(directory: Path, masters: int = 3) -> Iterator[str]:
    """A Redis Cluster of ``masters`` masters, no replicas; yields its ``redis+cluster://`` URL."""
    procs, ports = [], []
    try:
        for i in range(masters):
            port = cluster_port()
            folder = directory / f"node{i}"
            folder.mkdir()
            argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            argv += ["--appendonly", "no", "--dir", str(folder), "--cluster-enabled", "yes"]
            argv += ["--cluster-config-file", str(folder / "nodes.conf")]
            procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            ports.append(port)
        for port in ports:
            wait_for(lambda port=port: _ping(port), "a cluster node to start")
        nodes = [f"127.0.0.1:{port}" for port in ports]
        argv = ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: all(_cluster_ok(port) for port in ports), "the cluster to be ok")
        yield "redis+cluster://" + ",".join(nodes)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=15)


def _ping(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=1).ping())
    except redis.ConnectionError:
        return False


def _cluster_ok(port: int) -> bool:
    return bool(redis.Redis(port=port, decode_responses=True).cluster("info")["cluster_state"] == "ok")


def wait_for(predicate: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def one_round(url: str, signal_url: str, folder: Path, args: argparse.Namespace) -> tuple[float, list[float]]:
    """Drain rate (jobs/s, first done to last) and the idle latencies (s) of one round."""
    env = {
        "NUVOM_QUEUE_BACKEND": "redis",
        "NUVOM_RESULT_BACKEND": "redis",
        "NUVOM_REDIS_URL": url,
        "NUVOM_REDIS_PREFIX": f"b{uuid.uuid4().hex[:8]}",
        "NUVOM_LOG_LEVEL": "ERROR",
        "NUVOM_PROMETHEUS_PORT": "0",
        "BENCH_SIGNAL_URL": signal_url,
    }
    os.environ.update(env)
    sys.path.insert(0, str(folder))
    from nuvom import runtime

    runtime.reset()
    sys.modules.pop("bench_cluster_tasks", None)
    import bench_cluster_tasks  # type: ignore[import-not-found]

    done = redis.Redis.from_url(signal_url)
    done.delete("done")
    queues = [f"q{i}" for i in range(args.queues)]
    per_queue = args.jobs // len(queues)
    for q in queues:
        bench_cluster_tasks.noop.options(queue=q).map([(i,) for i in range(per_queue)])
    total = per_queue * len(queues)
    argv = [sys.executable, "-m", "nuvom", "runworker", "--import", "bench_cluster_tasks"]
    argv += ["--queues", ",".join(queues), "--concurrency", str(args.concurrency)]
    workers = [
        subprocess.Popen(
            argv, cwd=folder, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(args.workers)
    ]
    try:
        wait_for(lambda: done.llen("done") > 0, "the first job", timeout=60)
        first = time.perf_counter()
        wait_for(lambda: done.llen("done") >= total, "the drain", timeout=600)
        rate = (total - 1) / (time.perf_counter() - first)
        latencies = []
        for trip in range(args.trips):
            done.delete("done")
            time.sleep(0.05)  # the workers are idle again, blocked in their wait
            sent = time.perf_counter()
            bench_cluster_tasks.noop.options(queue=queues[trip % len(queues)]).delay(trip)
            assert done.blpop(["done"], timeout=10) is not None, "a round trip timed out"
            latencies.append(time.perf_counter() - sent)
        return rate, latencies
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        runtime.reset()
        sys.path.remove(str(folder))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6000)
    parser.add_argument("--queues", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--trips", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the servers and workers on the way out
    assert shutil.which("redis-cli"), "redis-cli is needed to create the cluster"
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nuvom-bench-cluster-")))
        (tmp / "bench_cluster_tasks.py").write_text(TASKS)
        (tmp / "signal").mkdir()
        (tmp / "server").mkdir()
        (tmp / "cluster").mkdir()
        signal_server = stack.enter_context(RedisServer(tmp / "signal"))
        server = stack.enter_context(RedisServer(tmp / "server"))
        urls = {
            "one server": server.url(),
            "3-master cluster": stack.enter_context(redis_cluster(tmp / "cluster")),
        }
        rates: dict[str, list[float]] = {name: [] for name in urls}
        p50s: dict[str, list[float]] = {name: [] for name in urls}
        for _ in range(args.repeats):
            for name, url in urls.items():
                rate, latencies = one_round(url, signal_server.url(), tmp, args)
                rates[name].append(rate)
                p50s[name].append(statistics.median(latencies) * 1000)
                print(f"{name}: {rate:,.0f} jobs/s, idle p50 {p50s[name][-1]:.1f} ms", flush=True)
    print(f"\n{args.jobs} jobs over {args.queues} queues, {args.workers} workers x {args.concurrency}:")
    for name in urls:
        r, p = rates[name], p50s[name]
        print(
            f"{name}: drain median {statistics.median(r):,.0f} jobs/s (min {min(r):,.0f}, max {max(r):,.0f});"
            f" idle p50 median {statistics.median(p):.1f} ms (min {min(p):.1f}, max {max(p):.1f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
