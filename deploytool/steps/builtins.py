"""The implementation of each built-in step, by canonical name (see registry.STEPS for names and outputs).

Pull steps run inside the flow-run job, so this module and what it imports use only the standard library.
`IMPLEMENTATIONS` imports a step's module the first time the step is looked up: a job whose only pull step is
`set_working_directory` never loads git, pip, shell or the Docker steps (issue 17: a lean engine start). The
Docker steps (docker_image.py) also import docker lazily inside the step functions, never at module level.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

from deploytool.steps.base import StepFunction

# canonical name -> (module, function)
MODULES: dict[str, tuple[str, str]] = {
    "run_shell_script": ("deploytool.steps.shell", "run_shell_script"),
    "set_working_directory": ("deploytool.steps.workdir", "set_working_directory"),
    "git_clone": ("deploytool.steps.git", "git_clone"),
    "pip_install_requirements": ("deploytool.steps.pip", "pip_install_requirements"),
    "build_docker_image": ("deploytool.steps.docker_image", "build_docker_image"),
    "push_docker_image": ("deploytool.steps.docker_push", "push_docker_image"),
}


class _Implementations(MutableMapping[str, StepFunction]):
    """The step functions by canonical name, each imported on first lookup (tests may replace one)."""

    def __init__(self) -> None:
        self._loaded: dict[str, StepFunction] = {}
        self._names = dict.fromkeys(MODULES)

    def __getitem__(self, name: str) -> StepFunction:
        if name not in self._loaded:
            if name not in self._names or name not in MODULES:
                raise KeyError(name)
            module, function = MODULES[name]
            self._loaded[name] = getattr(importlib.import_module(module), function)
        return self._loaded[name]

    def __setitem__(self, name: str, function: StepFunction) -> None:
        self._names[name] = None
        self._loaded[name] = function

    def __delitem__(self, name: str) -> None:
        del self._names[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


IMPLEMENTATIONS: MutableMapping[str, StepFunction] = _Implementations()
