"""Workflows: signatures, groups, chains and callbacks, through the backend interfaces alone."""

from .chain import Chain as Chain
from .chain import ChainResult as ChainResult
from .chain import chain as chain
from .chain import get_chain as get_chain
from .group import Group as Group
from .group import GroupResult as GroupResult
from .group import get_group as get_group
from .group import group as group
from .signature import Signature as Signature

__all__ = [
    "Chain",
    "ChainResult",
    "Group",
    "GroupResult",
    "Signature",
    "chain",
    "get_chain",
    "get_group",
    "group",
]
