"""`deploytool run FLOW/DEPLOYMENT` and the `flow-run` group: ls, inspect, logs, watch, cancel.

Each command parses its arguments, calls deploytool.core.runs or deploytool.core.watch and renders the result.
Exit codes of watching are in deploytool.core.watch (0 completed, 3 failed, 4 crashed, 5 cancelled, 130 Ctrl-C).
"""

from __future__ import annotations

import sys

from deploytool.cli.json_errors import json_errors
from deploytool.cli.output import OutputFormat, local_time, print_json, print_table
from deploytool.cli.params import OUTPUT, Argument, Exit, Group, Option
from deploytool.cli.run_output import WATCH_EXIT_HELP, log_text, state_text
from deploytool.cli.store_access import open_store
from deploytool.cli.task_runs_view import print_inspect_tail
from deploytool.errors import EXIT_INTERRUPTED, DeploytoolError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Annotated, Any

    from deploytool.core.runs import SubmittedRun
    from deploytool.models import FlowRun
    from deploytool.store import Store

RUN_ID = Argument(help="The run's id, a unique prefix of it, or its name.")

commands = Group()
flow_run_app = Group(
    "flow-run", help="Flow runs: list, inspect, read or follow their logs, watch, cancel, retry, and why one waits."
)
GROUPS = (commands, flow_run_app)


@commands.command(epilog=WATCH_EXIT_HELP)
def run(
    deployment: Annotated[
        str,
        Argument(
            help="FLOW/DEPLOYMENT as `deploytool deployment ls` shows it, or DEPLOYMENT if no other flow"
            " has a deployment of that name."
        ),
    ],
    param: Annotated[
        list[str] | None,
        Option(
            "--param", "-p", help="KEY=VALUE (repeatable). VALUE is JSON when it parses (3, true, [1,2]), else text."
        ),
    ] = None,
    params: Annotated[
        str | None,
        Option("--params", help="All parameters as one JSON object ('-' reads stdin); --param wins over it."),
    ] = None,
    job_variable: Annotated[
        list[str] | None,
        Option("--job-variable", "-jv", help="KEY=VALUE (repeatable), a job variable for this run only."),
    ] = None,
    start_in: Annotated[str | None, Option("--start-in", help="Start after a delay: 30s, 10m, 2h, 1d, 1h30m.")] = None,
    start_at: Annotated[
        str | None,
        Option("--start-at", help="Start at an ISO 8601 time; without an offset it is local time."),
    ] = None,
    watch: Annotated[bool, Option("--watch", "-w", help="Stream the run's logs and states until it ends.")] = False,
    idempotency_key: Annotated[
        str | None,
        Option("--idempotency-key", help="Create at most one run per key; a repeat returns the same run."),
    ] = None,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Queue a run of a deployment (SCHEDULED); a worker of its pool picks it up. See docs/runs.md."""
    from deploytool.core.runs import submit_run
    from deploytool.core.when import start_time

    with json_errors("flow-run", output):
        values, texts = _parameters(param or [], params, output)
        from deploytool.cli.values import parse_assignments

        job_vars = parse_assignments(job_variable or [], "--job-variable")
        when = start_time(start_in, start_at)
        with open_store() as store:
            submitted = submit_run(store, deployment, values, job_vars, when, idempotency_key, parameter_text=texts)
            run_ = submitted.run
            if output == OutputFormat.json and not watch:
                print_json("flow-run", {**submitted.summary().to_dict(), "new": submitted.new})
                return
            if output == OutputFormat.text:
                _print_created(submitted, watch)
            if watch:
                # NOT_READY is left to the watch, which says it only once the run has waited a moment: a worker
                # started just before (`worker start &`) has not sent its first heartbeat yet.
                shown = submitted.pool_status.value if submitted.pool_status.value == "PAUSED" else None
                _watch(store, run_, output, pool_status_shown=shown)


def _parameters(items: list[str], params: str | None, output: OutputFormat) -> tuple[dict[str, Any], dict[str, str]]:
    """--params first, then each --param over it; returns the values and the raw text of each --param."""
    from deploytool.cli.values import parse_assignments
    from deploytool.core.values import load_json

    values: dict[str, Any] = {}
    if params is not None:
        text = sys.stdin.read() if params == "-" else params
        try:
            parsed = load_json(text, "--params")
        except ValueError as exc:
            raise DeploytoolError(f"--params: not JSON: {exc}", hint="for example --params '{\"n\": 3}'") from None
        if not isinstance(parsed, dict):
            raise DeploytoolError("--params: must be a JSON object", hint="for example --params '{\"n\": 3}'")
        values.update(parsed)
    texts: dict[str, str] = {}
    overridden: list[str] = []
    for item in items:
        one = parse_assignments([item], "--param")
        if not item.strip().startswith("{"):
            key, _, raw = item.partition("=")
            texts[key.strip()] = raw
        overridden += [k for k in one if k in values and k not in overridden and params is not None]
        values.update(one)
    if overridden and output == OutputFormat.text:
        print(f"note: --param overrides --params for: {', '.join(overridden)}", file=sys.stderr)
    return values, texts


def _print_created(submitted: SubmittedRun, watch: bool) -> None:
    from deploytool.core.run_summary import duration_text

    run_, new, pool_status, notice = submitted.run, submitted.new, submitted.pool_status.value, submitted.pool_notice
    ahead = (run_.scheduled_time - submitted.now).total_seconds()  # by the store's clock, which scheduled it
    when = "now" if ahead <= 0 else f"for {local_time(run_.scheduled_time, zone=True)} (in {duration_text(ahead)})"
    if new:
        print(f"Created flow run {run_.name} ({run_.id}) of {run_.flow_name}/{run_.deployment_name}, scheduled {when}.")
    else:
        print(f"Flow run {run_.name} ({run_.id}) already exists for this idempotency key; it is {run_.state}.")
    if pool_status == "PAUSED" or (pool_status == "NOT_READY" and not watch):
        print(notice, file=sys.stderr)  # in the words of `work-pool ls` (core.runs.pool_notice)
    if not watch:
        short = run_.id[:8]
        print(f"Follow its logs: deploytool flow-run logs {short} --follow", file=sys.stderr)
        print(f"Wait for it:     deploytool flow-run watch {short}", file=sys.stderr)


def _watch(store: Store, run_: FlowRun, output: OutputFormat, *, pool_status_shown: str | None = None) -> None:
    """Stream logs (stdout in text mode, stderr in json mode) and states (stderr) until the run ends; exit with
    the state's code. In json mode the final run is the envelope on stdout."""
    from deploytool.core.runs import RunSummary
    from deploytool.core.watch import LogEvent, PoolEvent, StateEvent, exit_code_for, watch_run
    from deploytool.models import TERMINAL

    logs_to = sys.stdout if output == OutputFormat.text else sys.stderr
    final = run_
    first = True
    try:
        for event in watch_run(store, run_.id):
            if isinstance(event, LogEvent):
                print(log_text(event.line, logs_to), file=logs_to, flush=True)
            elif isinstance(event, StateEvent):
                final = event.run
                if not (first and event.run.state is run_.state) and event.run.state not in TERMINAL:
                    print(f"state: {state_text(event.run, sys.stderr)}", file=sys.stderr, flush=True)
                first = False
            elif isinstance(event, PoolEvent):
                if event.status.value != pool_status_shown:  # not already said when the run was created
                    print(event.message, file=sys.stderr, flush=True)
                pool_status_shown = None
    except KeyboardInterrupt:
        print(
            f"\nStopped watching. The run goes on: deploytool flow-run watch {run_.id[:8]}"
            f" (cancel it: deploytool flow-run cancel {run_.id[:8]})",
            file=sys.stderr,
        )
        raise Exit(EXIT_INTERRUPTED) from None
    code = exit_code_for(final.state)
    if output == OutputFormat.json:
        errors = [] if code == 0 else [{"type": final.state.value, "message": state_text(final), "hint": None}]
        print_json("flow-run", RunSummary.of(final).to_dict(), ok=code == 0, errors=errors)
    else:
        print(f"Flow run {final.name} {state_text(final, sys.stderr)}.", file=sys.stderr)
    raise Exit(code)


@flow_run_app.command("ls")
def ls(
    state: Annotated[
        list[str] | None,
        Option("--state", "-s", help="Only runs in this state (repeatable); LATE: overdue SCHEDULED runs."),
    ] = None,
    deployment: Annotated[str | None, Option("--deployment", "-d", help="Only runs of FLOW/DEPLOYMENT.")] = None,
    pool: Annotated[str | None, Option("--pool", "-p", help="Only runs of this work pool.")] = None,
    limit: Annotated[int, Option("--limit", "-n", help="At most this many runs, newest first.")] = 50,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """List flow runs, newest first. Times are local; --output json gives ISO 8601 with offset."""
    from deploytool.core.run_summary import duration_text
    from deploytool.core.runs import list_runs, parse_states

    with json_errors("flow-run-list", output):
        states, late = parse_states(state or [])
        with open_store() as store:
            # the table shows no state messages: the stored secrets that mask them are not decrypted for it
            messages = output == OutputFormat.json
            rows = list_runs(
                store, states=states, late=late, deployment=deployment, pool=pool, limit=limit, messages=messages
            )
    if output == OutputFormat.json:
        print_json("flow-run-list", [r.to_dict() for r in rows])
        return
    if not rows:
        print("No flow runs. Queue one: deploytool run FLOW/DEPLOYMENT", file=sys.stderr)
        return
    print_table(
        None,
        ["id", "name", "deployment", "state", "scheduled", "started", "duration"],
        [
            (
                r.id[:8],
                r.name,
                r.deployment,
                r.label,
                local_time(r.scheduled_time),
                local_time(r.start_time),
                duration_text(r.duration_seconds),
            )
            for r in rows
        ],
        local_times=True,
    )


@flow_run_app.command()
def inspect(run_id: Annotated[str, RUN_ID], output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """Show one flow run: state, times, worker, parameters, job variables."""
    from deploytool.core.run_summary import duration_text
    from deploytool.core.runs import inspect_run

    with json_errors("flow-run", output), open_store() as store:
        detail = inspect_run(store, run_id)
    if output == OutputFormat.json:
        print_json("flow-run", detail.to_dict())
        return
    run = detail.summary
    for key, value in (
        ("id", run.id),
        ("name", run.name),
        ("deployment", run.deployment),
        ("pool", run.pool),
        ("queue", run.queue),
        ("state", run.label),
        ("state_message", run.state_message),
        ("attempt", run.attempt),
        ("worker", run.worker),
    ):
        print(f"{key}: {'-' if value is None else value}")
    for key, when in (("scheduled", run.scheduled_time), ("start", run.start_time), ("end", run.end_time)):
        print(f"{key}: {local_time(when, '-', zone=True)}")
    print(f"duration: {duration_text(run.duration_seconds) or '-'}")
    print_inspect_tail(detail)


@flow_run_app.command()
def logs(
    run_id: Annotated[str, RUN_ID],
    follow: Annotated[bool, Option("--follow", "-f", help="Keep printing new lines until the run ends.")] = False,
    output: Annotated[
        OutputFormat,
        Option("--output", "-o", help="text or json (with --follow: one JSON object per line)."),
    ] = OutputFormat.text,
) -> None:
    """Print a run's logs (the flow's output, the engine's and the worker's messages)."""
    import json

    from deploytool.core.runs import resolve_run
    from deploytool.core.watch import follow_logs

    with json_errors("flow-run-logs", output), open_store() as store:
        found = resolve_run(store, run_id)
        lines = follow_logs(store, found.id, follow=follow)
        try:
            if output == OutputFormat.json and not follow:
                print_json("flow-run-logs", [line.to_dict() for line in lines])
                return
            for line in lines:
                text = json.dumps(line.to_dict()) if output == OutputFormat.json else log_text(line, sys.stdout)
                print(text, flush=follow)
        except KeyboardInterrupt:
            print("\nStopped following; the run goes on.", file=sys.stderr)
            raise Exit(EXIT_INTERRUPTED) from None


@flow_run_app.command("watch")
def watch_cmd(run_id: Annotated[str, RUN_ID], output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """Stream a run's logs and states until it ends, and exit with its outcome (any run, however started).

    Exit codes: 0 COMPLETED, 3 FAILED, 4 CRASHED, 5 CANCELLED, 1 error, 130 interrupted.
    """
    from deploytool.core.runs import resolve_run

    with json_errors("flow-run", output), open_store() as store:
        found = resolve_run(store, run_id)
        if output == OutputFormat.text:
            print(f"Watching flow run {found.name} ({found.id}): {state_text(found)}", file=sys.stderr)
        _watch(store, found, output)


def _change(run_id: str, output: OutputFormat, change: Callable[[Store, str], FlowRun]) -> FlowRun | None:
    """The run after `change` (cancel_run, delete_run, retry_run); None once it is printed as the JSON envelope
    (--output json), for the command to end."""
    from deploytool.core.runs import RunSummary

    with json_errors("flow-run", output), open_store() as store:
        changed = change(store, run_id)
        now = store.now()  # a retried run is due now by the store's clock, not this host's
    if output == OutputFormat.json:
        print_json("flow-run", RunSummary.of(changed, now).to_dict())
        return None
    return changed


@flow_run_app.command()
def cancel(run_id: Annotated[str, RUN_ID], output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """Cancel a run: a SCHEDULED one at once; a PENDING or RUNNING one is stopped by its worker."""
    from deploytool.core.runs import cancel_run

    cancelled = _change(run_id, output, cancel_run)
    if cancelled is None:
        return
    if cancelled.state.value == "CANCELLED":
        print(f"Cancelled flow run {cancelled.name} ({cancelled.id}).")
    else:
        print(
            f"Flow run {cancelled.name} ({cancelled.id}) is CANCELLING: worker {cancelled.worker_name or '?'}"
            " stops it and records CANCELLED."
        )
        print(f"Wait for it: deploytool flow-run watch {cancelled.id[:8]}", file=sys.stderr)


@flow_run_app.command()
def delete(run_id: Annotated[str, RUN_ID], output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """Delete a run and its logs: a SCHEDULED or finished one (cancel a running one first)."""
    from deploytool.core.runs import delete_run

    deleted = _change(run_id, output, delete_run)
    if deleted is None:
        return
    print(f"Deleted flow run {deleted.name} ({deleted.id}), {deleted.state}, and its logs.")


@flow_run_app.command()
def why(run_id: Annotated[str, RUN_ID], output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """Say why a run has not started (not due, no worker, paused, a concurrency limit held by named runs)."""
    from deploytool.core.why import explain

    with json_errors("flow-run-why", output), open_store() as store:
        why_ = explain(store, run_id)
    if output == OutputFormat.json:
        print_json("flow-run-why", why_.to_dict())
        return
    print(f"{why_.name} ({why_.id}): {why_.state}, attempt {why_.attempt}, {why_.deployment}")
    blocking = [r for r in why_.reasons if r.blocking]
    if len(blocking) > 1:
        print("waiting:")
        for reason in blocking:
            print(f"  - {reason.message}")
    else:
        print(why_.summary)
    for reason in why_.reasons:
        if not reason.blocking:
            print(f"note: {reason.message}")


@flow_run_app.command()
def retry(run_id: Annotated[str, RUN_ID], output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """Queue a finished run (COMPLETED, FAILED, CRASHED, CANCELLED) again as the next attempt."""
    from deploytool.core.runs import retry_run

    retried = _change(run_id, output, retry_run)
    if retried is None:
        return
    print(f"Queued flow run {retried.name} ({retried.id}) again: attempt {retried.attempt}, SCHEDULED.")
    print(f"Follow it: deploytool flow-run watch {retried.id[:8]}", file=sys.stderr)
