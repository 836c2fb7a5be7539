"""The whole suite, for ``pytest --pyargs nuvom.testing.suite --nuvom-target TARGET``."""

from nuvom.testing.suite import *  # noqa: F403
