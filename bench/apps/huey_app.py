"""Huey's no-op task; ``BENCH_HUEY_KIND`` (file, sqlite, redis) picks FileHuey, SqliteHuey or RedisHuey.

``BENCH_HUEY_PATH`` is FileHuey's folder or SqliteHuey's file, ``BENCH_REDIS_URL`` RedisHuey's
server. ``BENCH_HUEY_NOSYNC=1`` turns SQLite's fsync off in this process only: the bench uses it
to fill a queue before a drain, never in a process that is measured.
"""

import os

from done_signal import done
from huey import FileHuey, RedisHuey, SqliteHuey

KIND = os.environ.get("BENCH_HUEY_KIND", "file")
PATH = os.environ.get("BENCH_HUEY_PATH", "huey-data")

if KIND == "file":
    huey = FileHuey("bench", path=PATH)
elif KIND == "sqlite":
    nosync = os.environ.get("BENCH_HUEY_NOSYNC") == "1"
    huey = SqliteHuey("bench", filename=PATH, fsync=False if nosync else None)
elif KIND == "redis":
    huey = RedisHuey("bench", url=os.environ["BENCH_REDIS_URL"])
else:
    raise ValueError(f"BENCH_HUEY_KIND {KIND!r}: use file, sqlite or redis")


@huey.task()
def noop() -> int:
    return done()
