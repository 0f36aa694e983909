"""The build context of `build_docker_image`: a deterministic tar, and the content hash that names it.

The context is always sent to the daemon as a tar made here (docker-py's `custom_context`), never by pointing
the daemon at the user's directory:

- the files are those `docker build` would send: `.dockerignore` is applied with docker-py's own matcher;
- the tar is deterministic (sorted entries, fixed mtime, uid/gid 0, modes reduced to 0644/0755), so an unchanged
  context gives the same bytes, the same hash, and Docker's layer cache hits for every COPY;
- `dockerfile: auto` adds the generated Dockerfile and the offline installs (see dockerfile.py) beside the
  project, which goes under `project/`, so nothing is written into the user's tree.

The content hash is the sha256 of the tar plus every build input that changes the image (build args, target,
platform, labels, squash). Its first 12 hex digits are the default tag.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from deploytool.errors import StepError

TAR_MTIME = 315532800  # 1980-01-01: fixed, so that the same files give the same tar
CHUNK = 1 << 20


@dataclass
class StagedContext:
    file: IO[bytes]
    digest: str  # sha256 hex of the tar and the build inputs
    size: int
    files: int


def dockerignore_patterns(root: Path) -> list[str]:
    """The patterns of `root/.dockerignore` as docker-py reads them (blank lines and comments dropped)."""
    path = root / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(errors="replace").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def context_files(root: Path, patterns: list[str], dockerfile: str) -> list[str]:
    """The paths (relative, POSIX, files and directories) of `root` that the context holds."""
    from docker.utils.build import exclude_paths

    return sorted(str(p).replace(os.sep, "/") for p in exclude_paths(str(root), list(patterns), dockerfile=dockerfile))


def _info(name: str, *, mode: int, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = link
    info.mtime = TAR_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def stage_context(
    root: Path,
    files: Iterable[str],
    *,
    prefix: str = "",
    extra: Iterable[tuple[str, bytes]] = (),
    inputs: dict[str, Any] | None = None,
) -> StagedContext:
    """Write the tar of `files` (relative to `root`, under `prefix`) plus `extra` (name, bytes) to a temp file.

    The temp file is positioned at 0 and deleted when closed. `inputs` are mixed into the digest.
    """
    out = tempfile.TemporaryFile(prefix="deploytool-context-")  # noqa: SIM115 (returned open, closed by the caller)
    count = 0
    try:
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in sorted(extra):
                tar.addfile(_info(name, mode=0o644, size=len(data)), io.BytesIO(data))
                count += 1
            if prefix:
                tar.addfile(_info(prefix.rstrip("/"), mode=0o755, kind=tarfile.DIRTYPE))
            for rel in files:
                count += _add(tar, root, rel, prefix)
        hasher = hashlib.sha256()
        size = out.tell()
        out.seek(0)
        while chunk := out.read(CHUNK):
            hasher.update(chunk)
        hasher.update(json.dumps(inputs or {}, sort_keys=True, default=str).encode())
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return StagedContext(out, hasher.hexdigest(), size, count)


def _add(tar: tarfile.TarFile, root: Path, rel: str, prefix: str) -> int:
    path = root / rel
    try:
        st = path.lstat()
    except FileNotFoundError:  # removed while we walked
        return 0
    name = prefix + rel
    if stat.S_ISDIR(st.st_mode):
        tar.addfile(_info(name, mode=0o755, kind=tarfile.DIRTYPE))
    elif stat.S_ISLNK(st.st_mode):
        tar.addfile(_info(name, mode=0o777, kind=tarfile.SYMTYPE, link=str(path.readlink())))
    elif stat.S_ISREG(st.st_mode):
        mode = 0o755 if st.st_mode & 0o111 else 0o644
        try:
            with path.open("rb") as handle:
                tar.addfile(_info(name, mode=mode, size=st.st_size), handle)
        except PermissionError:
            raise StepError(f"cannot read {path} for the build context", "add it to .dockerignore") from None
    else:  # sockets, fifos, devices: docker build would fail on them too
        return 0
    return 1
