"""Where the corpus of real prefect.yaml files is, for the tests that read it.

The corpus lives beside the repository, in `../shared/corpus/prefect-yaml` (DESIGN.md), not in it. Looked up in
order: `$DEPLOYTOOL_CORPUS`; `../shared/corpus/prefect-yaml` beside this checkout; the same beside the main
checkout when this one is a `git worktree`. When it is nowhere, the tests that read it skip saying so, and fail
in CI (`CI=true`) or with DEPLOYTOOL_REQUIRE_CORPUS=1 (tests/services.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.services import missing

REPO = Path(__file__).resolve().parents[2]
CORPUS_ENV = "DEPLOYTOOL_CORPUS"
REQUIRE_ENV = "DEPLOYTOOL_REQUIRE_CORPUS"
_RELATIVE = Path("shared") / "corpus" / "prefect-yaml"


def _main_checkout(repo: Path) -> Path | None:
    """The main checkout of a `git worktree` (its .git is a file naming .git/worktrees/NAME), else None."""
    marker = repo / ".git"
    if not marker.is_file():
        return None
    text = marker.read_text(encoding="utf-8", errors="replace").strip()
    if not text.startswith("gitdir:"):
        return None
    gitdir = Path(text.removeprefix("gitdir:").strip())
    if gitdir.parent.name != "worktrees":
        return None
    return gitdir.parent.parent.parent  # <main>/.git/worktrees/NAME -> <main>


def candidates() -> list[Path]:
    if os.environ.get(CORPUS_ENV):
        return [Path(os.environ[CORPUS_ENV])]
    found = [REPO.parent / _RELATIVE]
    main = _main_checkout(REPO)
    if main is not None:
        found.append(main.parent / _RELATIVE)
    return found


def find_corpus() -> Path | None:
    return next((path for path in candidates() if path.is_dir()), None)


CORPUS: Path | None = find_corpus()


def require_corpus() -> Path:
    """The corpus folder; skips the test (fails it in CI) when there is none."""
    if CORPUS is None:
        looked = ", ".join(str(p) for p in candidates())
        missing(f"the prefect.yaml corpus is not here (looked in {looked}; set {CORPUS_ENV})", REQUIRE_ENV)
    return CORPUS
