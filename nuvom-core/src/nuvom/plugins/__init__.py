"""Plugins: ``hookimpl`` for implementations, the manager for the host."""

from .hookspecs import hookimpl as hookimpl
from .hookspecs import hookspec as hookspec

__all__ = ["hookimpl", "hookspec"]
