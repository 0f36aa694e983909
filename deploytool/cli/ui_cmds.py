"""`deploytool ui`: serve the web dashboard. The CLI never imports deploytool.ui (DESIGN.md's layers): this
command checks its options, then replaces its process with `python -m deploytool.ui`, handing the settings
over in the environment (DEPLOYTOOL_UI_*; the token never appears in a process listing that way)."""

from __future__ import annotations

import os
import sys

from deploytool.cli.params import Group, Option

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

GROUP = "ui"
commands = Group()
GROUPS = (commands,)

# The environment deploytool.ui.__main__ reads (deploytool.ui.config.from_env).
HOST_ENV = "DEPLOYTOOL_UI_HOST"
PORT_ENV = "DEPLOYTOOL_UI_PORT"
TOKEN_ENV = "DEPLOYTOOL_UI_TOKEN"
READ_ONLY_ENV = "DEPLOYTOOL_UI_READ_ONLY"
OPEN_ENV = "DEPLOYTOOL_UI_OPEN"


@commands.command(GROUP)
def ui(
    host: Annotated[str, Option("--host", help="The address to serve on; not a loopback one needs a token.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, Option("--port", min=0, max=65535, help="The TCP port (0 picks a free one).")] = 4200,
    open_browser: Annotated[bool, Option("--open", help="Open the dashboard in the default browser.")] = False,
    token: Annotated[
        str | None,
        Option(
            "--token",
            help=f"Pages need a login with it, the API a bearer token. Better: set {TOKEN_ENV}"
            " (a command line is visible to other users).",
            show_default=False,
        ),
    ] = None,
    read_only: Annotated[bool, Option("--read-only", help="Serve no actions: only pages and reads.")] = False,
) -> None:
    """Serve the web dashboard over the store: pools, workers, deployments, runs and their live logs. See docs/ui.md."""
    env = dict(os.environ)
    env.update(
        {
            HOST_ENV: host,
            PORT_ENV: str(port),
            READ_ONLY_ENV: "1" if read_only else "",
            OPEN_ENV: "1" if open_browser else "",
        }
    )
    if token is not None:
        env[TOKEN_ENV] = token
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "deploytool.ui"], env)
