"""The shape DESIGN.md asks for: small modules, layers kept, a light `import deploytool` and CLI start-up."""

from __future__ import annotations

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
