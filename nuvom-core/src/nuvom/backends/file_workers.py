"""The file queue's worker registry: one JSON file per worker under ``<queue root>/workers``."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CorruptEntry
from .data import WorkerInfo
from .fsutil import publish


class FileWorkerRegistry:
    """Mixin: :class:`~nuvom.backends.WorkerRegistry` in ``workers_dir``, written by whole-file renames.

    The class mixing it in sets ``workers_dir`` (an existing folder) and ``tmp_dir`` (on the same
    filesystem) before use.
    """

    workers_dir: Path
    tmp_dir: Path

    def beat(self, info: WorkerInfo) -> None:
        data = json.dumps(info.to_dict()).encode()
        publish([(data, self.workers_dir / f"{info.id}.json")], self.tmp_dir, fsync=False)

    def workers(self) -> list[WorkerInfo]:
        found = []
        for path in sorted(self.workers_dir.glob("*.json")):
            try:
                found.append(WorkerInfo.from_dict(json.loads(path.read_bytes())))
            except (OSError, ValueError, CorruptEntry):
                continue  # removed meanwhile, or not a worker description
        return found

    def forget_worker(self, worker_id: str) -> bool:
        try:
            (self.workers_dir / f"{worker_id}.json").unlink()
        except FileNotFoundError:
            return False
        return True
