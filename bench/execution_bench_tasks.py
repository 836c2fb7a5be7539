"""No-op tasks for ``bench/execution_bench.py`` (a module, so worker children can import it)."""

from nuvom.task import task


@task(name="exec_bench_noop")
def noop() -> int:
    return 1


@task(name="exec_bench_anoop")
async def anoop() -> int:
    return 1
