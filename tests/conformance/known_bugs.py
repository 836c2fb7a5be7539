"""Checks a built-in backend is known to fail, each with the bug it shows.

They run as strict xfails (a fix turns them into failures, so this list must shrink with it), and
``nuvom plugin test`` runs skip them with ``-k`` while one test asserts that they still fail.
"""

from __future__ import annotations

#: backend name -> {check name: the bug}
KNOWN_BUGS: dict[str, dict[str, str]] = {
    "file": {
        "test_a_job_due_earlier_is_claimed_first_even_when_enqueued_later": (
            "FileQueue._next_candidate reuses a cached, non-empty listing of ready/<queue>/<priority> "
            "for up to _LISTING_TTL_SECS (0.5 s), so a job with an earlier due time (past eta, or "
            "nack(retry_at) in the past) that lands in that folder meanwhile is claimed after the "
            "listed ones"
        ),
    },
}


def deselect_known_bugs(backend: str) -> list[str]:
    """``-k`` arguments for ``nuvom plugin test`` that leave out ``backend``'s known bugs."""
    names = sorted(KNOWN_BUGS.get(backend, {}))
    return ["-k", " and ".join(f"not {name}" for name in names)] if names else []
