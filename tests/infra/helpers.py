"""Helpers shared by the Docker tests: an image of flows with this checkout installed offline (from a wheel made
here), and the deployments and containers of a docker pool's runs."""

from __future__ import annotations

import base64
import hashlib
import textwrap
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deploytool import jobvars
from deploytool.infra.docker_config import RUN_ID_LABEL
from deploytool.models import Deployment, WorkPool
from deploytool.store import Store

REPO = Path(__file__).resolve().parents[2]


def build_wheel(directory: Path) -> Path:
    """A wheel of the deploytool checkout (its package files only), made without any build backend or index."""
    files = sorted(p for p in (REPO / "deploytool").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    dist = "deploytool-0.0.0.dist-info"
    contents: dict[str, bytes] = {str(p.relative_to(REPO)): p.read_bytes() for p in files}
    contents[f"{dist}/METADATA"] = b"Metadata-Version: 2.1\nName: deploytool\nVersion: 0.0.0\n"
    contents[f"{dist}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for name, data in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    contents[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / "deploytool-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return wheel


def flows_image(
    client: Any, base_image: str, labels: dict[str, str], context: Path, flows: str, name: str, *, label: bool = False
) -> str:
    """Build an image FROM `base_image` with this checkout installed (build_wheel) and `flows` (dedented) as
    /opt/flows/flows.py in its working directory, in the folder `context`, with `labels`; its tag,
    `deploytool-test/NAME:<random>`. With `label`, its Dockerfile sets the labels too (LABEL)."""
    wheel = build_wheel(context)
    (context / "flows.py").write_text(textwrap.dedent(flows))
    dockerfile = (
        f"FROM {base_image}\n"
        f"COPY {wheel.name} /tmp/\n"
        f"RUN pip install --no-deps --no-index /tmp/{wheel.name} && rm /tmp/{wheel.name}\n"
        "WORKDIR /opt/flows\n"
        "COPY flows.py /opt/flows/\n"
    )
    if label:
        dockerfile += "LABEL " + " ".join(f'"{k}"="{v}"' for k, v in labels.items()) + "\n"
    (context / "Dockerfile").write_text(dockerfile)
    tag = f"deploytool-test/{name}:{uuid.uuid4().hex[:12]}"
    client.images.build(path=str(context), tag=tag, rm=True, forcerm=True, labels=labels)
    return tag


@contextmanager
def docker_store(home: Path, pool: str) -> Iterator[Store]:
    """The store of DEPLOYTOOL_HOME `home`, with the docker pool `pool` (its type's default base job template)."""
    with Store.open(home / "deploytool.db") as opened:
        opened.pools.create(WorkPool(pool, "docker", base_job_template=jobvars.default_base_job_template("docker")))
        yield opened


def docker_deployment(
    store: Store, pool: str, image: str, entry: str, labels: dict[str, str], **job_variables: Any
) -> Deployment:
    """The deployment `ENTRY/d` of the flow `entry` of flows_image's image, on the docker pool `pool`."""
    variables = {"image": image, "image_pull_policy": "Never", "labels": dict(labels), **job_variables}
    stored, _ = store.deployments.upsert(
        Deployment(flow_name=entry, name="d", entrypoint=f"flows.py:{entry}", pool_name=pool, job_variables=variables)
    )
    return stored


def containers_of(client: Any, run_id: str) -> list[Any]:
    """The run's containers (summaries: no inspect per container, which races their removal)."""
    return list(client.api.containers(all=True, filters={"label": f"{RUN_ID_LABEL}={run_id}"}))
