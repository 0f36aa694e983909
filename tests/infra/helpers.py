"""Helpers shared by the Docker tests: a wheel of this checkout, to install into an image offline."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

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
