"""Hosts for tests: network namespaces on a private /24, joined by veth pairs to a bridge on this machine.

Each host is a network namespace of its own (`ip netns add`), with one veth pair: its end inside the namespace
holds the host's address, the other end is on a bridge that holds the gateway address (`.1`), where the
PostgreSQL server of the test listens. A host reaches nothing else over the network; the Docker daemon (a unix
socket) and the registry it pushes to (127.0.0.1, from the daemon) are reached as from separate machines. Each
command in a host also gets a PID namespace and a host name of its own (`unshare --pid --uts`), so that no host
sees or signals another's processes. Cutting a host (`Network.cut`) sets its veth down on this machine's side:
its connections stall as when a cable is pulled.

Names carry a random token, so that several test sessions on one machine do not collide; the /24 is chosen
among 10.200.0.0-10.254.255.0 where this machine has no route or address.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.services import missing

REQUIRE = "DEPLOYTOOL_REQUIRE_NETNS"
ROOT = Path(__file__).resolve().parents[2]


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `ip ARGS`; RuntimeError with its message when it fails (and `check`)."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=60)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def why_no_namespaces() -> str | None:
    """None when this machine lets the test make network namespaces, else why not."""
    if sys.platform != "linux":
        return f"network namespaces are Linux only (this is {sys.platform})"
    if shutil.which("ip") is None:
        return "the `ip` command is missing (Debian package iproute2)"
    if shutil.which("unshare") is None:
        return "the `unshare` command is missing (Debian package util-linux)"
    if os.geteuid() != 0:
        return "making network namespaces needs root (run the suite as root, as CI does)"
    probe = f"dtprobe-{secrets.token_hex(3)}"
    made = ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    bridge = f"dtp{secrets.token_hex(3)}"
    made = ip("link", "add", bridge, "type", "bridge", check=False)
    if made.returncode != 0:
        return f"`ip link add ... type bridge` failed: {made.stderr.strip()}"
    ip("link", "del", bridge, check=False)
    return None


def require_namespaces() -> None:
    """Skip (fail in CI) saying why, when network namespaces cannot be made here."""
    reason = why_no_namespaces()
    if reason is not None:
        missing(f"the multi-host test cannot make its hosts: {reason}", REQUIRE)


def _free_subnet() -> str:
    """A 10.x.y prefix that no address or route of this machine uses."""
    taken = ip("-4", "route", "show", "table", "all").stdout + ip("-4", "addr").stdout
    for _ in range(200):
        prefix = f"10.{random.randint(200, 254)}.{random.randint(0, 255)}"
        if f"{prefix}." not in taken:
            return prefix
    raise RuntimeError("no free 10.x.y.0/24 for the test hosts")


@dataclass
class Host:
    """One host: a network namespace, its address, its own DEPLOYTOOL_HOME and its folder of run markers."""

    name: str
    namespace: str
    address: str
    veth: str  # this machine's end of its veth pair: set down to cut the host off
    folder: Path
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def markers(self) -> Path:
        return self.folder / "markers"

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv` in this host: its network namespace, a PID namespace of its own (killed with the command's
        `unshare`), and its name as the host name."""
        pid_ns = ["unshare", "--pid", "--fork", "--mount-proc", "--uts", "--kill-child", "--"]
        named = ["sh", "-c", 'hostname "$0" && exec "$@"', self.name]
        return ["ip", "netns", "exec", self.namespace, *pid_ns, *named, *argv]

    def run(
        self, argv: Sequence[str], timeout: float = 300, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in this host and wait for it (its output captured)."""
        return subprocess.run(
            self.command(argv), env=self.env, cwd=cwd or self.folder, capture_output=True, text=True, timeout=timeout
        )

    def deploytool(self, *args: str, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """`deploytool ARGS` in this host, as a user types it."""
        return self.run([sys.executable, "-m", "deploytool", *args], timeout=timeout, cwd=cwd)

    def start(self, log_name: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start a long-running command in this host, its output in `<folder>/<log_name>.log`."""
        with (self.folder / f"{log_name}.log").open("ab") as log:
            proc = subprocess.Popen(
                self.command(argv), env=self.env, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT
            )
        self.procs.append(proc)
        return proc

    def start_worker(self, name: str, pool: str, *args: str) -> subprocess.Popen[bytes]:
        return self.start(
            name, [sys.executable, "-m", "deploytool", "worker", "start", "--pool", pool, "--name", name, *args]
        )

    def signal(self, proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        """Send `sig` to the command that `proc` started (inside its PID namespace: the child of `unshare`)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == proc.pid:
                    os.kill(int(stat.parent.name), sig)
                    return
        raise AssertionError(f"no process of {self.name} under pid {proc.pid}")

    def output(self, log_name: str) -> str:
        path = self.folder / f"{log_name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)


class Network:
    """A bridge on this machine with a /24, and the hosts joined to it. `close` removes everything it made."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.token = secrets.token_hex(3)
        self.prefix = _free_subnet()
        self.bridge = f"dt{self.token}br"
        self.hosts: dict[str, Host] = {}
        self._made: list[Callable[[], object]] = []
        ip("link", "add", self.bridge, "type", "bridge")
        self._made.append(lambda: ip("link", "del", self.bridge, check=False))
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    @property
    def gateway(self) -> str:
        """This machine's address on the hosts' network (where PostgreSQL listens)."""
        return f"{self.prefix}.1"

    @property
    def cidr(self) -> str:
        return f"{self.prefix}.0/24"

    def add_host(self, name: str, env: dict[str, str]) -> Host:
        """A new namespace with an address on the network, and a folder (home, markers) of its own."""
        index = len(self.hosts) + 2
        namespace = f"deploytool-{self.token}-{name}"
        outside, inside = f"dt{self.token}h{index}", f"dt{self.token}n{index}"  # at most 15 characters
        ip("netns", "add", namespace)
        self._made.append(lambda: ip("netns", "del", namespace, check=False))
        ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        self._made.append(lambda: ip("link", "del", outside, check=False))
        ip("link", "set", inside, "netns", namespace)
        ip("link", "set", outside, "master", self.bridge)
        ip("link", "set", outside, "up")
        address = f"{self.prefix}.{index}"
        ip("-n", namespace, "addr", "add", f"{address}/24", "dev", inside)
        ip("-n", namespace, "link", "set", inside, "up")
        ip("-n", namespace, "link", "set", "lo", "up")
        folder = self.root / name
        (folder / "markers").mkdir(parents=True)
        host_env = {
            **env,
            "HOME": str(folder),
            "DEPLOYTOOL_HOME": str(folder / ".deploytool"),
            "HOSTS_NAME": name,
            "HOSTS_MARKERS": str(folder / "markers"),
            "NO_COLOR": "1",
        }
        host = Host(name, namespace, address, outside, folder, host_env)
        self.hosts[name] = host
        return host

    def cut(self, host: Host) -> None:
        ip("link", "set", host.veth, "down")

    def restore(self, host: Host) -> None:
        ip("link", "set", host.veth, "up")

    def close(self) -> None:
        for host in self.hosts.values():
            host.stop_all()
        for undo in reversed(self._made):
            with contextlib.suppress(Exception):
                undo()


@contextlib.contextmanager
def network(root: Path) -> Iterator[Network]:
    made = Network(root)
    try:
        yield made
    finally:
        made.close()


# --- runs and markers ------------------------------------------------------------------------------------------

FLOW = '''\
"""Writes a marker per run into its host's folder: the run id, `start` or `end`, and the job's pid."""

import os
import time

from deploytool import flow


def mark(run_id: str, what: str) -> None:
    with open(os.path.join(os.environ["HOSTS_MARKERS"], f"{run_id}.{what}.{os.getpid()}"), "x"):
        pass


@flow
def hosts(seconds: float = 0.0) -> None:
    run_id = os.environ["DEPLOYTOOL_RUN_ID"]
    mark(run_id, "start")
    print(f"run {run_id} on host {os.environ['HOSTS_NAME']}", flush=True)
    time.sleep(seconds)
    mark(run_id, "end")
'''


@dataclass(frozen=True)
class Marker:
    host: str
    run_id: str
    what: str  # start | end
    pid: int
    written: float  # when (the file's mtime, seconds since the epoch)


def markers(hosts: Sequence[Host]) -> list[Marker]:
    """Every marker the flows wrote, on every host."""
    found = []
    for host in hosts:
        for path in host.markers.iterdir():
            run_id, what, pid = path.name.split(".")
            found.append(Marker(host.name, run_id, what, int(pid), path.stat().st_mtime))
    return found


QUEUE_SCRIPT = """\
import sys
from deploytool.cli.store_access import open_store
from deploytool.core.runs import create_run

deployment, count = sys.argv[1], int(sys.argv[2])
parameters = {"seconds": float(sys.argv[3])} if len(sys.argv) > 3 else None
with open_store() as store:
    for _ in range(count):
        print(create_run(store, deployment, parameters).id, flush=True)
"""


def queue_runs(host: Host, deployment: str, count: int, seconds: float | None = None) -> list[str]:
    """Queue `count` runs of `deployment` from `host` (one process, deploytool's own `create_run`); their ids."""
    argv = [sys.executable, "-c", QUEUE_SCRIPT, deployment, str(count)]
    if seconds is not None:
        argv.append(str(seconds))
    done = host.run(argv)
    assert done.returncode == 0, done.stderr
    ids = done.stdout.split()
    assert len(ids) == count, done.stdout
    return ids


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 300, every: float = 0.2) -> None:
    """Wait until `condition()` holds; a safety net for a hung test, not a bound on how long things take."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout:g} s for {what}")
        time.sleep(every)


class Connections:
    """The most PostgreSQL connections each host held at once, sampled from `pg_stat_activity` by client address
    (a thread, every `every` seconds, until `stop`)."""

    def __init__(self, url: str, hosts: Sequence[Host], every: float = 0.1) -> None:
        self.url, self.every = url, every
        self.names = {host.address: host.name for host in hosts}
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psycopg

        query = "SELECT host(client_addr), count(*) FROM pg_stat_activity WHERE client_addr IS NOT NULL GROUP BY 1"
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.every):
                for address, count in conn.execute(query).fetchall():
                    name = self.names.get(address, address)
                    self.peak[name] = max(self.peak.get(name, 0), count)

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join(60)
        return dict(self.peak)
