"""The claim script's reply (``lua/claim.lua``), read into leases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nuvom.backends import Envelope, Lease

from .client import text
from .results import claimed_record

#: Fields per claimed job in the claim script's reply.
CLAIM_FIELDS = 9


def read_claim(reply: list[Any], queues: Sequence[str]) -> tuple[list[Lease], float | None, frozenset[str]]:
    """The leases of a claim over ``queues``, seconds to the next due job or expiry, skipped queues.

    The seconds are ``None`` when nothing is due later; a queue is skipped (and why is given)
    when one of its keys holds another type.
    """
    expires_at = int(reply[1]) / 1e6
    wait_us = int(reply[2])
    first = 4 + int(reply[3])
    broken = frozenset(text(why) for why in reply[4:first])
    leases = []
    for i in range(first, len(reply), CLAIM_FIELDS):
        position, job_id, payload, priority, attempts, deliveries, token, eta, record = reply[
            i : i + CLAIM_FIELDS
        ]
        envelope = Envelope(
            job_id.decode(),
            queues[int(position)],
            payload,
            int(priority),
            float(eta) if eta else None,
            int(attempts),
        )
        claimed = claimed_record(envelope.id, record) if record else None
        leases.append(Lease(envelope, int(deliveries), expires_at, token.decode(), claimed))
    return leases, (wait_us / 1e6 if wait_us >= 0 else None), broken
