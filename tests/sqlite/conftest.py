"""The end-to-end fixtures (task module, execution log, worker subprocesses), reused here."""

from __future__ import annotations

from tests.e2e.conftest import exec_log, project, start_worker

__all__ = ["exec_log", "project", "start_worker"]
