"""`deploytool variable ...` and `deploytool block ...` against a real store file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.cli_helpers import CLI, open_store

SECRET = "hunter2-s3cr3t"
TOKEN = "ghp_0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("4.5", 4.5),
        ("true", True),
        ("null", None),
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        ('"quoted"', "quoted"),
        ("hello world", "hello world"),
        ("NaN", "NaN"),
        ("{not json", "{not json"),
    ],
)
def test_variable_values_are_json_when_they_parse(cli: CLI, text: str, value: object) -> None:
    assert cli("variable", "set", "v", text).code == 0
    with open_store() as store:
        assert store.variables.get("v").value == value
    got = cli("variable", "get", "v")
    assert got.out == (value if isinstance(value, str) else json.dumps(value)) + "\n"
    envelope = cli("variable", "get", "v", "-o", "json").json()
    assert envelope["kind"] == "variable" and envelope["data"]["value"] == value


def test_variable_overwrite_ls_unset(cli: CLI) -> None:
    assert cli("variable", "set", "region", "eu-west-1").code == 0
    taken = cli("variable", "set", "region", "us-east-1")
    assert taken.code == 1 and "already exists" in taken.err and "--overwrite" in taken.err
    replaced = cli("variable", "set", "region", "us-east-1", "--overwrite")
    assert replaced.code == 0 and "Replaced" in replaced.out
    assert cli("variable", "set", "retries", "3").code == 0
    listing = cli("variable", "ls", "-o", "json").json()
    assert listing["kind"] == "variable-list"
    assert [(v["name"], v["value"]) for v in listing["data"]] == [("region", "us-east-1"), ("retries", 3)]
    assert "us-east-1" in cli("variable", "ls").out
    assert cli("variable", "unset", "region").code == 0
    missing = cli("variable", "get", "region")
    assert missing.code == 1 and "variable 'region' is not set" in missing.err
    assert cli("variable", "unset", "region").code == 1
    bad = cli("variable", "set", "my.var", "1")
    assert bad.code == 1 and "invalid variable name 'my.var'" in bad.err


def _all_output(cli: CLI) -> str:
    outputs = [
        cli("block", "ls"),
        cli("block", "ls", "-o", "json"),
        cli("block", "ls", "secret"),
        cli("block", "inspect", "secret/db"),
        cli("block", "inspect", "secret/db", "-o", "json"),
        cli("block", "inspect", "github-credentials/ci"),
        cli("block", "inspect", "github-credentials/ci", "--output", "json"),
    ]
    assert all(r.code == 0 for r in outputs), [r.err for r in outputs]
    return "".join(r.out + r.err for r in outputs)


def test_block_secrets_never_appear_in_any_output(cli: CLI) -> None:
    created = cli("block", "set", "secret/db", f"value={SECRET}")
    assert created.code == 0 and "secret: value" in created.out
    created = cli(
        "block", "set", "github-credentials/ci", f"token={TOKEN}", "username=bot",
        f"url=https://bot:{TOKEN}@github.com/org/repo.git",
    )  # fmt: skip
    assert created.code == 0 and "secret: token" in created.out
    assert SECRET not in created.out + created.err and TOKEN not in created.out + created.err

    everything = _all_output(cli)
    assert SECRET not in everything and TOKEN not in everything
    assert "********" in everything

    detail = cli("block", "inspect", "github-credentials/ci", "-o", "json").json()
    assert detail["kind"] == "block" and detail["ok"] is True
    data = detail["data"]
    assert data["data"] == {"token": "********", "username": "bot", "url": "https://bot:***@github.com/org/repo.git"}
    assert data["reference"] == "{{ prefect.blocks.github-credentials.ci }}"
    # the store still holds the real values, for the worker
    with open_store() as store:
        assert store.blocks.reveal("github-credentials", "ci").data["token"] == TOKEN
        assert store.blocks.reveal("secret", "db").data == {"value": SECRET}


def test_block_secret_fields_by_name_flag_and_json(cli: CLI, tmp_path: Path) -> None:
    doc = tmp_path / "block.json"
    doc.write_text(json.dumps({"host": "db.local", "port": 5432, "auth": {"dbPassword": SECRET, "user": "app"}}))
    result = cli("block", "set", "database/main", "--from-json", str(doc), "dsn=pg://app@db", "--secret", "dsn")
    assert result.code == 0, result.err
    with open_store() as store:
        block = store.blocks.reveal("database", "main")
    assert block.data["port"] == 5432 and block.data["dsn"] == "pg://app@db"
    assert block.secret_fields == ["auth.dbPassword", "dsn"]
    detail = cli("block", "inspect", "database/main", "-o", "json").json()["data"]["data"]
    assert detail == {"host": "db.local", "port": 5432, "auth": {"dbPassword": "********", "user": "app"},
                      "dsn": "********"}  # fmt: skip

    from_stdin = cli("block", "set", "secret/piped", "--from-json", "-", stdin=json.dumps({"value": SECRET}))
    assert from_stdin.code == 0 and SECRET not in from_stdin.out + from_stdin.err
    with open_store() as store:
        assert store.blocks.reveal("secret", "piped").data == {"value": SECRET}

    listing = cli("block", "ls", "--type", "database", "-o", "json").json()
    assert listing["kind"] == "block-list"
    assert [(b["type"], b["name"], b["fields"]) for b in listing["data"]] == [
        ("database", "main", ["auth", "dsn", "host", "port"])
    ]


def test_block_errors(cli: CLI, tmp_path: Path) -> None:
    assert "is not TYPE/NAME" in cli("block", "set", "justaname", "a=1").err
    assert "invalid block type 'Bad_Type'" in cli("block", "set", "Bad_Type/x", "a=1").err
    forgot_key = cli("block", "set", "secret/x", "value=ok", "hunter2")
    assert forgot_key.code == 1 and "field argument 2 is not key=value (it has no =" in forgot_key.err
    no_key = cli("block", "set", "secret/x", "=hunter2")
    assert no_key.code == 1 and "field argument 1 is not key=value (it has no key" in no_key.err
    assert "hunter2" not in forgot_key.err + forgot_key.out + no_key.err + no_key.out
    assert "names no field of the block" in cli("block", "set", "t/x", "a=1", "--secret", "b").err
    assert "has no fields" in cli("block", "set", "t/x").err
    assert "needs a 'value' field" in cli("block", "set", "secret/x", "other=1").err
    broken = tmp_path / "b.json"
    broken.write_text("[1, 2]")
    assert "holds a JSON list, not an object" in cli("block", "set", "t/x", "--from-json", str(broken)).err
    missing = cli("block", "inspect", "t/x")
    assert missing.code == 1 and "block t/x not found" in missing.err
    assert cli("block", "delete", "t/x").code == 1
    with open_store() as store:
        assert store.blocks.list() == []


def test_block_replace_and_delete(cli: CLI) -> None:
    assert "Created" in cli("block", "set", "secret/x", "value=a").out
    assert "Replaced" in cli("block", "set", "secret/x", "value=b").out
    assert cli("block", "delete", "secret/x").code == 0
    assert cli("block", "ls", "-o", "json").json()["data"] == []


def test_a_crash_during_block_set_keeps_its_values_out_of_the_crash_log(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import deploytool.core.values as values

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(values, "set_block", boom)
    result = cli("block", "set", "secret/db", "value=hunter2", "--secret", "value")
    assert result.code == 1 and "internal error: RuntimeError: kaboom" in result.err
    log = Path(result.err.split("the traceback is in ")[1].split(". Please")[0])
    text = log.read_text()
    assert "kaboom" in text and "deploytool block set (arguments not logged)" in text
    assert "hunter2" not in text and "secret/db" not in text
    assert log.stat().st_mode & 0o777 == 0o600
