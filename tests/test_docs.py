"""Guards: every hook has its section in docs/plugins/hooks.md, and the public API is pinned."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import nuvom
from nuvom.plugins import hookspecs

DOCS = Path(__file__).parent.parent / "docs"


def hook_specs() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(function)
        for name, function in vars(hookspecs).items()
        if name.startswith("nuvom_") and callable(function)
    }


def test_every_hook_has_a_heading_with_its_signature() -> None:
    headings = re.findall(r"^## `(nuvom_\w+)\((.*?)\)", (DOCS / "plugins" / "hooks.md").read_text(), re.M)
    documented = {name: args for name, args in headings}
    for name, signature in hook_specs().items():
        assert name in documented, f"docs/plugins/hooks.md has no heading for {name}"
        names = [a.split(":")[0].strip() for a in documented[name].split(",") if a.strip()]
        assert names == list(signature.parameters), f"{name}: the heading's arguments differ from the spec"


def test_the_public_api_is_pinned() -> None:
    assert sorted(nuvom.__all__) == [
        "ArgumentsTooLarge",
        "CurrentJob",
        "Job",
        "JobCancelled",
        "JobFailed",
        "JobStatus",
        "NuvomError",
        "Retry",
        "Schedule",
        "SerializationError",
        "Settings",
        "Signature",
        "Task",
        "__version__",
        "chain",
        "current_job",
        "get_chain",
        "get_group",
        "get_job",
        "get_schedule",
        "get_settings",
        "group",
        "task",
    ]
    for name in nuvom.__all__:
        assert hasattr(nuvom, name)


def test_every_conformance_check_is_listed_in_the_docs() -> None:
    from nuvom.testing.suite import QueueBackendSuite, ResultBackendSuite, SchedulerBackendSuite

    listed = (DOCS / "plugins" / "conformance.md").read_text()
    for suite in (QueueBackendSuite, ResultBackendSuite, SchedulerBackendSuite):
        for name in dir(suite):
            if name.startswith("test_"):
                assert f"`{name.removeprefix('test_')}`" in listed, f"{name} is missing from conformance.md"
