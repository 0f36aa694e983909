"""Nothing hangs or eats memory on bad files: alias bombs, /dev/zero, files over the size limit.

Each case runs the real CLI in a child process with a memory and CPU-time limit (tests/config/memlimit.py), so a
regression fails its test instead of taking the machine down."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deploytool.inputs import MAX_INPUT_BYTES
from tests.config.memlimit import run_cli_limited

LAUGHS = """\
definitions:
  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
deployments:
  - name: d
    entrypoint: flow.py:main
    work_pool: {name: p}
    parameters: {tag: *i}
"""

MERGES = """\
definitions:
  a: &a {k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8}
  b: &b {<<: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}
  c: &c {<<: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}
  d: &d {<<: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}
  e: &e {<<: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]}
  f: &f {<<: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]}
  g: &g {<<: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]}
  h: &h {<<: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]}
deployments:
  - {name: d, entrypoint: flow.py:main, work_pool: {name: p}, job_variables: *h}
"""

# Each level adds one to the depth of what the aliases stand for, beyond MAX_DEPTH.
DEEP = "definitions:\n  l0: &l0 [1]\n" + "".join(f"  l{i}: &l{i} [*l{i - 1}]\n" for i in range(1, 130))


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DEPLOYTOOL_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}


def _validate(tmp_path: Path, text: str) -> tuple[int, str]:
    (tmp_path / "flow.py").write_text("from deploytool import flow\n\n@flow\ndef main(tag=None):\n    pass\n")
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    done = run_cli_limited(["validate", "--file", str(path)], env=_env(tmp_path))
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (LAUGHS, 7, "the aliases (*name) in this value expand to more than 200,000 values"),
        (MERGES, 7, "the aliases (*name) in this value expand to more than 200,000 values"),
        ("a: &a [1, *a]\n", 1, "an alias refers to a value that contains it"),
        (DEEP, 99, "nested more than 100 levels deep (counting what aliases stand for)"),
    ],
    ids=["billion-laughs", "merge-keys", "recursive", "deep"],
)
def test_an_alias_bomb_is_refused_at_its_line_without_expanding_it(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    code, output = _validate(tmp_path, text)
    assert code == 1, output
    assert f"deploy.yaml:{line}:" in output and message in output, output
    assert "Traceback" not in output and "MemoryError" not in output


def test_aliases_a_real_file_uses_still_work(tmp_path: Path) -> None:
    text = (
        "definitions:\n  pool: &pool {name: p, job_variables: {env: {A: '1'}}}\n  tags: &tags [a, b]\n"
        "deployments:\n"
        + "".join(f"  - {{name: d{i}, entrypoint: flow.py:main, work_pool: *pool, tags: *tags}}\n" for i in range(50))
    )
    code, output = _validate(tmp_path, text)
    assert code == 0, output


def test_validate_refuses_dev_zero_after_reading_at_most_the_limit(tmp_path: Path) -> None:
    done = run_cli_limited(["validate", "--file", "/dev/zero"], env=_env(tmp_path))
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert f"is larger than {MAX_INPUT_BYTES:,} bytes" in output and "docs/limits.md" in output


def test_validate_refuses_a_file_over_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "deploy.yaml"
    with big.open("w") as handle:
        handle.write("deployments: []\n# " + "x" * MAX_INPUT_BYTES + "\n")
    done = run_cli_limited(["validate", "--file", str(big)], env=_env(tmp_path))
    assert done.returncode == 1
    assert "deploy.yaml:1:1: the file is larger than 10,000,000 bytes" in done.stdout + done.stderr


def test_block_set_from_json_refuses_dev_zero(tmp_path: Path) -> None:
    done = run_cli_limited(["block", "set", "secret", "b", "--from-json", "/dev/zero"], env=_env(tmp_path))
    assert done.returncode == 1
    assert "/dev/zero is larger than 10,000,000 bytes" in done.stderr
    listed = run_cli_limited(["block", "ls"], env=_env(tmp_path))
    assert " b " not in listed.stdout  # nothing stored
