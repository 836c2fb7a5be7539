"""A worker's heartbeat: its description in the queue's worker registry, refreshed periodically.

The description is written at start and every ``NUVOM_HEARTBEAT_SECS``, and deleted on a clean
exit; a worker killed outright leaves its last one, which ``nuvom workers`` shows as dead once it
is older than ``NUVOM_HEARTBEAT_LAPSE_SECS``. A queue that keeps no registry (see
:class:`~nuvom.backends.WorkerRegistry`) gets no heartbeats.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Protocol

from ..backends import QueueBackend, WorkerInfo, WorkerRegistry
from ..log import set_worker_id

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)


class Beating(Protocol):
    """What a heartbeat reads of its worker (:class:`~nuvom.worker.Worker` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def queue(self) -> QueueBackend: ...
    @property
    def queues(self) -> tuple[str, ...]: ...
    @property
    def pool(self) -> str: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def running(self) -> int: ...


class Heartbeat:
    """The thread that keeps one worker's description fresh in its queue's registry."""

    def __init__(self, worker: Beating, registry: WorkerRegistry | None) -> None:
        self._worker = worker
        self._registry = registry
        self._started_at = time.time()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nuvom-heartbeat", daemon=True)

    @classmethod
    def start(cls, worker: Beating) -> Heartbeat:
        """Name the worker on log records, publish its first heartbeat and keep beating."""
        set_worker_id(worker.id)
        registry = worker.queue if isinstance(worker.queue, WorkerRegistry) else None
        heartbeat = cls(worker, registry)
        if registry is not None:
            heartbeat._beat()
            heartbeat._thread.start()
        return heartbeat

    def info(self) -> WorkerInfo:
        """The worker as it describes itself now."""
        worker = self._worker
        return WorkerInfo(
            id=worker.id,
            host=socket.gethostname(),
            pid=os.getpid(),
            queues=worker.queues,
            pool=worker.pool,
            slots=worker.concurrency,
            running=worker.running,
            started_at=self._started_at,
            heartbeat_at=time.time(),
        )

    def _beat(self) -> None:
        assert self._registry is not None
        try:
            self._registry.beat(self.info())
        except Exception as exc:  # the backend's own outage lines carry the details
            logger.warning(
                "heartbeat of worker %s could not be stored (%s); trying again", self._worker.id, exc
            )

    def _run(self) -> None:
        while not self._done.wait(self._worker.settings.heartbeat_secs):
            self._beat()

    def stop(self) -> None:
        """Stop beating and delete the description (a clean exit)."""
        self._done.set()
        set_worker_id(None)
        if self._registry is None:
            return
        if self._thread.is_alive():
            self._thread.join()
        try:
            self._registry.forget_worker(self._worker.id)
        except Exception as exc:
            logger.warning(
                "worker %s could not remove itself from the worker registry: %s", self._worker.id, exc
            )
