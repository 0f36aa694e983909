"""The validated project file as plain data: a Project with its deployments and their effective steps."""

from __future__ import annotations

from pathlib import Path

from deploytool.config.yamlload import Positions
from deploytool.errors import ConfigError, ConfigIssue
from deploytool.records import field, record
from deploytool.steps.registry import canonical_step

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

PROJECT_FILENAMES = ("deploy.yaml", "prefect.yaml")


@record
class StepCall:
    """One step as written: its canonical name, the name used in the file, its inputs and id."""

    name: str
    written_name: str
    inputs: dict[str, Any]
    id: str | None
    path: tuple[str | int, ...]  # where it stands in the file, for errors


@record
class DeploymentSpec:
    name: str
    flow_name: str
    function: str
    entrypoint: str  # as written in the file
    entrypoint_file: Path | None  # the resolved file, when the entrypoint names one
    description: str | None
    version: str | None
    tags: list[str]
    parameters: dict[str, Any]
    parameter_schema: dict[str, Any]
    enforce_parameter_schema: bool
    work_pool: str | None
    work_queue: str | None
    job_variables: dict[str, Any]
    schedules: list[dict[str, Any]]
    schedules_given: bool  # the file says `schedules:` (even []), so a deploy replaces what is stored
    paused: bool | None
    concurrency_limit: dict[str, Any] | None
    build: list[StepCall]
    push: list[StepCall]
    pull: list[StepCall]
    index: int  # position in the file's `deployments` list
    raw: dict[str, Any] = field(repr=False)
    catch_up: str = "latest"  # what the scheduler does with missed runs: all, latest, none (docs/schedules.md)
    crash_retries: dict[str, Any] | None = None  # deploytool.crashretry.normalise of the file's value

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"


@record
class Project:
    file: Path
    name: str | None
    deployments: list[DeploymentSpec]
    build: list[StepCall]
    push: list[StepCall]
    pull: list[StepCall]
    positions: Positions | None = field(default=None, repr=False, compare=False)

    @property
    def base_dir(self) -> Path:
        """Paths in the file are relative to the file's directory, not the caller's."""
        return self.file.parent


def step_calls(value: Any, path: tuple[str | int, ...]) -> list[StepCall]:
    """Steps given as null, one step, or a list of steps; items that are not valid steps are left out
    (validation has already reported them)."""
    if value is None:
        return []
    items = [value] if isinstance(value, dict) else value if isinstance(value, list) else []
    calls = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        written, inputs = next(iter(item.items()))
        canonical = canonical_step(str(written))
        if canonical is None:
            continue
        inputs = dict(inputs) if isinstance(inputs, dict) else {}
        step_id = inputs.pop("id", None)
        inputs.pop("requires", None)
        item_path = (*path, index) if isinstance(value, list) else path
        calls.append(StepCall(canonical, str(written), inputs, step_id, item_path))
    return calls


def effective_steps(
    deployment: dict[str, Any], top: dict[str, Any], action: str, index: int
) -> tuple[list[StepCall], bool]:
    """A deployment's own `build`/`push`/`pull` replaces the file's (no merging, as in Prefect).

    Returns the steps and whether they are the deployment's own.
    """
    if action in deployment:
        return step_calls(deployment[action], ("deployments", index, action)), True
    return step_calls(top.get(action), (action,)), False


def schedules_of(deployment: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The deployment's schedules, folding in the legacy singular `schedule`."""
    given = "schedules" in deployment
    given_items = deployment.get("schedules")
    items = given_items if isinstance(given_items, list) else []
    legacy = deployment.get("schedule")
    if isinstance(legacy, dict) and legacy:
        items = [legacy, *items]
        given = True
    return [dict(s) for s in items if isinstance(s, dict)], given


def normalise_concurrency(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return {"limit": value, "collision_strategy": "ENQUEUE"}
    if isinstance(value, dict):
        return {"collision_strategy": "ENQUEUE", **value}
    return None


def normalise_tags(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(t) for t in value]
    return []


@record(frozen=False)
class LoadResult:
    """What loading a project file gave: the Project (None when it could not be built) and every issue."""

    file: Path
    project: Project | None
    issues: list[ConfigIssue] = field(default_factory=list)

    @property
    def errors(self) -> list[ConfigIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[ConfigIssue]:
        return [i for i in self.issues if i.severity == "warning"]

    def require_valid(self) -> Project:
        """The Project, or a ConfigError carrying every issue (warnings included, for context)."""
        if self.errors or self.project is None:
            raise ConfigError(self.issues, str(self.file))
        return self.project


def display_name(path: Path, cwd: Path | None = None) -> str:
    """The file's name as the user would type it: relative to cwd when below it."""
    where = cwd or Path.cwd()
    try:
        return str(path.resolve().relative_to(where.resolve()))
    except ValueError:
        return str(path)
