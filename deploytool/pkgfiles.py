"""Files shipped inside deploytool's packages (JSON schemas, base job templates, migrations, starter files).

`files("deploytool.store")` is `importlib.resources.files("deploytool.store")` without importing
importlib.resources, which loads tempfile, shutil, random, zipfile and the compression modules (~10 ms of a
command's start, issue 17 item 4): a package installed as a directory (as pip installs it) is read as that
directory. importlib.resources is still what reads a package that is not unpacked on disk (a zip).
"""

from __future__ import annotations

import importlib
from pathlib import Path

TYPE_CHECKING = False  # not typing's: `import typing` costs every command a few ms
if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def files(package: str) -> Traversable:
    """The files of `package` (a directory: `.joinpath(...)`, `.read_text(encoding=...)`, `.iterdir()`)."""
    where = getattr(importlib.import_module(package), "__file__", None)
    if where:
        folder = Path(where).parent
        if folder.is_dir():
            return folder
    from importlib import resources

    return resources.files(package)
