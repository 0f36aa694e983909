"""The pure parts of deploytool.core.values: value parsing, secret field detection, masking."""

from __future__ import annotations

import pytest

from deploytool.core.values import MASK, BlockDetail, is_secret_name, parse_block_ref, parse_value, secret_paths
from deploytool.errors import DeploytoolError
from deploytool.models import Block


@pytest.mark.parametrize(
    "name", ["password", "db_password", "token", "accessToken", "api_key", "API-KEY", "client_secret", "credentials"]
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["username", "url", "host", "monkey", "keyboard", "tokenizer", "port"])
def test_plain_names(name: str) -> None:
    assert not is_secret_name(name)


def test_secret_paths() -> None:
    assert secret_paths("secret", {"value": 1}) == ["value"]
    assert secret_paths("x", {"a": {"b": {"token": "t"}}, "c": 1}, ["c"]) == ["a.b.token", "c"]
    with pytest.raises(DeploytoolError, match="names no field"):
        secret_paths("x", {"a": 1}, ["b"])


def test_masking_hides_secret_values_everywhere() -> None:
    block = Block("t", "n", {"token": "abc123", "note": "uses abc123 inside", "n": 1}, ["token"])
    data = BlockDetail.of(block).data
    assert data == {"token": MASK, "note": "uses *** inside", "n": 1}


def test_parse() -> None:
    assert parse_value("[1]") == [1] and parse_value("Infinity") == "Infinity" and parse_value("") == ""
    # too large for a float: would be stored as Infinity and printed as invalid JSON; it stays text
    assert parse_value("1e400") == "1e400" and parse_value("[1, -1e999]") == "[1, -1e999]"
    assert parse_value("1.5e3") == 1500.0 and parse_value("1" + "0" * 400) == 10**400
    assert parse_block_ref("github-credentials/ci") == ("github-credentials", "ci")
    with pytest.raises(DeploytoolError, match="not TYPE/NAME"):
        parse_block_ref("a/")


def test_a_secret_named_field_inside_a_list_makes_the_list_secret_and_masked() -> None:
    data = {"servers": [{"host": "db1", "password": "pw1xyz"}], "note": "uses pw1xyz", "hosts": ["h1", "h2"]}
    paths = secret_paths("database", data)
    assert paths == ["servers"]
    shown = BlockDetail.of(Block("database", "m", data, paths)).data
    assert shown == {"servers": MASK, "note": "uses ***", "hosts": ["h1", "h2"]}
    # a block stored before this rule existed is shown masked too
    assert BlockDetail.of(Block("database", "m", data, [])).data == shown
