"""A real browser (headless Chromium from Debian, driven by Playwright) against ``nuvom dashboard``.

It watches the overview's counts change live while a real worker runs the jobs, opens the failed
job, reads its traceback, logs in with the token, presses retry and sees the job succeed. With
``DASHBOARD_SCREENSHOTS=DIR`` set it saves the overview and the job page there (docs/ holds them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from nuvom import runtime

from ..e2e.helpers import WorkerProcess, wait_until
from ..redis.server import free_port
from .conftest import TOKEN, answers

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: How long the page may take to show a change (several live refreshes, under load).
SEEN_WITHIN_MS = 30_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"),
]


def test_a_browser_sees_jobs_run_live_and_retries_the_failed_one(
    tasks: ModuleType,
    start_worker: Callable[..., WorkerProcess],
    isolated_nuvom: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    for kind in ("QUEUE", "RESULT", "SCHEDULER"):
        monkeypatch.setenv(f"NUVOM_{kind}_BACKEND", "sqlite")
    runtime.reset()
    shots = os.environ.get("DASHBOARD_SCREENSHOTS")

    # Given five jobs and one that fails (its flag file is missing), and the dashboard serving
    for i in range(5):
        tasks.add.delay(i, i)
    flag = isolated_nuvom / "flag"
    failing = tasks.boom.delay(str(flag))
    port = free_port()
    server = start_worker("--port", str(port), command="dashboard", env={"NUVOM_DASHBOARD_TOKEN": TOKEN})
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(base), timeout=30, what=f"the dashboard at {base}\n{server.output()}")

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(SEEN_WITHIN_MS)

        # When the overview is open, it shows the six waiting jobs
        page.goto(f"{base}/")
        waiting = page.locator('tr[data-queue="default"] .waiting')
        sync_api.expect(waiting).to_have_text("6")
        page.evaluate("window.notReloaded = true")

        # And as a real worker runs them, the counts change on the open page, without a reload
        start_worker()
        sync_api.expect(waiting).to_have_text("0")
        failed = page.locator('tr[data-queue="default"] a.failed')
        sync_api.expect(failed).to_have_text("1")
        sync_api.expect(page.locator("#workers td.up")).to_have_count(1)
        assert page.evaluate("window.notReloaded") is True
        if shots:
            page.screenshot(path=str(Path(shots) / "dashboard-overview.png"), full_page=True)

        # When the failed job is opened from the count, its traceback is readable
        failed.click()
        page.locator(f'a[href="/jobs/{failing.id}"]').click()
        sync_api.expect(page.locator("#status")).to_have_text("failed")
        traceback = page.locator("#traceback").inner_text()
        assert "Traceback (most recent call last)" in traceback and "ValueError: boom:" in traceback
        if shots:
            page.screenshot(path=str(Path(shots) / "dashboard-job.png"), full_page=True)

        # When the cause is fixed, the operator logs in with the token and presses retry
        flag.touch()
        page.get_by_text("log in to act").click()
        page.fill('input[name="token"]', TOKEN)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Retry").click()

        # Then the job is sent again and the open page shows it succeed
        sync_api.expect(page.locator("#message")).to_have_text("sent again")
        sync_api.expect(page.locator("#status")).to_have_text("success")
        sync_api.expect(page.locator("#result")).to_have_text("'recovered'")
        browser.close()
    assert failing.get(timeout=10) == "recovered"
