"""The worker: claiming, running, timeouts, retries and graceful shutdown.

One module per job; :mod:`.worker` wires them (its docstring, and ``docs/worker.md``, list them).
"""

from .worker import Worker as Worker

__all__ = ["Worker"]
