"""`deploytool ui` as a command: the rest of the CLI never loads the web stack, and bad options are clear."""

from __future__ import annotations

import subprocess
import sys

from tests.ui.ui_helpers import deploytool


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_the_cli_never_imports_the_dashboard_or_its_libraries() -> None:
    loaded = _modules_after("from deploytool.cli.app import build_app; build_app(None); build_app('ui')")
    assert not {m for m in loaded if m.split(".")[0] in ("starlette", "uvicorn", "anyio", "httpx")}
    assert not {m for m in loaded if m.startswith("deploytool.ui")}


def test_ui_help_and_bad_options() -> None:
    help_text = deploytool("ui", "--help").stdout
    for option in ("--host", "--port", "--open", "--token", "--read-only"):
        assert option in help_text
    bad = deploytool("ui", "--port", "70000", check=False)
    assert bad.returncode == 2 and "70000" in bad.stderr


def test_a_short_token_or_a_taken_port_is_a_clear_error() -> None:
    import os
    import socket

    env = {**os.environ, "DEPLOYTOOL_UI_TOKEN": "short"}
    short = subprocess.run([sys.executable, "-m", "deploytool", "ui"], capture_output=True, text=True, env=env)
    assert short.returncode == 1 and "at least 16" in short.stderr and "Traceback" not in short.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = subprocess.run(
            [sys.executable, "-m", "deploytool", "ui", "--port", port], capture_output=True, text=True
        )
    assert busy.returncode == 1 and f"cannot serve on 127.0.0.1:{port}" in busy.stderr
    assert "Traceback" not in busy.stderr
