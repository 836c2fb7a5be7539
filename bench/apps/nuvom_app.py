"""Nuvom's no-op task; the backend comes from the ``NUVOM_*`` environment the bench sets."""

from done_signal import done

from nuvom.task import task


@task(name="bench_noop")
def noop() -> int:
    return done()
