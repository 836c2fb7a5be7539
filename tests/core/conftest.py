"""Fixtures and helpers for the nuvom-core unit tests."""

from __future__ import annotations

import pytest

from nuvom import runtime


@pytest.fixture(params=["memory", "file"])
def backend_name(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once with the memory backends and once with the file backends."""
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", request.param)
    monkeypatch.setenv("NUVOM_RESULT_BACKEND", request.param)
    runtime.reset()
    return str(request.param)
