"""Opening the store for a command: where it is comes from the settings (DEPLOYTOOL_HOME)."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: every store command imports this at its start
if TYPE_CHECKING:
    from deploytool.store import Store


def open_store() -> Store:
    """Open (creating it on first use) the store named by the settings. Use it as a context manager:

    with open_store() as store: ...
    """
    from deploytool.settings import Settings
    from deploytool.store import Store

    return Store.open(Settings.from_env().store)
