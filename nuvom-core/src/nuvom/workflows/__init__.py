"""Workflows: signatures, groups, chains and callbacks; the engine that continues them."""

from .canvas import Chain as Chain
from .canvas import Group as Group
from .canvas import Signature as Signature
from .canvas import chain as chain
from .canvas import group as group
from .handles import ChainResult as ChainResult
from .handles import GroupResult as GroupResult
from .handles import get_chain as get_chain
from .handles import get_group as get_group

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
