"""The chaos driver: worker processes, fault injection, and the checker of the execution log."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nuvom import serialization
from nuvom.backends.base import ResultBackend
from nuvom.record import JobStatus

from ..e2e.helpers import WorkerProcess

#: Full size (``nox -s chaos`` sets ``NUVOM_CHAOS_JOBS``); CI runs the small default.
CHAOS_JOBS = int(os.environ.get("NUVOM_CHAOS_JOBS", "300"))
CHAOS_WORKERS = int(os.environ.get("NUVOM_CHAOS_WORKERS", "3"))
#: Seconds between two faults: often enough in the small CI run to land several while jobs run.
FAULT_EVERY_SECS = float(os.environ.get("NUVOM_CHAOS_FAULT_EVERY_SECS", "0.5"))
#: Without an execution log, a process is a fault's victim only once it has been up this long.
MIN_AGE_SECS = 1.5

TASKS_MODULE = '''
import os
import time

from nuvom import current_job, task

LOG = os.environ["CHAOS_LOG"]


def log_execution():
    """One O_APPEND write per line: job id, attempt, pid, time; lines never interleave."""
    job = current_job()
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{job.id} {job.attempt} {os.getpid()} {time.time()!r}\\n".encode())
    finally:
        os.close(fd)


@task
def double(n, secs=0.0):
    log_execution()
    if secs:
        time.sleep(secs)
    return n * 2


@task
def whoami(secs=0.0):
    log_execution()
    if os.environ.get("CHAOS_EXIT_IN_TASK"):
        os._exit(137)  # a crash in the middle of the task
    time.sleep(secs)
    return os.getpid()
'''


def write_tasks(directory: Path) -> None:
    """Write the chaos task module into ``directory``."""
    (directory / "chaos_tasks.py").write_text(TASKS_MODULE)


@dataclass(frozen=True)
class Execution:
    """One line of the execution log."""

    job_id: str
    attempt: int
    pid: int
    at: float


def read_log(log: Path) -> dict[str, list[Execution]]:
    """Every execution in ``log``, by job id, in log order."""
    runs: dict[str, list[Execution]] = defaultdict(list)
    if log.exists():
        for line in log.read_text().splitlines():
            job_id, attempt, pid, at = line.split()
            runs[job_id].append(Execution(job_id, int(attempt), int(pid), float(at)))
    return runs


#: Every process started, so that a failing test still stops its own (``stop_leftovers``).
STARTED: list[Process] = []


def stop_leftovers() -> None:
    """``kill -9`` by pid every started process still running (a stopped one is resumed first)."""
    while STARTED:
        proc = STARTED.pop()
        if proc.proc.poll() is None:
            proc.signal(signal.SIGCONT)
            proc.kill9()


class Process(WorkerProcess):
    """One ``nuvom <command>`` subprocess running the chaos tasks, remembered for ``stop_leftovers``."""

    def __init__(self, cwd: Path, env: dict[str, str], *args: str, command: str = "runworker") -> None:
        self.started = time.monotonic()
        super().__init__(cwd, *args, env=env, command=command, module="chaos_tasks")
        STARTED.append(self)


@dataclass(frozen=True)
class Fault:
    """A fault injected at ``at`` (``time.time()``); ``pid`` is the process it hit, if any."""

    kind: str
    at: float
    pid: int | None = None
    #: For an outage (server down, database locked): when it ended.
    until: float | None = None


@dataclass
class Cluster:
    """``size`` processes of ``command``, replaced as faults take them down."""

    cwd: Path
    env: dict[str, str]
    size: int
    args: tuple[str, ...] = ("--concurrency", "2")
    command: str = "runworker"
    #: The execution log: when given, a fault hits only processes that have run a job.
    log: Path | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(13))
    procs: list[Process] = field(default_factory=list)
    gone: list[Process] = field(default_factory=list)

    def start(self) -> Cluster:
        while len(self.procs) < self.size:
            self.procs.append(Process(self.cwd, self.env, *self.args, command=self.command))
        return self

    def _replace(self, victim: Process) -> None:
        self.procs.remove(victim)
        self.gone.append(victim)
        self.start()

    def _victims(self) -> list[Process]:
        """Processes that are working (faults only at startup would starve a loaded machine's run)."""
        if self.log is not None:
            working = {run.pid for runs in read_log(self.log).values() for run in runs}
            return [p for p in self.procs if p.pid in working]
        return [p for p in self.procs if time.monotonic() - p.started >= MIN_AGE_SECS]

    def kill9_random(self) -> Fault | None:
        """``kill -9`` one process at random and start a new one in its place."""
        if not self._victims():
            return None
        victim = self.rng.choice(self._victims())
        at = time.time()
        victim.kill9()
        self._replace(victim)
        return Fault("kill9", at, victim.pid)

    def restart_oldest(self) -> Fault | None:
        """Stop the oldest process gracefully (SIGTERM, wait) and start a new one."""
        if not self._victims():
            return None
        victim = self._victims()[0]
        at = time.time()
        code = victim.stop(timeout=60)
        # -SIGTERM: stopped before it installed its handler, so before it claimed anything.
        assert code in (0, -signal.SIGTERM), (
            f"worker {victim.pid} exited with {code}:\n{victim.output()[-2000:]}"
        )
        self._replace(victim)
        return Fault("sigterm", at, victim.pid)

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop(timeout=30)

    def outputs(self) -> str:
        return "\n".join(p.output()[-1500:] for p in self.procs + self.gone)


def drive(
    log: Path,
    job_ids: list[str],
    results: ResultBackend,
    inject: Callable[[], Fault | None] | None,
    *,
    timeout: float,
    every: float = FAULT_EVERY_SECS,
    on_timeout: Callable[[], str] = lambda: "",
) -> list[Fault]:
    """Inject a fault every ``every`` seconds until every job is terminal; return the faults."""
    faults: list[Fault] = []
    pending = set(job_ids)
    deadline = time.monotonic() + timeout
    next_fault = time.monotonic() + every
    while pending:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(pending)} of {len(job_ids)} jobs not terminal after {timeout} s "
                f"({len(faults)} faults)\n{on_timeout()}"
            )
        if inject is not None and time.monotonic() >= next_fault:
            fault = inject()
            if fault is not None:
                faults.append(fault)
            next_fault = time.monotonic() + every
        ran = read_log(log)
        for job_id in [j for j in pending if j in ran]:
            record = results.get_full(job_id)
            if record is not None and record.status.is_terminal:
                pending.discard(job_id)
        time.sleep(0.1)
    return faults


#: How long before an outage an execution may start and still be caught by it (a lease, and slack).
OUTAGE_REACH_SECS = 5.0


def _in_flight(run: Execution, killed: dict[int, float], outages: list[tuple[float, float]]) -> bool:
    if run.pid in killed and run.at <= killed[run.pid]:
        return True
    return any(start <= run.at <= end for start, end in outages)


@dataclass
class Report:
    """What the checker found; ``duplicates`` maps a job to its executions when there were several."""

    jobs: int
    faults: list[Fault]
    executions: int
    duplicates: dict[str, list[Execution]]

    def summary(self) -> str:
        kinds = sorted({f.kind for f in self.faults})
        counts = ", ".join(f"{sum(f.kind == k for f in self.faults)} {k}" for k in kinds) or "none"
        return (
            f"jobs={self.jobs} faults=({counts}) executions={self.executions} lost=0 "
            f"duplicates={len(self.duplicates)}"
        )


def check(log: Path, expected: dict[str, int], results: ResultBackend, faults: list[Fault]) -> Report:
    """Assert no job was lost, results match, and every duplicate execution is explained by a fault.

    A job may run more than once only if it was in flight at a fault: at most one of its
    executions may come from neither a process killed (``kill9``) after it started nor an
    outage it overlapped (started before the outage ended, at most a lease before it began).
    """
    runs = read_log(log)
    never_ran = [job_id for job_id in expected if job_id not in runs]
    assert not never_ran, f"{len(never_ran)} jobs never executed, e.g. {never_ran[:5]}"
    killed = {f.pid: f.at for f in faults if f.kind == "kill9" and f.pid is not None}
    outages = [(f.at - OUTAGE_REACH_SECS, f.until) for f in faults if f.until is not None]
    duplicates: dict[str, list[Execution]] = {}
    for job_id, value in expected.items():
        record = results.get_full(job_id)
        assert record is not None, f"job {job_id}: record lost"
        assert record.status is JobStatus.SUCCESS, f"job {job_id}: {record.status} {record.error}"
        assert record.result is not None and serialization.loads(record.result) == value, job_id
        if len(runs[job_id]) > 1:
            duplicates[job_id] = runs[job_id]
            unexplained = [r for r in runs[job_id] if not _in_flight(r, killed, outages)]
            assert len(unexplained) <= 1, f"job {job_id} ran again without a fault: {runs[job_id]}"
    executions = sum(len(r) for r in runs.values())
    return Report(len(expected), faults, executions, duplicates)
