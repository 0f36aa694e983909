"""The implementation of each built-in step, by canonical name (see registry.STEPS for names and outputs).

Pull steps run inside the flow-run job, so this module and what it imports use only the standard library.
The Docker steps, when implemented, must import docker lazily inside the step function, never at module level.
"""

from __future__ import annotations

from typing import Any

from deploytool.errors import StepError
from deploytool.steps.base import StepContext, StepFunction
from deploytool.steps.git import git_clone
from deploytool.steps.pip import pip_install_requirements
from deploytool.steps.shell import run_shell_script
from deploytool.steps.workdir import set_working_directory


def _docker_not_implemented(step: str) -> StepFunction:
    def not_implemented(ctx: StepContext, /, **inputs: Any) -> dict[str, Any]:
        raise StepError(
            f"{step} is not yet implemented in this version of deploytool: no image was built or pushed",
            "build and push the image outside deploytool (e.g. with run_shell_script running `docker build`), "
            "or wait for the Docker steps",
        )

    not_implemented.__name__ = step
    return not_implemented


IMPLEMENTATIONS: dict[str, StepFunction] = {
    "run_shell_script": run_shell_script,
    "set_working_directory": set_working_directory,
    "git_clone": git_clone,
    "pip_install_requirements": pip_install_requirements,
    "build_docker_image": _docker_not_implemented("build_docker_image"),
    "push_docker_image": _docker_not_implemented("push_docker_image"),
}
