"""The dashboard in-process (Starlette's TestClient) over a real SQLite store made by the real CLI: pages, the
JSON API, actions through the core functions, and the security rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from deploytool.models import LogLine, RunState, utcnow
from deploytool.settings import Settings
from deploytool.store import Store
from deploytool.ui.app import create_app
from deploytool.ui.config import UiConfig
from tests.ui.ui_helpers import TOKEN, deploytool, make_project

BASE = "http://127.0.0.1:4200"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


def client_for(**options: Any) -> TestClient:
    config = UiConfig(store=Settings.from_env().db_path, **options)
    return TestClient(create_app(config), base_url=BASE, follow_redirects=False, raise_server_exceptions=False)


@pytest.fixture
def client(project: Path) -> Iterator[TestClient]:
    with client_for() as c:
        yield c


def store() -> Store:
    return Store.open(Settings.from_env().db_path)


def csrf_of(client: TestClient, path: str = "/work-pools/local") -> str:
    page = client.get(path)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text
    return match[1]


def new_run(*args: str) -> str:
    out = deploytool("run", "greet/hello", *args, "--output", "json").stdout
    import json

    return str(json.loads(out)["data"]["id"])


# --- pages -----------------------------------------------------------------------------------------------------


def test_every_page_answers_and_has_the_security_headers(client: TestClient) -> None:
    run_id = new_run()
    paths = [
        "/",
        "/work-pools",
        "/work-pools/local",
        "/work-pools/local/workers",
        "/work-pools/local/template",
        "/deployments",
        "/deployments/greet/hello",
        "/deployments/greet/hello/run",
        "/flow-runs",
        "/flow-runs?state=SCHEDULED&state=LATE&pool=local&deployment=greet/hello",
        f"/flow-runs/{run_id}",
        f"/flow-runs/{run_id[:8]}",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in response.text.replace('<script src="/static/app.js" defer></script>', "")


def test_pool_page_shows_not_ready_and_why(client: TestClient) -> None:
    page = client.get("/work-pools").text
    assert "NOT_READY" in page
    assert "no worker has ever polled it" in page
    workers = client.get("/work-pools/local/workers").text
    assert "No worker has polled this pool" in workers


def test_deployment_page_shows_job_configuration_with_provenance(client: TestClient) -> None:
    page = client.get("/deployments/greet/hello").text
    assert "flows.py:greet" in page
    assert "stream_output" in page and "pool default" in page  # what `deployment render --explain` says
    assert "&#34;team&#34;" in page or "&quot;team&quot;" in page


def test_unknown_things_are_404_pages_and_errors(client: TestClient) -> None:
    assert client.get("/work-pools/nope").status_code == 404
    assert (
        "work pool &#39;nope&#39; not found" in client.get("/work-pools/nope").text
        or "nope" in client.get("/work-pools/nope").text
    )
    assert client.get("/flow-runs/ffffffff").status_code == 404
    assert client.get("/deployments/greet/nope").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    body = client.get("/api/v1/flow-runs/ffffffff").json()
    assert body["error"]["message"].startswith("no flow run has the id")
    assert client.get("/flow-runs?state=NOPE").status_code == 400
    assert "unknown state" in client.get("/flow-runs?state=NOPE").text


def test_html_in_a_log_line_and_names_is_escaped(client: TestClient) -> None:
    run_id = new_run("-p", "name=<img src=x onerror=alert(2)>")
    with store() as s:
        s.logs.append(run_id, [LogLine(run_id, utcnow(), "INFO", "stdout", "<script>alert(1)</script>")])
    page = client.get(f"/flow-runs/{run_id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page


def test_block_secrets_never_reach_the_browser(client: TestClient) -> None:
    secret = "hunter2-very-secret-value"
    deploytool("block", "set", "secret/db", f"value={secret}")
    run_id = new_run("-p", f"name={secret}")
    with store() as s:
        s.logs.append(run_id, [LogLine(run_id, utcnow(), "INFO", "stdout", f"the password is {secret}")])
    for path in (f"/flow-runs/{run_id}", f"/api/v1/flow-runs/{run_id}", f"/api/v1/flow-runs/{run_id}/logs", "/"):
        text = client.get(path).text
        assert secret not in text, path
    assert "***" in client.get(f"/api/v1/flow-runs/{run_id}/logs").text


def test_overview_counts_runs_per_state_late_and_failing(client: TestClient) -> None:
    late = new_run()
    failed = new_run()
    with store() as s:
        s.runs.set_state(failed, RunState.CANCELLED, "test")
    data = client.get("/api/v1/overview").json()
    assert len(data["hours"]) == 24
    assert data["totals"]["SCHEDULED"] == 1 and data["totals"]["CANCELLED"] == 1
    assert data["runs_per_state"]["SCHEDULED"][-1] == 1
    assert data["failing_deployments"] == []
    assert late not in [r["id"] for r in data["late_runs"]]  # due now: not late yet (15 s grace)
    page = client.get("/").text
    assert "<svg" in page and "Runs per hour over the last 24 hours" in page


# --- the API ---------------------------------------------------------------------------------------------------


def test_api_lists_and_filters(client: TestClient) -> None:
    run_id = new_run()
    assert [p["name"] for p in client.get("/api/v1/work-pools").json()] == ["local"]
    assert {d["full_name"] for d in client.get("/api/v1/deployments").json()} == {"greet/hello", "sleepy/nap"}
    runs = client.get("/api/v1/flow-runs", params={"state": "SCHEDULED", "pool": "local"}).json()
    assert [r["id"] for r in runs] == [run_id]
    assert client.get("/api/v1/flow-runs", params={"state": "COMPLETED"}).json() == []
    assert client.get("/api/v1/flow-runs", params={"since": "2999-01-01T00:00:00Z"}).json() == []
    assert client.get("/api/v1/flow-runs", params={"until": "2000-01-01T00:00:00"}).json() == []
    assert client.get("/api/v1/flow-runs", params={"limit": "0"}).status_code == 400
    assert client.get("/api/v1/flow-runs", params={"limit": "x"}).status_code == 400
    assert (
        client.get("/api/v1/flow-runs", params={"since": "yesterday"})
        .json()["error"]["message"]
        .startswith("since 'yesterday': not an ISO 8601")
    )
    why = client.get(f"/api/v1/flow-runs/{run_id}/why").json()
    assert why["verdict"] == "no_worker"
    detail = client.get(f"/api/v1/flow-runs/{run_id}").json()
    assert detail["state_history"][0]["state"] == "SCHEDULED"
    assert (
        detail["parameters"] == {"name": "team", "count": 3, "loud": False, "delay": 0.3}
        or "name" in detail["parameters"]
    )


def test_api_creates_runs_with_the_cli_validation(client: TestClient) -> None:
    json_headers = {"content-type": "application/json"}
    bad = client.post(
        "/api/v1/deployments/greet/hello/runs", json={"parameters": {"count": "many", "nope": 1}}, headers=json_headers
    )
    assert bad.status_code == 422
    problems = {p["name"] for p in bad.json()["error"]["problems"]}
    assert problems == {"count", "nope"}
    cli = deploytool("run", "greet/hello", "-p", "count=many", "-p", "nope=1", check=False)
    assert cli.returncode == 1 and "count" in cli.stderr and "nope" in cli.stderr  # the same two problems
    good = client.post("/api/v1/deployments/greet/hello/runs", json={"parameters": {"count": 2}})
    assert good.status_code == 201 and good.json()["state"] == "SCHEDULED"
    assert client.post("/api/v1/deployments/greet/hello/runs", content=b"count=2").status_code == 415


def test_api_actions(client: TestClient) -> None:
    run_id = new_run()
    cancelled = client.post(f"/api/v1/flow-runs/{run_id}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "CANCELLED"
    again = client.post(f"/api/v1/flow-runs/{run_id}/cancel", json={})
    assert again.status_code == 409 and "already finished" in again.json()["error"]["message"]
    retried = client.post(f"/api/v1/flow-runs/{run_id}/retry", json={})
    assert retried.json()["state"] == "SCHEDULED" and retried.json()["attempt"] == 2
    assert client.post("/api/v1/work-pools/local/pause", json={}).json() == {"name": "local", "paused": True}
    assert client.get("/api/v1/work-pools/local").json()["status"] == "PAUSED"
    assert client.post("/api/v1/work-pools/local/resume", json={}).json()["paused"] is False
    assert client.post("/api/v1/deployments/greet/hello/pause", json={}).json()["paused"] is True
    assert client.post("/api/v1/deployments/greet/hello/resume", json={}).json()["paused"] is False


def test_openapi_document_lists_every_api_route(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    paths = set(doc["paths"])
    assert "/api/v1/flow-runs" in paths and "/api/v1/flow-runs/{run_id}/cancel" in paths
    from starlette.routing import Route

    served = {r.path for r in client.app.routes if isinstance(r, Route) and r.path.startswith("/api/v1/")}  # type: ignore[attr-defined]
    assert served - {"/api/v1/openapi.json"} == paths


# --- page actions ----------------------------------------------------------------------------------------------


def test_run_form_is_generated_from_the_parameter_schema(client: TestClient) -> None:
    page = client.get("/deployments/greet/hello/run").text
    assert 'name="param.count" type="number" step="1"' in page
    assert 'name="param.delay" type="number" step="any"' in page
    assert '<select id="param-loud" name="param.loud"' in page
    assert 'name="param.name" type="text" value="team"' in page


def test_run_form_creates_a_run_and_reports_bad_values(client: TestClient) -> None:
    csrf = csrf_of(client, "/deployments/greet/hello/run")
    bad = client.post(
        "/deployments/greet/hello/run", data={"csrf": csrf, "param.count": "1.5", "param.name": "x", "start_in": ""}
    )
    assert bad.status_code == 400
    assert "count:" in bad.text and "integer" in bad.text
    assert 'value="x"' in bad.text  # what was typed is kept
    good = client.post("/deployments/greet/hello/run", data={"csrf": csrf, "param.count": "2", "param.name": "007"})
    assert good.status_code == 303
    run_id = good.headers["location"].split("/")[-1].split("?")[0]
    with store() as s:
        run = s.runs.get(run_id)
    assert run.parameters["count"] == 2 and run.parameters["name"] == "007"  # a string stays a string


def test_posts_without_the_csrf_field_or_from_another_origin_are_refused(client: TestClient) -> None:
    run_id = new_run()
    csrf_of(client)
    assert client.post(f"/flow-runs/{run_id}/cancel", data={}).status_code == 403
    assert client.post(f"/flow-runs/{run_id}/cancel", data={"csrf": "x" * 43}).status_code == 403
    token = csrf_of(client)
    evil = client.post(f"/flow-runs/{run_id}/cancel", data={"csrf": token}, headers={"origin": "http://evil.test"})
    assert evil.status_code == 403
    with store() as s:
        assert s.runs.get(run_id).state is RunState.SCHEDULED
    done = client.post(f"/flow-runs/{run_id}/cancel", data={"csrf": token}, headers={"origin": BASE})
    assert done.status_code == 303
    with store() as s:
        assert s.runs.get(run_id).state is RunState.CANCELLED
    conflict = client.post(f"/flow-runs/{run_id}/cancel", data={"csrf": token})
    assert conflict.status_code == 409 and "already finished" in conflict.text


def test_pause_and_resume_pool_and_deployment_from_pages(client: TestClient) -> None:
    token = csrf_of(client)
    assert client.post("/work-pools/local/pause", data={"csrf": token}).headers["location"] == (
        "/work-pools/local?done=paused"
    )
    assert "PAUSED" in client.get("/work-pools/local?done=paused").text
    client.post("/work-pools/local/resume", data={"csrf": token})
    with store() as s:
        assert not s.pools.get("local").paused
    client.post("/deployments/greet/hello/pause", data={"csrf": token})
    with store() as s:
        assert s.deployments.get_by_name("greet", "hello").paused


def test_a_foreign_host_header_is_refused_on_loopback(client: TestClient) -> None:
    response = client.get("/", headers={"host": "attacker.example:4200"})
    assert response.status_code == 400 and "not a loopback name" in response.text


# --- read-only and token ---------------------------------------------------------------------------------------


def test_read_only_serves_no_actions(project: Path) -> None:
    run_id = new_run()
    with client_for(read_only=True) as c:
        page = c.get(f"/flow-runs/{run_id}").text
        assert "Cancel run" not in page and "read-only" in page
        assert "Run…" not in c.get("/deployments/greet/hello").text
        assert c.post(f"/flow-runs/{run_id}/cancel", data={"csrf": "x" * 43}).status_code in (404, 405)
        assert c.post(f"/api/v1/flow-runs/{run_id}/cancel", json={}).status_code in (404, 405)
        assert c.post("/api/v1/work-pools/local/pause", json={}).status_code in (404, 405)
        with store() as s:
            assert s.runs.get(run_id).state is RunState.SCHEDULED and not s.pools.get("local").paused
        assert c.get("/deployments/greet/hello/run").status_code == 404
        assert not any("post" in op for op in c.get("/api/v1/openapi.json").json()["paths"].values())


def test_with_a_token_pages_need_a_login_and_the_api_a_bearer_token(project: Path) -> None:
    with client_for(token=TOKEN) as c:
        redirect = c.get("/flow-runs?state=FAILED")
        assert (
            redirect.status_code == 303 and redirect.headers["location"] == "/login?next=%2Fflow-runs%3Fstate%3DFAILED"
        )
        assert c.get("/api/v1/work-pools").status_code == 401
        assert c.get("/api/v1/work-pools", headers={"authorization": "Bearer wrong"}).status_code == 401
        ok = c.get("/api/v1/work-pools", headers={"authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        login = c.get("/login?next=/work-pools")
        csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)[1]  # type: ignore[index]
        wrong = c.post("/login", data={"csrf": csrf, "token": "nope", "next": "/work-pools"})
        assert wrong.status_code == 401 and "not right" in wrong.text
        right = c.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "/work-pools"})
        assert right.status_code == 303 and right.headers["location"] == "/work-pools"
        assert TOKEN not in right.headers["set-cookie"]
        assert c.get("/work-pools").status_code == 200
        assert c.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "//evil.test/x"}).headers["location"] == "/"


def test_a_deployment_without_a_parameter_schema_has_its_pages(client: TestClient) -> None:
    from deploytool.models import Deployment

    with store() as s:
        s.deployments.upsert(Deployment("bare", "one", "flows.py:bare", "local"))
    for path in ("/deployments/bare/one", "/deployments/bare/one/run"):
        response = client.get(path)
        assert response.status_code == 200, response.text
        assert "The flow takes no parameters." in response.text


def test_late_filter_failing_deployments_and_long_logs(client: TestClient) -> None:
    from datetime import timedelta

    late = new_run("--start-at", (utcnow() - timedelta(minutes=5)).isoformat())
    new_run("--start-in", "1h")
    failed = new_run()
    with store() as s:
        s.runs.set_state(failed, RunState.CANCELLED, "test")
        s.logs.append(failed, [LogLine(failed, utcnow(), "INFO", "stdout", f"line {n}") for n in range(700)])
    assert [r["id"] for r in client.get("/api/v1/flow-runs", params={"state": "LATE"}).json()] == [late]
    both = client.get("/api/v1/flow-runs", params=[("state", "LATE"), ("state", "CANCELLED")]).json()
    assert {r["id"] for r in both} == {late, failed}
    overview = client.get("/api/v1/overview").json()
    assert [r["id"] for r in overview["late_runs"]] == [late]
    page = client.get(f"/flow-runs/{failed}").text
    assert "The last 500 of 700 lines" in page and "line 699" in page and ">line 199<" not in page
    detail = client.get(f"/api/v1/flow-runs/{failed}").json()
    assert detail["log_lines"] == 700 and len(detail["logs"]) == 500
    crashed = new_run()
    with store() as s:
        for state in (RunState.PENDING, RunState.RUNNING, RunState.FAILED):
            s.runs.set_state(crashed, state, "boom")
    failing = client.get("/api/v1/overview").json()["failing_deployments"]
    assert [(f["deployment"], f["failed"]) for f in failing] == [("greet/hello", 1)]
    assert "greet/hello" in client.get("/").text.split("Failing deployments")[1]


def test_retry_from_the_run_page(client: TestClient) -> None:
    run_id = new_run()
    with store() as s:
        s.runs.set_state(run_id, RunState.CANCELLED, "test")
    page = client.get(f"/flow-runs/{run_id}").text
    assert "Retry run" in page and "Cancel run" not in page
    token = csrf_of(client, f"/flow-runs/{run_id}")
    done = client.post(f"/flow-runs/{run_id}/retry", data={"csrf": token})
    assert done.status_code == 303 and done.headers["location"] == f"/flow-runs/{run_id}?done=retried"
    again = client.get(done.headers["location"]).text
    assert "The run was queued again." in again and "Cancel run" in again
    with store() as s:
        assert s.runs.get(run_id).attempt == 2
