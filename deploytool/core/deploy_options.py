"""What `deploytool deploy` is asked for on the command line (or by Flow.deploy): shared by selection
(core/deploy.py) and resolution (core/resolve.py), which therefore do not import each other both ways."""

from __future__ import annotations

from deploytool.records import field, record

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any


@record(frozen=False)
class DeployOptions:
    """What the command line asks for. Overrides apply to every selected deployment."""

    names: list[str] = field(default_factory=list)
    all: bool = False
    dry_run: bool = False
    strict: bool = False  # warnings (forms Prefect accepts, ignored job variables) are errors
    prune: bool = False
    pool: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    job_variables: dict[str, Any] = field(default_factory=dict)
    schedules: list[dict[str, Any]] | None = None  # --cron/--interval/--rrule replace the file's schedules
