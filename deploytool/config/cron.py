"""croniter, imported without the process it starts to learn the interpreter's word size.

croniter (7.0) asks at import whether Python runs in 32 bits, through `platform.architecture()`, which runs
`file -b PYTHON` in a subprocess: a fork and an exec (and `file` reading its magic database) at every start of a
command that reads a cron schedule (`validate`, `deployment ls`, a worker's scheduler), about as much CPU as the
bare interpreter's start. For the interpreter itself the pointer size gives the same answer, which is what
platform.architecture falls back to when `file` is missing; it answers while croniter is imported, and
platform.architecture is itself again afterwards.
"""

from __future__ import annotations

import platform
import struct
import sys

TYPE_CHECKING = False  # not typing's
if TYPE_CHECKING:
    from croniter import CroniterBadDateError, CroniterError, croniter


def _import_croniter() -> None:
    if "croniter" in sys.modules:
        return
    architecture = platform.architecture

    def word_size(executable: str = sys.executable, bits: str = "", linkage: str = "") -> tuple[str, str]:
        if executable != sys.executable:
            return architecture(executable, bits, linkage)
        return f"{struct.calcsize('P') * 8}bit", linkage

    platform.architecture = word_size
    try:
        import croniter  # noqa: F401
    finally:
        platform.architecture = architecture


if not TYPE_CHECKING:
    _import_croniter()
    from croniter import CroniterBadDateError, CroniterError, croniter

__all__ = ["CroniterBadDateError", "CroniterError", "croniter"]
