"""The dashboard serves the store every command uses: with DEPLOYTOOL_STORE_URL (or `--store`) on PostgreSQL, that
store, not an SQLite file in DEPLOYTOOL_HOME."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from deploytool.ui.app import create_app
from deploytool.ui.config import from_env
from tests.store import pg_cluster as pg
from tests.store.helpers import deploytool


def test_the_dashboard_shows_the_postgresql_store_of_the_store_url(postgres: pg.Cluster, tmp_path: Path) -> None:
    url = postgres.fresh_database()
    home = tmp_path / "home"
    created = deploytool(
        "--store", url, "work-pool", "create", "on-postgres", "--type", "process", env={"DEPLOYTOOL_HOME": str(home)}
    )
    assert created.returncode == 0, created.stderr
    config, _ = from_env({"DEPLOYTOOL_STORE_URL": url, "DEPLOYTOOL_HOME": str(home)})
    with TestClient(create_app(config), base_url="http://127.0.0.1:4200") as client:
        pools = client.get("/api/v1/work-pools")
        assert pools.status_code == 200
        assert [p["name"] for p in pools.json()] == ["on-postgres"]
        assert "on-postgres" in client.get("/work-pools").text
    assert not (home / "deploytool.db").exists()  # no SQLite store was made beside it
