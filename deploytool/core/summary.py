"""A validated project, summarised for `deploytool validate` (table and JSON)."""

from __future__ import annotations

from deploytool.records import record

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:  # the project file's parser (yaml) is not for commands that only read the store
    from typing import Any

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


@record
class DeploymentSpecSummary:
    """One deployment of a validated project file, as `validate` lists it."""

    name: str
    flow_name: str
    entrypoint: str
    work_pool: str | None
    work_queue: str | None
    parameters: dict[str, Any]
    schedules: list[dict[str, Any]]
    steps: dict[str, list[str]]  # build, push, pull: the step names of each
    tags: list[str]

    @property
    def schedules_text(self) -> str:
        return schedules_text(self.schedules)

    @property
    def steps_text(self) -> str:
        """How many build, push and pull steps: `1 / 1 / 0`."""
        return " / ".join(str(len(v)) for v in self.steps.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "flow_name": self.flow_name,
            "entrypoint": self.entrypoint,
            "work_pool": self.work_pool,
            "work_queue": self.work_queue,
            "parameters": self.parameters,
            "schedules": self.schedules,
            "schedules_text": self.schedules_text,
            "steps": self.steps,
            "steps_text": self.steps_text,
            "tags": self.tags,
        }


@record
class ProjectSummary:
    """A validated project file and its deployments: the `data` of `validate -o json`."""

    file: str
    name: str | None
    deployments: list[DeploymentSpecSummary]

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "name": self.name, "deployments": [d.to_dict() for d in self.deployments]}


def summarise(project: Project) -> ProjectSummary:
    """The project's deployments with where their runs go, their schedules and their steps."""
    deployments = [
        DeploymentSpecSummary(
            name=spec.name,
            flow_name=spec.flow_name,
            entrypoint=spec.entrypoint,
            work_pool=spec.work_pool,
            work_queue=spec.work_queue,
            parameters=spec.parameters,
            schedules=spec.schedules,
            steps={
                "build": [c.name for c in spec.build],
                "push": [c.name for c in spec.push],
                "pull": [c.name for c in spec.pull],
            },
            tags=spec.tags,
        )
        for spec in project.deployments
    ]
    return ProjectSummary(str(project.file), project.name, deployments)
