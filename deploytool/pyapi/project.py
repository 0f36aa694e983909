"""Build a project document (the shape of a deploy.yaml) from the arguments of `Flow.deploy` / `Flow.serve`.

The document goes through `validate_text`, so every check of a project file applies to the Python API too.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from deploytool.errors import ConfigError, ConfigIssue, DeploytoolError

BUILD_ID = "image"


@dataclass(frozen=True)
class FlowSource:
    """Where a flow's function lives: the project directory, the entrypoint relative to it, the script."""

    project_dir: Path
    entrypoint: str
    script: Path

    @property
    def project_file(self) -> Path:
        """The (virtual) project file: paths resolve from its directory, and deployments remember it as their
        source. It is the script itself when the script stands in the project directory."""
        relative = Path(self.entrypoint.rsplit(":", 1)[0])
        if relative.parent == Path():
            return self.script
        return self.project_dir / "__".join(relative.parts)

    @property
    def shown(self) -> str:
        return self.entrypoint.rsplit(":", 1)[0]


def flow_source(fn: Any, cwd: Path | None = None) -> FlowSource:
    """The entrypoint of `fn`: `FILE:QUALNAME`, relative to the project directory.

    The project directory is the current directory when the flow's file is below it (run the script from
    the project's root), else the directory of the flow's file.
    """
    target = inspect.unwrap(fn)
    qualname = getattr(target, "__qualname__", "")
    if not qualname or "<" in qualname:
        raise DeploytoolError(
            f"flow function {qualname or target!r} is not defined at the top level of a module",
            "define the @flow function at module level, so that a worker can import it by name",
        )
    source = inspect.getsourcefile(target)
    if source is None:
        raise DeploytoolError(
            f"the file of flow function {qualname!r} is unknown",
            "define the flow in a .py file (not in an interactive session) and run that file",
        )
    script = Path(source).resolve()
    where = (cwd or Path.cwd()).resolve()
    try:
        relative = script.relative_to(where)
        project_dir = where
    except ValueError:
        relative = Path(script.name)
        project_dir = script.parent
    return FlowSource(project_dir, f"{relative.as_posix()}:{qualname}", script)


def image_parts(image: Any) -> tuple[str, str | None, str, dict[str, Any]]:
    """(name, tag, dockerfile, build options) of `image`: a string `name[:tag]` or a DockerImage."""
    if isinstance(image, str):
        return (*split_tag(image), "auto", {})
    name: Any = getattr(image, "name", None)
    if not isinstance(name, str):
        raise DeploytoolError(
            f"image must be a string or a DockerImage, not {type(image).__name__}",
            'e.g. image="my-image:tutorial" or image=DockerImage("my-image", tag="tutorial")',
        )
    split_name, split = split_tag(name)
    tag: Any = getattr(image, "tag", None)
    if split is not None and tag is not None:
        raise DeploytoolError(
            f"DockerImage {name!r} has a tag in its name and tag={tag!r}", "give the tag in one place only"
        )
    return split_name, tag or split, getattr(image, "dockerfile", "auto"), dict(getattr(image, "build_options", {}))


def split_tag(reference: str) -> tuple[str, str | None]:
    """`registry:5000/team/name:tag` -> (`registry:5000/team/name`, `tag`); no tag -> None."""
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :]
    return reference, None


def schedules_of(
    cron: str | Sequence[str] | None,
    interval: float | timedelta | Sequence[float | timedelta] | None,
    rrule: str | Sequence[str] | None,
    schedules: Sequence[Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    """The deployment's schedules: exactly those the arguments give (none: no schedules), like `serve`."""
    given = [] if schedules is None else _arguments("schedules", schedules, 'e.g. [{"cron": "0 9 * * *"}]')
    result = [dict(_mapping(f"schedules[{i}]", s, 'e.g. {"cron": "0 9 * * *"}')) for i, s in enumerate(given)]
    result += [{"cron": c} for c in _many(cron)]
    result += [{"interval": i.total_seconds() if isinstance(i, timedelta) else i} for i in _many(interval)]
    result += [{"rrule": r} for r in _many(rrule)]
    return result


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | int | float | timedelta):
        return [value]
    return list(value)


def document(
    source: FlowSource,
    *,
    name: str,
    work_pool_name: str,
    image: Any = None,
    build: bool = True,
    push: bool = True,
    job_variables: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
    schedules: list[dict[str, Any]] | None = None,
    tags: Sequence[str] | None = None,
    description: str | None = None,
    version: str | None = None,
    work_queue_name: str | None = None,
    pull: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The deploy.yaml document for one deployment of the flow at `source`."""
    doc: dict[str, Any] = {"name": source.project_dir.name}
    pool: dict[str, Any] = {"name": work_pool_name}
    if work_queue_name is not None:
        pool["work_queue_name"] = work_queue_name
    variables = dict(_mapping("job_variables", job_variables or {}, 'e.g. {"image_pull_policy": "Never"}'))
    if image is not None:
        image_name, tag, dockerfile, options = image_parts(image)
        if build:
            inputs: dict[str, Any] = {"id": BUILD_ID, "image_name": image_name, "dockerfile": dockerfile, **options}
            if tag is not None:
                inputs["tag"] = tag
            doc["build"] = [{"build_docker_image": inputs}]
            reference = _output("image")
            pushed = {"image_name": _output("image_name"), "tag": _output("tag")}
        else:
            if tag is None:
                raise DeploytoolError(
                    f"image {image_name!r} has no tag, and build=False builds nothing to take one from",
                    'name the image with its tag, e.g. image="name:tag"',
                )
            reference = f"{image_name}:{tag}"
            pushed = {"image_name": image_name, "tag": tag}
        if push:
            doc["push"] = [{"push_docker_image": pushed}]
        variables.setdefault("image", reference)
    deployment: dict[str, Any] = {"name": name, "entrypoint": source.entrypoint, "work_pool": pool}
    if variables:
        pool["job_variables"] = variables
    optional = {
        "description": description,
        "version": version,
        "tags": _arguments("tags", tags, 'e.g. ["etl", "nightly"]') if tags is not None else None,
        "parameters": dict(_mapping("parameters", parameters, 'e.g. {"n": 1}')) if parameters is not None else None,
        "schedules": schedules,
        "pull": pull,
    }
    deployment.update({k: v for k, v in optional.items() if v is not None})
    doc["deployments"] = [deployment]
    return doc


def _mapping(argument: str, value: Any, example: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DeploytoolError(f"{argument} must be a mapping (a dict), not {type(value).__name__}", example)
    return value


def _arguments(argument: str, value: Any, example: str) -> list[Any]:
    """A list argument: a list, tuple or set (a lone string is not a list of its characters)."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if not isinstance(value, list | tuple):
        raise DeploytoolError(f"{argument} must be a list, not {type(value).__name__}", example)
    return list(value)


def _output(key: str) -> str:
    return "{{ " + f"{BUILD_ID}.{key}" + " }}"


def load(doc: dict[str, Any], source: FlowSource) -> Any:
    """Validate the document as a project file would be; the Project, or a clear DeploytoolError."""
    from deploytool.config.validate import validate_text

    try:
        text = json.dumps(doc, indent=2, default=_jsonable)
    except (TypeError, ValueError) as exc:
        raise DeploytoolError(f"an argument cannot be stored: {exc}", "pass JSON-compatible values") from exc
    result = validate_text(text, source.project_file, source.shown)
    if result.errors or result.project is None:
        raise ConfigError([_argument_issue(i) for i in result.issues], source.shown)
    return result.project


def _jsonable(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


# Paths of the generated document mapped back to the argument that produced them.
_ARGUMENTS = (
    ("deployments[0].work_pool.job_variables", "job_variables"),
    ("deployments[0].work_pool.work_queue_name", "work_queue_name"),
    ("deployments[0].work_pool.name", "work_pool_name"),
    ("deployments[0].work_pool", "work_pool_name"),
    ("deployments[0].schedules", "schedules"),
    ("deployments[0].entrypoint", "entrypoint"),
    ("deployments[0].name", "name"),
    ("deployments[0]", ""),
    ("build[0].build_docker_image", "image"),
    ("push[0].push_docker_image", "image"),
)


def argument_path(path: str) -> str:
    """`deployments[0].work_pool.job_variables.x` -> `job_variables.x` (also for `deployments[NAME]...`)."""
    if path.startswith("deployments[") and not path.startswith("deployments[0]"):
        path = "deployments[0]" + path[path.index("]") + 1 :]
    for prefix, argument in _ARGUMENTS:
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            rest = path[len(prefix) :].lstrip(".")
            if argument and rest.startswith("["):
                return argument + rest  # `schedules[0].cron`, not `schedules.[0].cron`
            return ".".join(p for p in (argument, rest) if p)
    return path


def _argument_issue(issue: ConfigIssue) -> ConfigIssue:
    return ConfigIssue(issue.file, 0, 0, argument_path(issue.path), issue.message, issue.hint, issue.severity)


def format_error(error: DeploytoolError) -> str:
    """The error as the CLI shows it; issues by argument (`job_variables.x: ...`) since no file has lines."""
    if not isinstance(error, ConfigError):
        return f"Error: {error}"
    lines = []
    for issue in error.issues:
        prefix = "warning: " if issue.severity == "warning" else ""
        path = argument_path(issue.path)
        where = f"{path}: " if path else ""
        hint = f" ({issue.hint})" if issue.hint else ""
        lines.append(f"{issue.file}: {prefix}{where}{issue.message}{hint}")
    lines.append(f"Error: {error.message}")
    return "\n".join(lines)
