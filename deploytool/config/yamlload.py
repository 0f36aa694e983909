"""Load YAML safely, keep every value's position, and refuse what PyYAML silently accepts.

PyYAML's `safe_load` keeps the last of two equal keys; a real prefect.yaml loses a whole deployment that way.
Here a duplicate key is an issue at its line. Anchors, aliases and merge keys (`<<: *x`) work as in YAML;
a value that came through an alias reports the position of its anchor's definition.
"""

from __future__ import annotations

from collections.abc import Hashable

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from deploytool.errors import ConfigIssue
from deploytool.records import field, record

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

Path = tuple[str | int, ...]
Mark = tuple[int, int]  # 1-based line, 1-based column

_MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_DEPTH = 100  # nesting levels; PyYAML's composer and the checks recurse, and no real project file nests this deep
# Values of the document once every alias is expanded (each `*x` counts all it stands for). A real project file
# has a few thousand at most; a "billion laughs" of nested aliases has billions, which every later walk of the
# data (schema checks, templating, hashing) would go through.
MAX_EXPANDED_VALUES = 200_000


@record(frozen=False)
class _Container:
    start: Mark
    keys: dict[Hashable, Mark] = field(default_factory=dict)  # mapping key -> position of the key
    values: dict[Hashable, Mark] = field(default_factory=dict)  # mapping key or list index -> position of value


class Positions:
    """Where each value of a loaded document stands in its file."""

    def __init__(self, root: Any, containers: dict[int, _Container]) -> None:
        self._root = root
        self._containers = containers

    def locate(self, path: Path, *, key: bool = False) -> Mark:
        """The position of the value at `path` (or of its key, when `key`); the nearest known one if absent."""
        node = self._root
        best: Mark = (1, 1)
        container = self._containers.get(id(node))
        if container is not None:
            best = container.start
        for i, part in enumerate(path):
            container = self._containers.get(id(node))
            if container is None:
                return best
            last = i == len(path) - 1
            if last and key and part in container.keys:
                return container.keys[part]
            if part not in container.values:
                return best
            best = container.values[part]
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return best
        return best


@record(frozen=False)
class LoadedYaml:
    data: Any
    positions: Positions
    issues: list[ConfigIssue]


def _mark(node: Node) -> Mark:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _issue_at(filename: str, node: Node, message: str, hint: str) -> ConfigIssue:
    """A problem of the file at `node`'s line and column (the loader knows no key path yet)."""
    line, col = _mark(node)
    return ConfigIssue(filename, line, col, "", message, hint)


class _PositionsMixin(yaml.constructor.SafeConstructor):
    """Safe construction that records positions and collects duplicate keys instead of dropping values.

    Mixed in before a loader class (the pure-Python SafeLoader or libyaml's CSafeLoader)."""

    def __init__(self, stream: str, filename: str) -> None:
        super().__init__(stream)  # type: ignore[call-arg]  # the loader class mixed in after this one takes it
        self.filename = filename
        self.containers: dict[int, _Container] = {}
        self.issues: list[ConfigIssue] = []

    def _check_duplicates(self, node: MappingNode) -> None:
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue
            if key in seen:
                first_line = seen[key].start_mark.line + 1
                self.issues.append(
                    _issue_at(
                        self.filename,
                        key_node,
                        f"duplicate key {key!r} (first defined at line {first_line})",
                        "YAML keeps only the last value, so the earlier one would be silently lost; "
                        "merge the two or rename one",
                    )
                )
            else:
                seen[key] = key_node

    def construct_yaml_map_positions(self, node: MappingNode) -> Any:
        data: dict[Any, Any] = {}
        yield data
        self._check_duplicates(node)
        value = self.construct_mapping(node, deep=False)
        data.update(value)
        container = _Container(start=_mark(node))
        # flatten_mapping (called by construct_mapping) has already spliced merged pairs into node.value,
        # with the mapping's own keys last, so later positions win just as later values do.
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable):
                container.keys[key] = _mark(key_node)
                container.values[key] = _mark(value_node)
        self.containers[id(data)] = container

    def construct_yaml_seq_positions(self, node: SequenceNode) -> Any:
        data: list[Any] = []
        yield data
        data.extend(self.construct_sequence(node))
        container = _Container(start=_mark(node))
        for index, item in enumerate(node.value):
            container.values[index] = _mark(item)
        self.containers[id(data)] = container

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        if isinstance(node, MappingNode):
            self.flatten_mapping(node)
        mapping: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                self.issues.append(
                    _issue_at(
                        self.filename,
                        key_node,
                        "a mapping or list cannot be used as a key",
                        "an unquoted {{ placeholder }} is read as a nested mapping: quote it, "
                        'e.g. directory: "{{ clone.directory }}"',
                    )
                )
                continue
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


class _Loader(_PositionsMixin, yaml.SafeLoader):
    """The pure-Python parser: slower, and its syntax error messages say more than libyaml's."""


class _FastLoader(_PositionsMixin, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser (PyYAML's wheels include it): several times faster, with the same positions."""


for _cls in (_Loader, _FastLoader):
    # Dates stay strings (anchor_date: 2024-01-01T00:00:00 is validated and parsed later, with its timezone).
    _cls.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _cls.add_constructor("tag:yaml.org,2002:map", _PositionsMixin.construct_yaml_map_positions)  # type: ignore[type-var]
    _cls.add_constructor("tag:yaml.org,2002:seq", _PositionsMixin.construct_yaml_seq_positions)  # type: ignore[type-var]


class _AliasBomb(Exception):
    def __init__(self, issue: ConfigIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def _load_with(cls: type[_Loader | _FastLoader], text: str, filename: str) -> LoadedYaml:
    loader = cls(text, filename)
    try:
        node = loader.get_single_node()
        if node is None:
            return LoadedYaml(None, Positions(None, {}), [])
        _check_expansion(node, filename)
        data = loader.construct_document(node)
    except _AliasBomb as exc:
        return LoadedYaml(None, Positions(None, {}), [exc.issue])
    finally:
        loader.dispose()
    return LoadedYaml(data, Positions(data, loader.containers), loader.issues)


def _check_expansion(root: Node, filename: str) -> None:
    """Refuse a document whose aliases expand to more than MAX_EXPANDED_VALUES values, nest deeper than MAX_DEPTH
    or refer to themselves. Walks the composed nodes, each once (aliases share their node), before anything is
    constructed, so a billion laughs costs as little as its text."""
    measured: dict[int, tuple[int, int]] = {}  # node -> (values it expands to, levels it nests)
    open_nodes: set[int] = set()

    def refuse(node: Node, message: str, hint: str) -> _AliasBomb:
        return _AliasBomb(_issue_at(filename, node, message, hint))

    def too_deep(node: Node) -> _AliasBomb:
        message = f"nested more than {MAX_DEPTH} levels deep (counting what aliases stand for)"
        return refuse(node, message, "flatten this value")

    def measure(node: Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in measured:
            size, height = measured[key]
            if depth + height > MAX_DEPTH:
                raise too_deep(node)
            return size, height
        if depth > MAX_DEPTH:
            raise too_deep(node)
        if key in open_nodes:
            raise refuse(node, "an alias refers to a value that contains it", "an anchor cannot be used inside itself")
        size, height = 1, 0
        if isinstance(node, MappingNode | SequenceNode):
            open_nodes.add(key)
            children = [n for pair in node.value for n in pair] if isinstance(node, MappingNode) else node.value
            for child in children:
                child_size, child_height = measure(child, depth + 1)
                size += child_size
                height = max(height, child_height + 1)
                if size > MAX_EXPANDED_VALUES:
                    raise refuse(
                        node,
                        f"the aliases (*name) in this value expand to more than {MAX_EXPANDED_VALUES:,} values",
                        "a project file this large is refused (docs/limits.md); use fewer or smaller aliases",
                    )
            open_nodes.discard(key)
        measured[key] = (size, height)
        return size, height

    measure(root, 0)


def load_yaml(text: str, filename: str) -> LoadedYaml:
    """Parse one YAML document. Syntax errors come back as issues, never as exceptions."""
    too_deep = _depth_issue(text, filename)
    if too_deep is not None:
        return LoadedYaml(None, Positions(None, {}), [too_deep])
    try:
        return _load_with(_FastLoader, text, filename)
    except yaml.YAMLError:
        pass  # read it again with the pure-Python parser, whose messages name the problem better
    try:
        return _load_with(_Loader, text, filename)
    except yaml.MarkedYAMLError as exc:
        return LoadedYaml(None, Positions(None, {}), [_syntax_issue(exc, text, filename)])
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, exc.position)
        char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        message = f"invalid character {char!r} in the file"
        issue = ConfigIssue(filename, line, col, "", message, "remove it; YAML allows printable characters only")
        return LoadedYaml(None, Positions(None, {}), [issue])
    except yaml.YAMLError as exc:
        return LoadedYaml(None, Positions(None, {}), [ConfigIssue(filename, 1, 1, "", f"invalid YAML: {exc}")])


def _depth_issue(text: str, filename: str) -> ConfigIssue | None:
    """Refuse a file nested deeper than MAX_DEPTH, from the parser's events (which do not recurse)."""
    for loader in (getattr(yaml, "CSafeLoader", yaml.SafeLoader), yaml.SafeLoader):
        depth = 0
        try:
            for event in yaml.parse(text, Loader=loader):
                if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                    depth += 1
                    if depth > MAX_DEPTH:
                        mark = event.start_mark
                        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
                        message = f"nested more than {MAX_DEPTH} levels deep"
                        return ConfigIssue(filename, line, col, "", message, "flatten this value")
                elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                    depth -= 1
            return None
        except yaml.YAMLError:
            continue  # libyaml stops at 1000 flow levels before any event: ask the pure-Python parser
    return None  # a syntax error: the loader reports it with its position


def _line_col(text: str, position: int) -> Mark:
    before = text[:position]
    line = before.count("\n") + 1
    return line, position - (before.rfind("\n") + 1) + 1


def _syntax_issue(exc: yaml.MarkedYAMLError, text: str, filename: str) -> ConfigIssue:
    """A YAML syntax error in plain words, at the line that needs the fix, with what to do (PyYAML's own text,
    "expected <block end>, but found '<block mapping start>'", names parser states, not the mistake)."""
    problem, context = exc.problem or "", exc.context or ""
    at = exc.problem_mark or exc.context_mark
    opened = exc.context_mark
    message, hint = "the file is not valid YAML here", "check this line and the one above it"

    def line_of(mark: Any) -> int:
        return int(mark.line) + 1 if mark is not None else 1

    if "while scanning a quoted scalar" in context:
        message = f"a quoted string opened at line {line_of(opened)} is not closed"
        hint = "close the quote; inside '...' write '' for a quote, inside \"...\" write \\\""
        at = opened or at
    elif "while parsing a flow mapping" in context or "while parsing a flow sequence" in context:
        bracket = "{" if "mapping" in context else "["
        close = "}" if bracket == "{" else "]"
        message = f"the '{bracket}' opened at line {line_of(opened)} is not closed where expected"
        hint = f"close it with '{close}'; a value in it that holds ':' or ',' must be quoted"
        if "{{" in text:
            hint += '; a {{ placeholder }} must be quoted: "{{ ... }}"'
    elif "expected <block end>" in problem or "expected <block" in problem:
        message = "this line is indented differently from the lines above it"
        hint = "align it with the other keys of the same mapping (or items of the same list), with spaces"
    elif "mapping values are not allowed" in problem:
        message = "a ': ' in a value that is not quoted"
        hint = 'quote the value: key: "text: more text"'
    elif "could not find expected ':'" in problem:
        message = "a line without 'key: value' in a mapping"
        hint = "add ':' after the key, or check a quote or indentation on the lines above"
    elif "found character '\\t'" in problem or "\\t" in problem or "tab" in problem:
        message = "a tab character where YAML needs spaces"
        hint = "indent with spaces, not tabs"
    elif "found undefined alias" in problem:
        message = f"the alias {problem.rpartition(' ')[2]} is used before its anchor is defined"
        hint = "define the anchor (&name) above, before using the alias (*name)"
    elif "found duplicate anchor" in context or "found duplicate anchor" in problem:
        message = "the same anchor (&name) is defined twice"
        hint = "give each anchor its own name"
    elif "expected a single document" in context or "but found another document" in problem:
        message = "the file holds more than one YAML document ('---')"
        hint = "keep one document: remove the second '---' and what follows, or merge them"
    elif "unexpected end of stream" in problem:
        message = "the file ends in the middle of a value"
        hint = "close what is open (a quote, a bracket) before the end of the file"
    elif problem:
        message = f"the file is not valid YAML here ({problem})"
    line, col = (at.line + 1, at.column + 1) if at is not None else (1, 1)
    return ConfigIssue(filename, line, col, "", f"invalid YAML: {message}", hint)
