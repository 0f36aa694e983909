"""What build and push steps would do, without doing it: `deploytool deploy --dry-run`.

No shell step runs, nothing is built, pushed, cloned or installed. Each step's inputs are rendered as for a real
run (so a missing environment variable is still an error), then one line says what the step would do. Outputs
that only the step can produce are placeholders, `<image_id from step build-image>` (PLACEHOLDER matches them), so
the plan shows where they would go. For `build_docker_image` the tag is computed as a build would compute it (the
content hash of the build context, unless a tag is given; for `dockerfile: auto` too, from the generated
Dockerfile, the deploytool wheel and the project, unless requirements.txt needs a wheelhouse that is not cached)
and Docker is asked, read-only, whether that image already exists (it would be reused) when it can be reached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from deploytool.errors import DeploytoolError, StepError
from deploytool.steps.base import OutputSink, StepContext, as_bool, as_str, describe
from deploytool.steps.registry import STEPS, canonical_step
from deploytool.steps.run import Outputs, Render, StepCall, location

_SHOWN = 200  # characters of a script shown


PLACEHOLDER = re.compile(r"<[\w-]+ from (?:step [\w-]+|a step)>")
"""What a step output known only after the step ran looks like in a dry run's values."""


def placeholder(step_id: str | None, key: str) -> str:
    return f"<{key} from step {step_id}>" if step_id else f"<{key} from a step>"


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
    from deploytool.steps.dockerfile import check_base_image, default_base_image

    image, tag = build.image_reference(ctx, inputs.get("image_name"), inputs.get("tag"))
    dockerfile = as_str("dockerfile", inputs.get("dockerfile")) or "Dockerfile"
    refresh = as_bool("ignore_cache", inputs.get("ignore_cache"), False)
    digest: str | None = None
    root = build._context_dir(ctx, inputs.get("path"), inputs.get("context"))
    context_inputs = {  # what a build hashes with its files (build_docker_image in docker_image.py)
        "buildargs": build._string_map("buildargs", inputs.get("buildargs")),
        "target": inputs.get("target"),
        "platform": inputs.get("platform"),
        "labels": build._string_map("labels", inputs.get("labels")),
        "squash": inputs.get("squash"),
    }
    source = ""
    if dockerfile == "auto":
        base = check_base_image(as_str("base_image", inputs.get("base_image")) or default_base_image(ctx.base_env()))
        source = f" from a generated Dockerfile on {base}"
        output_path = inputs.get("dockerfile_output_path")
        auto = build._auto_context(ctx, root, base, output_path, refresh, context_inputs, offline=True)
        staged = auto[0] if auto is not None else None
    else:
        staged, _ = build._user_context(ctx, root, dockerfile, context_inputs)
    if staged is not None:
        with staged.file:
            digest = staged.digest
    produced.update(image_name=image)
    if tag is None and digest is None:
        return (
            f"build {image}{source}, tagged with the content hash of its context, which is not known yet: it holds "
            "the wheels pip would build for requirements.txt, and a dry run runs no pip (a real deploy builds them "
            "once and caches them; the next dry run computes the tag)"
        )
    tag = tag or (digest or "")[:12]
    reference = f"{image}:{tag}"
    produced.update(tag=tag, image=reference)
    flags = [f for f in ("nocache", "pull") if as_bool(f, inputs.get(f), False)] + (["ignore_cache"] * refresh)
    if flags:
        return f"build {reference}{source} (again, whatever exists: {', '.join(flags)})"
    return f"build {reference}{source}" + _reuse(ctx, reference, digest)


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
