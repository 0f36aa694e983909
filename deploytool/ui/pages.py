"""The dashboard's HTML pages (GET) and the actions their forms post (POST, CSRF-checked, then a redirect).

Every page reads through deploytool.core.dashboard and renders the JSON of its typed result (`document`: the
document the API sends for the same page); every action calls the same core function as the CLI command it
mirrors (submit_run, cancel_run, retry_run, set_paused, pause/resume_deployment).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from deploytool.core import dashboard
from deploytool.errors import DeploytoolError
from deploytool.store import Store
from deploytool.ui.chart import runs_chart
from deploytool.ui.forms import fields, raw_inputs, submitted_parameters
from deploytool.ui.render import deployment_url, error_page, page, urlpart
from deploytool.ui.security import CSRF_FIELD, SESSION_COOKIE, check_csrf, session_value

T = TypeVar("T")
MAX_FORM = 256 * 1024
NOTICES = {
    "cancelled": "Cancel requested.",
    "retried": "The run was queued again.",
    "created": "Run created.",
    "paused": "Paused.",
    "resumed": "Resumed.",
}


async def call(request: Request, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function(store, *args, **kwargs)` in a worker thread (the store's calls block)."""
    store: Store = request.app.state.store
    return await run_in_threadpool(function, store, *args, **kwargs)


class Document(Protocol):
    """A typed result of core that gives its JSON (RunSummary, Overview, RunPage, ...)."""

    def to_dict(self) -> dict[str, Any]: ...


def json_of(result: Document | Sequence[Document]) -> Any:
    """The JSON of a typed result, or of a list of them: what the API sends and the pages render."""
    if isinstance(result, Sequence):
        return [item.to_dict() for item in result]
    return result.to_dict()


async def document(
    request: Request, function: Callable[..., Document | Sequence[Document]], *args: Any, **kwargs: Any
) -> Any:
    """`function(store, *args, **kwargs)`'s typed result as JSON (`call`, then `json_of`)."""
    return json_of(await call(request, function, *args, **kwargs))


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


# --- pages ---------------------------------------------------------------------------------------------------


async def overview(request: Request) -> Response:
    data = await document(request, dashboard.overview)
    chart = runs_chart(data["hours"], data["runs_per_state"])
    return page(request, "overview.html", title="Overview", data=data, chart=chart)


async def pools(request: Request) -> Response:
    rows = await document(request, dashboard.pools)
    return page(request, "pools.html", title="Work pools", pools=rows, notice=_notice(request))


async def pool(request: Request) -> Response:
    name = request.path_params["name"]
    tab = request.path_params.get("tab", "queues")
    if tab not in ("queues", "workers", "template"):
        return error_page(request, DeploytoolError(f"no tab {tab!r}", hint="queues, workers or template"))
    try:
        data = await document(request, dashboard.pool_detail, name)
    except DeploytoolError as exc:
        return error_page(request, exc, back="/work-pools")
    return page(request, "pool.html", title=f"Work pool {name}", pool=data, tab=tab, notice=_notice(request))


async def deployments(request: Request) -> Response:
    rows = await document(request, dashboard.deployments)
    return page(request, "deployments.html", title="Deployments", deployments=rows)


def _full_name(request: Request) -> str:
    return f"{request.path_params['flow']}/{request.path_params['name']}"


async def deployment(request: Request) -> Response:
    try:
        data = await document(request, dashboard.deployment_detail, _full_name(request))
    except DeploytoolError as exc:
        return error_page(request, exc, back="/deployments")
    return page(request, "deployment.html", title=data["full_name"], d=data, notice=_notice(request))


async def run_form(request: Request) -> Response:
    try:
        data = await document(request, dashboard.deployment_detail, _full_name(request))
    except DeploytoolError as exc:
        return error_page(request, exc, back="/deployments")
    return _form_page(request, data, None, [], {})


def _form_page(
    request: Request, data: dict[str, Any], submitted: dict[str, str] | None, problems: list[str], extra: dict[str, str]
) -> HTMLResponse:
    inputs = fields(data["parameter_schema"], data["parameters"], submitted)
    return page(
        request,
        "run_form.html",
        status=400 if problems else 200,
        title=f"Run {data['full_name']}",
        d=data,
        fields=inputs,
        problems=problems,
        start_in=extra.get("start_in", ""),
    )


async def runs(request: Request) -> Response:
    query = request.query_params
    states = [s for s in query.getlist("state") if s]
    filters = {
        "states": states,
        "deployment": query.get("deployment") or None,
        "pool": query.get("pool") or None,
        "since": query.get("since") or "",
        "until": query.get("until") or "",
    }
    try:
        limit = int(query.get("limit") or 50)
        rows = await document(
            request,
            dashboard.runs,
            states=states,
            deployment=filters["deployment"],
            pool=filters["pool"],
            since=dashboard.parse_time("since", query.get("since")),
            until=dashboard.parse_time("until", query.get("until")),
            limit=limit,
        )
        problem = None
    except ValueError:
        rows, problem = [], f"limit {query.get('limit')!r}: not a whole number"
    except DeploytoolError as exc:
        rows, problem = [], str(exc)
    choices = await call(request, dashboard.filter_choices)
    return page(
        request,
        "runs.html",
        status=400 if problem else 200,
        title="Flow runs",
        runs=rows,
        filters=filters,
        problem=problem,
        state_choices=dashboard.STATE_FILTERS,
        pool_choices=choices[0],
        deployment_choices=choices[1],
    )


async def run(request: Request) -> Response:
    try:
        data = await document(request, dashboard.run_detail, request.path_params["run_id"])
    except DeploytoolError as exc:
        return error_page(request, exc, back="/flow-runs")
    return page(request, "run.html", title=f"Flow run {data['name']}", r=data, notice=_notice(request))


# --- login ---------------------------------------------------------------------------------------------------


async def login_form(request: Request) -> Response:
    return page(request, "login.html", title="Log in", next=_safe_next(request.query_params.get("next")), failed=False)


async def login(request: Request) -> Response:
    form = await read_form(request)
    token: str | None = request.app.state.config.token
    if form is None:
        return error_page(request, DeploytoolError("the form expired", hint="reload the page and try again"))
    target = _safe_next(form.get("next"))
    if token is None:
        return RedirectResponse(target, status_code=303)
    import hmac

    if not hmac.compare_digest(form.get("token", "").encode(), token.encode()):
        return page(request, "login.html", status=401, title="Log in", next=target, failed=True)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, session_value(token), httponly=True, samesite="strict", path="/")
    return response


async def logout(request: Request) -> Response:
    if await read_form(request) is None:
        return error_page(request, DeploytoolError("the form expired", hint="reload the page and try again"))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --- actions -------------------------------------------------------------------------------------------------


async def read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded form of a POST, or None when its CSRF field does not match the CSRF cookie."""
    body = await request.body()
    if len(body) > MAX_FORM:
        return None
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not check_csrf(request.scope, form.get(CSRF_FIELD)):
        return None
    return form


def _expired(request: Request, back: str) -> HTMLResponse:
    response = error_page(
        request,
        DeploytoolError("the form expired or came from another site", hint="reload the page and try again"),
        back,
    )
    response.status_code = 403
    return response


async def submit_run(request: Request) -> Response:
    full_name = _full_name(request)
    form = await read_form(request)
    if form is None:
        return _expired(request, deployment_url(full_name))
    from deploytool.core.runs import ParameterError, start_time, submit_run

    values, texts = submitted_parameters(form)
    start_in = form.get("start_in", "").strip()
    try:
        when = start_time(start_in or None, None)
        submitted = await call(request, submit_run, full_name, values, None, when, parameter_text=texts)
    except ParameterError as exc:
        data = await document(request, dashboard.deployment_detail, full_name)
        problems = [f"{p.name}: {p.message}" + (f" ({p.hint})" if p.hint else "") for p in exc.problems]
        return _form_page(request, data, raw_inputs(form), problems, {"start_in": start_in})
    except DeploytoolError as exc:
        try:
            data = await document(request, dashboard.deployment_detail, full_name)
        except DeploytoolError:
            return error_page(request, exc, back="/deployments")
        return _form_page(request, data, raw_inputs(form), [str(exc)], {"start_in": start_in})
    return RedirectResponse(f"/flow-runs/{submitted.run.id}?done=created", status_code=303)


async def _act(request: Request, back: str, function: Callable[..., Any], *args: Any, done: str) -> Response:
    if await read_form(request) is None:
        return _expired(request, back)
    try:
        await call(request, function, *args)
    except DeploytoolError as exc:
        return error_page(request, exc, back=back)
    return RedirectResponse(f"{back}?{urlencode({'done': done})}", status_code=303)


async def cancel_run(request: Request) -> Response:
    from deploytool.core.runs import cancel_run

    ref = request.path_params["run_id"]
    return await _act(request, f"/flow-runs/{urlpart(ref)}", cancel_run, ref, done="cancelled")


async def retry_run(request: Request) -> Response:
    from deploytool.core.runs import retry_run

    ref = request.path_params["run_id"]
    return await _act(request, f"/flow-runs/{urlpart(ref)}", retry_run, ref, done="retried")


async def pause_pool(request: Request) -> Response:
    from deploytool.core.pools import set_paused

    name = request.path_params["name"]
    paused = request.url.path.endswith("/pause")
    return await _act(request, f"/work-pools/{urlpart(name)}", set_paused, name, paused, done=_done(paused))


async def pause_deployment(request: Request) -> Response:
    from deploytool.core.deployments import pause_deployment, resume_deployment

    full_name = _full_name(request)
    paused = request.url.path.endswith("/pause")
    function = pause_deployment if paused else resume_deployment
    return await _act(request, deployment_url(full_name), function, full_name, done=_done(paused))


def _done(paused: bool) -> str:
    return "paused" if paused else "resumed"
