"""Guard: no module of a package's src/ or of examples/ runs over 500 lines (one job per module)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent.parent
LIMIT = 500


def lines_of_each_module() -> dict[str, int]:
    paths = [*ROOT.glob("nuvom-*/src/**/*.py"), *ROOT.glob("examples/**/*.py")]
    return {path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines()) for path in paths}


def test_no_module_is_over_500_lines() -> None:
    over = {path: lines for path, lines in lines_of_each_module().items() if lines > LIMIT}
    assert over == {}
