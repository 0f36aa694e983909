"""Serving the dashboard: bind the address (a clear error when it is taken), then run uvicorn on it."""

from __future__ import annotations

import socket
import sys
import threading
import webbrowser

from deploytool.errors import DeploytoolError
from deploytool.store import redact_url
from deploytool.ui.config import UiConfig, check_config

SHUTDOWN_GRACE_SECONDS = 2  # open event streams are closed after this on Ctrl-C


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; DeploytoolError naming the address when it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise DeploytoolError(f"--host {host!r}: {exc.strerror}", hint="give an address such as 127.0.0.1") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise DeploytoolError(
            f"cannot serve on {host}:{port}: {exc.strerror or exc}",
            hint="another program uses that port: pick another with --port" if port else None,
        ) from None
    sock.set_inheritable(True)
    return sock


def url_of(config: UiConfig, port: int) -> str:
    host = f"[{config.host}]" if ":" in config.host else config.host
    return f"http://{host}:{port}/"


def serve(config: UiConfig, *, open_browser: bool = False) -> None:
    """Serve until interrupted. Prints the address (with the real port when --port 0 picked one)."""
    import uvicorn

    from deploytool.ui.app import create_app

    check_config(config)
    sock = bind(config.host, config.port)
    url = url_of(config, sock.getsockname()[1])
    mode = " (read-only)" if config.read_only else ""
    login = "; log in with the token" if config.token else ""
    store = redact_url(str(config.store))
    print(f"deploytool dashboard{mode} on {url} over {store}{login}. Ctrl-C stops it.", flush=True)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
            server_header=False,
        )
    )
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        print("deploytool: the dashboard did not start (see the messages above)", file=sys.stderr)
        raise SystemExit(1)
