"""The installed version of nuvom-core."""

__version__ = "0.1.0"
