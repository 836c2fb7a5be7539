"""The one rule for queue names and job ids, whether a caller chose them or they were read back.

An id becomes a file name (the file backends) or part of a key (Redis), so only letters, digits
and ``_ . : -`` are allowed, never a leading ``.`` and never a path separator.
"""

from __future__ import annotations

import re
from typing import Final

_NAME_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:\-]*")
#: Queue names and the ids a caller chooses.
MAX_NAME_LENGTH: Final = 128
#: Ids Nuvom derives from a caller's id add a suffix (``<chain>.<step>.<member>``,
#: ``<schedule>:<ms>``), so ids read back from a store may be this long.
MAX_ID_LENGTH: Final = 200


def check_name(kind: str, value: object, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """Return ``value`` if it is a valid queue name or job id, else raise ``ValueError`` naming ``kind``."""
    if not isinstance(value, str) or len(value) > max_length or not _NAME_RE.fullmatch(value):
        shown = f"{value!r:.{max_length + 12}}"  # a hostile value may be huge
        raise ValueError(
            f"{kind} {shown} is not valid: use 1 to {max_length} of letters, digits and _ . : -, "
            "starting with a letter, digit or _"
        )
    return value
