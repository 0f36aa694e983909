"""The implementation of each built-in step, by canonical name (see registry.STEPS for names and outputs).

Pull steps run inside the flow-run job, so this module and what it imports use only the standard library.
The Docker steps (docker_image.py) import docker lazily inside the step functions, never at module level.
"""

from __future__ import annotations

from deploytool.steps.base import StepFunction
from deploytool.steps.docker_image import build_docker_image
from deploytool.steps.docker_push import push_docker_image
from deploytool.steps.git import git_clone
from deploytool.steps.pip import pip_install_requirements
from deploytool.steps.shell import run_shell_script
from deploytool.steps.workdir import set_working_directory

IMPLEMENTATIONS: dict[str, StepFunction] = {
    "run_shell_script": run_shell_script,
    "set_working_directory": set_working_directory,
    "git_clone": git_clone,
    "pip_install_requirements": pip_install_requirements,
    "build_docker_image": build_docker_image,
    "push_docker_image": push_docker_image,
}
