"""A throw-away PostgreSQL cluster for the tests: initdb in a temporary folder, pg_ctl on a free loopback port.

One cluster per test session (per xdist worker), trust authentication on 127.0.0.1 only. initdb and postgres
refuse to run as root: as root, the cluster runs as the system user `deploytool-pg` (created if missing).
Each test gets a fresh database cloned from a migrated template (`CREATE DATABASE ... TEMPLATE`).

Outside CI a missing or failing PostgreSQL skips the tests that need it, saying why; with CI=true (or
DEPLOYTOOL_REQUIRE_POSTGRES=1) it fails them.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

PG_BIN_DIRS = [Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]
SYSTEM_USER = "deploytool-pg"
TEMPLATE = "deploytool_template"
PASSWORD_USER, PASSWORD = "pwuser", "right-Pa55:w@rd/?"
_counter = itertools.count(1)


# The secret key the `postgres` fixture gives every test (a PostgreSQL store's hosts need one given explicitly).
TEST_SECRET_KEY = "dGVzdHMtb25seS1zZWNyZXQta2V5LTMyLWJ5dGVzISE="


def required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("DEPLOYTOOL_REQUIRE_POSTGRES") == "1"


def unavailable(reason: str) -> NoReturn:
    """Fail (in CI) or skip (elsewhere) a test whose PostgreSQL server cannot run."""
    if required():
        pytest.fail(f"PostgreSQL is required here (CI=true) but {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL server for this test: {reason}")


def _binary(name: str) -> Path | None:
    found = shutil.which(name)
    if found:
        return Path(found)
    return next((d / name for d in PG_BIN_DIRS if (d / name).exists()), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _system_user() -> str | None:
    """The user the server runs as: ourselves, or (as root) a system user made for it."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


@dataclass
class Cluster:
    folder: Path
    port: int
    user: str | None
    pg_ctl: Path
    log: Path
    databases: list[str] = field(default_factory=list)
    options: str = ""  # the server's command-line options (given again when it restarts)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def fresh_database(self) -> str:
        """A new database with deploytool's schema (a copy of the migrated template)."""
        name = f"t{os.getpid()}_{next(_counter)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        self.databases.append(name)
        return self.url(name)

    def empty_database(self) -> str:
        """A new database without any schema."""
        name = f"e{os.getpid()}_{next(_counter)}"
        self.sql(f"CREATE DATABASE {name}")
        self.databases.append(name)
        return self.url(name)

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop the server (fast: every connection is cut, as a restart does), wait, start it again (same options)."""
        self._ctl("-m", "fast", "stop")
        time.sleep(down_seconds)
        self._ctl("-l", str(self.log), "-o", self.options, "start")

    def stop_server(self) -> None:
        """Stop the server (fast: every connection is cut, as a restart does); start_server() starts it again."""
        self._ctl("-m", "fast", "stop")

    def start_server(self) -> None:
        self._ctl("-l", str(self.log), "-o", self.options, "start")

    def _ctl(self, *args: str) -> None:
        done = subprocess.run(
            [str(self.pg_ctl), "-D", str(self.folder / "data"), "-w", "-t", "120", *args],
            capture_output=True,
            text=True,
            check=False,
            user=self.user,
            env=_server_env(),
            cwd=self.folder,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {done.stderr.strip()[-500:]}")

    def stop(self) -> None:
        subprocess.run(
            [str(self.pg_ctl), "-D", str(self.folder / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
            user=self.user,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def _server_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}


def start(listen: tuple[str, ...] = (), trusted: tuple[str, ...] = ()) -> Cluster:
    """Start a cluster; RuntimeError (with the reason) if it cannot.

    It listens on 127.0.0.1 and on the `listen` addresses (which must exist), and trusts the `trusted` networks
    (CIDR) too: tests/hosts reaches it from network namespaces.
    """
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError("initdb/pg_ctl not found (install Debian's `postgresql` package)")
    user = _system_user()
    folder = Path(tempfile.mkdtemp(prefix="deploytool-pg-"))
    if user is not None:
        shutil.chown(folder, user=user)
    data, log = folder / "data", folder / "server.log"
    env = _server_env()
    done = subprocess.run(
        [str(initdb), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "-D", str(data)],
        capture_output=True,
        text=True,
        check=False,
        user=user,
        env=env,
        cwd=folder,
    )
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {done.stderr.strip()[-500:]}")
    # One user must give a password (first matching line wins), to test credentials; everyone else: trust.
    hba = data / "pg_hba.conf"
    hba.write_text(f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    with hba.open("a") as lines:
        lines.writelines(f"host all all {network} trust\n" for network in trusted)
    for _ in range(5):
        port = _free_port()
        addresses = ",".join(("127.0.0.1", *listen))
        options = f"-p {port} -k {folder} -c listen_addresses={addresses} -c fsync=off -c max_connections=200"
        started = subprocess.run(
            [str(pg_ctl), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "120", "start"],
            capture_output=True,
            text=True,
            check=False,
            user=user,
            env=env,
            cwd=folder,
        )
        if started.returncode == 0:
            cluster = Cluster(folder, port, user, pg_ctl, log, options=options)
            _make_template(cluster)
            return cluster
    tail = log.read_text(errors="replace")[-800:] if log.exists() else started.stderr
    shutil.rmtree(folder, ignore_errors=True)
    raise RuntimeError(f"pg_ctl start failed: {tail.strip()}")


def _make_template(cluster: Cluster) -> None:
    from deploytool.store.postgres import migrate_postgres

    cluster.sql(f"CREATE ROLE {PASSWORD_USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
    cluster.sql(f"CREATE DATABASE {TEMPLATE}")
    migrate_postgres(cluster.url(TEMPLATE))


def started(listen: tuple[str, ...] = (), trusted: tuple[str, ...] = ()) -> Iterator[Cluster | str]:
    """For a fixture shared by several tests (`yield from pg.started()`): a cluster (start's arguments), stopped
    when the fixture ends, or why none could be started; each test that needs it calls `usable`."""
    try:
        cluster = start(listen, trusted)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        yield str(exc)
        return
    try:
        yield cluster
    finally:
        cluster.stop()


def usable(found: Cluster | str) -> Cluster:
    """The cluster `started` gave; skips (fails in CI) with the reason when it gave none."""
    if isinstance(found, str):
        unavailable(found)
    return found


@contextmanager
def running(listen: tuple[str, ...] = (), trusted: tuple[str, ...] = ()) -> Iterator[Cluster]:
    """A cluster of the caller's own (start's arguments), stopped at the end; skips (fails in CI) when none can be
    started."""
    try:
        cluster = start(listen, trusted)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        unavailable(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()
