"""The `build_docker_image` step (deploy time) through docker-py's low-level API, and the image-name rules
shared with `push_docker_image` (docker_push.py).

docker is imported inside the functions only: pull steps and the engine never pay for it. See docs/steps.md
("Docker steps") for the inputs, the default tag, reuse, and `dockerfile: auto`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import deploytool
from deploytool.errors import StepError
from deploytool.steps.base import StepContext, as_bool, as_str, as_str_list
from deploytool.steps.docker_context import context_files, dockerignore_patterns, stage_context
from deploytool.steps.docker_progress import DockerStream
from deploytool.steps.dockerfile import (
    cached_wheelhouse,
    check_base_image,
    default_base_image,
    deploytool_wheel,
    render_dockerfile,
    wheelhouse_dir,
)

NAMESPACE_ENVS = ("DEPLOYTOOL_DEFAULT_DOCKER_BUILD_NAMESPACE", "PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE")
LABEL_PREFIX = "org.deploytool"
HASH_LABEL = f"{LABEL_PREFIX}.context-hash"
CLIENT_TIMEOUT_S = 3600  # a build step can be silent for a long time
AUTO_EXCLUDES = (".git", "**/__pycache__", "**/*.pyc", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache")
OUTSIDE_DOCKERFILE = ".deploytool.Dockerfile"
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


# --- names -------------------------------------------------------------------------------------------------


def image_reference(ctx: StepContext, image_name: Any, tag: Any) -> tuple[str, str | None]:
    """(repository, tag) from the inputs: whitespace and upper case are errors, a `:tag` in the name is split
    off, and a name without a namespace gets `$DEPLOYTOOL_DEFAULT_DOCKER_BUILD_NAMESPACE` (or Prefect's) prefixed."""
    name = as_str("image_name", image_name, required=True) or ""
    given = as_str("tag", tag)
    if any(ch.isspace() for ch in name):
        raise StepError(f"image_name {name!r} contains whitespace")
    last = name.rsplit("/", 1)[-1]
    if "@" in name:
        raise StepError(f"image_name {name!r} has a digest", "give the repository name, and a tag in `tag`")
    if ":" in last:
        name, _, in_name = name.rpartition(":")
        if given and given != in_name:
            raise StepError(f"image_name {image_name!r} has the tag {in_name!r} but input tag is {given!r}")
        given = in_name
    if "/" not in name:
        env = ctx.base_env()
        namespace = next((env[k].strip().strip("/") for k in NAMESPACE_ENVS if env.get(k, "").strip()), "")
        if namespace:
            name = f"{namespace}/{name}"
    path_part = name.split("/", 1)[1] if _has_registry(name) else name
    if path_part != path_part.lower() or not name:
        raise StepError(f"image_name {name!r} is not a valid repository name", "repository names are lower case")
    if given is not None:
        check_tag(given)
    return name, given


def check_tag(tag: str) -> str:
    if not _TAG.match(tag):
        raise StepError(f"tag {tag!r} is not a valid Docker tag", "letters, digits, '_', '.', '-'; at most 128")
    return tag


def _has_registry(name: str) -> bool:
    first, sep, _ = name.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def registry_of(name: str) -> str:
    """The registry a repository name points at (`docker.io` when it names none)."""
    return name.partition("/")[0] if _has_registry(name) else "docker.io"


def docker_api(ctx: StepContext) -> Any:
    """A docker-py APIClient for the daemon the environment names (DOCKER_HOST, ...)."""
    try:
        import docker

        return docker.from_env(timeout=CLIENT_TIMEOUT_S, environment=ctx.base_env()).api
    except Exception as exc:
        where = ctx.base_env().get("DOCKER_HOST") or "the default socket"
        raise StepError(f"cannot connect to the Docker daemon at {where}: {exc}", "is dockerd running?") from None


def _tail(ctx: StepContext, error: str | None = None) -> str:
    """The output tail for an error message, without the error line itself (already in the message)."""
    kept = list(ctx.tail)
    if kept and error is not None and kept[-1] == ctx.redact(error):
        kept.pop()
    return "\n".join(f"  | {line}" for line in kept)


# --- build -------------------------------------------------------------------------------------------------


def build_docker_image(
    ctx: StepContext,
    /,
    *,
    image_name: Any,
    tag: Any = None,
    dockerfile: Any = "Dockerfile",
    additional_tags: Any = None,
    ignore_cache: Any = False,
    persist_dockerfile: Any = False,
    dockerfile_output_path: Any = "Dockerfile.generated",
    build_backend: Any = None,
    path: Any = None,
    context: Any = None,
    platform: Any = None,
    base_image: Any = None,
    buildargs: Any = None,
    labels: Any = None,
    nocache: Any = False,
    pull: Any = False,
    target: Any = None,
    network_mode: Any = None,
    extra_hosts: Any = None,
    cache_from: Any = None,
    rm: Any = True,
    forcerm: Any = False,
    shmsize: Any = None,
    squash: Any = None,
) -> dict[str, Any]:
    name, tag_given = image_reference(ctx, image_name, tag)
    extra_tags = [check_tag(t) for t in as_str_list("additional_tags", additional_tags)]
    if as_str("build_backend", build_backend) not in (None, "docker-py"):
        raise StepError(f"build_backend {build_backend!r} is not supported", "deploytool builds with docker-py")
    root = _context_dir(ctx, path, context)
    nocache_b = as_bool("nocache", nocache, False)
    pull_b = as_bool("pull", pull, False)
    args = _string_map("buildargs", buildargs)
    user_labels = _string_map("labels", labels)
    dockerfile_s = as_str("dockerfile", dockerfile) or "Dockerfile"
    inputs = {"buildargs": args, "target": target, "platform": platform, "labels": user_labels, "squash": squash}
    refresh = as_bool("ignore_cache", ignore_cache, False)
    base: str | None = None
    if dockerfile_s == "auto":
        base = check_base_image(as_str("base_image", base_image) or default_base_image(ctx.base_env()))
        auto = _auto_context(ctx, root, base, dockerfile_output_path, refresh, inputs)
        if auto is None:  # only an offline staging gives none
            raise StepError("the build context of dockerfile: auto could not be staged")
        staged, dockerfile_in_tar, text = auto
        if as_bool("persist_dockerfile", persist_dockerfile, False):
            out = root / (as_str("dockerfile_output_path", dockerfile_output_path) or "Dockerfile.generated")
            out.write_text(text)
            ctx.emit("stdout", f"wrote the generated Dockerfile to {out}")
    else:
        staged, dockerfile_in_tar = _user_context(ctx, root, dockerfile_s, inputs)
    with staged.file:
        final_tag = tag_given or staged.digest[:12]
        ref = f"{name}:{final_tag}"
        all_labels = {
            **user_labels,
            f"{LABEL_PREFIX}.version": deploytool.__version__,
            HASH_LABEL: staged.digest,
            f"{LABEL_PREFIX}.dockerfile": dockerfile_s,
        }
        api = docker_api(ctx)
        before_id, before_hash = _existing(api, ref)
        reuse = before_id is not None and before_hash == staged.digest and not (refresh or nocache_b or pull_b)
        image_id = before_id if reuse else None
        if image_id is not None:
            ctx.emit("stdout", f"reusing {ref} ({image_id[:19]}): the build context is unchanged")
        else:
            ctx.emit("stdout", f"building {ref} ({staged.files} files, {staged.size / 1e6:.1f} MB context)")
            kwargs = {
                "platform": as_str("platform", platform),
                "target": as_str("target", target),
                "network_mode": as_str("network_mode", network_mode),
                "extra_hosts": extra_hosts or None,
                "cache_from": as_str_list("cache_from", cache_from) or None,
                "shmsize": int(shmsize) if shmsize is not None else None,
                "squash": as_bool("squash", squash, False) or None,
            }
            image_id = _run_build(
                ctx,
                api,
                staged.file,
                ref,
                dockerfile_in_tar,
                args,
                all_labels,
                kwargs,
                flags=(nocache_b, pull_b, as_bool("rm", rm, True), as_bool("forcerm", forcerm, False)),
                base=base if dockerfile_s == "auto" else None,
            )
        rebuilt = before_id is not None and before_id != image_id
        if before_id is not None and rebuilt:
            ctx.emit("stdout", f"image {ref} rebuilt (content changed): it was {before_id[:19]}, now {image_id[:19]}")
        for extra in extra_tags:
            _tag(api, image_id, name, extra)
    return {
        "image_name": name,
        "tag": final_tag,
        "image": ref,
        "image_id": image_id,
        "additional_tags": extra_tags,
        "rebuilt": rebuilt,
    }


def _context_dir(ctx: StepContext, path: Any, context: Any) -> Path:
    path_s, context_s = as_str("path", path), as_str("context", context)
    if path_s and context_s and ctx.resolve(path_s) != ctx.resolve(context_s):
        raise StepError(f"path {path_s!r} and context {context_s!r} name different directories", "give one")
    root = ctx.resolve(path_s or context_s)
    if not root.is_dir():
        raise StepError(
            f"build context {root} is not a directory",
            "path (or context) is relative to the project file's directory; by default it is that directory",
        )
    return root


def _string_map(name: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StepError(f"input {name!r} must be a mapping")
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool):
            out[str(key)] = "true" if item else "false"
        elif item is None:
            raise StepError(f"{name}.{key} has no value")
        else:
            out[str(key)] = str(item)
    return out


def _auto_context(
    ctx: StepContext,
    root: Path,
    base: str,
    output_path: Any,
    refresh: bool,
    inputs: dict[str, Any],
    *,
    offline: bool = False,
) -> tuple[Any, str, str] | None:
    """The staged context of `dockerfile: auto`. `offline` (a dry run): build no wheelhouse; None when one would
    have to be built (requirements.txt, and none cached, or `refresh`)."""
    wheel = deploytool_wheel()
    extra: list[tuple[str, bytes]] = [(f"dist/{wheel.name}", wheel.data)]
    requirements = root / "requirements.txt"
    if requirements.is_file():
        if offline:
            cached = None if refresh else cached_wheelhouse(requirements, ctx)
            if cached is None:
                return None
            wheels = cached
        else:
            wheels = wheelhouse_dir(requirements, refresh=refresh, ctx=ctx)
        extra.append(("deps/requirements.txt", requirements.read_bytes()))
        extra += [(f"deps/wheels/{w.name}", w.read_bytes()) for w in sorted(wheels.iterdir()) if w.is_file()]
    text = render_dockerfile(
        base, wheel_name=wheel.name, has_requirements=requirements.is_file(), project_name=root.resolve().name
    )
    extra.append(("Dockerfile", text.encode()))
    excluded = [*AUTO_EXCLUDES, as_str("dockerfile_output_path", output_path) or "Dockerfile.generated"]
    files = context_files(root, [*dockerignore_patterns(root), *excluded], ".dockerignore")
    if not [f for f in files if f != ".dockerignore"]:  # docker always sends .dockerignore itself
        ctx.emit(
            "stderr",
            f"note: no file of {root} goes into the image ({root / '.dockerignore'} excludes them all): the flows "
            "must come from pull steps (git_clone); re-include them with `!` lines (e.g. `!flows/`) otherwise",
        )
    staged = stage_context(root, files, prefix="project/", extra=extra, inputs=inputs)
    return staged, "Dockerfile", text


def _user_context(ctx: StepContext, root: Path, dockerfile: str, inputs: dict[str, Any]) -> tuple[Any, str]:
    path = (root / dockerfile).resolve()
    if not path.is_file():
        raise StepError(f"Dockerfile {path} does not exist", "dockerfile is relative to the build context; or `auto`")
    extra: list[tuple[str, bytes]] = []
    try:
        in_tar = path.relative_to(root.resolve()).as_posix()
    except ValueError:  # outside the context: sent beside it, as docker build does
        in_tar = OUTSIDE_DOCKERFILE
        extra.append((in_tar, path.read_bytes()))
    files = [f for f in context_files(root, dockerignore_patterns(root), in_tar) if f != OUTSIDE_DOCKERFILE]
    return stage_context(root, files, extra=extra, inputs=inputs), in_tar


def _existing(api: Any, ref: str) -> tuple[str | None, str | None]:
    """The id of the local image `ref` and the context hash it was built from ((None, None): no such image)."""
    import docker

    try:
        info = api.inspect_image(ref)
    except docker.errors.ImageNotFound:
        return None, None
    except docker.errors.APIError as exc:
        raise StepError(f"cannot inspect {ref}: {exc.explanation or exc}") from None
    labels = (info.get("Config") or {}).get("Labels") or {}
    return str(info["Id"]), labels.get(HASH_LABEL)


def _base_image_missing(api: Any, base: str, reason: str) -> StepError | None:
    """The one-line error for a build that failed because its base image is neither here nor pullable."""
    import docker

    try:
        api.inspect_image(base)
        return None  # it is here: the build failed for another reason
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError:
        return None
    first = next((line.strip() for line in reason.splitlines() if line.strip()), "")
    return StepError(
        f"the base image {base} is not on this Docker host and cannot be pulled ({first[:200]})",
        f"pull or build it here (docker pull {base}), or name one this host has: `base_image: python:3.12-slim`"
        f" in the build step, or DEPLOYTOOL_BASE_IMAGE=registry.example.com/python:3.12-slim",
    )


def _run_build(
    ctx: StepContext,
    api: Any,
    fileobj: Any,
    ref: str,
    dockerfile: str,
    buildargs: dict[str, str],
    labels: dict[str, str],
    kwargs: dict[str, Any],
    *,
    flags: tuple[bool, bool, bool, bool],
    base: str | None = None,
) -> str:
    """Build; `base` (the base image of `dockerfile: auto`) turns a failure to get it into one clear line."""
    import docker

    nocache, pull, rm, forcerm = flags
    stream = DockerStream(ctx, "build", ref)
    try:
        events = api.build(
            fileobj=fileobj,
            custom_context=True,
            tag=ref,
            dockerfile=dockerfile,
            decode=True,
            buildargs=buildargs or None,
            labels=labels,
            nocache=nocache,
            pull=pull,
            rm=rm,
            forcerm=forcerm,
            **{k: v for k, v in kwargs.items() if v is not None},
        )
        for event in events:
            stream.feed(event)
        stream.finish()
    except docker.errors.APIError as exc:
        stream.finish()
        reason = str(exc.explanation or exc)
        missing = _base_image_missing(api, base, reason) if base else None
        if missing is not None:
            raise missing from None
        raise StepError(f"docker build of {ref} failed: {reason}\n{_tail(ctx)}".rstrip()) from None
    except docker.errors.DockerException as exc:
        raise StepError(f"docker build of {ref} failed: {exc}\n{_tail(ctx)}".rstrip()) from None
    if stream.error is not None:
        missing = _base_image_missing(api, base, stream.error) if base else None
        if missing is not None:
            raise missing
        raise StepError(f"docker build of {ref} failed: {stream.error}\n{_tail(ctx, stream.error)}".rstrip())
    try:
        return str(api.inspect_image(ref)["Id"])
    except docker.errors.APIError as exc:
        raise StepError(f"docker build of {ref} ended but the image is missing: {exc}") from None


def _tag(api: Any, image_id: str, name: str, tag: str) -> None:
    import docker

    try:
        api.tag(image_id, repository=name, tag=tag, force=True)
    except docker.errors.APIError as exc:
        raise StepError(f"cannot tag {image_id[:19]} as {name}:{tag}: {exc.explanation or exc}") from None
