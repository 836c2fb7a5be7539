"""Helpers shared by the nuvom-core unit tests: the conformance suite's own."""

from nuvom.testing.suite.support import wait_for as wait_for
