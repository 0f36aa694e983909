"""deploytool.core.runs and deploytool.core.watch against a real store file."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from deploytool.core import runs as core
from deploytool.core import when
from deploytool.core.watch import LogEvent, PoolEvent, StateEvent, follow_logs, watch_run
from deploytool.errors import ConflictError, DeploytoolError, NotFoundError, UsageError
from deploytool.models import FlowRun, LogLine, PoolStatus, RunState, utcnow
from deploytool.store import Store
from tests.core.helpers import add_deployment, simulate_worker

# --- parameters ----------------------------------------------------------------------------------------------


def test_run_created_scheduled_with_merged_parameters(store: Store) -> None:
    when = utcnow() + timedelta(minutes=10)
    run = core.create_run(store, "etl/daily", {"count": 3}, {}, when)
    stored = store.runs.get(run.id)
    assert stored.state is RunState.SCHEDULED
    assert stored.scheduled_time == when
    assert stored.parameters == {"count": 3}
    assert (stored.pool_name, stored.queue_name, stored.flow_name, stored.deployment_name) == (
        "local",
        "default",
        "etl",
        "daily",
    )


def test_deployment_defaults_merged_first(store: Store) -> None:
    add_deployment(store, "withdefaults", parameters={"count": 1, "name": "dep"})
    run = core.create_run(store, "etl/withdefaults", {"name": "run"})
    assert run.parameters == {"count": 1, "name": "run"}


def test_flow_name_with_hyphen_or_underscore(store: Store) -> None:
    add_deployment(store, "x", flow_name="my_flow")
    assert core.create_run(store, "my-flow/x", {"count": 1}).flow_name == "my_flow"


def test_wrong_type_names_parameter_and_expected_type(store: Store) -> None:
    with pytest.raises(core.ParameterError) as info:
        core.create_run(store, "etl/daily", {"count": "many"})
    text = str(info.value)
    assert "count: parameter 'count' must be an integer, got 'many' (a string)" in text
    assert [p.name for p in info.value.problems] == ["count"]


def test_quoted_number_gets_a_hint(store: Store) -> None:
    with pytest.raises(core.ParameterError, match="write it without quotes: 3"):
        core.create_run(store, "etl/daily", {"count": "3"})


def test_unknown_parameter_with_did_you_mean(store: Store) -> None:
    with pytest.raises(core.ParameterError) as info:
        core.create_run(store, "etl/daily", {"count": 1, "cuont": 2})
    assert "unknown parameter 'cuont'" in str(info.value)
    assert "did you mean 'count'?" in str(info.value)


def test_missing_required_parameter(store: Store) -> None:
    with pytest.raises(core.ParameterError) as info:
        core.create_run(store, "etl/daily", {})
    assert "required parameter 'count' has no value" in str(info.value)
    assert "--param count=VALUE" in str(info.value)


def test_every_problem_reported_at_once(store: Store) -> None:
    with pytest.raises(core.ParameterError) as info:
        core.create_run(store, "etl/daily", {"tags": "a", "nme": "x"})
    assert sorted(p.name for p in info.value.problems) == ["count", "nme", "tags"]
    assert str(info.value).startswith("3 problems with the parameters of etl/daily:")


def test_not_enforced_schema_accepts_anything(store: Store) -> None:
    add_deployment(store, "loose", enforce_parameter_schema=False)
    assert core.create_run(store, "etl/loose", {"count": "x", "other": 1}).parameters == {"count": "x", "other": 1}


def test_command_line_text_kept_for_string_parameters(store: Store) -> None:
    run = core.create_run(store, "etl/daily", {"count": 2, "version": 1.1}, parameter_text={"version": "1.10"})
    assert run.parameters["version"] == "1.10"
    run = core.create_run(store, "etl/daily", {"count": 2}, parameter_text={"count": "2"})
    assert run.parameters["count"] == 2  # an integer parameter keeps the JSON value


def test_unknown_deployment(store: Store) -> None:
    with pytest.raises(NotFoundError, match="deployment etl/nope not found"):
        core.create_run(store, "etl/nope", {"count": 1})
    with pytest.raises(DeploytoolError, match="is not FLOW/DEPLOYMENT"):
        core.create_run(store, "etl/", {"count": 1})


# --- job variables ------------------------------------------------------------------------------------------


def test_job_variables_checked_with_variable_and_layer(store: Store) -> None:
    with pytest.raises(DeploytoolError) as info:
        core.create_run(store, "etl/daily", {"count": 1}, {"stream_output": "yes", "evn": {}})
    text = str(info.value)
    assert "evn: unknown job variable (set by run)" in text and "did you mean 'env'?" in text
    assert "stream_output:" in text and "(set by run)" in text


def test_bad_deployment_job_variable_names_the_deployment_layer(store: Store) -> None:
    add_deployment(store, "badjv", job_variables={"stream_output": "no"})
    with pytest.raises(DeploytoolError, match=r"stream_output: .*\(set by deployment\)"):
        core.create_run(store, "etl/badjv", {"count": 1})


def test_run_job_variables_stored(store: Store) -> None:
    run = core.create_run(store, "etl/daily", {"count": 1}, {"env": {"A": "1"}})
    assert store.runs.get(run.id).job_variables == {"env": {"A": "1"}}


# --- idempotency ---------------------------------------------------------------------------------------------


def test_idempotency_key_returns_the_same_run(store: Store) -> None:
    first = core.submit_run(store, "etl/daily", {"count": 1}, idempotency_key="ci-42")
    again = core.submit_run(store, "etl/daily", {"count": 2}, idempotency_key="ci-42")
    assert first.new and not again.new
    assert again.run.id == first.run.id and again.run.parameters == {"count": 1}
    assert first.pool_status is PoolStatus.NOT_READY
    assert len(store.runs.list()) == 1


def test_a_run_created_by_a_concurrent_caller_with_the_same_key_is_not_new(store: Store) -> None:
    # Another `deploytool run --idempotency-key K` created the run after this call began: its creation time is
    # later than our start, but it is still not ours (issue #10 item 7: six concurrent calls all said "new").
    deployment = store.deployments.get_by_name("etl", "daily")
    theirs = store.runs.create(
        FlowRun("etl", "daily", "local", deployment.id, idempotency_key="K", created=utcnow() + timedelta(hours=1))
    )
    submitted = core.submit_run(store, "etl/daily", {"count": 1}, idempotency_key="K")
    assert submitted.run.id == theirs.id and not submitted.new


# --- when ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("1d2h3m4s", 93784),
     ("90 seconds", 90), ("5 minutes", 300), ("1.5h", 5400), (" 2H ", 7200)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: int) -> None:
    assert when.parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("text", "message"), [("10", "not a duration"), ("", "empty"), ("5x", "unknown unit"),
                                               ("5mins3mins", "given twice"), ("-5m", "not a duration"),
                                               ("5 minuets", "did you mean 'minutes'")])  # fmt: skip
def test_parse_duration_errors(text: str, message: str) -> None:
    with pytest.raises(DeploytoolError, match=message):
        when.parse_duration(text)


def test_parse_start_at() -> None:
    assert when.parse_start_at("2030-01-31T17:30:00Z") == datetime(2030, 1, 31, 17, 30, tzinfo=UTC)
    assert when.parse_start_at("2030-01-31 17:30+02:00") == datetime(2030, 1, 31, 15, 30, tzinfo=UTC)
    naive = when.parse_start_at("2030-01-31T17:30")
    assert naive == datetime(2030, 1, 31, 17, 30).astimezone(UTC)  # local time
    with pytest.raises(DeploytoolError, match="not an ISO 8601"):
        when.parse_start_at("tomorrow")


def test_scheduled_time() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert when.scheduled_time(None, None, now) == now
    assert when.scheduled_time("1h30m", None, now) == now + timedelta(minutes=90)
    assert when.scheduled_time(None, "2030-01-02T00:00Z", now) == datetime(2030, 1, 2, tzinfo=UTC)
    with pytest.raises(UsageError, match="not both"):
        when.scheduled_time("1m", "2030-01-02T00:00Z", now)


def test_start_time_leaves_now_to_the_store_s_clock() -> None:
    """`run` and the dashboard give submit_run a delay, not this host's now plus it: the store's clock schedules."""
    assert when.start_time(None, None) is None
    assert when.start_time("1h30m", None) == timedelta(minutes=90)
    assert when.start_time(None, "2030-01-02T00:00Z") == datetime(2030, 1, 2, tzinfo=UTC)
    with pytest.raises(UsageError, match="not both"):
        when.start_time("1m", "2030-01-02T00:00Z")
    with pytest.raises(DeploytoolError, match="too far away"):
        when.start_time("9999999d", None)


# --- finding runs --------------------------------------------------------------------------------------------


def test_resolve_by_id_prefix_and_name(store: Store) -> None:
    a = store.runs.create(FlowRun("etl", "daily", "local", None, id="abcd1111" + "0" * 24))
    b = store.runs.create(FlowRun("etl", "daily", "local", None, id="abcd2222" + "0" * 24, name="nightly-run"))
    assert core.resolve_run(store, a.id).id == a.id
    assert core.resolve_run(store, "abcd1").id == a.id
    assert core.resolve_run(store, "ABCD2").id == b.id
    assert core.resolve_run(store, "nightly-run").id == b.id
    assert core.resolve_run(store, a.name).id == a.id
    with pytest.raises(DeploytoolError, match="matches 2 flow runs") as info:
        core.resolve_run(store, "abcd")
    assert info.value.hint == "give more characters of the id"
    with pytest.raises(NotFoundError, match="no flow run has the id") as missing:
        core.resolve_run(store, "ffff")
    assert missing.value.hint == "list runs: deploytool flow-run ls"


# --- cancel --------------------------------------------------------------------------------------------------


def _run_in(store: Store, state: RunState) -> FlowRun:
    run = core.create_run(store, "etl/daily", {"count": 1})
    path = {
        RunState.SCHEDULED: [],
        RunState.PENDING: [RunState.PENDING],
        RunState.RUNNING: [RunState.PENDING, RunState.RUNNING],
        RunState.CANCELLING: [RunState.PENDING, RunState.RUNNING, RunState.CANCELLING],
        RunState.COMPLETED: [RunState.PENDING, RunState.RUNNING, RunState.COMPLETED],
        RunState.FAILED: [RunState.PENDING, RunState.RUNNING, RunState.FAILED],
        RunState.CRASHED: [RunState.PENDING, RunState.RUNNING, RunState.CRASHED],
        RunState.CANCELLED: [RunState.CANCELLED],
    }[state]
    for step in path:
        run = store.runs.set_state(run.id, step, worker_name="w1" if step is RunState.PENDING else run.worker_name)
    return run


@pytest.mark.parametrize(
    ("state", "after"),
    [
        (RunState.SCHEDULED, RunState.CANCELLED),
        (RunState.PENDING, RunState.CANCELLING),
        (RunState.RUNNING, RunState.CANCELLING),
        (RunState.CANCELLING, RunState.CANCELLING),
    ],
)
def test_cancel(store: Store, state: RunState, after: RunState) -> None:
    run = _run_in(store, state)
    assert core.cancel_run(store, run.id[:10]).state is after
    assert store.runs.get(run.id).state is after


@pytest.mark.parametrize("state", [RunState.COMPLETED, RunState.FAILED, RunState.CRASHED, RunState.CANCELLED])
def test_cancel_finished_run_is_a_clear_error(store: Store, state: RunState) -> None:
    run = _run_in(store, state)
    with pytest.raises(ConflictError, match=f"already finished \\({state}\\); there is nothing to cancel"):
        core.cancel_run(store, run.id)


# --- listing and inspecting ----------------------------------------------------------------------------------


def test_list_filters_and_late_label(store: Store) -> None:
    add_deployment(store, "other")
    late = core.create_run(store, "etl/daily", {"count": 1}, scheduled_time=utcnow() - timedelta(minutes=5))
    future = core.create_run(store, "etl/daily", {"count": 1}, scheduled_time=utcnow() + timedelta(hours=1))
    running = _run_in(store, RunState.RUNNING)
    other = core.create_run(store, "etl/other", {"count": 1})

    rows = {r.id: r for r in core.list_runs(store)}
    assert rows[late.id].label == "LATE" and rows[late.id].state is RunState.SCHEDULED
    assert rows[late.id].to_dict()["state"] == "SCHEDULED" and rows[late.id].to_dict()["label"] == "LATE"
    assert rows[future.id].label == "SCHEDULED"
    assert rows[running.id].duration_seconds is not None
    assert [r.id for r in core.list_runs(store, late=True)] == [late.id]
    assert core.parse_states(["late", "running"]) == ({RunState.RUNNING}, True)
    assert {r.id for r in core.list_runs(store, states={RunState.RUNNING}, late=True)} == {late.id, running.id}
    assert [r.id for r in core.list_runs(store, deployment="etl/other")] == [other.id]
    assert len(core.list_runs(store, pool="local", limit=2)) == 2
    with pytest.raises(DeploytoolError, match="unknown state") as info:
        core.parse_states(["RUNING"])
    assert info.value.hint == "did you mean 'RUNNING'?"
    with pytest.raises(NotFoundError):
        core.list_runs(store, pool="nope")


def test_inspect(store: Store) -> None:
    run = core.create_run(store, "etl/daily", {"count": 1}, {"env": {"A": "1"}}, idempotency_key="k")
    store.logs.append(run.id, [LogLine(run.id, utcnow(), "INFO", "stdout", "hello")])
    detail = core.inspect_run(store, run.id[:6])
    assert detail.parameters == {"count": 1} and detail.job_variables == {"env": {"A": "1"}}
    assert detail.idempotency_key == "k" and detail.log_lines == 1 and detail.summary.deployment == "etl/daily"


# --- watching ------------------------------------------------------------------------------------------------


def test_watch_streams_states_and_logs_in_order(store: Store) -> None:
    run = core.create_run(store, "etl/daily", {"count": 1})
    worker = threading.Thread(target=simulate_worker, args=(store.path, run.id, RunState.COMPLETED))
    worker.start()
    events = list(watch_run(store, run.id, poll_seconds=0.02))
    worker.join()
    kinds = [
        e.run.state.value if isinstance(e, StateEvent) else e.line.message if isinstance(e, LogEvent) else "pool"
        for e in events
    ]
    assert kinds[0] == "SCHEDULED"
    assert kinds[-2:] == ["finishing", "COMPLETED"]
    assert [k for k in kinds if k.startswith("line")] == ["line 0", "line 1", "line 2"]
    assert kinds.index("RUNNING") < kinds.index("line 0")


class SteppedClock:
    """A clock that moves by the watch's poll interval each time the watch sleeps (no real waiting)."""

    def __init__(self) -> None:
        self.now = utcnow()
        self.sleeps = 0

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += timedelta(seconds=seconds)


def test_watch_tells_when_no_worker_polls_the_pool_once_the_run_has_waited(store: Store) -> None:
    run = core.create_run(store, "etl/daily", {"count": 1})
    clock = SteppedClock()
    events = watch_run(store, run.id, poll_seconds=0.5, pool_grace_seconds=5, clock=clock, sleep=clock.sleep)
    assert isinstance(next(events), StateEvent)
    notice = next(events)
    assert isinstance(notice, PoolEvent) and notice.status is PoolStatus.NOT_READY
    assert notice.message == "no worker is polling pool local: start one with deploytool worker start --pool local"
    assert clock.sleeps == 10  # after the grace period, not at once
    events.close()


def test_watch_says_why_the_pool_is_not_ready_when_its_only_worker_is_stale(store: Store) -> None:
    clock = SteppedClock()
    store.workers.heartbeat("w1", "local", "elsewhere", 1, clock.now - timedelta(seconds=30))  # missed its lease
    run = core.create_run(store, "etl/daily", {"count": 1})
    events = watch_run(store, run.id, poll_seconds=0.5, pool_grace_seconds=5, clock=clock, sleep=clock.sleep)
    assert isinstance(next(events), StateEvent)
    notice = next(events)
    assert isinstance(notice, PoolEvent) and notice.status is PoolStatus.NOT_READY
    # in the words of `work-pool ls`
    assert notice.message == "pool local is NOT_READY: worker w1 on elsewhere is stale: its last heartbeat was 35 s ago"
    events.close()


def test_watch_says_nothing_about_a_worker_that_starts_just_after_the_run(store: Store) -> None:
    # `deploytool worker start &` then `deploytool run --watch`: the worker's first heartbeat comes a moment
    # after the run was created; the watch must not claim that nobody polls the pool.
    run = core.create_run(store, "etl/daily", {"count": 1})
    clock = SteppedClock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.sleeps == 2:  # the worker's first heartbeat, 1s after the run was created
            store.workers.heartbeat("w1", "local", "host", 1, clock.now)
        if clock.sleeps == 30:  # 15s later, still scheduled: end the watch
            core.cancel_run(store, run.id)

    events = list(watch_run(store, run.id, poll_seconds=0.5, pool_grace_seconds=5, clock=clock, sleep=sleep))
    assert not [e for e in events if isinstance(e, PoolEvent)]
    assert isinstance(events[-1], StateEvent) and events[-1].run.state is RunState.CANCELLED


def test_watch_tells_when_the_pool_is_paused(store: Store) -> None:
    store.pools.update("local", paused=True)
    run = core.create_run(store, "etl/daily", {"count": 1})
    events = watch_run(store, run.id, poll_seconds=0.01)
    next(events)
    notice = next(events)
    assert isinstance(notice, PoolEvent) and notice.status is PoolStatus.PAUSED
    assert "deploytool work-pool resume local" in notice.message
    events.close()


def test_watch_a_deleted_run_is_a_clear_error(store: Store) -> None:
    run = core.create_run(store, "etl/daily", {"count": 1})
    events = watch_run(store, run.id, poll_seconds=0.01)
    next(events)
    store.deployments.delete(store.deployments.get_by_name("etl", "daily").id)
    with pytest.raises(NotFoundError, match="no longer exists"):
        list(events)


def test_follow_logs_ends_when_run_is_terminal_and_drained(store: Store) -> None:
    run = core.create_run(store, "etl/daily", {"count": 1})
    worker = threading.Thread(target=simulate_worker, args=(store.path, run.id, RunState.FAILED))
    worker.start()
    lines = [line.message for line in follow_logs(store, run.id, follow=True, poll_seconds=0.02)]
    worker.join()
    assert lines == ["line 0", "line 1", "line 2", "finishing"]
    assert [line.message for line in follow_logs(store, run.id)] == lines


def test_retry_of_a_run_whose_deployment_was_deleted_names_what_to_deploy_and_run(store: Store) -> None:
    run = store.runs.create(FlowRun("etl", "daily", "local", None))
    store.runs.set_state(run.id, RunState.CANCELLED)
    with pytest.raises(ConflictError) as caught:
        core.retry_run(store, run.id)
    assert caught.value.message == f"flow run {run.name!r} cannot be retried: its deployment was deleted"
    assert caught.value.hint == "deploy it again and start a new run: deploytool run etl/daily"
