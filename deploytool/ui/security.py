"""The dashboard's guard, one ASGI middleware in front of every route:

- security headers on every response (Content-Security-Policy without inline scripts or styles, nosniff,
  no framing, no referrer to other sites);
- on a loopback address, a request whose Host is not a loopback name is refused (DNS rebinding);
- with a token: pages need the login's session cookie (else a redirect to /login), the API a bearer token
  (or the session cookie); the session cookie is an HMAC of the token, HttpOnly and SameSite=Strict;
- a POST from another origin is refused; API POSTs must be JSON (a cross-site form cannot send that);
- a CSRF cookie is handed out, and page forms carry it back in a hidden field (checked by `check_csrf`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

from deploytool.ui.config import LOOPBACK_NAMES, UiConfig

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "deploytool_session"
CSRF_COOKIE = "deploytool_csrf"
CSRF_FIELD = "csrf"
PUBLIC_PATHS = ("/login", "/static/")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # "no-referrer" would make a browser send Origin: null
    (b"cache-control", b"no-store"),
]


def session_value(token: str) -> str:
    """The session cookie's value for `token`: proves the login without holding the token itself."""
    return hmac.new(token.encode(), b"deploytool-ui-session-v1", hashlib.sha256).hexdigest()


def _cookies(headers: dict[bytes, bytes]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get(b"cookie", b"").decode("latin-1"))
    except Exception:  # a malformed Cookie header is treated as no cookies
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


def _valid_csrf(value: str | None) -> bool:
    return value is not None and len(value) == 43 and all(c.isalnum() or c in "-_" for c in value)


def check_csrf(scope: Scope, submitted: str | None) -> bool:
    """True when a form's CSRF field matches the request's CSRF cookie."""
    expected = scope.get("state", {}).get("csrf")
    return bool(expected and submitted and hmac.compare_digest(expected, submitted))


class Guard:
    """See the module's docstring."""

    def __init__(self, app: ASGIApp, config: UiConfig) -> None:
        self.app = app
        self.config = config
        self.session = session_value(config.token) if config.token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        path: str = scope.get("path", "")
        api = path.startswith("/api/")
        cookies = _cookies(headers)
        csrf = cookies.get(CSRF_COOKIE)
        new_csrf = None if _valid_csrf(csrf) else secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf"] = new_csrf or csrf
        scope["state"]["auth"] = self.config.token is not None
        scope["state"]["read_only"] = self.config.read_only

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(HEADERS)
                if new_csrf:
                    extra.append(
                        (b"set-cookie", f"{CSRF_COOKIE}={new_csrf}; Path=/; HttpOnly; SameSite=Strict".encode())
                    )
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        refusal = self._refusal(scope, headers, cookies, path, api)
        if refusal is not None:
            status, body, content_type, more = refusal
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *more],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(
        self, scope: Scope, headers: dict[bytes, bytes], cookies: dict[str, str], path: str, api: bool
    ) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]] | None:
        host = headers.get(b"host", b"").decode("latin-1")
        if self.config.loopback and _hostname(host) not in LOOPBACK_NAMES:
            return _error(400, "bad_host", f"Host {host!r} is not a loopback name", "open http://127.0.0.1:PORT/", api)
        if scope.get("method") == "POST":
            origin = headers.get(b"origin")
            if origin is not None and origin.decode("latin-1") != f"{scope.get('scheme', 'http')}://{host}":
                return _error(403, "cross_origin", "a POST from another origin is refused", None, api)
            if api and headers.get(b"content-type", b"").split(b";")[0].strip().lower() != b"application/json":
                return _error(415, "not_json", "an API POST must have Content-Type: application/json", None, api)
        if self.session is None or path.startswith(PUBLIC_PATHS) or path == "/login":
            return None
        session = cookies.get(SESSION_COOKIE)
        if session is not None and hmac.compare_digest(session, self.session):
            return None
        if api:
            auth = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, given = auth.partition(" ")
            assert self.config.token is not None
            if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.config.token.encode()):
                return None
            status, body, content_type, more = _error(
                401,
                "unauthorized",
                "a bearer token is required",
                "send Authorization: Bearer $DEPLOYTOOL_UI_TOKEN",
                True,
            )
            return status, body, content_type, [*more, (b"www-authenticate", b'Bearer realm="deploytool"')]
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        return 303, b"", b"text/plain", [(b"location", f"/login?next={quote(target, safe='')}".encode())]


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0].lower()
    return host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()


def _error(
    status: int, code: str, message: str, hint: str | None, api: bool
) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
    if api:
        body = json.dumps({"error": {"type": code, "message": message, "hint": hint}}).encode()
        return status, body, b"application/json", []
    return status, f"{message}{f' ({hint})' if hint else ''}\n".encode(), b"text/plain; charset=utf-8", []
