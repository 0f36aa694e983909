"""core/deploy.py, core/resolve.py, core/plan.py and core/deploy_options.py import each other in one direction
only, counting imports inside functions and under TYPE_CHECKING (issue #11 item 3)."""

from __future__ import annotations

import ast
from pathlib import Path

import deploytool

CORE = Path(deploytool.__file__).parent / "core"
MODULES = ("deploy", "resolve", "plan", "deploy_options")


def _imports(name: str) -> set[str]:
    tree = ast.parse((CORE / f"{name}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("deploytool.core."):
            found.add(node.module.removeprefix("deploytool.core."))
    return found & set(MODULES)


def test_the_deploy_modules_import_each_other_without_a_cycle() -> None:
    graph = {name: _imports(name) for name in MODULES}
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in seen:
            return
        for target in sorted(graph[name]):
            visit(target, (*path, name))
        seen.add(name)

    for name in MODULES:
        visit(name, ())
    assert graph["deploy"] >= {"resolve", "plan"} and "deploy" not in graph["resolve"]
