"""`deploytool run` and `deploytool flow-run ...` through the real CLI and a real store file.

A worker is simulated in a thread that moves states and appends logs through its own store connection.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from deploytool.models import FlowRun, LogLine, RunState, utcnow
from deploytool.redaction import MASK
from tests.cli.cli_helpers import CLI, add_etl_daily, open_store
from tests.core.helpers import simulate_worker


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CLI:
    add_etl_daily()
    return CLI(capsys, monkeypatch)


def _only_run() -> FlowRun:
    with open_store() as store:
        (run,) = store.runs.list()
    return run


# --- deploytool run ------------------------------------------------------------------------------------------


def test_run_text_prints_id_name_and_how_to_follow(cli: CLI) -> None:
    result = cli("run", "etl/daily", "--param", "count=3")
    assert result.code == 0, result.err
    run = _only_run()
    assert run.state is RunState.SCHEDULED and run.parameters == {"count": 3}
    assert f"Created flow run {run.name} ({run.id}) of etl/daily, scheduled now." in result.out
    assert f"deploytool flow-run logs {run.id[:8]} --follow" in result.err
    assert "no worker is polling pool local: start one with deploytool worker start --pool local" in result.err


def test_run_json_envelope(cli: CLI) -> None:
    result = cli("run", "etl/daily", "-p", "count=3", "--output", "json")
    assert result.code == 0, result.err
    envelope = result.json()
    assert set(envelope) == {"version", "kind", "ok", "data", "errors"}
    assert (envelope["kind"], envelope["ok"], envelope["errors"]) == ("flow-run", True, [])
    data = envelope["data"]
    assert data["id"] == _only_run().id and data["state"] == "SCHEDULED" and data["new"] is True


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--param", "count=3", "--param", "name=bob"], {"count": 3, "name": "bob"}),
        (["--param", 'tags=["a","b"]', "--param", "count=1"], {"count": 1, "tags": ["a", "b"]}),
        (["--param", "count=1", "--param", "version=1.10"], {"count": 1, "version": "1.10"}),
        (["--param", "count=1", "--param", 'name="007"'], {"count": 1, "name": "007"}),
        (["--params", '{"count": 1, "name": "x"}', "--param", "name=y"], {"count": 1, "name": "y"}),
        (["--param", '{"count": 5}'], {"count": 5}),
    ],
)
def test_parameter_values(cli: CLI, args: list[str], expected: dict[str, object]) -> None:
    result = cli("run", "etl/daily", *args)
    assert result.code == 0, result.err
    assert _only_run().parameters == expected


def test_params_from_stdin_and_override_notice(cli: CLI) -> None:
    result = cli("run", "etl/daily", "--params", "-", "--param", "count=2", stdin='{"count": 1}')
    assert result.code == 0, result.err
    assert _only_run().parameters == {"count": 2}
    assert "note: --param overrides --params for: count" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "count=many"], "count: parameter 'count' must be an integer, got 'many' (a string)"),
        (["--param", "count=1", "--param", "cuont=2"], "did you mean 'count'?"),
        ([], "required parameter 'count' has no value"),
        (["--params", "[1]"], "--params: must be a JSON object"),
        (["--params", "{bad"], "--params: not JSON"),
        (["--param", "count"], "expected KEY=VALUE"),
        (["-p", "count=1", "--job-variable", "stream_output=maybe"], "stream_output:"),
        (["-p", "count=1", "--start-in", "10"], "not a duration"),
        (["-p", "count=1", "--start-at", "soon"], "not an ISO 8601"),
        (["-p", "count=1", "--start-in", "99999999d"], "--start-in '99999999d': too far away"),
        (["-p", "count=1", "-p", "name=" + "a" * 150_000], "are 150021 bytes as JSON; a run can carry at most 114688"),
        (["-p", "count=1", "--start-at", "9999-12-31T23:59:59-05:00"], "too far away"),
    ],
)
def test_run_errors(cli: CLI, args: list[str], message: str) -> None:
    result = cli("run", "etl/daily", *args)
    assert result.code == 1
    assert message in result.err
    with open_store() as store:
        assert store.runs.list() == []


def test_run_error_json_envelope(cli: CLI) -> None:
    result = cli("run", "etl/daily", "--param", "count=x", "--output", "json")
    assert result.code == 1
    envelope = result.json()
    assert envelope["ok"] is False and envelope["kind"] == "flow-run"
    assert "must be an integer" in envelope["errors"][0]["message"]


def test_unknown_deployment(cli: CLI) -> None:
    result = cli("run", "etl/nightly")
    assert result.code == 1 and "deployment etl/nightly not found" in result.err and "daily" in result.err


def test_start_in_and_start_at(cli: CLI) -> None:
    before = utcnow()
    assert cli("run", "etl/daily", "-p", "count=1", "--start-in", "1h30m").code == 0
    scheduled = _only_run().scheduled_time
    assert before + timedelta(minutes=90) <= scheduled <= utcnow() + timedelta(minutes=90)
    with open_store() as store:
        store.runs.set_state(_only_run().id, RunState.CANCELLED)
    result = cli("run", "etl/daily", "-p", "count=1", "--start-at", "2030-01-31T17:30:00Z", "-o", "json")
    assert result.json()["data"]["scheduled_time"] == datetime(2030, 1, 31, 17, 30, tzinfo=UTC).isoformat()
    both = cli("run", "etl/daily", "--start-in", "1m", "--start-at", "2030-01-01T00:00")
    assert both.code == 2 and "not both" in both.err


def test_idempotency_key(cli: CLI) -> None:
    first = cli("run", "etl/daily", "-p", "count=1", "--idempotency-key", "ci-7", "-o", "json").json()["data"]
    again = cli("run", "etl/daily", "-p", "count=1", "--idempotency-key", "ci-7")
    assert again.code == 0 and "already exists for this idempotency key" in again.out and first["id"] in again.out
    assert first["new"] is True


def test_six_concurrent_runs_with_one_key_store_one_run_and_only_its_creator_says_new(cli: CLI) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "deploytool", "run", "etl/daily", "-p", "count=1", "--idempotency-key", "K"]
    procs = [subprocess.Popen([*command, "-o", "json"], stdout=subprocess.PIPE, text=True) for _ in range(6)]
    results = [json.loads(p.communicate(timeout=120)[0])["data"] for p in procs]
    assert len({r["id"] for r in results}) == 1
    assert [r["new"] for r in results].count(True) == 1
    texts = [subprocess.run(command, capture_output=True, text=True, timeout=120).stdout for _ in range(2)]
    assert not [t for t in texts if "Created" in t]
    with open_store() as store:
        assert len(store.runs.list()) == 1


# --- --watch -------------------------------------------------------------------------------------------------


def _watch_with_worker(cli: CLI, final: RunState, *extra: str) -> tuple[int, str, str]:
    with open_store() as store:
        store.workers.heartbeat("w1", "local", "host", 1, utcnow())
        run = store.runs.create(FlowRun("etl", "daily", "local", store.deployments.get_by_name("etl", "daily").id))
        path = store.path

    def worker() -> None:
        simulate_worker(path, run.id, final, delay=0.3)

    # `deploytool run` creates its own run; the simulated worker claims whatever comes first, so reuse this one
    # through `flow-run watch` for the same code path as `run --watch`.
    thread = threading.Thread(target=worker)
    thread.start()
    result = cli("flow-run", "watch", run.id[:8], *extra)
    thread.join()
    return result.code, result.out, result.err


@pytest.mark.parametrize(
    ("final", "code"),
    [(RunState.COMPLETED, 0), (RunState.FAILED, 3), (RunState.CRASHED, 4), (RunState.CANCELLED, 5)],
)
def test_watch_exit_codes(cli: CLI, final: RunState, code: int) -> None:
    exit_code, out, err = _watch_with_worker(cli, final)
    assert exit_code == code, err
    assert [line.split()[-2:] for line in out.splitlines()[:3]] == [["line", "0"], ["line", "1"], ["line", "2"]]
    assert "[worker] finishing" in out
    assert "state: RUNNING (worker w1)" in err
    assert f"Flow run daily-{err.split('daily-')[1][:8]} {final.value}" in err


def test_run_watch_end_to_end(cli: CLI) -> None:
    with open_store() as store:
        path = store.path
    results: list[int] = []

    def worker() -> None:
        import time

        deadline = time.monotonic() + 60  # a safety net: the loop ends when the run is queued
        while time.monotonic() < deadline:
            with open_store() as store:
                runs = store.runs.list()
            if runs:
                simulate_worker(path, runs[0].id, RunState.FAILED, delay=0.2)
                results.append(1)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=worker)
    thread.start()
    result = cli("run", "etl/daily", "-p", "count=1", "--watch")
    thread.join()
    assert results == [1]
    assert result.code == 3, result.err
    assert "line 2" in result.out
    assert " FAILED after " in result.err and ": it went wrong" in result.err


def test_watch_json_mode_gives_final_envelope(cli: CLI) -> None:
    code, out, err = _watch_with_worker(cli, RunState.CRASHED, "--output", "json")
    assert code == 4
    import json

    envelope = json.loads(out)
    assert envelope["ok"] is False and envelope["data"]["state"] == "CRASHED"
    assert envelope["errors"][0]["type"] == "CRASHED"
    assert "line 0" in err  # logs go to stderr so stdout stays one JSON document


def test_watch_ctrl_c_stops_watching_not_the_run(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    from deploytool.core import watch

    def interrupted(*args: object, **kwargs: object) -> Iterator[watch.WatchEvent]:
        raise KeyboardInterrupt
        yield  # pragma: no cover

    monkeypatch.setattr(watch, "watch_run", interrupted)
    result = cli("run", "etl/daily", "-p", "count=1", "--watch")
    assert result.code == 130
    assert "Stopped watching. The run goes on" in result.err
    assert _only_run().state is RunState.SCHEDULED


# --- flow-run ls / inspect / logs / cancel -------------------------------------------------------------------


def test_ls_text_and_json(cli: CLI) -> None:
    with open_store() as store:
        dep = store.deployments.get_by_name("etl", "daily")
        late = store.runs.create(FlowRun("etl", "daily", "local", dep.id, scheduled_time=utcnow() - timedelta(hours=1)))
        done = store.runs.create(FlowRun("etl", "daily", "local", dep.id))
        store.runs.set_state(done.id, RunState.PENDING, worker_name="w1")
        store.runs.set_state(done.id, RunState.RUNNING)
        store.runs.set_state(done.id, RunState.COMPLETED)
    text = cli("flow-run", "ls")
    assert text.code == 0, text.err
    assert late.id[:8] in text.out and "LATE" in text.out and "COMPLETED" in text.out
    for header in ("id", "name", "deployment", "state", "scheduled", "started", "duration"):
        assert header in text.out
    envelope = cli("flow-run", "ls", "--state", "late", "-o", "json").json()
    assert envelope["kind"] == "flow-run-list" and [r["id"] for r in envelope["data"]] == [late.id]
    assert [r["id"] for r in cli("flow-run", "ls", "-s", "COMPLETED", "-o", "json").json()["data"]] == [done.id]
    assert len(cli("flow-run", "ls", "--deployment", "etl/daily", "--pool", "local", "-o", "json").json()["data"]) == 2
    assert len(cli("flow-run", "ls", "--limit", "1", "-o", "json").json()["data"]) == 1
    bad = cli("flow-run", "ls", "--state", "DONE", "-o", "json")
    assert bad.code == 1 and bad.json()["ok"] is False and "unknown state" in bad.json()["errors"][0]["message"]


def test_ls_json_masks_stored_secrets_in_state_messages_and_the_table_shows_none(cli: CLI) -> None:
    assert cli("block", "set", "secret/db", "value=hunter2-secret").code == 0
    with open_store() as store:
        dep = store.deployments.get_by_name("etl", "daily")
        run = store.runs.create(FlowRun("etl", "daily", "local", dep.id))
        store.runs.set_state(run.id, RunState.PENDING, worker_name="w1")
        store.runs.set_state(run.id, RunState.RUNNING)
        store.runs.set_state(run.id, RunState.FAILED, "failed: cannot log in with hunter2-secret")
    (row,) = cli("flow-run", "ls", "-o", "json").json()["data"]
    assert row["state_message"] == f"failed: cannot log in with {MASK}"
    text = cli("flow-run", "ls")
    assert text.code == 0 and run.id[:8] in text.out and "FAILED" in text.out
    assert "hunter2" not in text.out + text.err and "cannot log in" not in text.out


def test_ls_empty(cli: CLI) -> None:
    result = cli("flow-run", "ls")
    assert result.code == 0 and "No flow runs" in result.err


def test_inspect_and_unknown_id(cli: CLI) -> None:
    assert cli("run", "etl/daily", "-p", "count=4").code == 0
    run = _only_run()
    text = cli("flow-run", "inspect", run.id[:6])
    assert text.code == 0 and f"id: {run.id}" in text.out and 'parameters: {"count": 4}' in text.out
    data = cli("flow-run", "inspect", run.name, "-o", "json").json()
    assert data["kind"] == "flow-run" and data["data"]["id"] == run.id and data["data"]["parameters"] == {"count": 4}
    for command in ("inspect", "logs", "cancel", "watch"):
        missing = cli("flow-run", command, "nope")
        assert missing.code == 1, command
        assert "no flow run has the id, id prefix or name 'nope'" in missing.err
        assert "deploytool flow-run ls" in missing.err


def test_logs_and_follow(cli: CLI) -> None:
    with open_store() as store:
        run = store.runs.create(FlowRun("etl", "daily", "local", None))
        store.logs.append(run.id, [LogLine(run.id, utcnow(), "INFO", "stdout", "first")])
        path = store.path
    text = cli("flow-run", "logs", run.id[:8])
    assert text.code == 0 and "first" in text.out
    envelope = cli("flow-run", "logs", run.id[:8], "-o", "json").json()
    assert envelope["kind"] == "flow-run-logs" and envelope["data"][0]["message"] == "first"

    thread = threading.Thread(target=simulate_worker, args=(path, run.id, RunState.COMPLETED))
    thread.start()
    followed = cli("flow-run", "logs", run.id[:8], "--follow")
    thread.join()
    assert followed.code == 0
    assert [line.split()[-1] for line in followed.out.splitlines()] == ["first", "0", "1", "2", "finishing"]
    import json

    lines = [json.loads(line) for line in cli("flow-run", "logs", run.id, "-f", "-o", "json").out.splitlines()]
    assert [line["message"] for line in lines][-1] == "finishing"


def test_cancel(cli: CLI) -> None:
    with open_store() as store:
        queued = store.runs.create(FlowRun("etl", "daily", "local", None))
        running = store.runs.create(FlowRun("etl", "daily", "local", None))
        store.runs.set_state(running.id, RunState.PENDING, worker_name="w9")
        store.runs.set_state(running.id, RunState.RUNNING)
    result = cli("flow-run", "cancel", queued.id[:8])
    assert result.code == 0 and f"Cancelled flow run {queued.name}" in result.out
    result = cli("flow-run", "cancel", running.id[:8], "-o", "json")
    assert result.code == 0 and result.json()["data"]["state"] == "CANCELLING"
    result = cli("flow-run", "cancel", queued.id[:8])
    assert result.code == 1 and "already finished (CANCELLED); there is nothing to cancel" in result.err


def test_run_help_documents_exit_codes(cli: CLI) -> None:
    result = cli("run", "--help")
    assert result.code == 0
    flat = " ".join(result.out.split())
    assert "0 COMPLETED, 3 FAILED, 4 CRASHED, 5 CANCELLED" in flat


def test_inspect_lists_the_task_runs_with_states_and_durations(cli: CLI) -> None:
    from deploytool.models import TaskRun

    with open_store() as store:
        run = store.runs.create(FlowRun("etl", "daily", "local", None))
        start = utcnow()
        store.task_runs.record(
            [
                TaskRun("a", run.id, "extract-0", "extract", "COMPLETED", start, 1, start, 0.25),
                TaskRun("b", run.id, "load-0", "load", "FAILED", start + timedelta(seconds=1), 3, start, 1.5, "E: x"),
            ]
        )
    text = cli("flow-run", "inspect", run.id[:8])
    assert "task runs: 2\n  extract-0  COMPLETED 0.2s\n  load-0  FAILED 1.5s (3 attempts): E: x" in text.out
    data = cli("flow-run", "inspect", run.id[:8], "-o", "json").json()["data"]["task_runs"]
    assert [(t["name"], t["state"], t["duration_seconds"]) for t in data] == [
        ("extract-0", "COMPLETED", 0.25),
        ("load-0", "FAILED", 1.5),
    ]
