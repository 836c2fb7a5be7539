"""Each script carries only the parts of lib.lua it uses, and every one of them it needs."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import redis

from nuvom_redis import scripts

LUA = resources.files("nuvom_redis") / "lua"
SCRIPTS = sorted(entry.name[: -len(".lua")] for entry in LUA.iterdir() if entry.name.endswith(".lua"))
SCRIPTS.remove("lib")
LIB_NAMES = set(re.findall(r"^local (?:function )?(\w+)", (LUA / "lib.lua").read_text(), re.MULTILINE))


def defined(source: str) -> set[str]:
    return set(re.findall(r"^local (?:function )?(\w+)", source, re.MULTILINE))


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_defines_every_lib_name_it_uses(name: str, redis_url: str) -> None:
    source = scripts.source(name)
    code = re.sub(r"--[^\n]*", "", source)
    # a call of a lib function or a use of a lib constant (UPPER_CASE), not a field's: found
    # without the tokenizer that source() resolves names with
    used = {
        lib_name
        for lib_name in LIB_NAMES
        if re.search(rf"(?:(?<![\w.])|(?<=\.\.)){lib_name}(?:\s*\(|\b)", code)
        and (lib_name.isupper() or re.search(rf"(?:(?<![\w.])|(?<=\.\.)){lib_name}\s*\(", code))
    }
    missing = used - defined(source)
    assert not missing, f"{name}.lua uses {sorted(missing)} of lib.lua without its definition"
    # Redis compiles it (a part cut at the wrong line would not)
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.script_load(source)
    finally:
        client.close()


def test_a_send_carries_only_what_it_calls() -> None:
    # Given the source of the script a .delay() runs
    source = scripts.source("send")
    # Then it has what it calls, and none of the claim's and completion's helpers
    assert {"save_record", "enqueue_job", "place", "member_at", "PRIORITY_STEP"} <= defined(source)
    assert not {"save_records", "settle_nack", "settle_acks", "held", "unpack_meta", "read"} & defined(source)


def test_names_used_skips_fields_keys_comments_and_strings() -> None:
    lua = "-- wake(k)\nlocal t = {wake = 'held', x = now_us()}\nt.place = k.member .. 's'\nreturn a == b, t:forget() .. us(c)"
    assert scripts._names_used(lua) == {"local", "t", "now_us", "k", "return", "a", "b", "us", "c"}
