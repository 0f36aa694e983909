"""The checksum that keeps what cli/helpgen.py records (help screens, parameter tables) from being used stale.

A command's recorded help screens and parameters are used only while the sources they were made from are
unchanged: its module, the shared declarations and drawing, and the modules it takes help texts, defaults or
commands from. Standard library only: every start of a command computes the checksum of its module.
"""

from __future__ import annotations

import os

# Besides a command's own module, the files its help screens and parameters are made from: shared options and
# drawing, and the modules a command module takes help texts, defaults or commands from (pool types, the
# worker's defaults, `deployment run` from run_cmds).
HELP_SOURCES = ("cli/app.py", "cli/params.py", "cli/output.py", "cli/helpformat.py")
MODULE_HELP_SOURCES = {
    "pool_cmds": ("pooltypes.py",),
    "worker_cmds": ("pooltypes.py", "worker/options.py", "cli/worker_list_cmds.py"),
    "run_cmds": ("cli/run_output.py",),
    "deploy_cmds": ("cli/run_cmds.py", "cli/run_output.py"),
}


def help_fingerprint(module: str) -> int | None:
    """A checksum of the sources of the commands in `module` (None: a source is missing)."""
    import zlib

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    checksum = 0
    for name in (f"cli/{module}.py", *HELP_SOURCES, *MODULE_HELP_SOURCES.get(module, ())):
        try:
            with open(os.path.join(package, *name.split("/")), "rb") as fh:
                source = fh.read()
        except OSError:
            return None
        checksum = zlib.crc32(source.replace(b"\r\n", b"\n"), checksum)
    return checksum
