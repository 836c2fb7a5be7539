"""The Redis backends pass the whole conformance suite against a real redis-server."""

from __future__ import annotations

from nuvom.testing.suite import *  # noqa: F403
