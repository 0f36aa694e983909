"""The OpenAPI 3.1 document of /api/v1/, written by hand next to the routes it describes (deploytool.ui.api).

tests/ui/test_api_fuzz.py fuzzes every operation against it with schemathesis (statuses and bodies must match
the document, no 500). A change to an answer's shape changes this file too.
"""

from __future__ import annotations

from typing import Any

from deploytool import __version__

STATES = ["SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CRASHED", "CANCELLING", "CANCELLED"]


SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["state", "log", "end"], "description": "what `data` holds"},
        "data": {
            "type": "string",
            "description": "JSON: a RunSummary (state), a LogLine (log) or the final state (end)",
        },
        "id": {"type": "string", "description": "the id of the last log line sent; give it back as `after`"},
        "retry": {"type": "integer"},
    },
}


def _nullable(kind: str, **more: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **more}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


ANY_OBJECT: dict[str, Any] = {"type": "object"}
TIME = {"type": "string", "format": "date-time"}

RUN_SUMMARY = _obj(
    ["id", "name", "deployment", "pool", "queue", "state", "label", "scheduled_time", "attempt"],
    {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "deployment": {"type": "string", "description": "FLOW/DEPLOYMENT"},
        "deployment_id": _nullable("string"),
        "pool": {"type": "string"},
        "queue": {"type": "string"},
        "state": {"type": "string", "enum": STATES},
        "label": {"type": "string", "enum": [*STATES, "LATE"], "description": "the state, or LATE when overdue"},
        "state_message": _nullable("string"),
        "scheduled_time": TIME,
        "start_time": _nullable("string", format="date-time"),
        "end_time": _nullable("string", format="date-time"),
        "duration_seconds": _nullable("number"),
        "attempt": {"type": "integer"},
        "worker": _nullable("string"),
    },
)
POOL = _obj(
    ["name", "type", "status", "paused", "concurrency_limit", "queued", "running"],
    {
        "name": {"type": "string"},
        "type": {"type": "string"},
        "status": {"type": "string", "enum": ["READY", "NOT_READY", "PAUSED"]},
        "status_reason": {"type": "string"},
        "problem": _nullable(
            "string",
            description="NOT_READY: why each of its workers takes no runs (stale, offline, or a problem it reports),"
            " as `work-pool ls` says it; null without workers",
        ),
        "paused": {"type": "boolean"},
        "concurrency_limit": _nullable("integer"),
        "queued": {"type": "integer"},
        "running": {"type": "integer"},
        "description": _nullable("string"),
        "created": TIME,
        "updated": TIME,
    },
)
WORKER = _obj(
    ["name", "host", "pid", "last_heartbeat", "online", "status", "runs_held"],
    {
        "name": {"type": "string"},
        "host": {"type": "string"},
        "pid": {"type": "integer"},
        "last_heartbeat": TIME,
        "online": {"type": "boolean", "description": "status is online"},
        "status": {
            "type": "string",
            "enum": ["online", "stale", "offline"],
            "description": "as `deploytool worker ls` shows it (docs/worker.md)",
        },
        "problem": _nullable("string", description="what keeps it from taking runs (its Docker daemon is away)"),
        "runs_held": {"type": "integer"},
    },
)
POOL_DETAIL = {
    "allOf": [
        _ref("WorkPool"),
        _obj(
            ["queues", "workers", "base_job_template", "deployments", "variables"],
            {
                "queues": {"type": "array", "items": ANY_OBJECT},
                "workers": {"type": "array", "items": _ref("Worker")},
                "base_job_template": ANY_OBJECT,
                "deployments": {"type": "array", "items": {"type": "string"}},
                "variables": {"type": "array", "items": ANY_OBJECT},
            },
        ),
    ]
}
DEPLOYMENT = _obj(
    ["id", "full_name", "flow_name", "name", "pool", "queue", "paused"],
    {
        "id": {"type": "string"},
        "full_name": {"type": "string"},
        "flow_name": {"type": "string"},
        "name": {"type": "string"},
        "pool": {"type": "string"},
        "queue": {"type": "string"},
        "schedules": {"type": "array", "items": ANY_OBJECT},
        "schedules_text": {"type": "string"},
        "paused": {"type": "boolean"},
        "next_run": _nullable("string", format="date-time"),
        "tags": {"type": "array", "items": {"type": "string"}},
    },
)
DEPLOYMENT_DETAIL = _obj(
    [
        "id",
        "full_name",
        "entrypoint",
        "work_pool",
        "parameters",
        "parameter_schema",
        "job_configuration",
        "recent_runs",
    ],
    {
        "id": {"type": "string"},
        "full_name": {"type": "string"},
        "entrypoint": {"type": "string"},
        "work_pool": {"type": "string"},
        "work_queue": {"type": "string"},
        "parameters": ANY_OBJECT,
        "parameter_schema": ANY_OBJECT,
        "job_variables": ANY_OBJECT,
        "schedules": {"type": "array", "items": ANY_OBJECT},
        "next_runs": {"type": "array", "items": ANY_OBJECT},
        "paused": {"type": "boolean"},
        "job_configuration": {
            "type": "array",
            "description": "each value of the final job configuration and where it came from (render --explain)",
            "items": _obj(["path", "source"], {"path": {"type": "string"}, "value": {}, "source": {"type": "string"}}),
        },
        "job_configuration_error": _nullable("string"),
        "recent_runs": {"type": "array", "items": _ref("RunSummary")},
        "pool_status": _nullable("string"),
    },
)
LOG_LINE = _obj(
    ["id", "time", "level", "source", "message"],
    {
        "id": {"type": "integer"},
        "time": TIME,
        "level": {"type": "string"},
        "source": {"type": "string"},
        "message": {"type": "string"},
    },
)
WHY = _obj(
    ["id", "state", "verdict", "summary", "reasons"],
    {
        "id": {"type": "string"},
        "state": {"type": "string", "enum": STATES},
        "verdict": {"type": "string"},
        "summary": {"type": "string"},
        "reasons": {"type": "array", "items": _obj(["code", "message", "blocking"], {})},
    },
)
RUN_DETAIL = {
    "allOf": [
        _ref("RunSummary"),
        _obj(
            ["parameters", "job_variables", "why", "state_history", "logs", "last_log_id", "terminal"],
            {
                "parameters": ANY_OBJECT,
                "job_variables": ANY_OBJECT,
                "why": _ref("Why"),
                "state_history": {
                    "type": "array",
                    "items": _obj(
                        ["state", "time"],
                        {"state": {"type": "string"}, "time": _nullable("string"), "message": _nullable("string")},
                    ),
                },
                "logs": {"type": "array", "items": _ref("LogLine")},
                "last_log_id": {"type": "integer"},
                "log_lines": {"type": "integer"},
                "terminal": {"type": "boolean"},
                "exit_code": _nullable("integer"),
            },
        ),
    ]
}
OVERVIEW = _obj(
    ["now", "hours", "runs_per_state", "totals", "late_runs", "failing_deployments", "work_pools"],
    {
        "now": TIME,
        "hours": {"type": "array", "items": TIME, "minItems": 24, "maxItems": 24},
        "runs_per_state": {
            "type": "object",
            "description": "state -> runs created in each of the 24 hours (by current state)",
            "additionalProperties": {"type": "array", "items": {"type": "integer"}},
        },
        "totals": {"type": "object", "additionalProperties": {"type": "integer"}},
        "late_runs": {"type": "array", "items": _ref("RunSummary")},
        "failing_deployments": {
            "type": "array",
            "items": _obj(
                ["deployment", "failed", "last_failure"],
                {"deployment": {"type": "string"}, "failed": {"type": "integer"}, "last_failure": TIME},
            ),
        },
        "work_pools": {"type": "array", "items": _ref("WorkPool")},
    },
)
ERROR = _obj(
    ["error"],
    {
        "error": _obj(
            ["type", "message"],
            {"type": {"type": "string"}, "message": {"type": "string"}, "hint": _nullable("string")},
        )
    },
)
RUN_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "parameters": {"type": "object", "description": "as --param NAME=VALUE; checked against the schema"},
        "job_variables": {"type": "object", "description": "as --job-variable NAME=VALUE"},
        "start_in": {"type": "string", "description": "a delay: 30s, 10m, 2h, 1d, 1h30m"},
        "start_at": {"type": "string", "description": "an ISO 8601 time"},
        "idempotency_key": {"type": "string"},
    },
}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


def _query(name: str, schema: dict[str, Any], description: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description, **more}


def _ok(schema: dict[str, Any], description: str = "OK", status: str = "200") -> dict[str, Any]:
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}},
        "default": {"description": "an error", "content": {"application/json": {"schema": _ref("Error")}}},
    }


def _get(summary: str, schema: dict[str, Any], params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": params or [], "responses": _ok(schema)}}


RUN_ID = _path_param("run_id", "the run's id, a unique prefix of it, or its name")
POOL_NAME = _path_param("name", "the work pool's name")
FLOW = _path_param("flow", "the flow's name")
DEP_NAME = _path_param("name", "the deployment's name")
EMPTY_BODY = {
    "required": False,
    "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}},
}


def _post(summary: str, schema: dict[str, Any], params: list[dict[str, Any]]) -> dict[str, Any]:
    return {"post": {"summary": summary, "parameters": params, "requestBody": EMPTY_BODY, "responses": _ok(schema)}}


def openapi_document(*, read_only: bool = False) -> dict[str, Any]:
    """The document; in read-only mode it has no operation that changes anything (none is served)."""
    paths: dict[str, Any] = {
        "/api/v1/overview": _get("runs per state over 24 hours, late runs, failing deployments", _ref("Overview")),
        "/api/v1/work-pools": _get("every work pool with its status", {"type": "array", "items": _ref("WorkPool")}),
        "/api/v1/work-pools/{name}": _get("a work pool: queues, workers, base job template", POOL_DETAIL, [POOL_NAME]),
        "/api/v1/deployments": _get("every deployment", {"type": "array", "items": _ref("Deployment")}),
        "/api/v1/deployments/{flow}/{name}": _get(
            "a deployment: schedules, next runs, parameters, job configuration with provenance, recent runs",
            _ref("DeploymentDetail"),
            [FLOW, DEP_NAME],
        ),
        "/api/v1/flow-runs": _get(
            "flow runs, newest first",
            {"type": "array", "items": _ref("RunSummary")},
            [
                _query(
                    "state",
                    {"type": "array", "items": {"type": "string", "enum": [*STATES, "LATE"]}},
                    "only these states (repeat the parameter); LATE: overdue SCHEDULED runs",
                    style="form",
                    explode=True,
                ),
                _query("deployment", {"type": "string"}, "only runs of FLOW/DEPLOYMENT"),
                _query("pool", {"type": "string"}, "only runs of this work pool"),
                _query("since", {"type": "string", "format": "date-time"}, "created at or after (ISO 8601)"),
                _query("until", {"type": "string", "format": "date-time"}, "created before (ISO 8601)"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "at most this many"),
            ],
        ),
        "/api/v1/flow-runs/{run_id}": _get(
            "a run: state history, parameters, job variables, why, first log lines", RUN_DETAIL, [RUN_ID]
        ),
        "/api/v1/flow-runs/{run_id}/why": _get("why the run waits (flow-run why)", _ref("Why"), [RUN_ID]),
        "/api/v1/flow-runs/{run_id}/logs": _get(
            "log lines, oldest first",
            {"type": "array", "items": _ref("LogLine")},
            [
                RUN_ID,
                _query("after", {"type": "integer", "minimum": 0, "default": 0}, "only lines with a larger id"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}, "at most"),
            ],
        ),
        "/api/v1/flow-runs/{run_id}/events": {
            "get": {
                "summary": "server-sent events until the run ends: `state` (RunSummary), `log` (LogLine), `end`",
                "parameters": [RUN_ID, _query("after", {"type": "integer", "minimum": 0}, "log lines after this id")],
                "responses": {
                    "200": {
                        "description": "an event stream",
                        # OpenAPI 3.1: the media type's schema describes one event of the stream
                        "content": {"text/event-stream": {"schema": SSE_EVENT}},
                    },
                    "default": {"description": "an error", "content": {"application/json": {"schema": _ref("Error")}}},
                },
            }
        },
    }
    if not read_only:
        paths["/api/v1/deployments/{flow}/{name}/runs"] = {
            "post": {
                "summary": "queue a run (deploytool run): parameters checked as the CLI checks them",
                "parameters": [FLOW, DEP_NAME],
                "requestBody": {"required": False, "content": {"application/json": {"schema": RUN_REQUEST}}},
                "responses": {
                    "201": {
                        "description": "created",
                        "content": {"application/json": {"schema": _ref("RunSummary")}},
                    },
                    **_ok(_ref("RunSummary"), "an existing run with this idempotency key"),
                },
            }
        }
        paths["/api/v1/flow-runs/{run_id}/cancel"] = _post("cancel a run", _ref("RunSummary"), [RUN_ID])
        paths["/api/v1/flow-runs/{run_id}/retry"] = _post("queue a finished run again", _ref("RunSummary"), [RUN_ID])
        for action in ("pause", "resume"):
            paths[f"/api/v1/work-pools/{{name}}/{action}"] = _post(
                f"{action} a work pool", _obj(["name", "paused"], {}), [POOL_NAME]
            )
            paths[f"/api/v1/deployments/{{flow}}/{{name}}/{action}"] = _post(
                f"{action} a deployment", _obj(["full_name", "paused"], {}), [FLOW, DEP_NAME]
            )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "deploytool dashboard API",
            "version": __version__,
            "description": "The API the dashboard's pages use (docs/ui.md). With a token, send"
            " `Authorization: Bearer TOKEN`. POSTs need `Content-Type: application/json`.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": {
                "Error": ERROR,
                "RunSummary": RUN_SUMMARY,
                "WorkPool": POOL,
                "Worker": WORKER,
                "Deployment": DEPLOYMENT,
                "DeploymentDetail": DEPLOYMENT_DETAIL,
                "LogLine": LOG_LINE,
                "Why": WHY,
                "Overview": OVERVIEW,
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"bearer": []}],
        "paths": paths,
    }
