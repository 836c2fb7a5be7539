"""The examples of docs/workflows.md run as they are."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflows.md"


@pytest.mark.timeout(30)
def test_the_workflow_page_examples_run(memory_backends: None, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = [
        textwrap.dedent(b) for b in re.findall(r"^ *```python\n(.*?)^ *```", DOC.read_text(), re.S | re.M)
    ]
    assert len(blocks) >= 6
    exec(compile("\n".join(blocks), str(DOC), "exec"), {"__name__": "docs_workflows"})  # noqa: S102
    assert "notify (5, 'done')" in capsys.readouterr().out
