"""Process infrastructure with real processes: environment, working directory, output, stopping a whole tree."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from deploytool.engine.events import parse_line
from deploytool.engine.spec import RunSpec
from deploytool.errors import InfraError
from deploytool.infra import proctree
from deploytool.infra.base import Job, deliver_lines
from deploytool.infra.process import ProcessInfrastructure

INFRA = ProcessInfrastructure()  # looks for a job's leftovers in the whole process table


@pytest.fixture
def adopting() -> ProcessInfrastructure:
    """A worker's way: this test process becomes a child subreaper and finds a job's leftovers among its own
    descendants (deploytool.infra.proctree)."""
    infra = ProcessInfrastructure(adopt_orphans=True)
    if not infra.adopts:
        pytest.skip("this system cannot make a process a child subreaper with /proc/PID/task/TID/children")
    return infra


@pytest.fixture(params=["process table", "adopting"])
def infra(request: pytest.FixtureRequest) -> ProcessInfrastructure:
    """Both ways of finding a job's processes: the whole process table, and among a subreaper's descendants."""
    return INFRA if request.param == "process table" else request.getfixturevalue("adopting")


class Lines:
    """Collects output lines from the reader thread."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def alive(pid: int) -> bool:
    """os.kill(pid, 0) says whether the pid exists; a zombie (dead, not yet reaped by init) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_env_is_merged_over_the_workers_and_working_dir_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FROM_WORKER", "inherited")
    monkeypatch.setenv("UNSET_ME", "should not be seen")
    monkeypatch.setenv("DEPLOYTOOL_RUN_SPEC", "a leftover of the worker's own environment")
    code = """
        import os
        for key in ("FROM_WORKER", "UNSET_ME", "FROM_CONFIG", "NUMBER", "FROM_JOB", "DEPLOYTOOL_RUN_SPEC"):
            print(key, os.environ.get(key))
        print("cwd", os.getcwd())
    """
    job = Job(
        "r1",
        {
            "command": python(code),
            "env": {"FROM_CONFIG": "yes", "UNSET_ME": None, "NUMBER": 42, "FROM_JOB": "config loses"},
            "working_dir": str(tmp_path),
        },
        env={"FROM_JOB": "job wins"},
    )
    out = Lines()
    outcome = INFRA.wait(INFRA.start(job, out), timeout=20)
    assert outcome is not None and outcome.exit_code == 0
    assert out.lines == [
        "FROM_WORKER inherited",
        "UNSET_ME None",
        "FROM_CONFIG yes",
        "NUMBER 42",
        "FROM_JOB job wins",
        "DEPLOYTOOL_RUN_SPEC None",
        f"cwd {tmp_path}",
    ]


def test_a_flow_never_gets_the_key_that_decrypts_the_store_s_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYTOOL_SECRET_KEY", "the-worker-s-key")
    monkeypatch.setenv("DEPLOYTOOL_SECRET_KEY_FILE", "/etc/deploytool/secret.key")
    code = """
        import os
        print(os.environ.get("DEPLOYTOOL_SECRET_KEY"), os.environ.get("DEPLOYTOOL_SECRET_KEY_FILE"))
    """
    out = Lines()
    outcome = INFRA.wait(INFRA.start(Job("r1", {"command": python(code)}), out), timeout=20)
    assert outcome is not None and outcome.exit_code == 0
    assert out.lines == ["None None"]


def test_a_fresh_temporary_directory_when_working_dir_is_null_and_it_is_removed_after() -> None:
    out = Lines()
    code = "import os; open('scratch.txt', 'w').write('x'); print(os.getcwd())"
    handle = INFRA.start(Job("r2", {"command": python(code), "working_dir": None}), out)
    outcome = INFRA.wait(handle, timeout=20)
    assert outcome is not None and outcome.exit_code == 0
    workdir = Path(out.lines[0])
    assert workdir.name.startswith("deploytool-r2-")
    assert not workdir.exists()


def test_output_lines_stream_in_order_while_the_job_runs() -> None:
    code = """
        import sys, time
        for i in range(300):
            print(f"line {i}")
            if i == 10:
                sys.stdout.flush(); print("to stderr", file=sys.stderr); sys.stderr.flush()
        sys.stdout.flush()
        time.sleep(60)
    """
    out = Lines()
    handle = INFRA.start(Job("r3", {"command": python(code)}), out)
    wait_for(lambda: len(out.lines) >= 301)  # delivered before the job ends
    assert INFRA.poll(handle) is None
    assert INFRA.wait(handle, timeout=0.1) is None  # still running: the caller decides what to do
    expected = [f"line {i}" for i in range(300)]
    expected.insert(11, "to stderr")
    assert out.lines == expected
    outcome = INFRA.stop(handle, grace_seconds=5)
    assert outcome.stopped and not outcome.killed and outcome.exit_code == -15


def test_the_engine_runs_by_default_with_the_run_spec(tmp_path: Path) -> None:
    (tmp_path / "flows.py").write_text("def main(n: int):\n    print('n is', n)\n    return n + 1\n")
    spec = RunSpec("r4", "main", "dep", "flows.py:main", parameters={"n": 41}, working_dir=str(tmp_path))
    out = Lines()
    outcome = INFRA.wait(INFRA.start(Job("r4", {}, env=spec.to_env()), out), timeout=20)
    assert outcome is not None and outcome.exit_code == 0
    parsed = [parse_line(line) for line in out.lines]
    assert ("n is 41", None) in parsed
    completed = [e for _, e in parsed if e and e["event"] == "completed"]
    assert completed[0]["result_repr"] == "42"


STUBBORN_FLOW = """
import os, signal, subprocess, sys, time
from pathlib import Path

SLEEPER = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"]

ORPHANER = "import subprocess, sys; print(subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL).pid)"

def main(pid_file: str):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the flow ignores SIGTERM ...
    plain = subprocess.Popen(["sleep", "60"])  # ... and has children:
    stubborn = subprocess.Popen(SLEEPER)  # one that ignores SIGTERM too,
    own_session = subprocess.Popen(SLEEPER, start_new_session=True)  # one that left the job's session,
    grandchild = subprocess.Popen(  # and a grandchild whose parent exits at once
        [sys.executable, "-c", ORPHANER, *SLEEPER],
        stdout=subprocess.PIPE, text=True,
    )
    orphan = int(grandchild.communicate()[0])
    pids = [os.getpid(), plain.pid, stubborn.pid, own_session.pid, orphan]
    Path(pid_file).write_text(" ".join(map(str, pids)))
    while True:
        time.sleep(1)
"""


def test_stop_ends_the_whole_tree_of_a_flow_that_ignores_sigterm(tmp_path: Path, infra: ProcessInfrastructure) -> None:
    (tmp_path / "flows.py").write_text(STUBBORN_FLOW)
    pid_file = tmp_path / "pids"
    spec = RunSpec("r5", "main", "dep", "flows.py:main", parameters={"pid_file": str(pid_file)})
    handle = infra.start(Job("r5", {"working_dir": str(tmp_path)}, env=spec.to_env()), Lines())
    try:
        wait_for(lambda: pid_file.exists() and len(pid_file.read_text().split()) == 5)
        pids = [int(p) for p in pid_file.read_text().split()]
        assert all(alive(pid) for pid in pids)
    finally:
        outcome = infra.stop(handle, grace_seconds=0.5)
    assert outcome.stopped and outcome.killed and outcome.exit_code == -9
    assert [pid for pid in pids if alive(pid)] == []


def test_processes_left_behind_by_a_finished_job_are_killed(infra: ProcessInfrastructure) -> None:
    code = """
        import subprocess
        child = subprocess.Popen(["sleep", "60"], stdout=subprocess.DEVNULL)
        print(child.pid, flush=True)
    """
    out = Lines()
    outcome = infra.wait(infra.start(Job("r6", {"command": python(code)}), out), timeout=20)
    assert outcome is not None and outcome.exit_code == 0 and outcome.leftovers == 1
    assert "1 process(es) it left running were killed" in outcome.describe()
    assert not alive(int(out.lines[0]))


def test_a_command_that_cannot_start_is_an_infra_error(tmp_path: Path) -> None:
    with pytest.raises(InfraError, match="could not start no-such-command-here") as info:
        INFRA.start(Job("r7", {"command": "no-such-command-here --flag"}), Lines())
    assert info.value.hint
    with pytest.raises(InfraError, match="does not exist"):
        INFRA.start(Job("r8", {"working_dir": str(tmp_path / "missing")}), Lines())


def test_a_daemon_that_left_the_job_s_session_is_killed_with_the_job(infra: ProcessInfrastructure) -> None:
    """Found by the job's token in its environment: it is neither in the job's session nor its descendant."""
    code = """
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                print(os.getpid(), flush=True)
                sys.stdout.close()
                os.close(1)
                time.sleep(60)
            os._exit(0)
        os.wait()
    """
    out = Lines()
    outcome = infra.wait(infra.start(Job("r7", {"command": python(code)}), out), timeout=20)
    assert outcome is not None and outcome.exit_code == 0 and outcome.leftovers == 1, out.lines
    wait_for(lambda: not alive(int(out.lines[0])))


def _recording_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every /proc path deploytool.infra.proctree opens or lists from now on."""
    read: list[str] = []
    listdir = os.listdir

    def recording_open(path: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        read.append(str(path))
        return open(path, *args, **kwargs)  # type: ignore[call-overload]

    def recording_listdir(path: str) -> list[str]:
        read.append(f"{path}/")
        return listdir(path)

    monkeypatch.setattr(proctree, "open", recording_open, raising=False)
    monkeypatch.setattr(proctree.os, "listdir", recording_listdir)
    return read


def test_the_end_of_a_job_reads_no_environment_of_processes_older_than_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding a job's processes by its token reads only processes started since the job (a machine's other
    processes cannot carry it): at every job's end, not the environment of every process on the machine."""
    read = _recording_reads(monkeypatch)
    outcome = INFRA.wait(INFRA.start(Job("r8", {"command": python("pass")}), Lines()), timeout=20)
    assert outcome is not None and outcome.exit_code == 0
    assert "/proc/" in read and any(path.endswith("/stat") for path in read)  # the process table was read
    environs = [path for path in read if path.endswith("/environ")]
    assert "/proc/1/environ" not in environs and f"/proc/{os.getpid()}/environ" not in environs


def test_a_subreaper_finds_a_job_s_leftovers_without_reading_the_process_table(
    adopting: ProcessInfrastructure, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker adopts what its jobs leave (it is a child subreaper): at the end of a job, it reads its own
    children, not every process of the machine; a job that left a process still has it found and killed."""
    handle = adopting.start(Job("r9", {"command": python("pass")}), Lines())
    read = _recording_reads(monkeypatch)
    outcome = adopting.wait(handle, timeout=20)
    assert outcome is not None and outcome.exit_code == 0 and outcome.leftovers == 0
    assert read[0] == f"/proc/{os.getpid()}/task/{os.getpid()}/children"  # the orphans this process adopted
    assert "/proc/" not in read  # the process table is not listed (other children of this test process may be)
    assert "/proc/1/stat" not in read and not any(path.endswith("/environ") for path in read)


def test_a_subreaper_leaves_no_zombie_of_what_it_killed(adopting: ProcessInfrastructure) -> None:
    """The worker reaps the leftovers it adopted and killed: nothing of the job stays, not even a zombie."""
    code = """
        import os, subprocess, sys, time
        if os.fork() == 0:  # a child that outlives the job's main process, and so is adopted by the worker
            child = subprocess.Popen(["sleep", "60"], stdout=subprocess.DEVNULL)
            print(os.getpid(), child.pid, flush=True)
            sys.stdout.close()
            os.close(1)
            time.sleep(60)
        time.sleep(0.5)
    """
    out = Lines()
    outcome = adopting.wait(adopting.start(Job("r10", {"command": python(code)}), out), timeout=20)
    assert outcome is not None and outcome.exit_code == 0 and outcome.leftovers == 2, out.lines
    adopted, grandchild = (int(pid) for pid in out.lines[0].split())
    wait_for(lambda: not Path(f"/proc/{adopted}").exists())  # killed and reaped by this (subreaper) process
    assert not alive(grandchild)


def test_output_lines_lose_their_endings_and_a_failing_receiver_does_not_stop_the_reading(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One reader for process and container output (infra.base.deliver_lines): CRLF and LF endings go, invalid
    UTF-8 is replaced, and a receiver that raises is reported once while every line is still read."""
    got: list[str] = []

    def receiver(line: str) -> None:
        got.append(line)
        if line.startswith("bad"):
            raise ValueError(line)

    deliver_lines([b"one\r\n", b"bad 1\n", b"bad 2\n", b"\xff tail"], receiver)
    assert got == ["one", "bad 1", "bad 2", "\ufffd tail"]
    assert [r.message for r in caplog.records].count("output callback failed; further failures are not reported") == 1
