"""set_working_directory and pip_install_requirements for real (pip installs a wheel built here, offline)."""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path

import pytest

from deploytool.errors import StepError
from deploytool.steps.base import StepContext
from deploytool.steps.pip import pip_command, pip_install_requirements
from deploytool.steps.workdir import set_working_directory


def test_set_working_directory_moves_the_context_not_the_process(ctx: StepContext, workdir: Path) -> None:
    (workdir / "a" / "b").mkdir(parents=True)
    before = Path.cwd()
    assert set_working_directory(ctx, directory="a") == {"directory": str(workdir / "a")}
    assert set_working_directory(ctx, directory="b") == {"directory": str(workdir / "a" / "b")}
    assert ctx.cwd == workdir / "a" / "b"
    assert Path.cwd() == before


def test_set_working_directory_missing(ctx: StepContext, workdir: Path) -> None:
    (workdir / "file").write_text("")
    with pytest.raises(StepError) as err:
        set_working_directory(ctx, directory="nope")
    assert str(workdir / "nope") in err.value.message
    assert str(workdir) in (err.value.hint or "")
    with pytest.raises(StepError, match="not a directory"):
        set_working_directory(ctx, directory="file")


def _wheel(dist: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel, written by hand so that nothing needs an index or a build backend."""
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = dist / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


@pytest.fixture
def pip_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Install into a directory of the test's own (PIP_TARGET), never into the shared virtualenv; never the network.
    target = tmp_path / "target"
    monkeypatch.setenv("PIP_TARGET", str(target))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    return target


def test_pip_installs_requirements(ctx: StepContext, workdir: Path, pip_target: Path) -> None:
    project = workdir / "project"
    (project / "wheels").mkdir(parents=True)
    _wheel(project / "wheels", "dtinypkg", "0.1")
    (project / "reqs.txt").write_text("--find-links ./wheels\ndtinypkg==0.1\n")
    out = pip_install_requirements(ctx, directory="project", requirements_file="reqs.txt", stream_output=False)
    assert "Successfully installed dtinypkg-0.1" in out["stdout"]
    assert (pip_target / "dtinypkg" / "__init__.py").read_text() == "VERSION = '0.1'\n"


def test_pip_failure_reports_exit_code_and_stderr(ctx: StepContext, workdir: Path, pip_target: Path) -> None:
    (workdir / "requirements.txt").write_text("dtool-no-such-package-xyz==1.0\n")
    with pytest.raises(StepError) as err:
        pip_install_requirements(ctx)
    assert "pip install -r requirements.txt exited with code 1" in err.value.message
    assert "dtool-no-such-package-xyz" in err.value.message


def test_pip_missing_requirements_file(ctx: StepContext, workdir: Path) -> None:
    with pytest.raises(StepError, match=r"requirements file .*requirements\.txt does not exist"):
        pip_install_requirements(ctx)


def test_pip_command_uses_this_interpreter_and_a_joined_option() -> None:
    assert pip_command("/x/-r.txt") == [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--requirement=/x/-r.txt",
    ]
