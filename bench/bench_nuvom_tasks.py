"""The Nuvom side of the no-op task (imported by the bench and by ``nuvom runworker --import``)."""

from nuvom.task import task


@task(name="bench_noop")
def noop() -> int:
    return 1
