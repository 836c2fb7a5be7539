"""Tasks for the execution-model tests; importable by worker child processes.

Each execution appends ``kind key pid`` to the file named by ``EXEC_LOG``.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

from nuvom import task


def log(kind: str, key: str) -> None:
    """Append one line with one O_APPEND write: concurrent writers never interleave."""
    fd = os.open(os.environ["EXEC_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{kind} {key} {os.getpid()}\n".encode())
    finally:
        os.close(fd)


def lines(kind: str) -> list[list[str]]:
    path = Path(os.environ["EXEC_LOG"])
    rows = [line.split() for line in path.read_text().splitlines()] if path.exists() else []
    return [row for row in rows if row[0] == kind]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@task
def plus(a: int, b: int) -> int:
    return a + b


@task
def exec_total(values: list[int]) -> int:
    return sum(values)


@task
def exec_whoami(key: str) -> int:
    log("exec_whoami", key)
    return os.getpid()


@task(timeout_secs=1, timeout_policy="fail")
def spin(key: str) -> None:
    log("spin", key)
    while True:
        pass


@task(timeout_secs=0.5, timeout_policy="retry", retries=1, retry_delay_secs=0)
def spin_retry(key: str) -> None:
    for _, earlier, pid in lines("spin_retry"):
        if earlier == key and alive(int(pid)):
            log("overlap", key)
    log("spin_retry", key)
    while True:
        pass


@task
def exit_now(key: str) -> None:
    log("exit", key)
    os._exit(1)


@task(retries=1, retry_delay_secs=0)
def exit_first(key: str) -> str:
    log("exit_first", key)
    if len([row for row in lines("exit_first") if row[1] == key]) == 1:
        os._exit(1)
    return "second attempt"


_hoard: list[bytearray] = []


@task
def hog(mb: int) -> int:
    _hoard.append(bytearray(os.urandom(1) * (mb * 1024 * 1024)))
    return os.getpid()


@task
def rendezvous(folder: str, count: int) -> bool:
    """Check in under ``folder``, then wait (up to 30 s) until ``count`` jobs have."""
    Path(folder, str(os.getpid())).touch()
    deadline = time.monotonic() + 30
    while len(os.listdir(folder)) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(os.listdir(folder)) >= count


@task(timeout_secs=30)
def wait_for_cancel(key: str) -> None:
    log("started", key)
    while True:
        time.sleep(0.01)


@task
async def nap(secs: float) -> float:
    await asyncio.sleep(secs)
    return secs


@task(timeout_secs=0.3, timeout_policy="fail")
async def oversleep(key: str) -> None:
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        log("cancelled", key)
        raise


@task
async def block_loop(secs: float) -> None:
    time.sleep(secs)  # wrong on purpose: blocks the event loop


released = threading.Event()


@task
def held_until_released(key: str) -> str:
    """Log that it started, then wait (up to 30 s) for the test to set ``released``."""
    log("held", key)
    released.wait(30)
    return key


@task
def status_of(job_id: str) -> str:
    """The status of ``job_id``'s stored record when this job runs."""
    from nuvom.runtime import get_results

    record = get_results().get_full(job_id)
    return "none" if record is None else record.status.value


sync_side = threading.Event()
async_side = threading.Event()


@task
def meet_sync() -> bool:
    sync_side.set()
    return async_side.wait(10)


@task
async def meet_async() -> bool:
    async_side.set()
    deadline = time.monotonic() + 10
    while not sync_side.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return sync_side.is_set()


@task
async def echo(value: str) -> str:
    await asyncio.sleep(0)
    return value


class CustomBase(BaseException):
    """A BaseException that is not an Exception."""


BASE_EXCEPTIONS: dict[str, type[BaseException]] = {
    "KeyboardInterrupt": KeyboardInterrupt,
    "GeneratorExit": GeneratorExit,
    "SystemExit": SystemExit,
    "CustomBase": CustomBase,
}


@task
def raise_base(kind: str) -> None:
    log("base", kind)
    raise BASE_EXCEPTIONS[kind]()


@task
async def araise_base(kind: str) -> None:
    log("abase", kind)
    raise BASE_EXCEPTIONS[kind]()


@task(retries=1)
def retry_then_fail(key: str) -> None:
    """Asks for a 0.2 s retry the first time, then fails for good: every outcome field is used."""
    from nuvom import Retry

    log("retry_then_fail", f"{key}@{time.time()}")
    if len(lines("retry_then_fail")) == 1:
        raise Retry(delay=0.2)
    raise ValueError(f"second attempt of {key} fails")
