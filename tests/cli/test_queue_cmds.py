"""`deploytool work-queue ...` against a real store file."""

from __future__ import annotations

import pytest

from deploytool.models import Deployment
from tests.cli.cli_helpers import CLI, open_store


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CLI:
    cli = CLI(capsys, monkeypatch)
    assert cli("work-pool", "create", "p", "--type", "process").code == 0
    return cli


def _queues(cli: CLI, *args: str) -> list[tuple[str, str, int, object, str]]:
    result = cli("work-queue", "ls", "-o", "json", *args)
    assert result.code == 0, result.err
    envelope = result.json()
    assert envelope["kind"] == "work-queue-list" and envelope["ok"] is True
    return [(q["pool"], q["name"], q["priority"], q["concurrency_limit"], q["status"]) for q in envelope["data"]]


def test_every_pool_has_default_and_queues_are_served_by_priority(cli: CLI) -> None:
    assert _queues(cli) == [("p", "default", 1, None, "NOT_READY")]
    created = cli("work-queue", "create", "low", "--pool", "p", "--concurrency-limit", "2")
    assert created.code == 0 and "priority 2" in created.out
    assert cli("work-queue", "create", "urgent", "--pool", "p", "--priority", "1").code == 0
    assert _queues(cli, "--pool", "p") == [
        ("p", "default", 1, None, "NOT_READY"),
        ("p", "urgent", 1, None, "NOT_READY"),
        ("p", "low", 2, 2, "NOT_READY"),
    ]
    text = cli("work-queue", "ls")
    assert "urgent" in text.out and "low" in text.out


def test_pause_resume_inspect_and_update(cli: CLI) -> None:
    assert cli("work-queue", "create", "q", "--pool", "p").code == 0
    assert cli("work-queue", "pause", "q").code == 0  # --pool is optional when the name is unique
    detail = cli("work-queue", "inspect", "q", "--pool", "p", "-o", "json").json()
    assert detail["kind"] == "work-queue" and detail["data"]["paused"] is True and detail["data"]["status"] == "PAUSED"
    assert cli("work-queue", "resume", "q", "--pool", "p").code == 0
    assert "status: NOT_READY" in cli("work-queue", "inspect", "q").out
    assert cli("work-queue", "update", "q", "--priority", "7", "--concurrency-limit", "3").code == 0
    assert ("p", "q", 7, 3, "NOT_READY") in _queues(cli)
    assert cli("work-queue", "update", "q", "--no-concurrency-limit").code == 0
    assert ("p", "q", 7, None, "NOT_READY") in _queues(cli)


def test_ambiguous_and_missing_queue(cli: CLI) -> None:
    assert cli("work-pool", "create", "p2", "--type", "docker").code == 0
    ambiguous = cli("work-queue", "inspect", "default")
    assert ambiguous.code == 1 and "several work pools have a queue named 'default': p, p2" in ambiguous.err
    missing = cli("work-queue", "inspect", "nope", "--pool", "p")
    assert missing.code == 1 and "work queue 'nope' not found in pool 'p' (its queues: default)" in missing.err
    no_pool = cli("work-queue", "create", "q", "--pool", "ghost")
    assert no_pool.code == 1 and "work pool 'ghost' not found" in no_pool.err
    bad = cli("work-queue", "create", "q", "--pool", "p", "--priority", "0")
    assert bad.code == 1 and "--priority must be 1 or more" in bad.err
    as_json = cli("work-queue", "ls", "--pool", "ghost", "-o", "json")
    assert as_json.code == 1 and as_json.json()["ok"] is False


def test_delete_rules(cli: CLI) -> None:
    default = cli("work-queue", "delete", "default", "--pool", "p")
    assert default.code == 1 and "cannot be deleted" in default.err
    assert cli("work-queue", "create", "used", "--pool", "p").code == 0
    with open_store() as store:
        store.deployments.upsert(Deployment("etl", "d", "f.py:etl", "p", queue_name="used"))
    in_use = cli("work-queue", "delete", "used", "--pool", "p")
    assert in_use.code == 1 and "is in use (1 deployment(s), 0 unfinished run(s))" in in_use.err
    assert cli("work-queue", "create", "spare", "--pool", "p").code == 0
    assert cli("work-queue", "delete", "spare", "--pool", "p").code == 0
    assert [q[1] for q in _queues(cli)] == ["default", "used"]
