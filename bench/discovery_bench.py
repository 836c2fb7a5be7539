"""Time task discovery on a generated project: a cold scan, then a warm rescan with the manifest.

Run: /work/venv/bin/python bench/discovery_bench.py [--files 5000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from nuvom.discovery import Manifest, scan

TASK_FILE = '''"""Module {i}."""

from nuvom import task


@task(queue="q{q}", retries={r}, tags=["bench"])
def job_{i}(x: int) -> int:
    return x + {i}


@task
async def async_job_{i}() -> None:
    pass
'''

PLAIN_FILE = '''"""Module {i}: helpers, no tasks."""

import os


class Helper{i}:
    def method(self, value: int) -> int:
        return value * {i}


def helper_{i}(path: str) -> bool:
    return os.path.exists(path)
'''


def generate(root: Path, files: int) -> int:
    """Write ``files`` modules in packages of 50; every fourth module has two tasks."""
    tasks = 0
    for i in range(files):
        pkg = root / "src" / "proj" / f"pkg{i // 50}"
        if i % 50 == 0:
            pkg.mkdir(parents=True)
            (pkg / "__init__.py").write_text("")
        if i % 4 == 0:
            (pkg / f"mod{i}.py").write_text(TASK_FILE.format(i=i, q=i % 3, r=i % 5))
            tasks += 2
        else:
            (pkg / f"mod{i}.py").write_text(PLAIN_FILE.format(i=i))
    (root / "src" / "proj" / "__init__.py").write_text("")
    return tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        expected = generate(root, args.files)
        manifest_path = Path(tmp) / "data" / "manifest.json"

        start = time.perf_counter()
        cold = scan(root)
        cold.manifest.save(manifest_path)
        cold_secs = time.perf_counter() - start
        assert len(cold.tasks) == expected, (len(cold.tasks), expected)

        start = time.perf_counter()
        previous, warning = Manifest.load(manifest_path)
        warm = scan(root, previous=previous)
        warm.manifest.save(manifest_path)
        warm_secs = time.perf_counter() - start
        assert warning is None and warm.parsed_files == 0 and warm.tasks == cold.tasks

        print(f"files={cold.scanned_files} tasks={len(cold.tasks)} parsed_cold={cold.parsed_files}")
        print(f"cold scan + save:        {cold_secs:.3f} s")
        print(f"warm load + scan + save: {warm_secs:.3f} s (parsed {warm.parsed_files})")


if __name__ == "__main__":
    main()
