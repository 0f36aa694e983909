"""The shape DESIGN.md asks for: small modules, layers kept, a light `import deploytool` and CLI start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "deploytool"
MAX_LINES = 400  # DESIGN.md: "about 400 lines at most"
HEAVY = ("docker", "jsonschema", "jinja2", "typer", "rich", "yaml", "click")


def test_modules_stay_small() -> None:
    big = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert big == {}, f"split these modules by what they hold: {big}"


def _imported(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in out.split()}


def test_import_deploytool_is_light() -> None:
    assert _imported("import deploytool").isdisjoint(HEAVY)


def test_the_flow_api_is_light() -> None:
    assert _imported("from deploytool import flow, get_run_logger").isdisjoint(HEAVY)


def test_version_answers_before_typer_is_imported() -> None:
    loaded = _imported(
        "import sys\nfrom deploytool.cli import entry\nsys.argv = ['deploytool', '--version']\n"
        "import contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()):\n    entry.main()"
    )
    assert loaded.isdisjoint(HEAVY)


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    if not lint.exists():
        pytest.skip("import-linter is not installed in this environment")
    result = subprocess.run([str(lint)], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stdout[-3000:]


def test_validate_does_not_import_jsonschema() -> None:
    # schema_lite validates the project file; jsonschema's import alone is ~100 ms (benchmarks/README.md).
    examples = PACKAGE.parent / "examples" / "prefect.yaml"
    call = f"main(['validate', '--file', {str(examples)!r}])"
    loaded = _imported(
        "import contextlib, io\nfrom deploytool.cli.entry import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    assert {call} == 0"
    )
    assert "jsonschema" not in loaded
    assert "deploytool" in loaded


def test_reading_the_store_loads_no_project_file_parser() -> None:
    """Listing runs, pools and deployments (and a worker's scheduler) never parse a project file: no yaml, no
    templating, no jsonschema at their start (issue 17, item 4)."""
    loaded = _imported(
        "import deploytool.core.runs, deploytool.core.pools, deploytool.core.deployments, deploytool.scheduling"
    )
    assert loaded.isdisjoint({"yaml", "jinja2", "jsonschema"}), loaded & {"yaml", "jinja2", "jsonschema"}


def test_deploytool_schema_loads_no_yaml() -> None:
    loaded = _imported(
        "import contextlib, io\nfrom deploytool.cli.entry import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    assert main(['schema']) == 0"
    )
    assert "deploytool" in loaded and "yaml" not in loaded


# Public functions of core whose result is a document the user writes or reads as such (a JSON value, a base
# job template, a job configuration, stored pull steps), not a record core makes up: these keep `dict`/`Any`.
USER_DOCUMENTS = {
    "core/values.py": {"load_json", "parse_value", "read_json_object"},
    "core/pools.py": {"default_template", "read_base_job_template"},
    "core/deployments.py": {"render_deployment"},
    "core/resolve.py": {"stored_pull_steps"},
}


def test_core_returns_typed_results() -> None:
    """Core's use cases return models or frozen dataclasses (with `to_dict()` for JSON), never a string-keyed
    dict or Any: the CLI and the dashboard render typed results (issue #11.4)."""
    import ast

    untyped = []
    for path in sorted((PACKAGE / "core").glob("*.py")):
        where = str(path.relative_to(PACKAGE))
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_") or node.returns is None:
                continue
            returns = ast.unparse(node.returns)
            if ("dict" in returns or "Any" in returns) and node.name not in USER_DOCUMENTS.get(where, ()):
                untyped.append(f"{where}: {node.name} -> {returns}")
    assert untyped == [], "return a typed result (a model or a frozen dataclass with to_dict()) from:\n" + "\n".join(
        untyped
    )


def _modules(code: str, env: dict[str, str] | None = None) -> set[str]:
    """Every module (full dotted names) a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return set(done.stdout.split())


# What importing the plain data, and opening the store, must not load (issue 17, item 4): dataclasses (with the
# inspect, ast and dis it pulls in), uuid, importlib.resources (with tempfile, shutil, zipfile), logging, the
# secret box's hashing and cipher, and every database driver but the one the store's URL names.
NOT_AT_START = {"dataclasses", "inspect", "uuid", "importlib.resources", "logging", "hashlib", "cryptography"}


def test_the_plain_data_loads_no_dataclasses_typing_or_uuid() -> None:
    loaded = _modules("import deploytool.models, deploytool.errors, deploytool.settings")
    assert "deploytool.models" in loaded
    assert loaded.isdisjoint(NOT_AT_START | {"typing", "sqlite3"}), loaded & (NOT_AT_START | {"typing", "sqlite3"})


def test_the_store_interface_loads_no_database_driver() -> None:
    loaded = _modules("import deploytool.store")
    assert loaded.isdisjoint(NOT_AT_START | {"sqlite3", "psycopg"}), loaded & (NOT_AT_START | {"sqlite3", "psycopg"})


def _listing(tmp_path: Path, calls: str) -> set[str]:
    """The modules loaded by opening a SQLite store made by a previous process (a pool, a variable, a block with a
    secret, a run without a state message) and running `calls` on it, as `work-pool ls` and its kind do."""
    env = {**os.environ, "DEPLOYTOOL_HOME": str(tmp_path)}
    env.pop("DEPLOYTOOL_STORE_URL", None)
    setup = (
        "from deploytool.store import Store\nfrom deploytool.settings import Settings\n"
        "from deploytool.core.pools import create_pool\nfrom deploytool.core.values import set_block, set_variable\n"
        "from deploytool.models import Deployment, FlowRun\n"
        "with Store.open(Settings.from_env().store) as store:\n"
        "    create_pool(store, 'p', 'process')\n    set_variable(store, 'v', 1)\n"
        "    set_block(store, 'secret/b', {'value': 'x'})\n"
        "    d, _ = store.deployments.upsert(Deployment(flow_name='f', name='d', entrypoint='f.py:f', pool_name='p'))\n"
        "    store.runs.create(FlowRun(flow_name='f', deployment_name='d', pool_name='p', deployment_id=d.id))\n"
    )
    _modules(setup, env)
    return _modules(
        "from deploytool.store import Store\nfrom deploytool.settings import Settings\n"
        f"store = Store.open(Settings.from_env().store)\n{calls}\nstore.close()",
        env,
    )


def test_opening_the_store_and_listing_loads_only_what_listing_needs(tmp_path: Path) -> None:
    """`work-pool ls`, `work-queue ls`, `variable ls` and `flow-run ls` below the CLI: sqlite3 and the store,
    nothing of the secret box, the project file, the templates or the migrations' files (issue 17, item 4)."""
    loaded = _listing(
        tmp_path,
        "from deploytool.core.pool_listing import list_pools\nfrom deploytool.core.queues import list_queues\n"
        "from deploytool.core.values import list_variables\nfrom deploytool.core.runs import list_runs\n"
        "list_pools(store), list_queues(store), list_variables(store), list_runs(store)",
    )
    assert "sqlite3" in loaded and "deploytool.core.runs" in loaded
    unwanted = NOT_AT_START | {"psycopg", "yaml", "jinja2", "jsonschema", "deploytool.secretbox", "deploytool.config"}
    assert loaded.isdisjoint(unwanted), loaded & unwanted


def test_a_command_that_reads_blocks_loads_the_secret_box_only_then(tmp_path: Path) -> None:
    loaded = _listing(tmp_path, "from deploytool.core.values import list_blocks\nlist_blocks(store)")
    assert "deploytool.store.blocks" in loaded
    assert loaded.isdisjoint({"dataclasses", "importlib.resources", "logging", "cryptography"})


# The commands that read the store and list what it holds.
STORE_LISTINGS = [
    ["work-pool", "ls"],
    ["work-queue", "ls"],
    ["deployment", "ls"],
    ["flow-run", "ls"],
    ["variable", "ls"],
    ["block", "ls"],
    ["worker", "ls"],
    ["store", "info"],
]


@pytest.mark.parametrize("args", [*STORE_LISTINGS, ["flow-run", "ls", "--output", "json"]])
def test_a_store_listing_loads_no_typing(tmp_path: Path, args: list[str]) -> None:
    """The store's interface declares its repositories with typing's forms that deploytool/typeforms.py gives at
    run time, and the modules a listing imports take typing's names for type checking only: no command that
    reads the store imports typing (a few ms of every command's CPU), nor the CLI framework (issue 17, item 4)."""
    env = {**os.environ, "DEPLOYTOOL_HOME": str(tmp_path)}
    env.pop("DEPLOYTOOL_STORE_URL", None)
    _listing(tmp_path, "")
    loaded = _modules(
        "import contextlib, io\nfrom deploytool.cli.entry import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    assert main({args!r}) == 0",
        env,
    )
    assert "deploytool.store.sqlstore" in loaded
    # shlex: only for the hint of a missing pool or queue; socket: this host's name is os.uname()'s (models.this_host)
    unwanted = {"typing", "typer", "click", "rich", "shlex", "socket"}
    assert loaded.isdisjoint(unwanted), loaded & unwanted


def test_flow_run_ls_decrypts_no_secret_for_a_table_without_state_messages(tmp_path: Path) -> None:
    """`flow-run ls` masks the stored secrets in the state messages it prints; its table prints none, so it loads
    neither the secret box nor its cipher, even when runs have messages and blocks have secrets (issue 17, item 4).
    `--output json` prints them, masked (tests/cli/test_run_cmds.py)."""
    env = {**os.environ, "DEPLOYTOOL_HOME": str(tmp_path)}
    env.pop("DEPLOYTOOL_STORE_URL", None)
    cancel = "from deploytool.models import RunState\nrun = store.runs.list()[0]\n"
    _listing(tmp_path, cancel + "store.runs.set_state(run.id, RunState.CANCELLED, 'cancelled by x')")
    loaded = _modules(
        "import contextlib, io\nfrom deploytool.cli.entry import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n    assert main(['flow-run', 'ls']) == 0\n"
        "assert 'CANCELLED' in out.getvalue()",
        env,
    )
    assert "deploytool.core.runs" in loaded
    unwanted = {"deploytool.secretbox", "cryptography", "hashlib"}
    assert loaded.isdisjoint(unwanted), loaded & unwanted


def test_deploytool_schema_reads_its_file_without_importlib_resources() -> None:
    loaded = _modules("from deploytool.config.schema_check import schema_text\nassert schema_text()")
    assert loaded.isdisjoint(NOT_AT_START | {"yaml", "typing"}), loaded & (NOT_AT_START | {"yaml", "typing"})


def _loaded_at_the_call(args: list[str]) -> set[str]:
    """The modules loaded when `deploytool ARGS`, parsed from its recorded table, is about to call its function
    (where benchmarks/bench_cli.py's start-up ends): a fresh interpreter without site (no editable-install
    finder, which loads pathlib and importlib itself), importing deploytool from this checkout."""
    probe = (
        "import os, sys\nimport deploytool.cli.parser as parser\n"
        "def called(path):\n    print(' '.join(sorted(sys.modules)))\n    raise SystemExit(0)\n"
        "parser._record_startup = called\nos.environ[parser.STARTUP_ENV] = 'unused'\n"
        f"from deploytool.cli.entry import main\nmain({args!r})"
    )
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    env.pop("_DEPLOYTOOL_COMPLETE", None)
    done = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), f"deploytool {' '.join(args)} was not parsed from its recorded table"
    return set(done.stdout.split())


@pytest.mark.parametrize("args", [*STORE_LISTINGS, ["run", "flow/deployment"]])
def test_a_command_s_start_up_loads_only_parsing(args: list[str]) -> None:
    """Until a command's function is called, only the parser, the command's module and what it declares load:
    no pathlib (its parameters' Path is for type checking), json, importlib or typing (issue 17, item 4)."""
    loaded = _loaded_at_the_call(args)
    unwanted = NOT_AT_START | {"pathlib", "json", "importlib", "typing", "datetime", "sqlite3"}
    assert loaded.isdisjoint(unwanted), loaded & unwanted


def test_a_run_whose_job_variables_fit_loads_no_jsonschema(tmp_path: Path) -> None:
    """`deploytool run` checks the run's merged job variables against the pool's schema at every run: values that
    fit are told so by config/schema_lite, without jsonschema's import (issue 17, item 4)."""
    loaded = _listing(
        tmp_path,
        "from deploytool.core.runs import submit_run\nsubmit_run(store, 'f/d')\n"
        "submit_run(store, 'f/d', job_variables={'env': {'A': '1'}, 'working_dir': '/tmp'})",
    )
    assert "deploytool.jobvars" in loaded and "jsonschema" not in loaded
    assert "typing" not in loaded  # templating, jobvars and the parameter check import typing's names for mypy only
    # the run's parameters are checked without the flow file's parser (config/flowscan.py and the ast module)
    assert "deploytool.config.paramcheck" in loaded
    assert loaded.isdisjoint({"ast", "deploytool.config.flowscan"}), loaded & {"ast", "deploytool.config.flowscan"}


def test_the_next_run_of_a_deployment_loads_no_dataclasses_or_logging() -> None:
    """`deployment ls` shows each deployment's next run: scheduling's identity module computes it without the
    scheduler's pass, dataclasses (inspect, ast, dis) or logging (issue 17, item 4)."""
    loaded = _modules(
        "from deploytool.models import Deployment, utcnow\nimport deploytool.core.deployments\n"
        "from deploytool.scheduling import next_run_time\n"
        "schedules = [{'cron': '0 2 * * *', 'timezone': 'Europe/Berlin'}, {'interval': 3600}]\n"
        "d = Deployment(flow_name='f', name='d', entrypoint='f.py:f', pool_name='p', schedules=schedules)\n"
        "assert next_run_time(d, utcnow())"
    )
    assert "deploytool.scheduling.identity" in loaded and "croniter" in loaded
    unwanted = {"dataclasses", "inspect", "logging", "deploytool.scheduling.scheduler", "deploytool.config.flowscan"}
    # nor a schedule's identity (hashlib), nor dateutil's rrule without an rrule schedule
    unwanted |= {"hashlib", "dateutil.rrule"}
    assert loaded.isdisjoint(unwanted), loaded & unwanted


def test_the_next_run_of_an_interval_schedule_loads_no_croniter_or_dateutil() -> None:
    """croniter (with dateutil's tz, ctypes, importlib.resources) and dateutil's rrule load only for a schedule of
    their kind: `deployment ls` of deployments with interval schedules, or none, needs neither (issue 17, item 4)."""
    loaded = _modules(
        "from deploytool.models import Deployment, utcnow\nimport deploytool.core.deployments\n"
        "from deploytool.scheduling import next_run_time\n"
        "d = Deployment(flow_name='f', name='d', entrypoint='f.py:f', pool_name='p', schedules=[{'interval': 60}])\n"
        "assert next_run_time(d, utcnow())\n"
        "e = Deployment(flow_name='f', name='e', entrypoint='f.py:f', pool_name='p')\n"
        "assert next_run_time(e, utcnow()) is None"
    )
    assert "deploytool.config.schedule_times" in loaded
    assert loaded.isdisjoint({"croniter", "dateutil", "hashlib"}), loaded & {"croniter", "dateutil", "hashlib"}


@pytest.mark.parametrize("example", ["prefect.yaml", "deploy.yaml"])
def test_validate_loads_no_dataclasses_or_inspect(example: str) -> None:
    """`validate` reads the project file, its steps, job variables and each entrypoint's flow: templating, jobvars
    and the steps declare records, a flow's docstring is cleaned without inspect, and what only running steps
    (subprocess) or deploying (hashlib) needs is imported then (issue 17, item 4)."""
    call = f"main(['validate', '--file', {str(PACKAGE.parent / 'examples' / example)!r}])"
    loaded = _modules(
        "import contextlib, io\nfrom deploytool.cli.entry import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    assert {call} == 0"
    )
    assert "deploytool.config.flowscan" in loaded and "deploytool.steps.base" in loaded
    unwanted = {"dataclasses", "inspect", "jsonschema", "hashlib", "subprocess"}  # hashing and processes: deploy's
    assert loaded.isdisjoint(unwanted), loaded & unwanted


def _validated(tmp_path: Path, more: str) -> set[str]:
    """The modules `deploytool validate` loads for a file with one deployment (and `more` of its YAML)."""
    (tmp_path / "flow.py").write_text("from deploytool import flow\n\n\n@flow\ndef f():\n    pass\n", encoding="utf-8")
    project = tmp_path / "deploy.yaml"
    project.write_text(f"deployments:\n  - name: d\n    entrypoint: flow.py:f\n    work_pool: {{name: p}}\n{more}")
    env = {**os.environ, "DEPLOYTOOL_HOME": str(tmp_path / "home")}
    env.pop("DEPLOYTOOL_STORE_URL", None)
    return _modules(
        "import contextlib, io\nfrom deploytool.cli.entry import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['validate', '--file', {str(project)!r}]) == 0",
        env,
    )


def test_validate_of_a_file_without_schedules_loads_no_croniter_dateutil_or_typing(tmp_path: Path) -> None:
    """croniter and dateutil load only when the file has a cron or rrule schedule to check (issue 17, item 4)."""
    loaded = _validated(tmp_path, "    schedules:\n      - interval: 600\n        timezone: Europe/Berlin\n")
    assert "deploytool.config.schedules" in loaded
    # nor typing: the modules validate imports take typing's names for type checking only (croniter's dateutil and
    # jsonschema do import it)
    assert loaded.isdisjoint({"croniter", "dateutil", "typing"}), loaded & {"croniter", "dateutil", "typing"}


def test_validate_of_a_file_without_any_schedule_loads_no_zoneinfo(tmp_path: Path) -> None:
    """zoneinfo (with sysconfig) loads with the first schedule to check (issue 17, item 4)."""
    loaded = _validated(tmp_path, "")
    assert "deploytool.config.schedules" in loaded and "zoneinfo" not in loaded


def test_reading_a_cron_schedule_starts_no_process() -> None:
    """croniter asks platform.architecture() at import, which runs `file -b PYTHON` in a subprocess; deploytool
    imports it through config/cron.py, which answers from the pointer size instead (issue 17, item 4)."""
    probe = (
        "import platform, subprocess, sys\nstarted = []\nreal = subprocess.Popen.__init__\n"
        "def spy(self, args, *rest, **kwargs):\n    started.append(args)\n    real(self, args, *rest, **kwargs)\n"
        "subprocess.Popen.__init__ = spy\nbefore = platform.architecture\n"
        "from deploytool.config.schedule_times import next_times\n"
        "from deploytool.config.schedules import check_schedule, normalise_schedule\n"
        "from datetime import UTC, datetime\n"
        "assert check_schedule({'cron': '0 2 * * *'}) == []\n"
        "assert next_times(normalise_schedule({'cron': '0 2 * * *'}), datetime.now(UTC), 1)\n"
        "assert 'croniter' in sys.modules\n"
        "assert platform.architecture is before, 'platform.architecture is not itself again'\n"
        "assert started == [], started\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
