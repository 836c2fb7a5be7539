"""The default queue: a maildir-style tree of files, safe across the processes of one host.

Layout under ``<data_dir>/queue``::

    tmp/                      files being written; renamed into place when complete
    ready/<queue>/<P>/        due jobs of priority P, P-DUE~ID~ATTEMPTS~DELIVERIES (sorted = FIFO)
    delayed/<queue>/          future jobs DUE-P~ID~ATTEMPTS~DELIVERIES  (sorted = due order)
    leased/                   claimed     EXPIRY~OWNER~QUEUE~<ready name>
    owners/<owner>.lock       flock-ed by each claiming process for its whole life
    quarantine/               entries that cannot be decoded, each with a .reason file

Every state change is one ``rename``, which is atomic on one filesystem, so two processes can
never both claim a job. One folder per priority lets a claimer see an urgent job at once while it
works through a long, cached listing of a less urgent folder. A lease names its expiry and its
owner, so any process can return jobs of leases that expired, or whose owner's lock is free again
because the owner died (``kill -9``). Files found where they do not belong are quarantined.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from .. import serialization
from ..errors import CorruptEntry, SerializationError
from ..message import stored_id
from . import locking
from .base import BaseQueue
from .data import Capability, Envelope, Lease, Quarantined
from .file_inspection import FileQueueInspection
from .file_limits import FileLimiter
from .file_names import NS, PRIORITIES, EntryName
from .file_quarantine import FileQuarantine
from .file_workers import FileWorkerRegistry
from .folder_watch import FolderWatch
from .fsutil import (
    FILE_MODE,
    fsync_path,
    list_for_popping,
    make_private_dir,
    move,
    publish,
    read_whole,
    remove_stale_temp_files,
    storage_errors,
    subfolders,
)

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)

#: How long a listing of ready jobs is reused before the folder is read again.
_LISTING_TTL_SECS = 0.5
#: Between sweeps of expired leases and due delayed jobs.
_SWEEP_SECS = 0.25
#: Sleep between polls of an empty queue where folders cannot be watched (not Linux).
_POLL_SECS = 0.01
#: How old a folder's mtime must be before a listing taken at that mtime is trusted.
_SETTLED_NS = 50_000_000


class FileQueue(FileQueueInspection, FileWorkerRegistry, BaseQueue):
    """A durable queue in a directory tree; see the module docstring for the layout."""

    name: ClassVar[str] = "file"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CROSS_PROCESS, Capability.PERSISTENT, Capability.QUARANTINE}
    )

    def __init__(self, root: Path, *, fsync: bool = True, watch: bool = True) -> None:
        """Open (creating its folders) the queue at ``root``.

        Args:
            root: the queue's folder.
            fsync: make every queued job durable before ``enqueue`` returns.
            watch: let an idle claimer wait for changes (Linux inotify); ``False`` polls.
        """
        locking.require("the file queue backend")
        self.root = Path(root)
        self.fsync = fsync
        self._tmp = self.root / "tmp"
        self._ready = self.root / "ready"
        self._delayed = self.root / "delayed"
        self._leased = self.root / "leased"
        self._owners = self.root / "owners"
        self._quarantine = FileQuarantine(self.root / "quarantine", root=self.root, fsync=fsync)
        self.workers_dir, self.tmp_dir = self.root / "workers", self._tmp  # see FileWorkerRegistry
        folders = (self._tmp, self._ready, self._delayed, self._leased, self._owners, self._quarantine.folder)
        with storage_errors(self.root, "creating its folders"):
            for folder in (*folders, self.workers_dir):
                make_private_dir(folder)
        self._lock = threading.Lock()
        # ack, nack and extend of one lease must not interleave: extend renames the lease file.
        self._lease_lock = threading.Lock()
        self._owner = f"{os.getpid()}.{uuid.uuid4().hex[:12]}"
        self._owner_fd: int | None = None
        #: Cached, reverse-sorted listings of ready/<queue>/<priority>, and when they were read.
        self._listings: dict[tuple[str, str], tuple[float, list[str]]] = {}
        #: Per queue: the mtime of ready/<queue> and the priority folders it held then.
        self._folders: dict[str, tuple[int, list[str]]] = {}
        self._last_sweep = 0.0
        self._watch = FolderWatch(enabled=watch)

    @classmethod
    def from_settings(cls, settings: Settings) -> FileQueue:
        """The queue under ``<NUVOM_DATA_DIR>/queue``."""
        return cls(settings.data_dir / "queue", fsync=settings.file_fsync)

    # -- enqueue ---------------------------------------------------------------------------

    def enqueue(self, envelope: Envelope) -> None:
        self.enqueue_many([envelope])

    def enqueue_many(self, envelopes: Sequence[Envelope]) -> None:
        now_ns = time.time_ns()
        staged: list[tuple[bytes, Path]] = []
        for index, env in enumerate(envelopes):
            data = serialization.dumps(
                {
                    "id": env.id,
                    "queue": env.queue,
                    "priority": env.priority,
                    "eta": env.eta,
                    "payload": env.payload,
                }
            )
            # + index keeps a batch in input order: its jobs share one clock reading
            due_ns = (int(env.eta * NS) if env.eta is not None else now_ns) + index
            name = EntryName(env.priority, due_ns, env.id, env.attempts, 0)
            future = env.eta is not None and env.eta * NS > now_ns
            target = self._delayed / env.queue / name.delayed if future else self._ready_path(env.queue, name)
            staged.append((data, target))
        with storage_errors(self.root, f"queueing {len(staged)} job(s)"):
            publish(staged, self._tmp, fsync=self.fsync)
        with self._lock:
            for _, target in staged:
                self._remember(target)

    # -- claim -----------------------------------------------------------------------------

    def pop_batch(self, n: int, *, queues: Sequence[str], timeout: float, lease_secs: float) -> list[Lease]:
        """Claim up to ``n`` due jobs, waiting up to ``timeout`` seconds for the first.

        An idle claimer waits for a job to be renamed into a ready folder of ``queues`` (see
        :mod:`.folder_watch`), but never past the next sweep, which promotes due delayed jobs and
        returns lost leases; without a watch it polls every ``_POLL_SECS``.
        """
        self._hold_owner_lock()
        deadline = time.monotonic() + timeout
        while True:
            leases = self._claim(n, queues, lease_secs)
            left = deadline - time.monotonic()
            if leases or left <= 0:
                return leases
            until_sweep = max(0.0, self._last_sweep + _SWEEP_SECS - time.time())
            if self._watch.wait(self._wake_folders(queues), min(left, until_sweep)):
                with self._lock:  # a priority folder made meanwhile may share the cached mtime
                    self._folders.clear()
            else:
                time.sleep(min(_POLL_SECS, left))

    def _wake_folders(self, queues: Sequence[str]) -> list[Path]:
        """``ready/``, each of ``queues``' folders and their priority folders: where jobs appear."""
        folders = [self._ready]
        for queue in queues:
            folders.append(self._ready / queue)
            folders += (self._ready / queue / priority for priority in subfolders(self._ready / queue))
        return folders

    def _claim(self, n: int, queues: Sequence[str], lease_secs: float) -> list[Lease]:
        with self._lock:
            self._maybe_sweep(queues)
            leases: list[Lease] = []
            while len(leases) < n:
                candidate = self._next_candidate(queues)
                if candidate is None:
                    break
                lease = self._claim_one(*candidate, lease_secs)
                if lease is not None:
                    leases.append(lease)
            return leases

    def _ready_path(self, queue: str, name: EntryName) -> Path:
        return self._ready / queue / str(name.priority) / name.ready

    def _priority_folders(self, queue: str) -> list[str]:
        """The priority folders of ``queue``, re-read only when its folder's mtime moves."""
        path = self._ready / queue
        try:
            mtime = os.stat(path).st_mtime_ns
        except FileNotFoundError:
            return []
        cached = self._folders.get(queue)
        # A fresh mtime may be shared with a change made just after our read (coarse clocks).
        if cached is not None and cached[0] == mtime and time.time_ns() - mtime > _SETTLED_NS:
            return cached[1]
        names = sorted(name for name in os.listdir(path) if name in PRIORITIES)
        self._folders[queue] = (mtime, names)
        return names

    def _next_candidate(self, queues: Sequence[str]) -> tuple[Path, str, str] | None:
        """The next entry to try: most urgent priority first, then earliest due across ``queues``."""
        now = time.monotonic()
        present = {queue: self._priority_folders(queue) for queue in queues}
        for priority in sorted({p for folders in present.values() for p in folders}):
            best: tuple[tuple[str, str], str] | None = None
            for queue in queues:
                if priority not in present[queue]:
                    continue
                key = (queue, priority)
                listed_at, names = self._listings.get(key, (0.0, []))
                if not names or now - listed_at > _LISTING_TTL_SECS:
                    names = list_for_popping(self._ready / queue / priority)
                    self._listings[key] = (now, names)
                if names and (best is None or names[-1] < best[1]):
                    best = (key, names[-1])
            if best is not None:
                (queue, _), entry = best
                self._listings[best[0]][1].pop()
                return self._ready / queue / priority, queue, entry
        return None

    def _remember(self, path: Path) -> None:
        """Add a job this instance just made ready to its cached listing, in claim order.

        Jobs other clients add are seen when the listing is next read (at most
        ``_LISTING_TTL_SECS`` later), hence no ``Capability.EXACT_ORDER``.
        """
        if not self._listings:
            return  # a sender that never claims: nothing cached
        key = (path.parent.parent.name, path.parent.name)
        cached = self._listings.get(key)
        if path.parent.parent.parent != self._ready or not cached or not cached[1]:
            return  # not a ready job, or nothing cached: the next read lists it
        names = cached[1]  # sorted descending: the next to claim is last
        low, high = 0, len(names)
        while low < high:
            middle = (low + high) // 2
            if names[middle] > path.name:
                low = middle + 1
            else:
                high = middle
        names.insert(low, path.name)

    def _claim_one(self, folder: Path, queue: str, entry: str, lease_secs: float) -> Lease | None:
        source = folder / entry
        try:
            name = EntryName.parse(entry)
        except CorruptEntry as exc:
            self._quarantine.move_aside(source, exc.reason)
            return None
        claimed = EntryName(name.priority, name.due_ns, name.job_id, name.attempts, name.deliveries + 1)
        expiry_ns = time.time_ns() + int(lease_secs * NS)
        token = f"{expiry_ns:019d}~{self._owner}~{queue}~{claimed.ready}"
        try:
            os.rename(source, self._leased / token)
        except FileNotFoundError:
            return None  # another process claimed it first
        try:
            envelope = self._read_envelope(self._leased / token, claimed)
        except CorruptEntry as exc:
            self._quarantine.move_aside(self._leased / token, exc.reason)
            return None
        return Lease(envelope, claimed.deliveries, expiry_ns / NS, token)

    def _read_envelope(self, path: Path, name: EntryName) -> Envelope:
        try:
            data = serialization.loads(read_whole(path))
            envelope = Envelope(
                id=stored_id(data["id"], path.name),
                queue=data["queue"],
                payload=data["payload"],
                priority=data["priority"],
                eta=data["eta"],
                attempts=name.attempts,
            )
        except (SerializationError, KeyError, TypeError) as exc:
            raise CorruptEntry(f"{path.name}: content cannot be decoded ({exc})") from None
        if envelope.id != name.job_id:
            raise CorruptEntry(f"{path.name}: holds job id {envelope.id!r}, not the one in its name")
        return envelope

    def quarantined(self, limit: int = 1000) -> list[Quarantined]:
        """The entries of the quarantine folder, oldest first (see ``QuarantineListing``)."""
        return self._quarantine.entries(limit)

    # -- lease lifecycle -------------------------------------------------------------------

    def ack(self, lease: Lease) -> None:
        with self._lease_lock:
            try:
                os.unlink(self._leased / lease.token)
            except FileNotFoundError:
                pass  # already acked, or the lease was lost and the job belongs to someone else

    def nack(self, lease: Lease, *, retry_at: float | None = None) -> None:
        due_ns = time.time_ns() if retry_at is None else int(retry_at * NS)
        self._give_back(lease, due_ns, count_attempt=retry_at is not None)

    def defer(self, lease: Lease, until: float) -> None:
        """Return the held job, due at ``until``, with its attempts unchanged."""
        self._give_back(lease, int(until * NS), count_attempt=False)

    def limiter(self) -> FileLimiter:
        """Counters under ``<queue>/limits``, shared by the processes of this host."""
        return FileLimiter(self.root / "limits")

    def _give_back(self, lease: Lease, due_ns: int, *, count_attempt: bool) -> None:
        with self._lease_lock:
            _, _, queue, entry = lease.token.split("~", 3)
            name = EntryName.parse(entry)
            attempts = name.attempts + count_attempt
            back = EntryName(name.priority, due_ns, name.job_id, attempts, 0)
            if due_ns > time.time_ns():
                target = self._delayed / queue / back.delayed
            else:
                target = self._ready_path(queue, back)
            if not move(self._leased / lease.token, target):
                return  # the lease was lost
        with self._lock:
            self._remember(target)
        if self.fsync:
            fsync_path(target.parent)

    def extend(self, lease: Lease, lease_secs: float) -> bool:
        with self._lease_lock:
            _, owner, rest = lease.token.split("~", 2)
            expiry_ns = time.time_ns() + int(lease_secs * NS)
            token = f"{expiry_ns:019d}~{owner}~{rest}"
            try:
                os.rename(self._leased / lease.token, self._leased / token)
            except FileNotFoundError:
                return False
            lease.token = token
            lease.expires_at = expiry_ns / NS
            return True

    # -- sweeping --------------------------------------------------------------------------

    def _hold_owner_lock(self) -> None:
        if self._owner_fd is not None:
            return
        with self._lock:  # two threads' locks would be two flocks, and the second would wait forever
            if self._owner_fd is None:
                fd = os.open(self._owners / f"{self._owner}.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
                locking.lock(fd)
                self._owner_fd = fd

    def _owner_is_dead(self, owner: str) -> bool:
        if owner == self._owner:
            return False
        try:
            fd = os.open(self._owners / f"{owner}.lock", os.O_RDWR)
        except FileNotFoundError:
            return True
        try:
            return locking.try_lock(fd)
        finally:
            os.close(fd)

    def _maybe_sweep(self, queues: Sequence[str]) -> None:
        now = time.time()
        if now - self._last_sweep < _SWEEP_SECS:
            return
        self._last_sweep = now
        self._return_lost_leases(now)
        for queue in queues:
            self._promote_due(queue, now)
            self._quarantine_strays(queue)
        remove_stale_temp_files(self._tmp, now)

    def _return_lost_leases(self, now: float) -> None:
        verdicts: dict[str, bool] = {}
        dead: set[str] = set()
        for token in os.listdir(self._leased):
            try:
                expiry, owner, queue, entry = token.split("~", 3)
                expired = int(expiry) / NS <= now
                name = EntryName.parse(entry)
            except (ValueError, CorruptEntry):
                self._quarantine.move_aside(self._leased / token, f"lease name {token!r} is malformed")
                continue
            if owner not in verdicts:
                verdicts[owner] = self._owner_is_dead(owner)
            if not (expired or verdicts[owner]):
                continue
            if verdicts[owner]:
                dead.add(owner)
            if move(self._leased / token, self._ready_path(queue, name)):
                logger.warning(
                    "returned job %s to queue %r: its lease %s",
                    name.job_id,
                    queue,
                    "holder died" if verdicts[owner] else "expired",
                )
                self._listings.pop((queue, str(name.priority)), None)
        for owner in dead:
            try:
                os.unlink(self._owners / f"{owner}.lock")
            except FileNotFoundError:
                pass

    def _promote_due(self, queue: str, now: float) -> None:
        folder = self._delayed / queue
        now_ns = int(now * NS)
        for entry in reversed(list_for_popping(folder)):
            try:
                name = EntryName.parse(entry, delayed=True)
            except CorruptEntry as exc:
                self._quarantine.move_aside(folder / entry, exc.reason)
                continue
            if name.due_ns > now_ns:
                break
            if move(folder / entry, self._ready_path(queue, name)):
                self._listings.pop((queue, str(name.priority)), None)

    def _quarantine_strays(self, queue: str) -> None:
        """Files where only priority folders belong (e.g. dropped by hand) are moved aside."""
        try:
            entries = list(os.scandir(self._ready / queue))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if not (entry.name in PRIORITIES and entry.is_dir()):
                self._quarantine.move_aside(Path(entry.path), "not inside a priority folder of the queue")

    def close(self) -> None:
        self._watch.close()
        with self._lock:
            if self._owner_fd is not None:
                os.close(self._owner_fd)
                self._owner_fd = None
                try:
                    os.unlink(self._owners / f"{self._owner}.lock")
                except FileNotFoundError:
                    pass
