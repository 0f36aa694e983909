"""The job's log records reach the run's log from the job's first `import logging` on, although the engine no
longer imports logging itself (issue 17: a flow that never logs does not pay for it)."""

from __future__ import annotations

import logging
from pathlib import Path

from deploytool.engine import logsetup
from tests.engine.helpers import make_spec, run_engine, write_flow

LOGS_AT_IMPORT = """
import logging
import sys

log = logging.getLogger("myproject.etl")
log.warning("while the flow file is imported")
log.debug("below the flow's level")

def main():
    log.info("inside the flow")
    hooks = [type(f).__name__ for f in sys.meta_path if type(f).__name__ == "AfterImport"]
    print("LOADER", type(logging.__loader__).__name__, logging.__spec__.loader is logging.__loader__, hooks)
"""


def test_records_logged_while_the_flow_file_is_imported_reach_the_run_log(tmp_path: Path) -> None:
    write_flow(tmp_path, LOGS_AT_IMPORT)
    run = run_engine(tmp_path, make_spec(), env={"PYTHONPATH": ""})
    assert run.exit_code == 0, run.log
    assert run.logs() == [("WARNING", "while the flow file is imported"), ("INFO", "inside the flow")]
    assert {e["logger"] for e in run.events if e["event"] == "log"} == {"myproject.etl"}
    # logging keeps its own loader (tracebacks and inspect read its source through it), and the hook is gone
    assert "LOADER SourceFileLoader True []" in run.log


def test_records_are_routed_when_logging_was_imported_before_the_engine_started(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import logging\n")  # as a .pth hook or an instrumentation agent would
    write_flow(tmp_path, "import logging\n\ndef main():\n    logging.getLogger('myproject').info('routed')\n")
    run = run_engine(tmp_path, make_spec(), env={"PYTHONPATH": str(site)})
    assert run.exit_code == 0, run.log
    assert run.logs() == [("INFO", "routed")]


def test_a_bad_log_level_is_reported_at_start_even_when_the_flow_never_logs(tmp_path: Path) -> None:
    write_flow(tmp_path, "import sys\n\ndef main():\n    print('LOGGING', 'logging' in sys.modules)\n")
    run = run_engine(tmp_path, make_spec(), env={"PYTHONPATH": "", "DEPLOYTOOL_LIBRARY_LOG_LEVEL": "loud"})
    assert run.exit_code == 0, run.log
    warning = next(e for e in run.events if e["event"] == "log")
    assert (warning["level"], warning["logger"]) == ("WARNING", "deploytool.engine")
    assert warning["message"] == (
        "DEPLOYTOOL_LIBRARY_LOG_LEVEL='loud' is not a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL or a number);"
        " using WARNING"
    )
    assert "LOGGING False" in run.log


def test_level_names_are_the_logging_module_s() -> None:
    assert logging.getLevelNamesMapping() == logsetup.LEVELS
    assert logsetup.levels({"DEPLOYTOOL_LOG_LEVEL": "warn", "DEPLOYTOOL_LIBRARY_LOG_LEVEL": " 5 "}) == (30, 5, [])


PROBED_THEN_IMPORTED_IN_A_THREAD = """
import importlib.util
import threading

assert importlib.util.find_spec("logging") is not None  # a library checking for an optional module first

def main():
    def work():
        import logging

        logging.getLogger("myproject.worker").warning("from a thread")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
"""


def test_records_are_routed_when_logging_is_probed_first_and_imported_in_a_thread(tmp_path: Path) -> None:
    write_flow(tmp_path, PROBED_THEN_IMPORTED_IN_A_THREAD)
    run = run_engine(tmp_path, make_spec(), env={"PYTHONPATH": ""})
    assert run.exit_code == 0, run.log
    assert run.logs() == [("WARNING", "from a thread")]


LEGACY_FINDER = """
import sys

class OldStyleImporter:  # find_module only, as old six or vendored importers have it
    def find_module(self, fullname, path=None):
        return None

sys.meta_path.insert(0, OldStyleImporter())
"""


def test_records_are_routed_when_an_old_style_finder_is_on_the_import_path(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(LEGACY_FINDER)
    write_flow(tmp_path, "import logging\n\ndef main():\n    logging.getLogger('myproject').warning('routed')\n")
    run = run_engine(tmp_path, make_spec(), env={"PYTHONPATH": str(site), "PYTHONWARNINGS": "ignore"})
    assert run.exit_code == 0, run.log
    assert run.logs() == [("WARNING", "routed")]
