"""The raw SQLite limit: bare claim transactions per second on a minimal WAL table."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any


def claim_rate(folder: Path, seconds: float, rows: int = 200_000) -> dict[str, Any]:
    """``BEGIN IMMEDIATE``; ``UPDATE … RETURNING`` the oldest ready row; ``COMMIT`` — in a loop.

    WAL with ``synchronous=NORMAL`` (what nuvom-sqlite uses by default), one connection, no
    payload decoding: the most a claim-per-transaction design can reach on this disk and CPU.
    """
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("CREATE TABLE jobs (seq INTEGER PRIMARY KEY, ready INTEGER, token TEXT, payload BLOB)")
        conn.execute("CREATE INDEX jobs_ready ON jobs (seq) WHERE ready = 1")
        conn.executemany("INSERT INTO jobs (ready, payload) VALUES (1, ?)", [(b"x" * 64,)] * rows)
        count, start = 0, time.perf_counter()
        end = start + seconds
        while time.perf_counter() < end:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "UPDATE jobs SET ready = 0, token = 't' WHERE seq = "
                "(SELECT seq FROM jobs WHERE ready = 1 ORDER BY seq LIMIT 1) RETURNING seq, payload"
            ).fetchall()
            conn.execute("COMMIT")
            count += 1
        return {"transactions": count, "per_s": count / (time.perf_counter() - start)}
    finally:
        conn.close()
