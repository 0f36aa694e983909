"""Warm start of process jobs (issue 17, item 2), through the real worker: a warm run is what a cold one is, sees
nothing of the runs before it, and is stopped, timed out and accounted for like a cold one.

A run is warm when its job's parent is the zygote, cold when it is the worker (here: this test process)."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

import pytest

from deploytool.infra import zygote as warm
from deploytool.models import TERMINAL, RunState
from deploytool.store import Store
from tests.infra.warm_helpers import FACTS_FLOW, deployment, facts, zygote_of
from tests.worker.helpers import alive, log_text, queue_run, state_of, tick_until, wait_for, worker

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="warm start needs Linux /proc")


def _run(store: Store, w, dep, **fields):  # type: ignore[no-untyped-def]
    run = queue_run(store, dep, **fields)
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    return store.runs.get(run.id)


def test_a_warm_run_starts_as_a_cold_one_would(store: Store, project: Path) -> None:
    """Environment (replaced, not merged), working directory, sys.path with a relative PYTHONPATH entry, argv,
    __main__, umask, signal dispositions, session, stdio: the same as a fresh `python -m deploytool.engine`."""
    env = {"PYTHONPATH": f"/opt/nowhere{os.pathsep}rel", "FROM_POOL": "x", "HOME": os.environ.get("HOME")}
    cold = deployment(store, project, FACTS_FLOW, name="cold", env=env)
    hot = deployment(store, project, FACTS_FLOW, name="hot", env=env, warm_start=True)
    w = worker(store)
    w.register()
    runs = [_run(store, w, d) for d in (cold, hot, hot)]
    assert [r.state for r in runs] == [RunState.COMPLETED] * 3
    seen = [facts(store, r.id) for r in runs]
    assert seen[0]["ppid"] == os.getpid()  # cold: the worker's child
    assert seen[1]["ppid"] != os.getpid() and seen[1]["ppid"] == seen[2]["ppid"]  # warm: one zygote's
    fds = [{fd: link.split(":")[0] for fd, link in one.pop("fds").items()} for one in seen]
    for one in seen:
        one.pop("ppid")
    assert seen[1] == seen[0]
    assert seen[2] == seen[0]
    # The same descriptors (stdin /dev/null, stdout and stderr one pipe), plus the warm job's report socket. A warm
    # job's watchdog thread reads /proc/WORKER/stat at each poll (its parent is the zygote, not the worker): the
    # flow may list that descriptor while it is open for a moment (close-on-exec, never inherited); not kept.
    watchdog = f"/proc/{os.getpid()}/stat"
    kept = [{fd: kind for fd, kind in one.items() if kind not in ("socket", watchdog)} for one in fds]
    assert kept == [fds[0]] * 3
    assert [sorted(one.values()).count("socket") for one in fds] == [0, 1, 1]
    assert seen[0]["path"][1:3] == [str(project.resolve()), "/opt/nowhere"]
    assert seen[0]["path"][3] == str(project.resolve() / "rel")


LEAVER = """
import json, logging, os, random, sys, uuid
import shared_module
if kwargs["phase"] == "dirty":
    shared_module.VALUE = "dirty"
    os.environ["LEAKED_VAR"] = "dirty"
    sys.modules["leaked_module"] = sys
    logging.getLogger().addHandler(logging.StreamHandler())
    logging.getLogger("leaky").addHandler(logging.NullHandler())
    kept = open("kept.txt", "w")
    os.chdir("/")
links = []
for fd in os.listdir("/proc/self/fd"):
    try:
        links.append(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        pass
print("FACTS " + json.dumps({
    "value": shared_module.VALUE, "var": os.environ.get("LEAKED_VAR"), "module": "leaked_module" in sys.modules,
    "handlers": len(logging.getLogger("leaky").handlers), "root": len(logging.getLogger().handlers),
    "cwd": os.getcwd(), "kept": [link for link in links if link.endswith("kept.txt")],
    "random": random.random(), "uuid": str(uuid.uuid4()), "ppid": os.getppid(),
}), flush=True)
"""


def test_nothing_one_warm_run_leaves_is_seen_by_the_next(store: Store, project: Path) -> None:
    (project / "shared_module.py").write_text("VALUE = 'clean'\n")
    dep = deployment(store, project, LEAVER, warm_start=True)
    w = worker(store)
    w.register()
    dirty = _run(store, w, dep, parameters={"phase": "dirty"})
    clean = _run(store, w, dep, parameters={"phase": "clean"})
    assert dirty.state is clean.state is RunState.COMPLETED
    first, second = facts(store, dirty.id), facts(store, clean.id)
    assert first["ppid"] == second["ppid"] != os.getpid()  # both warm, from one zygote
    assert first["value"] == "dirty" and first["var"] == "dirty" and first["module"] and first["kept"]
    assert first["handlers"] == 1 and first["root"] == 2
    assert second["value"] == "clean"
    assert second["var"] is None
    assert not second["module"]
    assert second["handlers"] == 0 and second["root"] == 1  # the engine's own handler only
    assert second["cwd"] == str(project.resolve())
    assert second["kept"] == []
    assert second["random"] != first["random"] and second["uuid"] != first["uuid"]


TREE = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen(["sleep", "300"])
escaped = subprocess.Popen([sys.executable, "-c",
    "import os, signal, time; os.setsid(); signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
r, w = os.pipe()
if os.fork() == 0:  # a daemon forked without exec: a session of its own, its parent gone at once
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.write(w, str(os.getpid()).encode())
        time.sleep(300)
    os._exit(0)
daemon = int(os.read(r, 32))
with open({pids!r}, "w") as f:
    f.write(f"{{os.getpid()}} {{child.pid}} {{escaped.pid}} {{daemon}}")
print("ready", flush=True)
time.sleep(300)
"""


def test_cancel_ends_the_whole_tree_of_a_warm_run(store: Store, project: Path) -> None:
    pids_file = project / "pids"
    run = queue_run(store, deployment(store, project, TREE.format(pids=str(pids_file)), warm_start=True))
    w = worker(store, stop_grace_seconds=1.0)
    w.register()
    tick_until(w, lambda: pids_file.exists() and "ready" in log_text(store, run.id))
    pids = [int(p) for p in pids_file.read_text().split()]
    assert all(alive(p) for p in pids)
    assert zygote_of(pids[0]) != os.getpid()  # warm
    store.runs.set_state(run.id, RunState.CANCELLING, "cancelled by a test")
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    assert [p for p in pids if alive(p)] == []
    done = store.runs.get(run.id)
    assert done.state is RunState.CANCELLED
    assert (done.state_message or "").startswith("cancelled: the job was killed by SIGKILL")
    assert done.exit_code == -signal.SIGKILL


def test_a_timed_out_warm_run_leaves_no_process(store: Store, project: Path) -> None:
    pids_file = project / "pids"
    body = TREE.format(pids=str(pids_file)).replace("signal.signal(signal.SIGTERM, signal.SIG_IGN)\nchild", "child")
    dep = deployment(store, project, body, warm_start=True)
    (project / "d.py").write_text((project / "d.py").read_text().replace("@flow()", "@flow(timeout_seconds=3)"))
    run = queue_run(store, dep)
    w = worker(store, stop_grace_seconds=1.0)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    pids = [int(p) for p in pids_file.read_text().split()]
    assert zygote_of(pids[0]) != os.getpid() if alive(pids[0]) else True
    wait_for(lambda: [p for p in pids if alive(p)] == [])
    done = store.runs.get(run.id)
    assert done.state is RunState.FAILED and done.state_message == "timed out after 3 s" and done.exit_code == 3


def test_a_warm_run_never_gets_the_store_key_and_the_zygote_never_holds_its_environment(
    store: Store, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYTOOL_SECRET_KEY", "the-worker-s-key-4f1c")
    monkeypatch.setenv("DEPLOYTOOL_SECRET_KEY_FILE", "/etc/deploytool/secret.key")
    secret = "run-secret-" + os.urandom(8).hex()
    body = FACTS_FLOW + "\nprint('ENVIRON', open('/proc/self/environ', 'rb').read().count(b'the-worker-s-key'))\n"
    dep = deployment(store, project, body, env={"RUN_SECRET": secret}, warm_start=True)
    w = worker(store)
    w.register()
    run = _run(store, w, dep)
    seen = facts(store, run.id)
    assert seen["env"]["RUN_SECRET"] == secret
    assert "DEPLOYTOOL_SECRET_KEY" not in seen["env"] and "DEPLOYTOOL_SECRET_KEY_FILE" not in seen["env"]
    assert "ENVIRON 0" in log_text(store, run.id)
    zygote = seen["ppid"]
    assert zygote != os.getpid() and alive(zygote)
    assert b"the-worker-s-key" not in Path(f"/proc/{zygote}/environ").read_bytes()
    assert _memory(zygote).count(secret.encode()) == 0  # the run's environment went to its child only
    assert _memory(zygote).count(b"the-worker-s-key") == 0


def _memory(pid: int) -> bytes:
    """Every readable, writable private mapping of a process (its heap and stacks: where a received message
    would be)."""
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if not perms.startswith("rw"):
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except OSError:
                continue
    return b"".join(chunks)


def test_a_warm_run_holds_no_descriptor_of_the_zygote_and_passes_none_on(store: Store, project: Path) -> None:
    listing = "subprocess.run('echo CHILD_FDS $(ls /proc/self/fd)', shell=True, close_fds=False)"
    body = f"{FACTS_FLOW}\nimport subprocess\n{listing}\n"
    w = worker(store)
    w.register()
    run = _run(store, w, deployment(store, project, body, warm_start=True))
    seen = facts(store, run.id)
    zygote = seen["ppid"]
    assert zygote != os.getpid()
    theirs = {os.readlink(f"/proc/{zygote}/fd/{fd}") for fd in os.listdir(f"/proc/{zygote}/fd")}
    mine = set(seen["fds"].values())
    assert {link for link in theirs if link.startswith(("socket:", "pipe:"))} & mine == set()
    assert [link.split(":")[0] for link in mine].count("socket") == 1  # its own report socket, not the zygote's
    assert "CHILD_FDS 0 1 2 3" in log_text(store, run.id)  # 3: the listing itself


def test_a_zygote_that_stops_answering_fails_over_to_a_cold_start_logged_once(
    store: Store, project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="deploytool.infra.zygote")
    dep = deployment(store, project, FACTS_FLOW, warm_start=True)
    w = worker(store)
    w.register()

    def parent() -> int:
        run = _run(store, w, dep)
        assert run.state is RunState.COMPLETED
        return int(facts(store, run.id)["ppid"])

    first = parent()
    for _ in range(2):  # twice: the worker says so once
        assert first != os.getpid()  # warm
        os.kill(first, signal.SIGSTOP)  # alive, but answers nothing
        monkeypatch.setattr(warm, "ANSWER_SECONDS", 1.0)
        assert parent() == os.getpid()  # that run started cold
        assert not alive(first)  # and the stuck zygote was ended
        monkeypatch.setattr(warm, "ANSWER_SECONDS", 30.0)
        second = parent()
        assert second not in (first, os.getpid())  # a new zygote serves the next run
        first = second
    os.kill(first, signal.SIGKILL)  # a zygote that died between runs is started again
    wait_for(lambda: not alive(first))  # died (the kernel's doing, not instant on a loaded machine), not dying
    assert parent() not in (first, os.getpid())
    warnings = [r.getMessage() for r in caplog.records if "warm start failed" in r.getMessage()]
    assert len(warnings) == 1, warnings


@pytest.mark.parametrize("fault", [signal.SIGKILL, signal.SIGSTOP], ids=["dies", "hangs"])
def test_runs_go_on_when_their_zygote_dies_or_hangs_and_keep_their_exit_code(
    store: Store, project: Path, fault: signal.Signals
) -> None:
    go = project / "go"
    body = f"""
import os, time
from pathlib import Path
print("FACTS " + '{{"ppid": %d}}' % os.getppid(), flush=True)
while not Path({str(go)!r}).exists():
    time.sleep(0.05)
if kwargs.get("fail"):
    raise ValueError("as asked")
"""
    dep = deployment(store, project, body, warm_start=True)
    w = worker(store)
    w.register()
    ok, bad = queue_run(store, dep), queue_run(store, dep, parameters={"fail": True})
    tick_until(w, lambda: all("FACTS" in log_text(store, r.id) for r in (ok, bad)))
    zygote = facts(store, ok.id)["ppid"]
    assert zygote == facts(store, bad.id)["ppid"] != os.getpid()
    os.kill(zygote, fault)  # dead, or alive but never reaping nor answering again
    if fault is signal.SIGKILL:
        wait_for(lambda: not alive(zygote))
    go.write_text("")
    try:
        tick_until(w, lambda: state_of(store, ok.id) in TERMINAL and state_of(store, bad.id) in TERMINAL)
    finally:
        os.kill(zygote, signal.SIGKILL)
    assert (store.runs.get(ok.id).state, store.runs.get(ok.id).exit_code) == (RunState.COMPLETED, 0)
    assert (store.runs.get(bad.id).state, store.runs.get(bad.id).exit_code) == (RunState.FAILED, 1)


def test_runs_start_cold_when_warm_start_is_off_the_command_is_custom_or_the_interpreter_differs(
    store: Store, project: Path
) -> None:
    w = worker(store)
    w.register()
    warm_run = _run(store, w, deployment(store, project, FACTS_FLOW, name="on", warm_start=True))
    assert facts(store, warm_run.id)["ppid"] != os.getpid()
    off = _run(store, w, deployment(store, project, FACTS_FLOW, name="off"))
    hashed = _run(
        store, w, deployment(store, project, FACTS_FLOW, name="seed", warm_start=True, env={"PYTHONHASHSEED": "7"})
    )
    command = f"{sys.executable} -m deploytool.engine"
    custom = _run(store, w, deployment(store, project, FACTS_FLOW, name="custom", warm_start=True, command=command))
    for run in (off, hashed, custom):
        assert run.state is RunState.COMPLETED
        assert facts(store, run.id)["ppid"] == os.getpid(), run.deployment_name
    assert facts(store, hashed.id)["env"]["PYTHONHASHSEED"] == "7"
