"""The import hook that serves `import prefect` from deploytool's Prefect compatibility layer, in a job only.

`install()` puts `PrefectFinder` first on `sys.meta_path` of the job process. With `DEPLOYTOOL_PREFECT_COMPAT`
`auto` (the default) it serves `prefect` and `prefect.<module>` from `deploytool.engine.prefect_compat` when
the real prefect package is not installed; `always` serves them even when it is; `never` leaves the import
system alone. A Prefect module the layer does not have raises PrefectCompatError (an ImportError) naming it and
docs/prefect-compat.md. Nothing is imported until flow code imports prefect.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import ModuleType

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a job does not import typing (issue 17)
if TYPE_CHECKING:
    from importlib.abc import Loader
    from typing import Any

PACKAGE = "deploytool.engine.prefect_compat"
COMPAT_ENV = "DEPLOYTOOL_PREFECT_COMPAT"
MODES = ("auto", "always", "never")


class _AliasLoader:
    """Loads `prefect.x` as the already imported compat module `deploytool.engine.prefect_compat.x`."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the compat module ran when it was imported under its own name."""


class PrefectFinder:
    """A meta path finder for `prefect` and its submodules (see the module's docstring)."""

    def __init__(self, mode: str = "auto") -> None:
        self.mode = mode
        self._real: bool | None = None

    def real_prefect_installed(self) -> bool:
        if self._real is None:
            others = [f for f in sys.meta_path if f is not self]
            self._real = any(_finds(f, "prefect") for f in others)
        return self._real

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "prefect" and not fullname.startswith("prefect."):
            return None
        if self.mode == "never" or (self.mode == "auto" and self.real_prefect_installed()):
            return None
        compat = PACKAGE + fullname[len("prefect") :]
        try:
            found = importlib.util.find_spec(compat)
        except ModuleNotFoundError:
            found = None
        if found is None:
            from deploytool.engine.prefect_compat._support import unsupported

            raise unsupported(fullname)
        loader: Loader = _AliasLoader(compat)  # type: ignore[assignment]  # what a loader needs, not its base class
        return importlib.machinery.ModuleSpec(fullname, loader, is_package=found.submodule_search_locations is not None)


def _finds(finder: Any, name: str) -> bool:
    find = getattr(finder, "find_spec", None)  # every meta path finder has it since Python 3.4; be tolerant
    try:
        return find is not None and find(name, None) is not None
    except (ImportError, ValueError):
        return False


def install(environ: dict[str, str] | None = None) -> str:
    """Put the finder first on sys.meta_path for this process (once); return the mode. An unknown mode in the
    environment is `auto` (the engine does not fail a run over it)."""
    env = os.environ if environ is None else environ
    mode = env.get(COMPAT_ENV, "auto").strip().lower() or "auto"
    if mode not in MODES:
        mode = "auto"
    if not any(isinstance(f, PrefectFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, PrefectFinder(mode))
    return mode
