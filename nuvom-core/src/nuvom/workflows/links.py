"""Links: the continuation a job carries in its message and record.

A job's links say what to send once it reaches a terminal state: its ``on_success`` and
``on_error`` callbacks, the rest of the chain it is a step of, and the group it is a member of.
They travel inside the job (msgpack bytes in ``JobMessage.links`` and ``JobRecord.links``), so a
worker that picks the job up, including after a redelivery, has everything it needs, and a
manual retry of a failed step resumes its chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .. import serialization
from ..errors import CorruptEntry, SerializationError
from .call import Call

#: A chain step: one call, or a group of them (a chord when more steps follow).
Step = Call | tuple[Call, ...]

#: Job ids a caller chooses are at most this long (``nuvom.names.MAX_NAME_LENGTH``).
_MAX_ID = 128


def child_id(parent: str, suffix: str) -> str:
    """The deterministic id of a job sent on behalf of ``parent``: the same on every redelivery."""
    candidate = f"{parent}.{suffix}"
    if len(candidate) <= _MAX_ID:
        return candidate
    return f"{parent[:60]}.{hashlib.sha256(candidate.encode()).hexdigest()[:40]}"


def step_id(chain_id: str, index: int) -> str:
    """The job (or group) id of step ``index`` of a chain."""
    return f"{chain_id}.{index}"


def member_id(group_id: str, index: int) -> str:
    """The job id of member ``index`` of a group."""
    return f"{group_id}.{index}"


@dataclass(frozen=True)
class ChainLink:
    """This job is step ``index`` of chain ``id``; ``rest`` are the steps after it."""

    id: str
    index: int
    rest: tuple[Step, ...]


@dataclass(frozen=True)
class GroupLink:
    """This job is member ``index`` of the group ``id`` of ``size`` members."""

    id: str
    index: int
    size: int


def _step_wire(step: Step) -> Any:
    return [s.to_wire() for s in step] if isinstance(step, tuple) else step.to_wire()


def _step_from_wire(data: Any) -> Step:
    if isinstance(data, list):
        return tuple(Call.from_wire(s) for s in data)
    return Call.from_wire(data)


@dataclass(frozen=True)
class Links:
    """What a job sends once it is finished."""

    on_success: tuple[Call, ...] = ()
    on_error: tuple[Call, ...] = ()
    chain: ChainLink | None = None
    group: GroupLink | None = None

    def encode(self) -> bytes | None:
        """The bytes to carry, or ``None`` when there is nothing to continue."""
        if not (self.on_success or self.on_error or self.chain or self.group):
            return None
        data: dict[str, Any] = {
            "s": [s.to_wire() for s in self.on_success],
            "e": [s.to_wire() for s in self.on_error],
        }
        if self.chain is not None:
            data["c"] = [self.chain.id, self.chain.index, [_step_wire(s) for s in self.chain.rest]]
        if self.group is not None:
            data["g"] = [self.group.id, self.group.index, self.group.size]
        return serialization.dumps(data, path="links")

    @classmethod
    def decode(cls, data: bytes | None) -> Links:
        """Rebuild the links of a job (empty when it has none).

        Raises:
            CorruptEntry: when the bytes are not links.
        """
        if data is None:
            return cls()
        try:
            fields = serialization.loads(data)
            chain = fields.get("c")
            group = fields.get("g")
            return cls(
                tuple(Call.from_wire(s) for s in fields["s"]),
                tuple(Call.from_wire(s) for s in fields["e"]),
                ChainLink(chain[0], chain[1], tuple(_step_from_wire(s) for s in chain[2])) if chain else None,
                GroupLink(group[0], group[1], group[2]) if group else None,
            )
        except (SerializationError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise CorruptEntry(f"job links are malformed: {exc}") from None
