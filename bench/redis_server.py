"""The bench's own redis-server: no persistence, a free loopback port, stopped by pid."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server --save '' --appendonly no`` on 127.0.0.1; a context manager."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.argv += ["--appendonly", "no", "--dir", str(directory)]
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RedisServer:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while self.cli("PING") != "PONG":
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=15)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def cli(self, *command: str) -> str:
        done = subprocess.run(["redis-cli", "-p", str(self.port), *command], capture_output=True, text=True)
        return done.stdout.strip()

    def version(self) -> str:
        found = re.search(r"redis_version:(\S+)", self.cli("INFO", "server"))
        return found.group(1) if found else "?"

    def benchmark(self, requests: int, pipeline: int) -> dict[str, Any]:
        """``redis-benchmark -t lpush,rpop``: requests/s of each, 50 clients (its default)."""
        argv = ["redis-benchmark", "-p", str(self.port), "-t", "lpush,rpop", "-n", str(requests), "-q"]
        out = subprocess.run([*argv, "-P", str(pipeline)], capture_output=True, text=True, check=True).stdout
        rates = dict(re.findall(r"(\w+): ([\d.]+) requests per second", out.replace("\r", "\n")))
        return {name.lower(): float(rate) for name, rate in rates.items()}
