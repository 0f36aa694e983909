"""The dashboard's ASGI application: routes (pages, actions, /api/v1/), the guard, the store's lifetime.

    app = create_app(UiConfig(store=...))   # served by deploytool.ui.server (uvicorn)

With `read_only`, no action route exists (a POST to one is 404 or 405) and no page shows a button.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from deploytool.errors import DeploytoolError
from deploytool.store import Store
from deploytool.ui import api, pages
from deploytool.ui.config import UiConfig
from deploytool.ui.openapi import openapi_document
from deploytool.ui.render import STATIC, error_page, page
from deploytool.ui.security import Guard

DEPLOYMENT = "/deployments/{flow}/{name}"
RUN = "/flow-runs/{run_id}"
POOL = "/work-pools/{name}"


def routes(config: UiConfig) -> list[BaseRoute]:
    read: list[BaseRoute] = [
        Route("/", pages.overview),
        Route("/work-pools", pages.pools),
        Route(POOL, pages.pool),
        Route(POOL + "/{tab}", pages.pool),
        Route("/deployments", pages.deployments),
        Route(DEPLOYMENT, pages.deployment),
        Route("/flow-runs", pages.runs),
        Route(RUN, pages.run),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/api/v1/openapi.json", _openapi),
        Route("/api/v1/overview", api.overview),
        Route("/api/v1/work-pools", api.pools),
        Route("/api/v1" + POOL, api.pool),
        Route("/api/v1/deployments", api.deployments),
        Route("/api/v1" + DEPLOYMENT, api.deployment),
        Route("/api/v1/flow-runs", api.runs),
        Route("/api/v1" + RUN, api.run),
        Route("/api/v1" + RUN + "/why", api.run_why),
        Route("/api/v1" + RUN + "/logs", api.run_logs),
        Route("/api/v1" + RUN + "/events", api.run_events),
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
    ]
    if config.read_only:
        return read
    post = ["POST"]
    actions: list[BaseRoute] = [
        Route(DEPLOYMENT + "/run", pages.run_form, methods=["GET"]),
        Route(DEPLOYMENT + "/run", pages.submit_run, methods=post),
        Route(RUN + "/cancel", pages.cancel_run, methods=post),
        Route(RUN + "/retry", pages.retry_run, methods=post),
        *(Route(POOL + f"/{a}", pages.pause_pool, methods=post) for a in ("pause", "resume")),
        *(Route(DEPLOYMENT + f"/{a}", pages.pause_deployment, methods=post) for a in ("pause", "resume")),
        Route("/api/v1" + DEPLOYMENT + "/runs", api.create_run, methods=post),
        Route("/api/v1" + RUN + "/cancel", api.cancel_run, methods=post),
        Route("/api/v1" + RUN + "/retry", api.retry_run, methods=post),
        *(Route("/api/v1" + POOL + f"/{a}", api.pause_pool, methods=post) for a in ("pause", "resume")),
        *(Route("/api/v1" + DEPLOYMENT + f"/{a}", api.pause_deployment, methods=post) for a in ("pause", "resume")),
    ]
    return actions + read


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(read_only=request.app.state.config.read_only))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "no such page", 405: "this method is not served here"}.get(exc.status_code, exc.detail)
    if request.url.path.startswith("/api/"):
        return api.error(exc.status_code, "http", message)
    response = error_page(request, DeploytoolError(message, hint="start from the overview"), back="/")
    response.status_code = exc.status_code
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    # The last line of defence: a message, never a traceback to the browser; the server's own output has it.
    logging.getLogger("deploytool.ui").error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    message = f"internal error: {type(exc).__name__}; this is a bug in deploytool, please report it"
    if request.url.path.startswith("/api/"):
        return api.error(500, "internal", message)
    return page(request, "error.html", status=500, title="Error", message=message, hint=None, back="/")


def create_app(config: UiConfig, store: Store | None = None) -> Starlette:
    """The application over the store `config.store` names (or `store`, already open, for tests)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own = store is None
        app.state.store = Store.open(config.store) if own else store
        try:
            yield
        finally:
            if own:
                app.state.store.close()

    handlers: dict[Any, Any] = {HTTPException: _http_error, Exception: _internal_error}
    app = Starlette(
        routes=routes(config),
        middleware=[Middleware(Guard, config=config)],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.config = config
    return app
