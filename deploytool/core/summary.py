"""A validated project, summarised for `deploytool validate` (table and JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the project file's parser (yaml) is not for commands that only read the store
    from deploytool.config import Project


def schedules_text(schedules: list[dict[str, Any]]) -> str:
    parts = []
    for schedule in schedules:
        for kind in ("cron", "interval", "rrule"):
            if kind in schedule:
                text = f"{kind} {schedule[kind]}"
                if schedule.get("timezone"):
                    text += f" ({schedule['timezone']})"
                if schedule.get("active") is False:
                    text += " [inactive]"
                parts.append(text)
    return ", ".join(parts) or "-"


def summarise(project: Project) -> dict[str, Any]:
    deployments = []
    for spec in project.deployments:
        steps = {action: [c.name for c in getattr(spec, action)] for action in ("build", "push", "pull")}
        deployments.append(
            {
                "name": spec.name,
                "flow_name": spec.flow_name,
                "entrypoint": spec.entrypoint,
                "work_pool": spec.work_pool,
                "work_queue": spec.work_queue,
                "parameters": spec.parameters,
                "schedules": spec.schedules,
                "schedules_text": schedules_text(spec.schedules),
                "steps": steps,
                "steps_text": " / ".join(str(len(v)) for v in steps.values()),
                "tags": spec.tags,
            }
        )
    return {"file": str(project.file), "name": project.name, "deployments": deployments}
