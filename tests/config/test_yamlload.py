"""Loading YAML: positions, duplicate keys, anchors and merge keys, syntax errors."""

from __future__ import annotations

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
    assert issue.message.startswith("invalid YAML: mapping values are not allowed")
    assert issue.hint == "a value containing ': ' must be quoted"


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
