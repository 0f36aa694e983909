"""cli/parser.py parses every command as typer does, without typer (issue 17 item 4).

A differential test: for every command in the recorded table, argument vectors (valid ones, every form of each
option, and the usual mistakes) are parsed by cli/parser.py and by the typer application. Where typer calls the
command's function, the table's parse must call the same function with the same values; where typer does not (a
usage error, `--help`), the table's parse must leave it to typer, which then says exactly what it always said.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import typer.main

from deploytool.cli.app import build_app
from deploytool.cli.command_table import COMMANDS
from deploytool.cli.parser import Call, parse_command
from deploytool.settings import STORE_URL_ENV

HEAVY = ("typer", "click", "rich")


class _Called(Exception):
    def __init__(self, function: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        super().__init__(function.__name__)
        self.function = function
        self.kwargs = kwargs


def _record(function: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    raise _Called(function, kwargs)


@pytest.fixture(scope="module")
def typer_root() -> Any:
    return typer.main.get_command(build_app(None, call=_record))


def _typer(root: Any, args: list[str]) -> tuple[Any, ...]:
    """What typer does with ARGS: ("call", function, kwargs, store) or ("exit", code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    os.environ.pop(STORE_URL_ENV, None)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            root.main(args=list(args), prog_name="deploytool", standalone_mode=True)
    except _Called as called:
        return ("call", called.function, called.kwargs, os.environ.get(STORE_URL_ENV))
    except SystemExit as done:
        return ("exit", done.code, out.getvalue(), err.getvalue())
    finally:
        os.environ.pop(STORE_URL_ENV, None)
    raise AssertionError(f"typer neither called nor exited for {args}")


def _ours(call: Call) -> tuple[Any, ...]:
    function = getattr(importlib.import_module(f"deploytool.cli.{call.module}"), call.function)
    bound = inspect.signature(function).bind_partial(**call.kwargs)
    bound.apply_defaults()
    return ("call", function, dict(bound.arguments), call.store)


SAMPLE = {"str": "v1", "int": "3", "float": "2.5", "path": "some/file.txt"}
OTHER = {"str": "v2", "int": "-4", "float": "1e3", "path": "-"}


def _sample(param: tuple[Any, ...], other: bool = False) -> str:
    kind, extra = param[4], param[7]
    if kind == "choice":
        return str(extra[1][0 if other else -1])
    if kind == "int" and extra:
        return str(extra[0] if other else extra[1])
    return (OTHER if other else SAMPLE)[kind]


def _flat(pairs: list[list[str]]) -> list[str]:
    return [word for pair in pairs for word in pair]


def _vectors(words: str, params: tuple[tuple[Any, ...], ...]) -> Iterator[list[str]]:
    command = words.split()
    arguments = [p for p in params if p[1] == "argument"]
    options = [p for p in params if p[1] == "option"]
    flags = [p for p in params if p[1] == "flag"]
    required_options = [[p[2][0], _sample(p)] for p in options if p[6]]
    required_args = [_sample(p) for p in arguments if p[6]]
    base = [*_flat(required_options), *required_args]
    yield command + base
    yield [*command, *required_args, *_flat(required_options)]  # options after the arguments
    for index in range(len(required_options)):  # each required option missing
        yield [*command, *_flat(required_options[:index] + required_options[index + 1 :]), *required_args]
    if required_args:
        yield [*command, *_flat(required_options)]  # the arguments missing
    for param in arguments:
        if not param[6]:
            yield [*command, *base, _sample(param)]
        if param[5] == -1:
            yield [*command, *base, "a=1", "b=2", "-"]
            yield [*command, *base, "--", "-x=1", "--y"]
    yield [*command, *base, "extra", "more"]  # unexpected extra arguments
    yield [*command, *base, "--", "extra"]
    yield [*command, *base, "--bogus"]
    yield [*command, *base, "-Z"]
    yield [*command, *base, "--bogus=1"]
    yield [*command, *base, "--help"]
    yield [*command, *base, "-h"]
    yield [*command, "--help", *base]
    for param in options:
        long = next((n for n in param[2] if n.startswith("--")), param[2][0])
        value, other = _sample(param), _sample(param, other=True)
        yield [*command, *base, long, value]
        yield [*command, *base, f"{long}={value}"]
        yield [*command, *base, f"{long}="]
        yield [*command, *base, long, value, long, other]  # repeated: every value, or the last one
        yield [*command, long, value, *base]
        yield [*command, *base, long]  # no value
        yield [*command, *base, long, "--help"]  # --help as the value
        yield [*command, *base, long[:-1], value]  # close to a real name: did-you-mean
        yield [*command, *base, long + "x", value]
        for name in param[2][1:]:
            yield [*command, *base, name, value]
            if len(name) == 2:
                yield [*command, *base, name + value]  # -ojson
                yield [*command, *base, f"{name}={value}"]  # -o=json: the value is "=json"
        if param[4] in ("int", "float"):
            yield [*command, *base, long, "x"]
            yield [*command, *base, long, "1_000"]
            yield [*command, *base, long, " 7 "]
            if param[4] == "int":
                yield [*command, *base, long, "1.5"]
                yield [*command, *base, long, "99999999999999999999"]
            if param[7]:
                yield [*command, *base, long, str(param[7][1] + 1)]
                yield [*command, *base, long, str(param[7][0] - 1)]
        if param[4] == "choice":
            yield [*command, *base, long, "xml"]
            yield [*command, *base, long, _sample(param).upper()]
    for param in flags:
        yield [*command, *base, param[2][0]]
        yield [*command, *base, param[2][0], param[2][0]]
        yield [*command, *base, f"{param[2][0]}=1"]
        yield [*command, param[2][0], *base]
        for name in param[3]:
            yield [*command, *base, name]
    short_flags = [n for p in flags for n in p[2] if len(n) == 2]
    short_options = [(n, p) for p in options for n in p[2] if len(n) == 2]
    for flag in short_flags:
        for other in short_flags:
            yield [*command, *base, flag + other[1]]  # -fv
        for name, param in short_options:
            yield [*command, *base, flag + name[1], _sample(param)]  # -fo json
            yield [*command, *base, flag + name[1] + _sample(param)]  # -fojson
            yield [*command, *base, name[0] + name[1] + flag[1]]  # -of: "f" is the value of -o
        yield [*command, *base, flag + "Z"]
    yield ["--store", "sqlite:///x.db", *command, *base]
    yield ["--store=sqlite:///y.db", *command, *base]
    yield ["--store", "a", "--store", "b", *command, *base]
    yield ["--store", *command, *base]
    yield ["--version", *command, *base]
    yield ["--bogus", *command, *base]
    yield ["--", *command, *base]


def _cases() -> list[tuple[str, list[str]]]:
    seen: set[tuple[str, ...]] = set()
    cases = []
    for words, (_, _, _, params) in COMMANDS.items():
        for vector in _vectors(words, params):
            if tuple(vector) not in seen:
                seen.add(tuple(vector))
                cases.append((words, vector))
    return cases


def test_the_vectors_cover_every_command_and_both_outcomes(typer_root: Any) -> None:
    cases = _cases()
    assert {words for words, _ in cases} == set(COMMANDS)
    assert len(COMMANDS) > 50 and len(cases) > 1500
    outcomes = {_typer(typer_root, vector)[0] for _, vector in cases[:80]}
    assert outcomes == {"call", "exit"}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_table_parses_each_command_as_typer_does(
    typer_root: Any, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv(STORE_URL_ENV, raising=False)
    calls = 0
    for words, vector in _cases():
        if words != command:
            continue
        expected = _typer(typer_root, vector)
        call = parse_command(vector)
        if expected[0] == "call":
            calls += 1
            assert call is not None, f"{vector}: typer calls {expected[1].__name__}, the table leaves it to typer"
            assert _ours(call) == expected, vector
        else:
            assert call is None, f"{vector}: typer says {expected[3]!r} (exit {expected[1]}), the table calls"
    assert calls > 0


def test_a_usage_error_is_worded_by_click_as_before(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, typer_root: Any
) -> None:
    """Through the CLI's entry point: the same lines and exit code as typer's own parse gives."""
    from deploytool.cli.entry import main

    monkeypatch.setenv("COLUMNS", "80")
    for vector in (
        ["work-pool", "ls", "--outpt", "json"],
        ["work-pool", "ls", "-o", "xml"],
        ["flow-run", "ls", "--limit", "x"],
        ["work-pool", "create"],
        ["worker", "start"],
        ["block", "ls", "a", "b"],
        ["deploy", "--dry-run=1"],
        ["run", "f/d", "-o"],
        ["ui", "--port", "70000"],
    ):
        expected = _typer(typer_root, vector)
        assert expected[0] == "exit" and expected[1] == 2, (vector, expected)
        capsys.readouterr()
        assert main(vector) == 2, vector
        out, err = capsys.readouterr()
        assert (out, err) == (expected[2], expected[3]), vector
        assert err.startswith(("\n Usage: deploytool ", "Error: Option")), err
    assert (
        "Error: No such option: --outpt (Possible options: --output)"
        in _typer(typer_root, ["work-pool", "ls", "--outpt"])[3]
    )


def test_a_command_s_own_usage_error_is_worded_as_click_words_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`worker start --log-format x` is refused by the command itself (params.BadParameter): the same lines
    as typer printed (click's BadParameter), from the table's parse."""
    from deploytool.cli.entry import main

    monkeypatch.setenv("COLUMNS", "80")
    vector = ["worker", "start", "--pool", "p", "--log-format", "x"]
    assert parse_command(vector) is not None
    assert main(vector) == 2
    ours = capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        build_app("worker")(args=vector, prog_name="deploytool")
    theirs = capsys.readouterr()
    assert done.value.code == 2
    assert (ours.out, ours.err) == (theirs.out, theirs.err)
    assert "Error: Invalid value for '--log-format': 'x' is not text or json" in ours.err


def test_a_changed_command_module_is_parsed_by_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table whose sources changed since it was recorded is never used: typer reads the signatures."""
    from deploytool.cli import command_table

    assert parse_command(["work-pool", "ls", "-o", "json"]) is not None
    monkeypatch.setitem(command_table.FINGERPRINTS, "pool_cmds", 0)
    assert parse_command(["work-pool", "ls", "-o", "json"]) is None
    monkeypatch.setitem(command_table.FINGERPRINTS, "run_cmds", 0)  # `deployment run` is run_cmds' function
    assert parse_command(["deployment", "run", "f/d"]) is None
    assert parse_command(["deployment", "ls"]) is not None


def test_the_recorded_table_is_up_to_date() -> None:
    from deploytool.cli.helpgen import REGENERATE
    from deploytool.cli.tablegen import TABLE_FILE, table_source

    assert table_source() == TABLE_FILE.read_text(encoding="utf-8"), f"cli/command_table.py: run `{REGENERATE}`"


def _loaded_by(args: list[str], tmp_path: Any) -> set[str]:
    probe = (
        "import contextlib, io, sys\nfrom deploytool.cli.entry import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    code = main({args!r})\n"
        "print(code, ' '.join(sorted(sys.modules)))"
    )
    env = {**os.environ, "DEPLOYTOOL_HOME": str(tmp_path)}
    env.pop("_DEPLOYTOOL_COMPLETE", None)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env).stdout
    code, _, modules = out.strip().partition(" ")
    assert code == "0", out
    return set(modules.split())


@pytest.mark.parametrize(
    "args",
    [
        ["work-pool", "ls"],
        ["flow-run", "ls", "-o", "json"],
        ["--store", "sqlite:///{home}/other.db", "deployment", "ls"],
        ["variable", "ls"],
        ["store", "info"],
        ["schema"],
    ],
)
def test_a_working_command_imports_no_cli_framework(tmp_path: Any, args: list[str]) -> None:
    """A normal command is parsed from the table: typer, click and rich are never imported, nor another
    command's module."""
    loaded = _loaded_by([a.replace("{home}", str(tmp_path)) for a in args], tmp_path)
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}, sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    modules = {m.removeprefix("deploytool.cli.") for m in loaded if m.endswith("_cmds")}
    assert len(modules) == 1, modules
    if "--store" in args:
        assert (tmp_path / "other.db").exists()  # the global --store named the store the command opened


def test_the_benchmark_s_start_up_probe_is_written_at_the_command_s_call(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """benchmarks/bench_cli.py reads the CPU and monotonic time at which the command's function was called."""
    import time

    from deploytool.cli.entry import main
    from deploytool.cli.parser import STARTUP_ENV

    probe = tmp_path / "startup"
    monkeypatch.setenv(STARTUP_ENV, str(probe))
    before = time.monotonic()
    assert main(["variable", "ls"]) == 0
    cpu, called = (float(x) for x in probe.read_text(encoding="utf-8").split())
    assert 0 < cpu <= time.process_time() and before <= called <= time.monotonic()
    probe.unlink()
    assert main(["variable", "ls", "--bogus"]) == 2  # typer parsed it: no call through the table, no probe
    assert not probe.exists()
