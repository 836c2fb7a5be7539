"""Shared fixtures: every test gets its own data directory and fresh settings, plugins and backends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nuvom import runtime
from nuvom.registry import registry


@pytest.fixture(autouse=True)
def isolated_nuvom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run each test in its own working directory with its own NUVOM_DATA_DIR, no NUVOM_* leaking in."""
    for key in list(os.environ):
        if key.startswith("NUVOM_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NUVOM_DATA_DIR", str(tmp_path / ".nuvom"))
    runtime.reset()
    before = registry.all()
    yield tmp_path
    runtime.reset()
    for name in set(registry.all()) - set(before):
        registry.unregister(name)


@pytest.fixture
def memory_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the in-process memory queue and result store."""
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", "memory")
    monkeypatch.setenv("NUVOM_RESULT_BACKEND", "memory")
    runtime.reset()
