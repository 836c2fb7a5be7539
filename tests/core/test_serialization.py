"""msgpack round trips, error paths, and the promise that pickle is never used."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import re
import uuid
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import msgpack
import pytest

import nuvom
from nuvom import serialization, task
from nuvom.errors import SerializationError
from nuvom.record import ErrorInfo, JobRecord, JobStatus
from nuvom.runtime import get_queue, get_results

SRC = Path(nuvom.__file__).resolve().parent
PARIS = ZoneInfo("Europe/Paris")
PLUS_0530 = dt.timezone(dt.timedelta(hours=5, minutes=30))


def roundtrip(value: object) -> object:
    return serialization.loads(serialization.dumps(value))


def assert_same(got: object, want: object) -> None:
    """Equal, and of exactly the same type, all the way down."""
    assert type(got) is type(want), f"{got!r} is {type(got)}, want {type(want)}"
    assert got == want
    if isinstance(want, dict):
        assert isinstance(got, dict)
        assert list(got) == list(want)
        for key in want:
            assert_same(got[key], want[key])
            # the key itself keeps its type too (a tuple key stays a tuple)
            (got_key,) = [k for k in got if k == key]
            assert type(got_key) is type(key)
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple))
        for g, w in zip(got, want):
            assert_same(g, w)
    elif isinstance(want, (dt.datetime, dt.time)):
        assert isinstance(got, (dt.datetime, dt.time))
        assert got.fold == want.fold
        assert got.tzinfo == want.tzinfo
        assert got.utcoffset() == want.utcoffset()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(dt.datetime(2024, 2, 29, 13, 14, 15, 123456), id="naive-datetime"),
        pytest.param(dt.datetime(2024, 2, 29, 13, 14, 15, 1, tzinfo=dt.timezone.utc), id="utc"),
        pytest.param(dt.datetime(2024, 7, 1, 8, 0, tzinfo=PLUS_0530), id="fixed-offset"),
        pytest.param(dt.datetime(2024, 7, 1, 8, 0, tzinfo=PARIS), id="paris-summer"),
        pytest.param(dt.datetime(2024, 1, 15, 8, 0, tzinfo=PARIS), id="paris-winter"),
        pytest.param(dt.datetime(2021, 10, 31, 2, 30, tzinfo=PARIS, fold=0), id="paris-ambiguous-fold0"),
        pytest.param(dt.datetime(2021, 10, 31, 2, 30, tzinfo=PARIS, fold=1), id="paris-ambiguous-fold1"),
        pytest.param(dt.datetime(2021, 10, 31, 2, 30, fold=1), id="naive-fold1"),
        pytest.param(dt.time(2, 30, fold=1), id="time-fold1"),
        pytest.param(dt.date(1999, 12, 31), id="date"),
        pytest.param(dt.time(23, 59, 59, 999999), id="time"),
        pytest.param(dt.time(6, 30, tzinfo=PLUS_0530), id="time-offset"),
        pytest.param(dt.timedelta(days=3, seconds=7, microseconds=11), id="timedelta"),
        pytest.param(dt.timedelta(days=-1, seconds=5), id="negative-timedelta"),
        pytest.param(uuid.UUID("12345678-1234-5678-1234-567812345678"), id="uuid"),
        pytest.param(Decimal("3.14159265358979323846264338327950288"), id="decimal"),
        pytest.param(Decimal("-0.000"), id="decimal-negative-zero"),
        pytest.param(Decimal("-Infinity"), id="decimal-infinity"),
        pytest.param(Decimal("1E+3"), id="decimal-exponent"),
        pytest.param({1, "two", 3.0}, id="set"),
        pytest.param(frozenset({"a", "b"}), id="frozenset"),
        pytest.param((1, "a", None), id="tuple"),
        pytest.param((), id="empty-tuple"),
        pytest.param(b"\x00\xffbinary", id="bytes"),
        pytest.param(2**64 - 1, id="uint64-max"),
        pytest.param(-(2**63), id="int64-min"),
        pytest.param(
            {
                "list_of_tuples": [(1, 2), (3, (4, 5))],
                "dict_of_sets": {"s": {1, 2}, "fs": frozenset({(1, 2)})},
                (1, "key"): [dt.date(2020, 1, 1), {"deep": [uuid.UUID(int=7), Decimal("1.5")]}],
                "bytes": [b"a", b""],
                "none": None,
                "bool": [True, False],
                "float": 1.5,
            },
            id="nested",
        ),
    ],
)
def test_round_trip_keeps_type_and_value(value: object) -> None:
    assert_same(roundtrip(value), value)


def test_ambiguous_paris_times_keep_their_fold_and_offset() -> None:
    first = dt.datetime(2021, 10, 31, 2, 30, tzinfo=PARIS, fold=0)
    second = first.replace(fold=1)

    got_first, got_second = roundtrip([first, second])

    assert got_first.utcoffset() == dt.timedelta(hours=2)
    assert got_second.utcoffset() == dt.timedelta(hours=1)
    assert got_second.fold == 1
    assert got_second.tzinfo is PARIS  # ZoneInfo caches by key: the same zone object comes back
    assert got_second.timestamp() - got_first.timestamp() == 3600


def test_decimal_nan_round_trips() -> None:
    got = roundtrip(Decimal("NaN"))

    assert type(got) is Decimal
    assert got.is_nan()


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 2**100], ids=["2**64", "-2**63-1", "2**100"])
def test_big_ints_beyond_64_bits_round_trip(value: int) -> None:
    assert_same(roundtrip(value), value)


def test_error_names_the_path_and_type_of_a_nested_value() -> None:
    class Opaque:
        pass

    with pytest.raises(SerializationError) as info:
        serialization.dumps([1, [2, Opaque()]])

    assert info.value.path == "value[1][1]"
    assert info.value.type_name.endswith("Opaque")
    assert "value[1][1]" in str(info.value)
    assert "Opaque" in str(info.value)


def test_error_names_dict_keys_in_the_path() -> None:
    with pytest.raises(SerializationError) as info:
        serialization.dumps({"outer": {"inner": object()}})

    assert info.value.path == "value['outer']['inner']"
    assert info.value.type_name == "object"


def test_loads_of_garbage_raises_serialization_error() -> None:
    with pytest.raises(SerializationError):
        serialization.loads(b"\xc1\xc1\xc1")


@task(name="core_ser_record")
def core_ser_record(*args, **kwargs):
    return None


def assert_nothing_stored() -> None:
    assert get_queue().qsize() == 0
    assert get_results().list_jobs() == []


def test_delay_with_unserializable_positional_argument_names_args_index_and_stores_nothing() -> None:
    with pytest.raises(SerializationError) as info:
        core_ser_record.delay(1, object())

    assert info.value.path == "args[1]"
    assert info.value.type_name == "object"
    assert "args[1]" in str(info.value) and "object" in str(info.value)
    assert_nothing_stored()


def test_delay_with_unserializable_keyword_argument_names_it_and_stores_nothing() -> None:
    class When:
        pass

    with pytest.raises(SerializationError) as info:
        core_ser_record.delay(1, 2, when=When())

    assert info.value.path == "kwargs['when']"
    assert "kwargs['when']" in str(info.value)
    assert "When" in str(info.value)
    assert_nothing_stored()


def test_delay_names_the_nested_path_of_a_value_inside_a_list_argument() -> None:
    with pytest.raises(SerializationError) as info:
        core_ser_record.delay("ok", [1, 2, {3}, object()])

    assert info.value.path == "args[1][3]"
    assert info.value.type_name == "object"
    assert_nothing_stored()


def test_map_with_one_bad_item_stores_nothing() -> None:
    with pytest.raises(SerializationError):
        core_ser_record.map([1, 2, (3, object())])

    assert_nothing_stored()


def test_delay_with_an_int_beyond_64_bits_round_trips_or_names_the_argument() -> None:
    try:
        job = core_ser_record.delay(1, 2**100)
    except SerializationError as exc:
        assert exc.path == "args[1]"
        assert exc.type_name == "int"
    else:
        assert job.info()["args"] == [1, 2**100]


_PICKLE_IMPORT = re.compile(r"\b(c?pickle|dill|cloudpickle|_pickle|shelve|marshal)\b")


def test_no_pickle_import_anywhere_in_the_source_tree() -> None:
    py_files = sorted(SRC.rglob("*.py"))
    assert len(py_files) > 10, f"expected the nuvom source tree under {SRC}"
    offenders = []
    for path in py_files:
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source, filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, (ast.Name, ast.Attribute))
                and (getattr(node.func, "id", None) or getattr(node.func, "attr", None))
                in ("__import__", "import_module")
            ):
                names = [
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
            else:
                continue
            if any(_PICKLE_IMPORT.search(name) for name in names):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    # Templates and other text files are not parsed as Python: a plain-text grep covers them.
    for path in sorted(p for p in SRC.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if re.match(r"\s*(import|from)\s+(c?pickle|dill|cloudpickle|_pickle)\b", line):
                offenders.append(f"{path.relative_to(SRC)}:{number}")
    assert offenders == [], f"pickle-like imports at {offenders}"


def nested_tuple(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = (value,)
    return value


def test_tuples_nest_up_to_the_bound_and_no_deeper_on_encode() -> None:
    assert roundtrip(nested_tuple(serialization.MAX_EXT_DEPTH)) == nested_tuple(serialization.MAX_EXT_DEPTH)
    for depth in (serialization.MAX_EXT_DEPTH + 1, 300, 5000):
        with pytest.raises(SerializationError, match="result of type tuple .* nest more than 32 deep"):
            serialization.dumps(nested_tuple(depth), path="result")


def test_a_deep_argument_is_refused_naming_it() -> None:
    from nuvom.message import JobMessage

    with pytest.raises(SerializationError, match=r"kwargs\['tree'\] of type tuple"):
        JobMessage.encode_call((1,), {"tree": nested_tuple(300)})


def test_bytes_nested_too_deep_fail_to_decode_without_crashing() -> None:
    # A 1-tuple is ext 7 around a one-item array; 300 of them crashed the C stack before the bound.
    data = msgpack.packb(1)
    for _ in range(300):
        data = msgpack.packb(msgpack.ExtType(7, b"\x91" + data))
    with pytest.raises(SerializationError, match="^cannot decode the result: .* nest more than 32 deep"):
        serialization.loads(data, what="the result")


def test_deep_lists_fail_cleanly_both_ways() -> None:
    value: object = 1
    for _ in range(5000):
        value = [value]
    with pytest.raises(SerializationError, match="value of type list"):
        serialization.dumps(value)
    with pytest.raises(SerializationError, match="cannot decode"):
        serialization.loads(b"\x91" * 5000 + b"\x01")


def test_an_unknown_extension_code_is_a_decode_error_not_a_raw_ext_type() -> None:
    with pytest.raises(SerializationError, match="^cannot decode msgpack data: extension type 99"):
        serialization.loads(msgpack.packb([msgpack.ExtType(99, b"x")]))


def test_a_record_dict_holds_its_fields_in_order_and_rebuilds_it_also_after_replace() -> None:
    record = JobRecord("j", "t", "default", JobStatus.QUEUED, b"\x90", b"\x80", created_at=1.0)
    failed = record.replace(status=JobStatus.FAILED, error=ErrorInfo("E", "boom"), attempts=2)
    names = [field.name for field in dataclasses.fields(JobRecord)]
    for each in (record, failed):
        data = each.to_dict()
        assert list(data) == names
        assert JobRecord.from_dict(msgpack.unpackb(msgpack.packb(data))) == each
    stored = failed.to_dict()
    assert stored["status"] == "failed"
    assert stored["error"] == {"type": "E", "message": "boom", "traceback": ""}
