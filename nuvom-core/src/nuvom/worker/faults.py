"""Test fault injection: a worker that exits at once, as if killed, at a chosen point of a job's path.

The crash-recovery and chaos tests start a worker process with ``NUVOM_TEST_FAULT_EXIT_AT`` set
to one point; the worker then exits with status 137 (like ``kill -9``) the first time a job
reaches it. Never set it in production. The variable is read once, when the worker's modules
are imported: a point on every job's path then costs one comparison.
"""

from __future__ import annotations

import os
from typing import Final, Literal

#: The variable naming the point at which the worker exits.
FAULT_ENV: Final = "NUVOM_TEST_FAULT_EXIT_AT"

FaultPoint = Literal[
    #: A job claimed, not started.
    "claimed",
    #: Its outcome known, neither stored nor acked.
    "completing",
    #: Its outcome stored and the job acknowledged.
    "acked",
    #: A linked job: its terminal record stored, its follow-ups not sent yet.
    "stored",
    #: A linked job: its follow-ups sent, the job not acknowledged yet.
    "linked",
]


_EXIT_AT: Final = os.environ.get(FAULT_ENV)


def fault(point: FaultPoint) -> None:
    """Exit at once, like ``kill -9``, if ``NUVOM_TEST_FAULT_EXIT_AT`` names ``point``."""
    if point == _EXIT_AT:
        os._exit(137)
