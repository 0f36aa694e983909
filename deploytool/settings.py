"""Settings read from the environment, once, into a frozen record that is passed around."""

from __future__ import annotations

import os
from pathlib import Path

from deploytool.records import record

TYPE_CHECKING = False  # not typing's: `import typing` costs every command a few ms
if TYPE_CHECKING:
    from collections.abc import Mapping

HOME_ENV = "DEPLOYTOOL_HOME"
STORE_URL_ENV = "DEPLOYTOOL_STORE_URL"  # set by the global `--store URL` option too
DB_FILENAME = "deploytool.db"
# Block secrets are encrypted in the store with a key kept outside it (docs/stores.md, "Secrets at rest"):
# the key itself in SECRET_KEY_ENV, or a file holding it named by SECRET_KEY_FILE_ENV, else (the SQLite store
# only) the file KEY_FILENAME in `home`, created 0600 the first time a secret is stored.
SECRET_KEY_ENV = "DEPLOYTOOL_SECRET_KEY"
SECRET_KEY_FILE_ENV = "DEPLOYTOOL_SECRET_KEY_FILE"
KEY_FILENAME = "secret.key"


@record
class Settings:
    """Where deploytool keeps its state: `home` (DEPLOYTOOL_HOME) and the store's URL, if one is set."""

    home: Path
    # `sqlite:///path`, `postgresql://...` or a path; None: the SQLite file in `home` (docs/stores.md).
    store_url: str | None = None

    @property
    def db_path(self) -> Path:
        return self.home / DB_FILENAME

    @property
    def default_key_file(self) -> Path:
        """Where the SQLite store's secret key is kept when neither SECRET_KEY_ENV nor SECRET_KEY_FILE_ENV is set."""
        return self.home / KEY_FILENAME

    @property
    def store(self) -> str:
        """What `Store.open` opens: the store URL when one is set, else the SQLite file in `home`."""
        return self.store_url or str(self.db_path)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = env.get(HOME_ENV) or str(Path("~/.deploytool").expanduser())
        return cls(home=Path(home).expanduser(), store_url=env.get(STORE_URL_ENV, "").strip() or None)
