"""Loading YAML: positions, duplicate keys, anchors and merge keys, syntax errors."""

from __future__ import annotations

import pytest

from deploytool.config.yamlload import load_yaml


def test_positions_of_keys_and_values() -> None:
    loaded = load_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert loaded.issues == []
    assert loaded.positions.locate(("a",)) == (1, 4)
    assert loaded.positions.locate(("b", 1, "c")) == (4, 9)
    assert loaded.positions.locate(("b", 1, "c"), key=True) == (4, 6)
    # a path that goes further than the data reports the deepest known position
    assert loaded.positions.locate(("b", 1, "missing")) == (4, 5)


def test_duplicate_key_is_an_issue_with_both_lines() -> None:
    text = "deployments:\n  - name: a\ndeployments:\n  - name: b\n"
    loaded = load_yaml(text, "prefect.yaml")
    [issue] = loaded.issues
    assert (issue.line, issue.column) == (3, 1)
    assert "duplicate key 'deployments' (first defined at line 1)" in issue.message


def test_merge_key_override_is_not_a_duplicate() -> None:
    text = "base: &b\n  name: x\n  tags: [a]\nitem:\n  <<: *b\n  name: y\n"
    loaded = load_yaml(text, "f.yaml")
    assert loaded.issues == []
    assert loaded.data["item"] == {"name": "y", "tags": ["a"]}
    # merged keys point at the anchor's definition, own keys at their own line
    assert loaded.positions.locate(("item", "tags")) == (3, 9)
    assert loaded.positions.locate(("item", "name")) == (6, 9)


def test_alias_values_report_the_anchor_position() -> None:
    text = "defs:\n  pool: &pool {name: p}\nuse:\n  work_pool: *pool\n"
    loaded = load_yaml(text, "f.yaml")
    assert loaded.positions.locate(("use", "work_pool", "name")) == (2, 22)


def test_syntax_error_is_an_issue_not_an_exception() -> None:
    loaded = load_yaml("a: b: c\n", "f.yaml")
    [issue] = loaded.issues
    assert issue.line == 1
    assert issue.message == "invalid YAML: a ': ' in a value that is not quoted"
    assert issue.hint == 'quote the value: key: "text: more text"'


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        ("a:\n  b: 1\n c: 2\n", 3, "this line is indented differently from the lines above it", "align it"),
        ("a:\n  - b\n  c: 1\n", 3, "this line is indented differently from the lines above it", "align it"),
        ("a: 'x\nb: 2\n", 1, "a quoted string opened at line 1 is not closed", "close the quote"),
        ("a: {b: 1\nc: 2\n", 2, "the '{' opened at line 1 is not closed where expected", "close it with '}'"),
        ("a: [1, 2\nb: 3\n", 2, "the '[' opened at line 1 is not closed where expected", "close it with ']'"),
        ("a: *nope\n", 1, "the alias 'nope' is used before its anchor is defined", "define the anchor"),
        ("a: 1\n---\nb: 2\n", 2, "the file holds more than one YAML document ('---')", "keep one document"),
        ("a:\n\t- b\n", 2, "a tab character where YAML needs spaces", "indent with spaces"),
    ],
)
def test_a_syntax_error_is_said_in_plain_words_with_what_to_do(text: str, line: int, message: str, hint: str) -> None:
    [issue] = load_yaml(text, "f.yaml").issues
    assert (issue.line, issue.message) == (line, f"invalid YAML: {message}")
    assert (issue.hint or "").startswith(hint)
    for jargon in ("<block", "scalar", "token", "while parsing", "while scanning"):
        assert jargon not in issue.message


def test_tab_indentation_hint() -> None:
    loaded = load_yaml("a:\n\t- b\n", "f.yaml")
    [issue] = loaded.issues
    assert issue.line == 2
    assert issue.hint == "indent with spaces, not tabs"


def test_unhashable_key_is_an_issue() -> None:
    loaded = load_yaml("? [a, b]\n: 1\n", "f.yaml")
    [issue] = loaded.issues
    assert "cannot be used as a key" in issue.message


def test_dates_stay_strings() -> None:
    loaded = load_yaml("anchor_date: 2024-01-01T00:00:00\n", "f.yaml")
    assert loaded.data == {"anchor_date": "2024-01-01T00:00:00"}


def test_control_character_is_an_issue_at_its_position() -> None:
    loaded = load_yaml("a: 1\nb: x\x1fy\n", "f.yaml")
    [issue] = loaded.issues
    assert (issue.line, issue.column) == (2, 5)
    assert issue.message == "invalid character '\\x1f' in the file"
