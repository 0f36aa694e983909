"""What build and push steps would do, without doing it: `deploytool deploy --dry-run`.

No shell step runs, nothing is built, pushed, cloned or installed. Each step's inputs are rendered as for a real
run (so a missing environment variable is still an error), then one line says what the step would do. Outputs
that only the step can produce are placeholders, `<build-image.image_id: known after the step runs>`, so the
plan shows where they would go. For `build_docker_image` the tag is computed as a build would compute it (the
content hash of the build context, unless a tag is given) and Docker is asked, read-only, whether that image
already exists (it would be reused) when it can be reached.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from deploytool.errors import DeploytoolError, StepError
from deploytool.steps.base import OutputSink, StepContext, as_str, describe
from deploytool.steps.registry import STEPS, canonical_step
from deploytool.steps.run import Outputs, Render, StepCall, location

_SHOWN = 200  # characters of a script shown


def placeholder(step_id: str | None, key: str) -> str:
    return f"<{step_id or 'step'}.{key}: known after the step runs>"


def preview_steps(
    calls: Sequence[StepCall],
    *,
    phase: str,
    cwd: Path,
    render: Render,
    on_output: OutputSink | None = None,
    secrets: Iterable[str] = (),
    outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> Outputs:
    """Say what each of `calls` would do (through `on_output`) and return placeholder outputs by step id."""
    ctx = StepContext(cwd=Path(cwd).resolve(), on_output=on_output, secrets={s for s in secrets if s})
    results: Outputs = {key: dict(value) for key, value in (outputs or {}).items()}
    for index, call in enumerate(calls):
        name = canonical_step(call.name) or call.name
        where = describe(phase, index, len(calls), name, call.id)
        if name not in STEPS:
            raise StepError(f"{where}: unknown step {call.written_name!r}")
        inputs = render(dict(call.inputs), results, location(call))
        produced = {key: placeholder(call.id, key) for key in STEPS[name].outputs}
        try:
            action = _describe(ctx, name, inputs, produced)
        except DeploytoolError as exc:
            raise StepError(f"{where}: {exc.message}", exc.hint) from None
        ctx.emit("stdout", f"dry run: {where}: would {ctx.redact(action)}")
        if call.id:
            results[call.id] = produced
    return results


def _describe(ctx: StepContext, name: str, inputs: dict[str, Any], produced: dict[str, Any]) -> str:
    if name == "run_shell_script":
        script = str(inputs.get("script", "")).strip()
        shown = script if len(script) <= _SHOWN else script[: _SHOWN - 3] + "..."
        return f"run the script: {shown!r}"
    if name == "set_working_directory":
        directory = ctx.resolve(as_str("directory", inputs.get("directory")))
        ctx.cwd = directory
        produced["directory"] = str(directory)
        return f"change the working directory to {directory}"
    if name == "git_clone":
        return f"clone {inputs.get('repository')!r}"
    if name == "pip_install_requirements":
        return f"pip install -r {inputs.get('requirements_file') or 'requirements.txt'}"
    if name == "build_docker_image":
        return _build(ctx, inputs, produced)
    if name == "push_docker_image":
        from deploytool.steps.docker_image import image_reference, registry_of

        image, tag = image_reference(ctx, inputs.get("image_name"), inputs.get("tag"))
        produced.update(image_name=image, tag=tag or produced["tag"], image=f"{image}:{tag or produced['tag']}")
        return f"push {produced['image']} to {registry_of(image)}"
    return f"run {name}"


def _build(ctx: StepContext, inputs: dict[str, Any], produced: dict[str, Any]) -> str:
    from deploytool.steps import docker_image as build

    image, tag = build.image_reference(ctx, inputs.get("image_name"), inputs.get("tag"))
    dockerfile = as_str("dockerfile", inputs.get("dockerfile")) or "Dockerfile"
    digest: str | None = None
    if tag is None and dockerfile != "auto":
        root = build._context_dir(ctx, inputs.get("path"), inputs.get("context"))
        context_inputs = {  # what a build hashes with its files (build_docker_image in docker_image.py)
            "buildargs": build._string_map("buildargs", inputs.get("buildargs")),
            "target": inputs.get("target"),
            "platform": inputs.get("platform"),
            "labels": build._string_map("labels", inputs.get("labels")),
            "squash": inputs.get("squash"),
        }
        staged, _ = build._user_context(ctx, root, dockerfile, context_inputs)
        with staged.file:
            digest = staged.digest
        tag = digest[:12]
    produced.update(image_name=image)
    if tag is None:
        return f"build {image} from a generated Dockerfile, tagged with the content hash of its context"
    reference = f"{image}:{tag}"
    produced.update(tag=tag, image=reference)
    return f"build {reference}" + _reuse(ctx, reference, digest)


def _reuse(ctx: StepContext, reference: str, digest: str | None) -> str:
    from deploytool.steps import docker_image as build

    try:
        existing, built_from = build._existing(build.docker_api(ctx), reference)
    except DeploytoolError:
        return " (Docker cannot be reached: whether it would be reused is not known)"
    if existing is None:
        return " (no such image yet: it would be built)"
    if digest is not None and built_from == digest:
        return f" (reused: {existing[:19]} was built from the same context)"
    return f" (the image {existing[:19]} exists with other content: it would be rebuilt)"
