"""The Redis backends pass the whole conformance suite on a real 3-master Redis Cluster."""

from __future__ import annotations

from nuvom.testing.suite import *  # noqa: F403
