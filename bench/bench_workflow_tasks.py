"""Tasks for the workflow bench (imported by it and by ``nuvom runworker --import``)."""

from nuvom.task import task


@task(name="bench_inc")
def inc(value: int = 0) -> int:
    return value + 1


@task(name="bench_sum")
def total(values: list[int]) -> int:
    return sum(values)
