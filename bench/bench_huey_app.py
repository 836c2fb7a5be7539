"""The Huey side of the no-op task; the instance is chosen by environment variables.

``BENCH_HUEY_KIND`` is ``file`` (FileHuey, a directory) or ``sqlite`` (SqliteHuey, a database
file) and ``BENCH_HUEY_PATH`` names the directory or file. ``BENCH_HUEY_NOSYNC=1`` turns SQLite's
fsync off for this process only; the bench uses it to fill a queue quickly before a drain, never
in a process that is measured.
"""

import os

from huey import FileHuey, SqliteHuey

KIND = os.environ.get("BENCH_HUEY_KIND", "file")
PATH = os.environ.get("BENCH_HUEY_PATH", "huey-data")

if KIND == "file":
    huey = FileHuey("bench", path=PATH)
elif KIND == "sqlite":
    huey = SqliteHuey(
        "bench", filename=PATH, fsync=False if os.environ.get("BENCH_HUEY_NOSYNC") == "1" else None
    )
else:
    raise ValueError(f"BENCH_HUEY_KIND {KIND!r}: use file or sqlite")


@huey.task()
def noop() -> int:
    return 1
