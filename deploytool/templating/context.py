"""The data of templating: phases, the context placeholders read, references, errors, and small helpers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum

from deploytool.errors import TemplateError
from deploytool.records import field, record

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

NAMESPACES = ("env", "prefect.variables", "prefect.blocks", "variables", "flow_run", "deployment", "ctx")
RUNTIME_NAMESPACES = frozenset({"flow_run", "deployment", "ctx"})
# Kept verbatim at deploy time: secrets are resolved by the worker at launch, run values exist only then.
DEPLOY_KEEP = frozenset({"prefect.blocks"} | RUNTIME_NAMESPACES)

# jinja2's built-in filters, the only ones the sandbox offers; listed here so that `deploytool validate` can check
# a filter's name without importing jinja2 (tests/config/test_filters.py keeps it equal to jinja2.filters.FILTERS).
FILTERS = frozenset(
    {
        "abs",
        "attr",
        "batch",
        "capitalize",
        "center",
        "count",
        "d",
        "default",
        "dictsort",
        "e",
        "escape",
        "filesizeformat",
        "first",
        "float",
        "forceescape",
        "format",
        "groupby",
        "indent",
        "int",
        "items",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "pprint",
        "random",
        "reject",
        "rejectattr",
        "replace",
        "reverse",
        "round",
        "safe",
        "select",
        "selectattr",
        "slice",
        "sort",
        "string",
        "striptags",
        "sum",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "urlize",
        "wordcount",
        "wordwrap",
        "xmlattr",
    }
)
HEADS = ("$", "env", "prefect", "variables", "flow_run", "deployment", "ctx")  # first names of namespaces


class Phase(StrEnum):
    """When a tree is rendered. DEPLOY output is itself a template for RUN; RUN output is final."""

    DEPLOY = "deploy"
    RUN = "run"


@record
class TemplateContext:
    """Everything a placeholder may refer to, and which namespaces to leave for a later phase.

    `blocks` maps (type slug, document name) to the block's data. `steps` maps a step id to its outputs.
    `runtime` holds run-time values ("flow_run", "deployment", "flow"); `ctx.X` is `runtime["X"]`.
    `names` are extra top-level names (a base job template's variables); they shadow the namespaces.
    `keep` holds namespaces (see NAMESPACES) or first names whose placeholders stay verbatim; when it is
    not empty the output is a template for a later phase, so `{{` in resolved text is escaped, unless
    `escape` is False (a substitution pass whose inserted values are themselves templates to render next).
    """

    env: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    blocks: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    steps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    runtime: Mapping[str, Any] = field(default_factory=dict)
    names: Mapping[str, Any] = field(default_factory=dict)
    keep: frozenset[str] = frozenset()
    escape: bool = True

    @classmethod
    def for_phase(cls, phase: Phase, *, keep: Iterable[str] = (), **values: Any) -> TemplateContext:
        """A context for `phase`: DEPLOY keeps DEPLOY_KEEP (plus `keep`), RUN resolves everything."""
        base = DEPLOY_KEEP if phase is Phase.DEPLOY else frozenset()
        return cls(keep=base | frozenset(keep), **values)

    def secret_values(self) -> set[str]:
        """Every string held in a block: what a Redactor must hide from logs and output."""
        found: set[str] = set()
        for data in self.blocks.values():
            found.update(leaf_strings(data))
        return found


class PlaceholderError(TemplateError):
    """A placeholder could not be parsed, was refused, or did not resolve. `path` is the key path."""

    def __init__(self, path: str, placeholder: str, reason: str, hint: str | None = None) -> None:
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{reason} in {placeholder}", hint)
        self.path, self.placeholder, self.reason = path, placeholder, reason


@record
class Ref:
    """One reference found by `find_refs`: where it is, how it is written, and what it names.

    `parts` is the dotted name split up (`$HOME` gives ("$", "HOME")); `namespace` is one of NAMESPACES, or
    None when the first name is something else (a step id, a template variable, or a mistake).
    """

    path: str
    raw: str
    expression: str
    parts: tuple[str | int, ...]
    whole: bool

    @property
    def head(self) -> str:
        return str(self.parts[0])

    @property
    def namespace(self) -> str | None:
        return namespace_of(self.parts)

    @property
    def name(self) -> str:
        """The reference as a user would write it: `$HOME`, `build-image.image`, `prefect.blocks.secret.x`."""
        return ref_name(self.parts)


def ref_name(parts: tuple[str | int, ...]) -> str:
    """A reference's parts as a user would write them: `$HOME`, `build-image.image`, `prefect.blocks.secret.x`."""
    if parts[0] == "$":
        return "$" + ".".join(map(str, parts[1:]))
    return ".".join(map(str, parts))


def join_path(path: str, key: Any) -> str:
    """`path.key`, or `path["key"]` when the key is not a plain name (e.g. `labels["prefect.io/x"]`)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    step = key if re.fullmatch(r"[A-Za-z_][\w\-]*", str(key)) else f"[{json.dumps(str(key))}]"
    if step.startswith("["):
        return f"{path}{step}"
    return f"{path}.{step}" if path else step


class Unresolvable(Exception):
    """Internal: why one placeholder failed; the caller turns it into a PlaceholderError with the key path."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.hint = reason, hint


UNSAFE = "unsafe expression refused"
UNSAFE_HINT = "placeholders may only read and combine values, not reach into Python objects"


def leaf_strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        if obj:
            yield obj
    elif isinstance(obj, Mapping):
        for v in obj.values():
            yield from leaf_strings(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from leaf_strings(v)


def namespace_of(parts: tuple[str | int, ...]) -> str | None:
    head = parts[0]
    if head in ("$", "env"):
        return "env"
    if head == "prefect" and len(parts) > 1 and parts[1] in ("variables", "blocks"):
        return f"prefect.{parts[1]}"
    return str(head) if head in ("variables", "flow_run", "deployment", "ctx") else None
