"""Settings read from the environment, once, into a plain dataclass that is passed around."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "DEPLOYTOOL_HOME"
DB_FILENAME = "deploytool.db"


@dataclass(frozen=True)
class Settings:
    home: Path

    @property
    def db_path(self) -> Path:
        return self.home / DB_FILENAME

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = env.get(HOME_ENV) or str(Path("~/.deploytool").expanduser())
        return cls(home=Path(home).expanduser())
