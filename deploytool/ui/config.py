"""How the dashboard is served: address, token, read-only mode, and the checks made before it starts."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from deploytool.errors import DeploytoolError
from deploytool.settings import Settings

# Set by `deploytool ui` (deploytool.cli.ui_cmds) before it becomes `python -m deploytool.ui`.
HOST_ENV = "DEPLOYTOOL_UI_HOST"
PORT_ENV = "DEPLOYTOOL_UI_PORT"
TOKEN_ENV = "DEPLOYTOOL_UI_TOKEN"
READ_ONLY_ENV = "DEPLOYTOOL_UI_READ_ONLY"
OPEN_ENV = "DEPLOYTOOL_UI_OPEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4200
MIN_TOKEN = 16
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class UiConfig:
    """The dashboard's settings. `token` None: no login (allowed on a loopback address only)."""

    store: Path | str  # what Store.open opens: the SQLite file, or the store URL (--store, DEPLOYTOOL_STORE_URL)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    read_only: bool = False

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def check_config(config: UiConfig) -> UiConfig:
    """`config` if it may be served; DeploytoolError saying what to change otherwise."""
    if not 0 <= config.port < 65536:
        raise DeploytoolError(f"--port {config.port}: not a TCP port", hint="give a port between 1 and 65535")
    if config.token is not None and len(config.token) < MIN_TOKEN:
        raise DeploytoolError(
            f"the dashboard token is {len(config.token)} characters long; it must have at least {MIN_TOKEN}",
            hint=f"make one: export {TOKEN_ENV}=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')\"",
        )
    if config.token is None and not config.loopback:
        raise DeploytoolError(
            f"--host {config.host} is not a loopback address: anyone who reaches it could run and cancel flows",
            hint=f"give a token (--token, or {TOKEN_ENV}) so that pages need a login and the API a bearer token,"
            " or serve on 127.0.0.1",
        )
    return config


def from_env(env: Mapping[str, str]) -> tuple[UiConfig, bool]:
    """The dashboard's settings (and whether to open a browser) from the environment."""
    text = env.get(PORT_ENV) or str(DEFAULT_PORT)
    try:
        port = int(text)
    except ValueError:
        raise DeploytoolError(f"{PORT_ENV}={text!r}: not a port number", hint="give --port 4200") from None
    config = UiConfig(
        store=Settings.from_env(env).store,
        host=env.get(HOST_ENV) or DEFAULT_HOST,
        port=port,
        token=env.get(TOKEN_ENV) or None,
        read_only=bool(env.get(READ_ONLY_ENV)),
    )
    return check_config(config), bool(env.get(OPEN_ENV))
