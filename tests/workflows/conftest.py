"""Workflow fixtures: tasks registered per test, on the memory backend unless a test says otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from nuvom import current_job, task


@dataclass
class Calls:
    """What the tasks of one test were called with, in call order."""

    seen: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [args for task_name, args in self.seen if task_name == name]


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def tasks(memory_backends: None, calls: Calls) -> Iterator[SimpleNamespace]:
    """Small tasks that record their calls."""

    @task(name="wf.add")
    def add(a: int, b: int) -> int:
        calls.seen.append(("add", (a, b)))
        return a + b

    @task(name="wf.nothing")
    def nothing(*args: Any) -> None:
        calls.seen.append(("nothing", args))
        return None

    @task(name="wf.echo")
    def echo(*args: Any) -> Any:
        calls.seen.append(("echo", args))
        return list(args)

    @task(name="wf.boom", retries=1, retry_delay_secs=0)
    def boom(*args: Any) -> None:
        calls.seen.append(("boom", args))
        raise ValueError(f"boom {args}")

    @task(name="wf.fail_if")
    def fail_if(value: int, bad: tuple[int, ...] = ()) -> int:
        calls.seen.append(("fail_if", (value,)))
        if value in bad:
            raise ZeroDivisionError(f"member {value} fails")
        return value * 10

    @task(name="wf.total")
    def total(values: list[int]) -> int:
        calls.seen.append(("total", (values,)))
        return sum(values)

    @task(name="wf.note")
    def note(*args: Any) -> None:
        calls.seen.append(("note", args))

    @task(name="wf.until_cancelled")
    def until_cancelled(limit: float) -> str:
        job = current_job()
        calls.seen.append(("until_cancelled", (job.id,)))
        job.wait(limit)
        job.check()
        return "not cancelled"

    yield SimpleNamespace(
        **{t.__name__: t for t in (add, nothing, echo, boom, fail_if, total, note, until_cancelled)}
    )
