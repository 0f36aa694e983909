"""The `push_docker_image` step (deploy time) through docker-py's low-level API.

docker is imported inside the functions only. The password of `credentials` is registered as a secret, so it is
replaced by `***` in every line and error.
"""

from __future__ import annotations

import re
from typing import Any

from deploytool.errors import StepError
from deploytool.steps.base import StepContext, as_bool, as_str, as_str_list
from deploytool.steps.docker_image import check_tag, docker_api, image_reference, registry_of
from deploytool.steps.docker_progress import DockerStream

# --- push --------------------------------------------------------------------------------------------------


def push_docker_image(
    ctx: StepContext,
    /,
    *,
    image_name: Any,
    tag: Any = None,
    credentials: Any = None,
    additional_tags: Any = None,
    ignore_cache: Any = False,
    build_backend: Any = None,
) -> dict[str, Any]:
    name, given = image_reference(ctx, image_name, tag)
    if given is None:
        raise StepError("push_docker_image needs a tag", "e.g. tag: '{{ build-image.tag }}' (the build step's id)")
    extra_tags = [check_tag(t) for t in as_str_list("additional_tags", additional_tags)]
    as_bool("ignore_cache", ignore_cache, False)  # accepted for Prefect files: a push is never skipped
    if as_str("build_backend", build_backend) not in (None, "docker-py"):
        raise StepError(f"build_backend {build_backend!r} is not supported", "deploytool pushes with docker-py")
    registry = registry_of(name)
    auth = _auth_config(ctx, credentials, registry)
    api = docker_api(ctx)
    for each in [given, *extra_tags]:
        _push_one(ctx, api, name, each, registry, auth)
    return {"image_name": name, "tag": given, "image": f"{name}:{given}", "additional_tags": extra_tags}


def _auth_config(ctx: StepContext, credentials: Any, registry: str) -> dict[str, str] | None:
    """docker-py's auth_config from `credentials` ({username, password, registry_url}); the password is a secret."""
    if credentials is None or credentials == {}:
        return None
    if not isinstance(credentials, dict):
        raise StepError(
            "credentials must be a mapping with username and password (and registry_url)",
            "e.g. credentials: '{{ prefect.blocks.docker-registry-credentials.NAME }}'",
        )
    username, password = credentials.get("username"), credentials.get("password")
    ctx.add_secret(password if isinstance(password, str) else None)
    if not isinstance(username, str) or not username or not isinstance(password, str) or not password:
        raise StepError("credentials need both a username and a password")
    url = credentials.get("registry_url")
    server = url if isinstance(url, str) and url else registry
    bare = re.sub(r"^https?://", "", server).rstrip("/")
    if bare.removesuffix("/v1").removesuffix("/v2") not in (registry, f"index.{registry}", f"registry-1.{registry}"):
        ctx.emit("stderr", f"note: credentials are for {server}, but the image is pushed to {registry}")
    return {"username": username, "password": password, "serveraddress": server}


def _push_one(ctx: StepContext, api: Any, name: str, tag: str, registry: str, auth: dict[str, str] | None) -> None:
    import docker

    ref = f"{name}:{tag}"
    stream = DockerStream(ctx, "push", ref)
    ctx.emit("stdout", f"pushing {ref} to {registry}")
    try:
        for event in api.push(name, tag=tag, stream=True, decode=True, auth_config=auth):
            stream.feed(event)
        stream.finish()
    except docker.errors.APIError as exc:
        reason = exc.explanation or str(exc)
        raise StepError(f"push of {ref} to {registry} failed: {reason}", _push_hint(reason, auth, registry)) from None
    except docker.errors.DockerException as exc:
        raise StepError(f"push of {ref} to {registry} failed: {exc}") from None
    if stream.error is not None:
        raise StepError(f"push of {ref} to {registry} failed: {stream.error}", _push_hint(stream.error, auth, registry))
    if stream.digest:
        ctx.emit("stdout", f"pushed {ref} ({stream.digest})")


def _push_hint(reason: str, auth: dict[str, str] | None, registry: str) -> str | None:
    lowered = reason.lower()
    if "http response to https client" in lowered:
        return (
            f"{registry} speaks plain HTTP: the Docker daemon allows that only for 127.0.0.0/8 and the registries "
            "listed in its insecure-registries (daemon.json)"
        )
    if any(word in lowered for word in ("connection refused", "no such host", "i/o timeout", "network is unreachable")):
        return (
            f"is the registry {registry} running, and reachable from the Docker daemon? "
            "(the daemon connects to it, not deploytool); the registry is the host part of image_name"
        )
    if "does not exist locally" in lowered or "no such image" in lowered:
        return "build it first (build_docker_image), and push the same image_name and tag"
    if any(word in lowered for word in ("unauthorized", "authentication required", "denied", "credentials")):
        if auth is None:
            return "the registry wants credentials: give `credentials` (username, password, registry_url)"
        return "check the username and password in `credentials`"
    return None
