"""The worker: claiming, running, timeouts, retries and graceful shutdown."""

from .worker import Worker as Worker

__all__ = ["Worker"]
