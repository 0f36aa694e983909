"""The dashboard in a real browser (Debian's chromium through Playwright) over a real store, with a real worker
and the real CLI. In CI (CI=true) a missing chromium fails these tests; elsewhere they skip saying why.

Screenshots of each main page are saved under test-artifacts/ui/ (docs/ui.md shows current ones)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.ui.ui_helpers import TOKEN, browser_page, cli_json, dashboard, deploytool, make_project, screenshot, worker

pytestmark = pytest.mark.slow
WAIT_MS = 120_000  # a guard against a hang on a loaded machine, not a speed target


def reload_until(page: Any, url: str, selector: str, text: str) -> None:
    """Load `url` again until `selector` holds the regular expression `text` (no live update for this)."""
    pattern = re.compile(text)
    for _ in range(600):
        page.goto(url)
        if pattern.search(page.locator(selector).inner_text()):
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"{selector} of {url} never showed {text!r}: {page.locator(selector).inner_text()!r}")


def test_pool_worker_run_form_live_logs_cancel(tmp_path: Path) -> None:
    deploytool("work-pool", "create", "local", "--type", "process")
    make_project(tmp_path / "project", pool=False)
    dialogs: list[str] = []
    with dashboard(tmp_path) as (base, _), browser_page() as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        # A pool made in the CLI, no worker yet: NOT_READY, and why.
        page.goto(base + "/work-pools")
        row = page.locator("tr", has_text="local")
        assert "NOT_READY" in row.inner_text() and "no worker has ever polled it" in row.inner_text()

        with worker(tmp_path) as process:
            # A real worker polls: the pool turns READY and the worker is listed on the Workers tab.
            reload_until(page, base + "/work-pools", "tbody", r"\bREADY\b")
            assert "NOT_READY" not in page.locator("tbody").inner_text()
            screenshot(page, "work-pools")
            page.goto(base + "/work-pools/local")
            page.get_by_role("link", name=re.compile("Workers")).click()
            page.wait_for_url(base + "/work-pools/local/workers")
            workers = page.locator("#workers").inner_text()
            assert "ui-test-worker" in workers and "ONLINE" in workers
            screenshot(page, "work-pool-workers")

            # Run a deployment from the form made from its parameter schema; its logs stream until COMPLETED.
            page.goto(base + "/deployments/greet/hello")
            screenshot(page, "deployment")
            page.get_by_role("link", name="Run…").click()
            page.get_by_label(re.compile("^count")).fill("4")
            page.get_by_label(re.compile("^loud")).select_option("true")
            screenshot(page, "run-form")
            page.get_by_role("button", name="Run", exact=True).click()
            page.wait_for_url(re.compile(r"/flow-runs/[0-9a-f]{32}"))
            page.locator("#logs .msg", has_text="hello team #3!").wait_for(timeout=WAIT_MS)
            page.locator("#run-state", has_text="COMPLETED").wait_for(timeout=WAIT_MS)
            # A log line holding HTML is shown as text, not run.
            script = page.locator("#logs .msg", has_text="<script>alert(1)</script>")
            script.first.wait_for(timeout=WAIT_MS)
            assert dialogs == []
            # Once it ended the page reloads itself: the final history, and a Retry button instead of Cancel.
            page.locator("ol.history", has_text="COMPLETED").wait_for(timeout=WAIT_MS)
            page.get_by_role("button", name="Retry run").wait_for(timeout=WAIT_MS)
            assert page.locator("ol.history").inner_text().count("COMPLETED") == 1
            screenshot(page, "flow-run")
            run_id = page.url.split("/")[-1].split("?")[0]
            assert cli_json("flow-run", "inspect", run_id)["state"] == "COMPLETED"

            # Cancel a sleeping run: CANCELLED.
            nap = cli_json("run", "sleepy/nap")["id"]
            page.goto(f"{base}/flow-runs/{nap}")
            page.locator("#logs .msg", has_text="going to sleep").wait_for(timeout=WAIT_MS)
            page.get_by_role("button", name="Cancel run").click()
            page.locator("#run-state", has_text="CANCELLED").wait_for(timeout=WAIT_MS)
            # The ended run's page reloads itself; wait for that reload before navigating away (a goto racing it
            # was aborted by the browser on a loaded machine).
            page.get_by_role("button", name="Retry run").wait_for(timeout=WAIT_MS)
            assert cli_json("flow-run", "inspect", nap)["state"] == "CANCELLED"

            page.goto(base + "/")
            screenshot(page, "overview")
            page.goto(base + "/flow-runs")
            screenshot(page, "flow-runs")
            assert dialogs == []

            # The worker killed with SIGKILL: its pool is NOT_READY at once (not 90 s later), and the page says
            # why in the words of `work-pool ls`.
            process.proc.kill()
            process.proc.wait()
            host, pid = socket.gethostname(), process.proc.pid
            said = f"worker ui-test-worker on {host} is stale: its process (pid {pid}) is gone"
            page.goto(base + "/work-pools")
            row = page.locator("tr", has_text="local").inner_text()
            assert "NOT_READY" in row and said in row
            assert f"pool local is NOT_READY: {said}" in deploytool("work-pool", "ls").stdout


def test_pages_are_usable_with_the_keyboard_and_on_a_phone(tmp_path: Path) -> None:
    make_project(tmp_path / "project")
    deploytool("run", "greet/hello")
    with dashboard(tmp_path) as (base, _), browser_page(width=390, height=844) as page:
        page.goto(base + "/")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        for _ in range(3):
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Work pools"
        page.keyboard.press("Enter")
        page.wait_for_url(base + "/work-pools")
        # Nothing but a table's own scroller is wider than the phone's screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "phone-work-pools")
        page.goto(base + "/flow-runs")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "phone-flow-runs")


def test_a_non_loopback_address_needs_the_token(tmp_path: Path) -> None:
    make_project(tmp_path / "project")
    refused = subprocess.run(
        [sys.executable, "-m", "deploytool", "ui", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1
    assert "not a loopback address" in refused.stderr and "DEPLOYTOOL_UI_TOKEN" in refused.stderr
    env = {**os.environ, "DEPLOYTOOL_UI_TOKEN": TOKEN}
    with dashboard(tmp_path, "--host", "0.0.0.0", env=env) as (base, _), browser_page() as page:
        base = base.replace("0.0.0.0", "127.0.0.1")
        import urllib.error
        import urllib.request

        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(base + "/api/v1/work-pools")
        assert denied.value.code == 401
        request = urllib.request.Request(base + "/api/v1/work-pools", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 200
        page.goto(base + "/work-pools")
        page.wait_for_url(re.compile(r"/login\?next="))
        screenshot(page, "login")
        page.get_by_label("Token").fill("not the token")
        page.get_by_role("button", name="Log in").click()
        assert "That token is not right" in page.content()
        page.get_by_label("Token").fill(TOKEN)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(base + "/work-pools")
        assert "local" in page.locator("tbody").inner_text()
