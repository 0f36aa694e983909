"""The JSON API under /api/v1/ (documented in deploytool/ui/openapi.py) and the run event stream the run page
follows (server-sent events).

Errors are {"error": {"type", "message", "hint"}} with 400 (bad input), 404 (unknown), 409 (conflict) or 422
(parameters that do not fit the schema, with every problem listed); never a traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from deploytool.core import dashboard
from deploytool.core.runs import ParameterError, RunSummary
from deploytool.errors import DeploytoolError
from deploytool.store import Store
from deploytool.ui.pages import Document, call, document
from deploytool.ui.render import status_of

POLL_SECONDS = 0.2  # a new log line reaches the page within this (plus the store's read)
KEEPALIVE_SECONDS = 15.0
MAX_BODY = 1024 * 1024


def error(status: int, kind: str, message: str, hint: str | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, "hint": hint, **extra}}, status_code=status)


def from_exception(exc: DeploytoolError) -> JSONResponse:
    if isinstance(exc, ParameterError):
        problems = [{"name": p.name, "message": p.message, "hint": p.hint} for p in exc.problems]
        return error(422, "parameters", exc.message, exc.hint, problems=problems)
    return error(status_of(exc), type(exc).__name__, exc.message, exc.hint)


async def _answer(
    request: Request, function: Callable[..., Document | Sequence[Document]], *args: Any, status: int = 200, **kw: Any
) -> Response:
    """`function`'s typed result as a JSON response, or the error it raised."""
    try:
        return JSONResponse(await document(request, function, *args, **kw), status_code=status)
    except DeploytoolError as exc:
        return from_exception(exc)


def _int(request: Request, name: str, default: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise DeploytoolError(f"{name} {text!r}: not a whole number") from None


def _full_name(request: Request) -> str:
    return f"{request.path_params['flow']}/{request.path_params['name']}"


# --- reads -----------------------------------------------------------------------------------------------------


async def overview(request: Request) -> Response:
    return await _answer(request, dashboard.overview)


async def pools(request: Request) -> Response:
    return await _answer(request, dashboard.pools)


async def pool(request: Request) -> Response:
    return await _answer(request, dashboard.pool_detail, request.path_params["name"])


async def deployments(request: Request) -> Response:
    return await _answer(request, dashboard.deployments)


async def deployment(request: Request) -> Response:
    return await _answer(request, dashboard.deployment_detail, _full_name(request))


async def runs(request: Request) -> Response:
    query = request.query_params
    try:
        return await _answer(
            request,
            dashboard.runs,
            states=query.getlist("state"),
            deployment=query.get("deployment") or None,
            pool=query.get("pool") or None,
            since=dashboard.parse_time("since", query.get("since")),
            until=dashboard.parse_time("until", query.get("until")),
            limit=_int(request, "limit", 50),
        )
    except DeploytoolError as exc:
        return from_exception(exc)


async def run(request: Request) -> Response:
    return await _answer(request, dashboard.run_detail, request.path_params["run_id"])


async def run_why(request: Request) -> Response:
    from deploytool.core.why import explain

    return await _answer(request, explain, request.path_params["run_id"])


async def run_logs(request: Request) -> Response:
    try:
        after = _int(request, "after", 0)
        limit = _int(request, "limit", 1000)
    except DeploytoolError as exc:
        return from_exception(exc)
    if after < 0:
        return error(400, "DeploytoolError", f"after {after}: must be 0 or more")
    return await _answer(request, dashboard.run_logs, request.path_params["run_id"], after, limit)


# --- the live stream -----------------------------------------------------------------------------------------


async def run_events(request: Request) -> Response:
    """Server-sent events of a run: `log` (one line, JSON), `state` (the run's summary when its state changes)
    and a last `end` once the run is terminal and every line is sent."""
    try:
        after = max(_int(request, "after", 0), 0)
        found = await call(request, dashboard.find_run, request.path_params["run_id"])
    except DeploytoolError as exc:
        return from_exception(exc)

    async def stream() -> AsyncIterator[str]:
        cursor = after
        last_state = None
        idle = 0.0
        while True:
            update = await call(request, dashboard.poll_run, found.id, cursor)
            cursor = update.cursor
            if update.run.label != last_state and not update.terminal:
                last_state = update.run.label
                yield _event("state", update.run.to_dict())
            for line in update.lines:
                yield _event("log", line.to_dict(), line.id)
            if update.lines:
                idle = 0.0
                continue  # there may be more than one batch waiting
            if update.terminal:
                yield _event("state", update.run.to_dict())
                yield _event("end", {"state": update.run.state.value})
                return
            if idle >= KEEPALIVE_SECONDS:
                idle = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS)
            idle += POLL_SECONDS

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"x-accel-buffering": "no"})


def _event(kind: str, data: Any, event_id: Any = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


# --- actions -------------------------------------------------------------------------------------------------


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise DeploytoolError(f"the request body is {len(raw)} bytes", hint=f"send at most {MAX_BODY}")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise DeploytoolError(f"the request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DeploytoolError("the request body must be a JSON object")
    return data


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise DeploytoolError(f"{key} must be a JSON object", hint=f'for example {{"{key}": {{"n": 3}}}}')
    return value


async def create_run(request: Request) -> Response:
    """POST /deployments/{flow}/{name}/runs {"parameters": {}, "job_variables": {}, "start_in": "10m"}: as
    `deploytool run FLOW/NAME --param ... --job-variable ... --start-in ...`."""
    from deploytool.core.runs import start_time, submit_run

    try:
        body = _body_checked(await _body(request))
        when = start_time(body.get("start_in"), body.get("start_at"))
        submitted = await call(
            request,
            submit_run,
            _full_name(request),
            _object(body, "parameters"),
            _object(body, "job_variables"),
            when,
            body.get("idempotency_key"),
        )
    except DeploytoolError as exc:
        return from_exception(exc)
    data = {**submitted.summary().to_dict(), "new": submitted.new, "pool_status": submitted.pool_status.value}
    return JSONResponse(data, status_code=201 if submitted.new else 200)


def _body_checked(body: dict[str, Any]) -> dict[str, Any]:
    known = {"parameters", "job_variables", "start_in", "start_at", "idempotency_key"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise DeploytoolError(
            f"unknown field(s) {', '.join(map(repr, unknown))}", hint=f"known: {', '.join(sorted(known))}"
        )
    for key in ("start_in", "start_at", "idempotency_key"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise DeploytoolError(f"{key} must be a string")
    return body


async def _act(request: Request, function: Callable[..., Any], *args: Any) -> Response:
    try:
        await _body(request)
        result, now = await call(request, _with_now, function, *args)
    except DeploytoolError as exc:
        return from_exception(exc)
    return JSONResponse(_result(result, now))


def _with_now(store: Store, function: Callable[..., Any], *args: Any) -> tuple[Any, datetime]:
    """`function(store, *args)` and the store's time after it (a retried run is due now by the store's clock)."""
    return function(store, *args), store.now()


def _result(result: Any, now: datetime) -> Any:
    from deploytool.models import Deployment, FlowRun, WorkPool

    if isinstance(result, tuple):
        result = result[0]
    if isinstance(result, FlowRun):
        return RunSummary.of(result, now).to_dict()
    if isinstance(result, WorkPool):
        return {"name": result.name, "paused": result.paused}
    if isinstance(result, Deployment):
        return {"full_name": result.full_name, "paused": result.paused}
    return result


async def cancel_run(request: Request) -> Response:
    from deploytool.core.runs import cancel_run

    return await _act(request, cancel_run, request.path_params["run_id"])


async def retry_run(request: Request) -> Response:
    from deploytool.core.runs import retry_run

    return await _act(request, retry_run, request.path_params["run_id"])


async def pause_pool(request: Request) -> Response:
    from deploytool.core.pools import set_paused

    return await _act(request, set_paused, request.path_params["name"], request.url.path.endswith("/pause"))


async def pause_deployment(request: Request) -> Response:
    from deploytool.core.deployments import pause_deployment, resume_deployment

    paused = request.url.path.endswith("/pause")
    return await _act(request, pause_deployment if paused else resume_deployment, _full_name(request))
