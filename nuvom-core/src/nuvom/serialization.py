"""msgpack encoding of arguments, results and records. Never pickle.

Beyond msgpack's own types (None, bool, int, float, str, bytes, list, dict), these round-trip
exactly through extension types: ``datetime`` (naive or aware; a ``zoneinfo`` zone keeps its key;
``fold`` kept), ``date``, ``time``, ``timedelta``, ``UUID``, ``Decimal``, ``set``, ``frozenset``,
``tuple``, and ints beyond msgpack's 64-bit range.

Nesting is bounded both ways, so hostile bytes can never exhaust the C stack: extension types
(tuples, sets, dates…) nest at most :data:`MAX_EXT_DEPTH` deep inside each other, and lists and
dicts at most msgpack's own limit of 511 (encoding) and 1024 (decoding) levels per extension
value. Deeper fails with :class:`~nuvom.errors.SerializationError`, an unknown extension code too.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

import msgpack

from .errors import SerializationError

_DATETIME: Final = 1
_DATE: Final = 2
_UUID: Final = 3
_DECIMAL: Final = 4
_SET: Final = 5
_FROZENSET: Final = 6
_TUPLE: Final = 7
_TIME: Final = 8
_TIMEDELTA: Final = 9
_BIGINT: Final = 10

#: How deep tuples, sets, frozensets, dates, times and timedeltas may nest inside each other.
#: Each level is a nested msgpack call on the C stack; 300 levels crash CPython on 8 MB stacks.
MAX_EXT_DEPTH: Final = 32

_PLAIN_TYPES: Final = (type(None), bool, int, float, str, bytes)
_EXT_TYPES: Final = (dt.datetime, dt.date, dt.time, dt.timedelta, uuid.UUID, Decimal)


class _Unencodable(TypeError):
    pass


class _TooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(f"tuples, sets, dates and other extension types nest more than {MAX_EXT_DEPTH} deep")


_nesting = threading.local()
_In = TypeVar("_In")


def _nested(convert: Callable[[_In], Any], value: _In) -> Any:
    """Run one nested msgpack call, one level deeper; past :data:`MAX_EXT_DEPTH`, raise."""
    depth: int = getattr(_nesting, "depth", 0)
    if depth >= MAX_EXT_DEPTH:
        raise _TooDeep
    _nesting.depth = depth + 1
    try:
        return convert(value)
    finally:
        _nesting.depth = depth


def _default(obj: object) -> msgpack.ExtType:
    # Checked most specific first: datetime is a subclass of date.
    if isinstance(obj, dt.datetime):
        zone = obj.tzinfo.key if isinstance(obj.tzinfo, ZoneInfo) else None
        return msgpack.ExtType(_DATETIME, _nested(_pack, [obj.isoformat(), zone, obj.fold]))
    if isinstance(obj, dt.date):
        return msgpack.ExtType(_DATE, obj.isoformat().encode())
    if isinstance(obj, dt.time):
        return msgpack.ExtType(_TIME, _nested(_pack, [obj.isoformat(), obj.fold]))
    if isinstance(obj, dt.timedelta):
        return msgpack.ExtType(_TIMEDELTA, _nested(_pack, [obj.days, obj.seconds, obj.microseconds]))
    if isinstance(obj, uuid.UUID):
        return msgpack.ExtType(_UUID, obj.bytes)
    if isinstance(obj, Decimal):
        return msgpack.ExtType(_DECIMAL, str(obj).encode())
    if isinstance(obj, frozenset):
        return msgpack.ExtType(_FROZENSET, _nested(_pack, list(obj)))
    if isinstance(obj, set):
        return msgpack.ExtType(_SET, _nested(_pack, list(obj)))
    if isinstance(obj, tuple):
        return msgpack.ExtType(_TUPLE, _nested(_pack, list(obj)))
    if type(obj) is int:  # msgpack hands over the ints beyond its 64-bit range
        return msgpack.ExtType(_BIGINT, str(obj).encode())
    raise _Unencodable(type(obj).__qualname__)


def _ext_hook(code: int, data: bytes) -> object:
    if code == _DATETIME:
        iso, zone, fold = _nested(_unpack, data)
        value = dt.datetime.fromisoformat(iso).replace(fold=fold)
        return value.replace(tzinfo=ZoneInfo(zone)) if zone is not None else value
    if code == _DATE:
        return dt.date.fromisoformat(data.decode())
    if code == _TIME:
        iso, fold = _nested(_unpack, data)
        return dt.time.fromisoformat(iso).replace(fold=fold)
    if code == _TIMEDELTA:
        days, seconds, micros = _nested(_unpack, data)
        return dt.timedelta(days=days, seconds=seconds, microseconds=micros)
    if code == _UUID:
        return uuid.UUID(bytes=data)
    if code == _DECIMAL:
        return Decimal(data.decode())
    if code == _SET:
        return set(_nested(_unpack, data))
    if code == _FROZENSET:
        return frozenset(_nested(_unpack, data))
    if code == _TUPLE:
        return tuple(_nested(_unpack, data))
    if code == _BIGINT:
        return int(data.decode())
    raise ValueError(f"extension type {code} is not one Nuvom writes")


def _new_packer() -> msgpack.Packer:
    # strict_types keeps tuples (and subclasses of builtins) out of msgpack's implicit list path.
    return msgpack.Packer(default=_default, use_bin_type=True, strict_types=True)


#: Idle packers. ``msgpack.packb`` builds a packer per call, which costs more than packing a
#: record; a packer is taken from here for one call (so nested calls and threads each get their
#: own), and put back after it.
_packers: list[msgpack.Packer] = []


def _pack(obj: object) -> bytes:
    try:
        packer = _packers.pop()
    except IndexError:
        packer = _new_packer()
    data: bytes = packer.pack(obj)  # a packer whose call raised is dropped, not put back
    _packers.append(packer)
    return data


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)


def _find_unencodable(value: object, path: str) -> tuple[str, str] | None:
    """Return (path, type name) of the first value inside ``value`` that cannot be encoded."""
    if type(value) in _PLAIN_TYPES or type(value) in _EXT_TYPES:
        return None
    if type(value) is dict:
        for key, item in value.items():
            found = _find_unencodable(key, f"{path}.keys()") or _find_unencodable(item, f"{path}[{key!r}]")
            if found:
                return found
        return None
    if type(value) in (list, tuple, set, frozenset):
        assert isinstance(value, (list, tuple, set, frozenset))
        for index, item in enumerate(value):
            found = _find_unencodable(item, f"{path}[{index}]")
            if found:
                return found
        return None
    return path, type(value).__qualname__


def dumps(value: object, *, path: str = "value") -> bytes:
    """Encode ``value`` as msgpack bytes.

    Raises:
        SerializationError: naming the path of the first value that cannot be encoded and its type.
    """
    try:
        return _pack(value)
    except _TooDeep as exc:
        raise SerializationError(path, type(value).__qualname__, str(exc)) from None
    except (_Unencodable, TypeError, ValueError, OverflowError) as exc:
        try:
            found = _find_unencodable(value, path)
        except RecursionError:  # nested deeper than Python recurses: msgpack's limit said so
            found = None
        if found is not None:
            raise SerializationError(found[0], found[1]) from None
        raise SerializationError(path, type(value).__qualname__, str(exc)) from None


def loads(data: bytes, *, what: str = "msgpack data") -> Any:
    """Decode msgpack bytes written by :func:`dumps`; ``what`` names them in errors.

    Raises:
        SerializationError: when the bytes are not a valid encoding, nest too deep, or hold an
            extension type Nuvom does not write.
    """
    try:
        return _unpack(data)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        reason = str(exc) or f"not valid msgpack ({type(exc).__name__})"
        raise SerializationError(what, type(data).__qualname__, reason, decoding=True) from None


def raise_for_call(args: Sequence[object], kwargs: Mapping[str, object]) -> None:
    """Raise naming ``args[i]`` or ``kwargs['k']`` if an argument of a call cannot be encoded.

    Raises:
        SerializationError: naming the argument that cannot be encoded and its type.
    """
    for index, arg in enumerate(args):
        dumps(arg, path=f"args[{index}]")
    for key, arg in kwargs.items():
        dumps(arg, path=f"kwargs[{key!r}]")
