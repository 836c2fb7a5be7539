"""Group commit of outcomes: store many records in one backend call, then ack or nack each job.

Job threads hand over an outcome and go on to their next job. The committer stores everything
handed over since its last round with one ``save_many`` (one fsync of the folder for the file
backend, one transaction or pipeline elsewhere) and only then acknowledges the jobs, so a job is
still acknowledged only after its outcome is stored.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..backends.base import Lease, ResultBackend
from ..record import JobRecord

logger = logging.getLogger(__name__)

_MAX_BATCH = 256


@dataclass(frozen=True)
class Commit:
    """An outcome to store, and what to do once it is stored."""

    record: JobRecord
    lease: Lease
    #: Called after the record is stored, with ``True``; or with ``False`` if storing failed.
    then: Callable[[bool], None]


class Committer:
    """A thread that stores outcomes in batches and then runs their follow-ups."""

    def __init__(self, results: ResultBackend) -> None:
        self._results = results
        self._items: queue.SimpleQueue[Commit | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="nuvom-committer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, commit: Commit) -> None:
        """Store ``commit.record`` soon, then call ``commit.then``."""
        self._items.put(commit)

    def stop(self) -> None:
        """Commit what was submitted, then stop."""
        self._items.put(None)
        self._thread.join()

    def _loop(self) -> None:
        while True:
            first = self._items.get()
            batch = [first]
            while len(batch) < _MAX_BATCH:
                try:
                    batch.append(self._items.get_nowait())
                except queue.Empty:
                    break
            commits = [c for c in batch if c is not None]
            if commits:
                self._commit(commits)
            if None in batch:
                return

    def _commit(self, commits: list[Commit]) -> None:
        try:
            self._results.save_many([c.record for c in commits])
            stored = True
        except Exception:
            logger.exception("storing %d outcome(s) failed; their jobs will be delivered again", len(commits))
            stored = False
        for commit in commits:
            try:
                commit.then(stored)
            except Exception:
                logger.exception("acknowledging job %s failed", commit.lease.id)
