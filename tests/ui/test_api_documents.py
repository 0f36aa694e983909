"""The JSON documents the dashboard's API serves (/api/v1/, docs/ui.md), pinned key by key (issue #11.4).

Core's dashboard use cases return typed results; the dashboard turns them into JSON. These tests hold that
what a browser or a script reads over HTTP stays exactly what it was: the same keys in the same order, the same
values, and no stored secret. The store's clock (the dashboard's) is driven to a fixed time; ids and times that
change from one run to the next are normalised (tests/json_golden.py) before the documents are compared with
tests/ui/golden/ (DEPLOYTOOL_WRITE_GOLDEN=1 rewrites them after a deliberate change).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from deploytool.settings import Settings
from deploytool.store import Store
from deploytool.ui.app import create_app
from deploytool.ui.config import UiConfig
from tests.core.helpers import populate_documents
from tests.json_golden import check_golden

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SECRET = "s3cr3t-value"

DOCUMENTS = {
    "overview": "/api/v1/overview",
    "pools": "/api/v1/work-pools",
    "pool-detail": "/api/v1/work-pools/local",
    "deployments": "/api/v1/deployments",
    "deployment-detail": "/api/v1/deployments/etl/daily",
    "runs": "/api/v1/flow-runs",
    "run-detail": "/api/v1/flow-runs/done-run",
    "run-why": "/api/v1/flow-runs/done-run/why",
    "run-logs": "/api/v1/flow-runs/done-run/logs",
}


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The dashboard in-process over a store holding one of everything, the store's clock (which the dashboard
    judges by) at NOW."""
    db_path = Settings.from_env().db_path
    with Store.open(db_path) as store:
        names = populate_documents(store, NOW)
    monkeypatch.setattr(type(store), "now", lambda self: NOW)
    app = create_app(UiConfig(store=db_path))
    with TestClient(app, base_url="http://127.0.0.1:4200", raise_server_exceptions=False) as client:
        yield client, names


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_api_documents_stay_as_they_are(served: tuple[TestClient, dict[str, str]], name: str) -> None:
    client, names = served
    response = client.get(DOCUMENTS[name])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert SECRET not in response.text
    check_golden(GOLDEN / f"api-{name}.json", response.json(), names)


def _events(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append({"event": fields["event"], "id": fields.get("id"), "data": json.loads(fields["data"])})
    return events


def test_the_event_stream_of_a_finished_run_stays_as_it_is(served: tuple[TestClient, dict[str, str]]) -> None:
    """A finished run's stream: each log line, then its state, then `end` (the page's live view reads these)."""
    client, names = served
    response = client.get("/api/v1/flow-runs/done-run/events")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert SECRET not in response.text
    events = _events(response.text)
    assert [e["event"] for e in events] == ["log", "state", "end"]
    check_golden(GOLDEN / "api-run-events.json", events, names)
