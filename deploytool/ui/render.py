"""HTML rendering: one jinja2 environment with autoescaping always on (every user string is text), filters for
times and durations, and the error page."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from deploytool.core.run_summary import duration_text
from deploytool.errors import ConflictError, DeploytoolError, NotFoundError

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def when(value: str | None) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM:SS UTC'; '-' for None."""
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        return value
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def duration(seconds: float | None) -> str:
    return duration_text(seconds) or "-"


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)


def urlpart(value: str) -> str:
    """One path segment, percent-encoded."""
    return quote(str(value), safe="")


def deployment_url(full_name: str) -> str:
    flow, _, name = full_name.partition("/")
    return f"/deployments/{urlpart(flow)}/{urlpart(name)}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template, every value: a log line "<script>" shows as text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, duration=duration, as_json=as_json, urlpart=urlpart, deployment_url=deployment_url)
    return env


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    state = request.scope.get("state", {})
    html = (
        environment()
        .get_template(template)
        .render(
            csrf=state.get("csrf", ""),
            auth=state.get("auth", False),
            read_only=state.get("read_only", False),
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status)


def status_of(exc: DeploytoolError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    return 400


def error_page(request: Request, exc: DeploytoolError, back: str | None = None) -> HTMLResponse:
    return page(
        request, "error.html", status=status_of(exc), title="Error", message=exc.message, hint=exc.hint, back=back
    )
