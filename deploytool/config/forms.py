"""Forms Prefect 3 accepts that deploytool reads differently or not at all: each is rewritten to the form that means
the same, with an issue that says how to write it. In a prefect.yaml they are warnings (the file deploys, as it
does with Prefect; `--strict` makes them errors); in a deploy.yaml they are errors with the same fix."""

from __future__ import annotations

from deploytool.config.keypath import format_path
from deploytool.config.yamlload import Path, Positions
from deploytool.errors import ConfigIssue

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

_SECTIONS = ("build", "push", "pull")


def normalise_forms(
    data: dict[str, Any], positions: Positions, filename: str, *, prefect_compat: bool
) -> list[ConfigIssue]:
    """Rewrite Prefect's accepted forms in `data` (in place) and return an issue for each."""
    issues: list[ConfigIssue] = []
    severity = "warning" if prefect_compat else "error"

    def note(path: Path, message: str, fix: str) -> None:
        line, col = positions.locate(path)
        where = format_path(data, path)
        hint = f"{fix}; --strict makes this an error" if prefect_compat else fix
        issues.append(ConfigIssue(filename, line, col, where, message, hint, severity))

    def sections(container: dict[str, Any], base: Path) -> None:
        for key in _SECTIONS:
            if container.get(key) == {} and key in container:
                note((*base, key), f"`{key}: {{}}` is an empty mapping, read as no {key} steps", f"write `{key}: []`")
                container[key] = []

    sections(data, ())
    items = data.get("deployments")
    for index, raw in enumerate(items if isinstance(items, list) else []):
        if not isinstance(raw, dict):
            continue
        here: Path = ("deployments", index)
        sections(raw, here)
        if "pull" in raw and raw["pull"] is None:
            note(
                (*here, "pull"),
                "`pull: null` in a deployment is read as the file's pull steps (as Prefect does), not as none",
                "remove the key (it means the same), or write `pull: []` for no pull steps",
            )
            del raw["pull"]
        limit = raw.get("concurrency_limit")
        if isinstance(limit, dict) and "grace_period_seconds" in limit:
            note(
                (*here, "concurrency_limit", "grace_period_seconds"),
                "`grace_period_seconds` is not used: a run's slot is freed when the run ends, or when its worker's "
                "lease expires",
                "remove it (a worker's --lease sets how soon a dead worker's slots are freed)",
            )
            del limit["grace_period_seconds"]
        if raw.get("schedule") == [] and "schedule" in raw:
            note((*here, "schedule"), "`schedule: []` is read as no schedule", "remove it, or write `schedules: []`")
            del raw["schedule"]
        if "schedules" in raw and raw["schedules"] is None:
            note(
                (*here, "schedules"),
                "`schedules: null` is read as no schedules (a redeploy removes the deployment's schedules)",
                "write `schedules: []`, or remove the key",
            )
            raw["schedules"] = []
    return issues
