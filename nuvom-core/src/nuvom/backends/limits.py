"""Flow control through the plugin boundary: the optional limiter a queue backend offers.

A queue that every worker shares is also where they agree on limits, so the limiter comes from
the queue backend (:class:`LimitingQueue`): ``limiter()`` gives the counters, ``defer`` puts a
job over its limit back without spending one of its attempts.

- **Rate** (:meth:`Limiter.take_start`): a sliding log of granted starts per key. A start at
  ``now`` is granted only while fewer than ``limit`` starts are counted after ``now - period``
  (later ones included), so no window of ``period`` seconds ever holds more than ``limit``
  grants, even when callers' clocks read a little apart.
- **Concurrency** (:meth:`Limiter.acquire_slot`): a semaphore of ``limit`` slots per key whose
  slots are leases held by a job id; a slot whose lease lapses (its worker was killed) is free
  again, and the same holder asking again keeps its slot (a redelivered job never waits on itself).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .data import Lease

#: Starts older than this many periods are pruned: a caller whose clock reads a little behind
#: still sees every start that its window holds.
PRUNE_PERIODS = 2.0
#: The shortest wait a limiter reports, so that a caller never re-checks in a busy loop.
MIN_WAIT_SECS = 0.001


@runtime_checkable
class Limiter(Protocol):
    """Counters shared by every client of one queue backend; each call is atomic across them.

    - ``take_start`` grants (and counts) a start only while fewer than ``limit`` starts are
      counted after ``now - period_secs``; it returns 0.0 when granted, else how many seconds
      from ``now`` until the oldest counted start leaves the window (> 0). A refused call counts
      nothing.
    - ``acquire_slot`` gives ``holder`` one of ``limit`` slots of ``key`` until ``now +
      lease_secs``. A holder that already holds a live slot keeps it (its lease is renewed). A
      slot whose lease has passed is free. It returns 0.0 when the holder holds a slot, else the
      seconds from ``now`` until the soonest lease of the key lapses (> 0).
    - ``renew_slot`` pushes a held slot's lease to ``now + lease_secs``; ``False`` (and nothing
      taken) when the holder holds no live slot of ``key``.
    - ``release_slot`` frees the holder's slot; idempotent.
    - Keys are opaque text of any length; rate and slot counters of one key are independent.
    """

    def take_start(self, key: str, limit: int, period_secs: float, now: float) -> float:
        """Grant one start of ``key`` at ``now`` if the window has room (see the class docstring)."""

    def acquire_slot(self, key: str, limit: int, holder: str, lease_secs: float, now: float) -> float:
        """Take or keep a slot of ``key`` for ``holder`` (see the class docstring)."""

    def renew_slot(self, key: str, holder: str, lease_secs: float, now: float) -> bool:
        """Push the lease of ``holder``'s slot of ``key``; ``False`` when it holds none."""

    def release_slot(self, key: str, holder: str) -> None:
        """Free ``holder``'s slot of ``key``, if it holds one."""


@runtime_checkable
class LimitingQueue(Protocol):
    """Optional, on a queue: a limiter its workers share, and a way to put a job off.

    - ``limiter()`` returns a :class:`Limiter` whose counters every instance of this queue over
      the same store shares (every process and host the queue itself serves).
    - ``defer(lease, until)`` returns a held job to the queue, claimable from ``until``, with
      ``attempts`` unchanged and its delivery count reset; a lost lease does nothing.
    """

    def limiter(self) -> Limiter:
        """The limiter shared by every client of this queue's store."""

    def defer(self, lease: Lease, until: float) -> None:
        """Return the held job, due at ``until``, without counting an attempt."""


def window_wait(starts: list[float], limit: int, period_secs: float, now: float) -> float:
    """The common core of ``take_start``: 0.0 when a start at ``now`` fits, else the wait.

    ``starts`` are the counted starts of the key (any order, old ones included).
    """
    counted = sorted(t for t in starts if t > now - period_secs)
    if len(counted) < limit:
        return 0.0
    # The window has room once all but limit - 1 of the counted starts have left it.
    leaving = counted[len(counted) - limit]
    return max(MIN_WAIT_SECS, leaving + period_secs - now)


def slot_wait(leases: dict[str, float], limit: int, holder: str, now: float) -> float:
    """The common core of ``acquire_slot`` over ``leases`` (holder -> expiry, lapsed ones pruned).

    0.0 when ``holder`` holds or may take a slot, else the wait until the soonest lease lapses.
    """
    if holder in leases or len(leases) < limit:
        return 0.0
    return max(MIN_WAIT_SECS, min(leases.values()) - now)
