"""Retry delays: exponential backoff with full jitter."""

from __future__ import annotations

import random


def backoff_delay(
    attempt: int, *, base: float, backoff: bool, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before the retry that follows failed attempt number ``attempt`` (1-based).

    With ``backoff`` the delay is uniform in ``[0, min(cap, base * 2 ** (attempt - 1))]``
    ("full jitter", which spreads retries of many jobs that failed together); without it, ``base``.
    """
    if not backoff:
        return base
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 64))
    return (rng or random).uniform(0.0, ceiling)
