"""Tasks for ``bench/execution_bench.py`` (a module, so worker children can import it)."""

from nuvom.task import task


@task(name="exec_bench_noop")
def noop() -> int:
    return 1


@task(name="exec_bench_anoop")
async def anoop() -> int:
    return 1


@task(name="exec_bench_burn")
def burn(n: int) -> int:
    """Pure-Python CPU work: ``n`` additions, holding the GIL throughout."""
    total = 0
    for i in range(n):
        total += i
    return total
