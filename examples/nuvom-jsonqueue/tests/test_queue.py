"""Nuvom's queue conformance suite, run against JsonQueue over a fresh file per check."""

from pathlib import Path

import pytest
from nuvom_jsonqueue import JsonQueue

from nuvom.testing.suite import *  # noqa: F403  (the suite's Test* classes, run with this fixture)


@pytest.fixture
def queue_factory(tmp_path: Path):
    return lambda: JsonQueue(tmp_path / "queue.json")  # each call: a new client of the same file
