"""Install the built wheels the way a user will, and run each package against a real server.

Run by ``nox -s release_check`` after ``nox -s build``. For each plugin: a fresh virtualenv in a
temporary folder (nothing of the checkout on its path), ``pip install --find-links dist``, a real
worker process and client, then the plugin's own check:

- redis: a redis-server on a free loopback port; ``.delay().get()`` through a worker; ``nuvom
  plugin test redis`` (first without pytest: it must name the ``testing`` extra).
- sqlite: ``.delay().get()`` through a worker on one SQLite file; ``nuvom plugin test sqlite``.
- prometheus: ``.delay().get()`` through a worker, then a scrape of its ``/metrics`` endpoint.
- dashboard: ``.delay().get()`` through a worker, then ``nuvom dashboard`` lists the job.

Standard library only: it runs with any Python 3.10+.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

TASKS = "from nuvom import task\n\n\n@task\ndef add(a, b):\n    return a + b\n"

CLIENT = """
import sys
import nuvom
import tasks

assert nuvom.__file__.startswith(sys.prefix), f"nuvom imported from {nuvom.__file__}, not the venv"
print(tasks.add.delay(2, 3).get(timeout=60))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    ready: Callable[[], bool], what: str, proc: subprocess.Popen[bytes], timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise SystemExit(f"{what}: the process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not ready after {timeout:g} s")
        time.sleep(0.05)


@contextmanager
def running(args: list[str], log: Path, env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process for the length of the block; SIGTERM by pid afterwards, SIGKILL if it lingers."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)  # noqa: S603
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


class Venv:
    """A fresh virtualenv under ``root`` and a working folder beside it (never the checkout)."""

    def __init__(self, root: Path, dist: Path) -> None:
        self.root = root
        self.dist = dist
        self.work = root / "work"
        self.work.mkdir(parents=True)
        (self.work / "tasks.py").write_text(TASKS)
        subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)  # noqa: S603
        self.bin = root / "venv" / "bin"
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("NUVOM_", "PYTHON", "VIRTUAL_ENV"))
        }
        self.env |= {
            "NUVOM_DATA_DIR": str(self.work / ".nuvom"),
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
        }

    def pip_install(self, *requirements: str) -> None:
        self.run("python", "-m", "pip", "install", "-q", "--find-links", str(self.dist), *requirements)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(  # noqa: S603
            [str(self.bin / args[0]), *args[1:]], cwd=self.work, env=self.env, capture_output=True, text=True
        )
        if check and proc.returncode != 0:
            raise SystemExit(
                f"`{' '.join(args)}` exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    @contextmanager
    def worker(self) -> Iterator[subprocess.Popen[bytes]]:
        args = [str(self.bin / "nuvom"), "runworker", "--import", "tasks", "--concurrency", "2"]
        with running(args, self.root / "worker.log", self.env, self.work) as proc:
            yield proc

    def delay_get(self, worker: subprocess.Popen[bytes]) -> None:
        result = self.run("python", "-c", CLIENT).stdout.strip()
        if result != "5":
            raise SystemExit(
                f"add.delay(2, 3).get() gave {result!r}\n{(self.root / 'worker.log').read_text()}"
            )
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with {worker.returncode}")


def check_redis(venv: Venv, versions: dict[str, str]) -> str:
    venv.pip_install(f"nuvom-core=={versions['nuvom-core']}", f"nuvom-redis=={versions['nuvom-redis']}")
    port = free_port()
    redis_args = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    redis_args += ["--save", "", "--appendonly", "no", "--dir", str(venv.root)]
    with running(redis_args, venv.root / "redis.log", venv.env, venv.root) as server:
        wait_until(lambda: redis_ping(port), "redis-server", server)
        venv.env |= {f"NUVOM_{role}_BACKEND": "redis" for role in ("QUEUE", "RESULT", "SCHEDULER")}
        venv.env["NUVOM_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        with venv.worker() as worker:
            venv.delay_get(worker)
        missing = venv.run("nuvom", "plugin", "test", "redis", check=False)
        if missing.returncode != 2 or "nuvom-core[testing]" not in missing.stderr:
            raise SystemExit(f"plugin test without pytest should name the extra:\n{missing.stderr}")
        venv.pip_install(f"nuvom-core[testing]=={versions['nuvom-core']}")
        return suite_counts(venv.run("nuvom", "plugin", "test", "redis").stdout)


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def check_sqlite(venv: Venv, versions: dict[str, str]) -> str:
    venv.pip_install(
        f"nuvom-core[testing]=={versions['nuvom-core']}", f"nuvom-sqlite=={versions['nuvom-sqlite']}"
    )
    venv.env |= {f"NUVOM_{role}_BACKEND": "sqlite" for role in ("QUEUE", "RESULT", "SCHEDULER")}
    with venv.worker() as worker:
        venv.delay_get(worker)
    return suite_counts(venv.run("nuvom", "plugin", "test", "sqlite").stdout)


def check_prometheus(venv: Venv, versions: dict[str, str]) -> str:
    venv.pip_install(
        f"nuvom-core=={versions['nuvom-core']}", f"nuvom-prometheus=={versions['nuvom-prometheus']}"
    )
    port = free_port()
    venv.env["NUVOM_PROMETHEUS_PORT"] = str(port)
    with venv.worker() as worker:
        venv.delay_get(worker)
        pattern = re.compile(r'^nuvom_jobs_finished_total\{[^}]*status="success"[^}]*\} 1\.0$', re.MULTILINE)
        deadline = time.monotonic() + 30
        while not (found := pattern.search(scrape(port))):  # counted once the outcome is stored
            if time.monotonic() > deadline:
                raise SystemExit(f"/metrics never counted the job:\n{scrape(port)}")
            time.sleep(0.05)
        return f"scraped {found.group(0)}"


def suite_counts(output: str) -> str:
    """The count line of each suite ``nuvom plugin test`` ran (queue, result, scheduler)."""
    return "; ".join(line for line in output.splitlines() if re.match(r"\d+ passed, \d+ failed", line))


def scrape(port: int, path: str = "/metrics") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return str(response.read().decode())


def check_dashboard(venv: Venv, versions: dict[str, str]) -> str:
    venv.pip_install(
        f"nuvom-core=={versions['nuvom-core']}", f"nuvom-dashboard=={versions['nuvom-dashboard']}"
    )
    with venv.worker() as worker:
        venv.delay_get(worker)
    port = free_port()
    args = [str(venv.bin / "nuvom"), "dashboard", "--port", str(port), "--import", "tasks"]
    with running(args, venv.root / "dashboard.log", venv.env, venv.work) as proc:

        def answers() -> bool:
            try:
                return bool(scrape(port, "/"))
            except OSError:
                return False

        wait_until(answers, "nuvom dashboard", proc)
        jobs = scrape(port, "/jobs?task=add&status=success")
        if jobs.count('<td><a href="/jobs/') != 1:
            raise SystemExit(f"/jobs does not list the one successful job:\n{jobs}")
    return f"served the console on 127.0.0.1:{port}; /jobs lists the job"


CHECKS = {
    "redis": check_redis,
    "sqlite": check_sqlite,
    "prometheus": check_prometheus,
    "dashboard": check_dashboard,
}


def built_versions(dist: Path) -> dict[str, str]:
    versions = {}
    for wheel in dist.glob("*.whl"):
        name, version = wheel.name.split("-")[:2]
        versions[name.replace("_", "-")] = version
    missing = {"nuvom-core", *(f"nuvom-{plugin}" for plugin in CHECKS)} - set(versions)
    if missing:
        raise SystemExit(f"no wheel of {', '.join(sorted(missing))} in {dist}: run `nox -s build` first")
    return versions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dist", type=Path, default=Path("dist"), help="the folder nox -s build wrote")
    parser.add_argument("plugins", nargs="*", help=f"some of: {', '.join(CHECKS)} (default: all)")
    args = parser.parse_args()
    unknown = set(args.plugins) - set(CHECKS)
    if unknown:
        parser.error(f"no check for {', '.join(sorted(unknown))}; there are: {', '.join(CHECKS)}")
    dist = args.dist.resolve()
    versions = built_versions(dist)
    for plugin in args.plugins or CHECKS:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"nuvom-release-{plugin}-") as tmp:
            detail = CHECKS[plugin](Venv(Path(tmp), dist), versions)
        print(f"release check {plugin}: ok in {time.monotonic() - started:.0f} s ({detail})", flush=True)


if __name__ == "__main__":
    main()
