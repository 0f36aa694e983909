"""`deploytool store info|migrate|copy`, `--store URL` and DEPLOYTOOL_STORE_URL, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from deploytool.store import Store
from tests.store import pg_cluster as pg
from tests.store.helpers import deploytool


def test_store_info_of_the_default_sqlite_store(isolated_home: Path) -> None:
    done = deploytool("store", "info", "-o", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    assert data["backend"] == "sqlite" and data["url"] == str(isolated_home / "deploytool.db")
    assert data["schema_version"] == data["latest_schema_version"] and data["counts"]["flow_runs"] == 0


def test_the_store_option_and_variable_choose_the_store(tmp_path: Path) -> None:
    chosen = tmp_path / "elsewhere.db"
    assert deploytool("--store", f"sqlite:///{chosen}", "variable", "set", "where", "option").returncode == 0
    with Store.open(chosen) as store:
        assert store.variables.get("where").value == "option"
    env = {"DEPLOYTOOL_STORE_URL": f"sqlite:///{chosen}"}
    done = deploytool("variable", "get", "where", env=env)
    assert (done.returncode, done.stdout.strip()) == (0, "option")
    done = deploytool("--store=sqlite:///relative.db", "store", "info", "-o", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"]["url"] == "relative.db" and (tmp_path / "relative.db").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://root:hunter2@db/x", "unsupported store URL scheme 'mysql' in mysql://root:***@db/x"),
        ("sqlite:/x.db", "an SQLite store URL needs a path after 'sqlite:///'"),
    ],
)
def test_a_bad_store_url_is_a_clear_error(url: str, expected: str) -> None:
    done = deploytool("--store", url, "work-pool", "ls")
    assert done.returncode == 1
    assert expected in done.stderr and "Traceback" not in done.stderr and "hunter2" not in done.stderr


def test_migrate_and_info_on_postgresql_never_print_the_password(postgres: pg.Cluster) -> None:
    url = postgres.empty_database()
    with_password = url.replace("postgres@", f"{pg.PASSWORD_USER}:{quote(pg.PASSWORD, safe='')}@")
    done = deploytool("--store", with_password, "store", "migrate")
    assert done.returncode == 0, done.stderr
    assert "Applied migration(s) 1, 2, 3" in done.stdout
    done = deploytool("--store", with_password, "store", "migrate")
    assert "Nothing to do" in done.stdout
    done = deploytool("store", "info", env={"DEPLOYTOOL_STORE_URL": with_password})
    assert done.returncode == 0, done.stderr
    assert "Backend:        postgresql" in done.stdout and f"{pg.PASSWORD_USER}:***@127.0.0.1" in done.stdout
    assert "Pa55" not in done.stdout + done.stderr
    done = deploytool("--store", with_password.replace("right", "wrong"), "store", "info")
    assert done.returncode == 1 and "password authentication failed" in done.stderr
    assert "wrong-Pa55" not in done.stderr and "Traceback" not in done.stderr


def test_store_copy_moves_a_machine_s_store_to_postgresql(postgres: pg.Cluster, isolated_home: Path) -> None:
    assert deploytool("work-pool", "create", "p", "--type", "process").returncode == 0
    assert deploytool("block", "set", "secret/prod", "value=hunter2").returncode == 0
    target = postgres.empty_database()  # `store copy` gives it the schema
    done = deploytool("store", "copy", "--to", target)
    assert done.returncode == 0, done.stderr
    assert "work_pools       1" in done.stdout and "blocks           1" in done.stdout
    assert "hunter2" not in done.stdout + done.stderr
    done = deploytool("store", "copy", "--to", target, "-o", "json")
    assert done.returncode == 1 and json.loads(done.stdout)["ok"] is False
    assert "is not empty" in done.stderr and "--replace" in done.stderr
    assert deploytool("store", "copy", "--to", target, "--replace").returncode == 0
    done = deploytool("--store", target, "work-pool", "ls", "-o", "json")
    assert [p["name"] for p in json.loads(done.stdout)["data"]] == ["p"]
    done = deploytool("store", "copy", "--from", target, "--to", target)
    assert done.returncode == 1 and "name the same store" in done.stderr


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/x?sslmode=require", "postgresql://app:***@db:5432/x?sslmode=require"),
        ("postgresql://app:p@ss/w?rd@db/x", "postgresql://app:***@db/x"),  # unescaped @ / ? in the password
        ("postgresql://app@db/x?password=s3cret&sslmode=require", "postgresql://app@db/x?password=***&sslmode=require"),
        ("postgresql://db/x", "postgresql://db/x"),
        ("sqlite:////home/me/.deploytool/deploytool.db", "sqlite:////home/me/.deploytool/deploytool.db"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    from deploytool.store import redact_url

    assert redact_url(url) == shown


def test_a_crash_never_writes_a_store_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from deploytool.store.api import Store as StoreApi
    from tests.cli.cli_helpers import CLI

    url = "postgresql://app:Hunter2-Secret@db.example:5432/deploytool"

    def boom(cls: type, target: str) -> None:
        raise RuntimeError(f"unexpected while opening {target}")

    monkeypatch.setattr(StoreApi, "open", classmethod(boom))
    result = CLI(capsys, monkeypatch)("--store", url, "store", "info")
    assert result.code == 1 and "internal error" in result.err
    assert "postgresql://app:***@db.example:5432/deploytool" in result.err
    log = Path(result.err.split("the traceback is in ")[1].split(". Please")[0])
    text = log.read_text()
    assert "app:***@db.example" in text and "Hunter2" not in text + result.err
