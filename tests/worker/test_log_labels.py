"""A run's log reads well (issue 16.5): a failure's traceback once, the flow's records labelled as the flow's,
libraries' INFO records left out unless DEPLOYTOOL_LIBRARY_LOG_LEVEL asks for them."""

from __future__ import annotations

from pathlib import Path

from deploytool.models import TERMINAL, RunState
from deploytool.store import Store
from tests.worker.helpers import make_deployment, queue_run, state_of, tick_until, worker

FLOW = """
import logging
import chatty  # a library: lives under a site-packages directory
from deploytool import flow, get_run_logger

@flow(log_prints={log_prints})
def main():
    print("printed by the flow")
    get_run_logger().info("from the run logger")
    logging.getLogger("myproject.db").info("from the project's own logger")
    chatty.request()
    {tail}
"""

CHATTY = """
import logging
log = logging.getLogger("chatty")

def request():
    log.info("HTTP Request: GET https://example.com")
    log.warning("slow response")
"""


def _run(
    store: Store, project: Path, *, tail: str = "pass", log_prints: bool = True, env: dict[str, str] | None = None
):
    site = project / "venv" / "lib" / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    (site / "chatty.py").write_text(CHATTY)
    (project / "flow.py").write_text(FLOW.format(tail=tail, log_prints=log_prints))
    job_variables = {"env": {"PYTHONPATH": str(site), **(env or {})}}
    run = queue_run(store, make_deployment(store, project, "flow.py:main", job_variables=job_variables))
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    w.close()
    return store.runs.get(run.id), [(x.level, x.source, x.message) for x in store.logs.read(run.id, limit=10_000)]


def test_the_flows_records_are_labelled_as_the_flows_and_library_info_is_left_out(store: Store, project: Path) -> None:
    run, lines = _run(store, project)
    assert run.state is RunState.COMPLETED
    assert ("INFO", "flow", "printed by the flow") in lines
    assert ("INFO", "flow", "from the run logger") in lines
    assert ("INFO", "myproject.db", "from the project's own logger") in lines
    assert ("WARNING", "chatty", "slow response") in lines
    assert not [m for _, _, m in lines if "HTTP Request" in m]


def test_library_info_records_follow_the_documented_level(store: Store, project: Path) -> None:
    run, lines = _run(store, project, env={"DEPLOYTOOL_LIBRARY_LOG_LEVEL": "INFO", "DEPLOYTOOL_LOG_LEVEL": "WARNING"})
    assert run.state is RunState.COMPLETED
    assert ("INFO", "chatty", "HTTP Request: GET https://example.com") in lines
    assert not [m for _, _, m in lines if m == "from the run logger"]  # the flow's INFO is below WARNING now


def test_a_failing_flows_traceback_is_in_its_log_once(store: Store, project: Path) -> None:
    run, lines = _run(store, project, tail="raise ValueError('bad input 7')", log_prints=False)
    assert run.state is RunState.FAILED
    text = "\n".join(m for _, _, m in lines)
    assert text.count("Traceback (most recent call last)") == 1
    assert text.count("raise ValueError('bad input 7')") == 1
    assert "attempt 1/1 failed" not in text
    assert ("INFO", "stdout", "printed by the flow") in lines  # a plain print is the job's output, unlabelled
