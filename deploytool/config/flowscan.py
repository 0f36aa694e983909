"""Find a flow in its source file without importing it, and check parameters against its signature.

Prefect imports the flow's module to deploy it, which runs the user's top-level code and needs every
dependency installed where `deploy` runs (user-pain A6). Here the file is only parsed with `ast`: the
function, its `@flow(...)` arguments (literal ones), its docstring and its signature are read from the tree,
and the parameter JSON schema is built from the annotations as text. Nothing of the user's is executed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from deploytool.config.paramschema import annotation_schema
from deploytool.errors import DeploytoolError, did_you_mean
from deploytool.inputs import InputError, read_text_limited
from deploytool.records import field, record

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

ENTRYPOINT_HINT = "write it as path/to/file.py:function (relative to the project file) or package.module:function"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?")
_MODULE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


class EntrypointError(DeploytoolError):
    """An entrypoint cannot be resolved to a function definition in a source file."""


@record
class FlowInfo:
    """What the source says about a flow function.

    `options` holds the decorator's keyword arguments that are literals (name, version, retries, log_prints,
    ...); `unresolved_options` names those that are expressions (e.g. `name=SETTINGS.name`), which cannot be
    known without running the code: the caller may warn that defaults are used for them.
    """

    function: str
    flow_name: str
    is_flow: bool
    path: Path
    line: int
    description: str | None
    options: dict[str, Any] = field(default_factory=dict)
    unresolved_options: tuple[str, ...] = ()
    parameter_schema: dict[str, Any] = field(default_factory=dict)
    is_async: bool = False


def scan_entrypoint(entrypoint: str, base_dir: Path) -> FlowInfo:
    """Resolve `entrypoint` under `base_dir` and read its flow from the source. Raises EntrypointError."""
    path, qualname = _resolve(entrypoint.strip(), base_dir)
    try:
        source = read_text_limited(path)
    except InputError as exc:
        raise EntrypointError(exc.message, exc.hint) from None
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        raise EntrypointError(
            f"syntax error in {path} at {where}: {exc.msg}", "fix the file; nothing can be read from it"
        ) from exc
    node, in_class = _find(tree, qualname, path)
    return _flow_info(node, path, in_class)


def _resolve(entrypoint: str, base_dir: Path) -> tuple[Path, str]:
    """Split an entrypoint into the file that holds it and the (possibly dotted) function name."""
    if ":" in entrypoint:
        where, _, qualname = entrypoint.rpartition(":")
    elif not entrypoint.endswith(".py") and _MODULE.fullmatch(entrypoint) and "." in entrypoint:
        where, _, qualname = entrypoint.rpartition(".")  # pkg.mod.function
    else:
        where, qualname = entrypoint, ""
    if not where or not _IDENTIFIER.fullmatch(qualname):
        raise EntrypointError(f"entrypoint {entrypoint!r} does not name a function", ENTRYPOINT_HINT)
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = (base_dir / where).resolve()
        if not path.is_file():
            what = "is a directory, not a file" if path.is_dir() else "does not exist"
            raise EntrypointError(
                f"entrypoint file {path} {what}",
                f"paths in an entrypoint are relative to the project file's directory ({base_dir.resolve()})",
            )
        return path, qualname
    if not _MODULE.fullmatch(where):
        raise EntrypointError(f"entrypoint {entrypoint!r} has no valid file or module", ENTRYPOINT_HINT)
    parts = where.split(".")
    tried = [
        root.joinpath(*parts[:-1], parts[-1] + suffix)
        for root in (base_dir, base_dir / "src")
        for suffix in (".py", "/__init__.py")
    ]
    for candidate in tried:
        if candidate.is_file():
            return candidate.resolve(), qualname
    raise EntrypointError(
        f"module {where!r} of entrypoint {entrypoint!r} not found under {base_dir.resolve()}",
        "looked for " + ", ".join(str(p.relative_to(base_dir)) for p in tried),
    )


FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a module or class body, including those under `if`/`try` (conditional definitions)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _top_level(stmt.body + stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _top_level(stmt.body + stmt.orelse + stmt.finalbody)


def _functions(body: list[ast.stmt]) -> dict[str, FunctionNode]:
    found: dict[str, FunctionNode] = {}
    for stmt in _top_level(body):
        if isinstance(stmt, FunctionNode):
            found[stmt.name] = stmt  # a later definition replaces an earlier one, as at run time
    return found


def _find(tree: ast.Module, qualname: str, path: Path) -> tuple[FunctionNode, bool]:
    owner, _, name = qualname.rpartition(".")
    body = tree.body
    if owner:
        classes = {s.name: s for s in _top_level(tree.body) if isinstance(s, ast.ClassDef)}
        if owner not in classes:
            hint = _suggest(owner, [], list(classes), "classes")
            raise EntrypointError(f"class {owner!r} is not defined in {path}", hint)
        body = classes[owner].body
    functions = _functions(body)
    if name in functions:
        return functions[name], bool(owner)
    imported = _imported_from(tree, name)
    if imported:
        raise EntrypointError(
            f"{name!r} is imported into {path} from {imported}, not defined there",
            "point the entrypoint at the file that defines the function",
        )
    flows = [n for n, f in functions.items() if _flow_decorator(f) is not None]
    where = f"class {owner!r} in {path}" if owner else str(path)
    raise EntrypointError(f"function {name!r} is not defined in {where}", _suggest(name, flows, list(functions)))


def _suggest(name: str, flows: list[str], others: list[str], noun: str = "functions") -> str:
    mean = did_you_mean(name, flows) or did_you_mean(name, others)
    parts = [mean] if mean else []
    if flows:
        parts.append("flows in this file: " + ", ".join(flows))
    elif others:
        parts.append(f"no @flow {noun} here; {noun}: " + ", ".join(others))
    else:
        parts.append(f"no {noun} are defined there")
    return " ".join(parts)


def _imported_from(tree: ast.Module, name: str) -> str | None:
    for stmt in _top_level(tree.body):
        if isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                if (alias.asname or alias.name) == name:
                    return "." * stmt.level + (stmt.module or "")
    return None


def _flow_decorator(node: FunctionNode) -> ast.expr | None:
    """The decorator that makes `node` a flow: `flow`, `flow(...)`, `x.flow`, `x.flow(...)`."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (isinstance(target, ast.Name) and target.id == "flow") or (
            isinstance(target, ast.Attribute) and target.attr == "flow"
        ):
            return decorator
    return None


def _flow_info(node: FunctionNode, path: Path, in_class: bool) -> FlowInfo:
    decorator = _flow_decorator(node)
    options: dict[str, Any] = {}
    unresolved: list[str] = []
    if isinstance(decorator, ast.Call):
        for keyword in decorator.keywords:
            if keyword.arg is None:
                unresolved.append("**" + ast.unparse(keyword.value))
                continue
            try:
                options[keyword.arg] = ast.literal_eval(keyword.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                unresolved.append(keyword.arg)
    name = options.get("name")
    flow_name = name if isinstance(name, str) and name else node.name.replace("_", "-")
    docstring = docstring_of(node)
    description = options.get("description")
    return FlowInfo(
        function=node.name,
        flow_name=flow_name,
        is_flow=decorator is not None,
        path=path,
        line=node.lineno,
        description=description if isinstance(description, str) else docstring,
        options=options,
        unresolved_options=tuple(unresolved),
        parameter_schema=parameter_schema(node, docstring, skip_first=in_class and _is_bound(node)),
        is_async=isinstance(node, ast.AsyncFunctionDef),
    )


def docstring_of(node: FunctionNode) -> str | None:
    """`ast.get_docstring(node)`, without the import of inspect (with dis and tokenize) it makes for cleandoc."""
    text = ast.get_docstring(node, clean=False)
    return None if text is None else cleandoc(text)


def cleandoc(doc: str) -> str:
    """`inspect.cleandoc`: tabs expanded, the first line's leading space and the other lines' common indentation
    removed, blank lines at either end dropped."""
    lines = doc.expandtabs().split("\n")
    margins = [len(line) - len(line.lstrip()) for line in lines[1:] if line.lstrip()]
    lines[0] = lines[0].lstrip()
    if margins:
        margin = min(margins)
        lines[1:] = [line[margin:] for line in lines[1:]]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines)


def _is_bound(node: FunctionNode) -> bool:
    # A method's first parameter (self/cls) is not a flow parameter; a staticmethod has none.
    names = {d.id if isinstance(d, ast.Name) else getattr(d, "attr", "") for d in node.decorator_list}
    return "staticmethod" not in names


def parameter_schema(node: FunctionNode, docstring: str | None = None, *, skip_first: bool = False) -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of a function's parameters, built from its signature as text.

    Shaped like Prefect's: `title: Parameters`, one property per parameter with `title`, `position`,
    `default` (when it is a literal), `description` (from a Google-style `Args:` section) and the type of its
    annotation; `required` lists the parameters without defaults. `*args` is left out; `**kwargs` makes
    `additionalProperties` true (the flow takes any other name), otherwise it is false.
    """
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = list(zip(positional, defaults, strict=True)) + list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    if skip_first and positional:
        params = params[1:]
    descriptions = _arg_descriptions(docstring or "")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for position, (arg, default) in enumerate(params):
        prop: dict[str, Any] = {"title": arg.arg, "position": position}
        if arg.arg in descriptions:
            prop["description"] = descriptions[arg.arg]
        type_schema = annotation_schema(arg.annotation) if arg.annotation is not None else {}
        if default is None:
            required.append(arg.arg)
        else:
            try:
                value = ast.literal_eval(default)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                pass  # not a literal (a call, a constant from elsewhere): optional, default unknown
            else:
                prop["default"] = value
                if value is None and type_schema and not _allows_null(type_schema):
                    # `x: int = None` is an implicit Optional; pydantic accepts None for it.
                    type_schema = {"anyOf": [type_schema, {"type": "null"}]}
        properties[arg.arg] = {**prop, **type_schema}
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "Parameters",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": args.kwarg is not None,
    }


def _allows_null(schema: Mapping[str, Any]) -> bool:
    if schema.get("type") == "null":
        return True
    return any(_allows_null(s) for s in schema.get("anyOf", ()))


_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters|Params):\s*$")
_ARG_LINE = re.compile(r"^(\s*)\*{0,2}([A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _arg_descriptions(docstring: str) -> dict[str, str]:
    """Parameter descriptions from a Google-style `Args:` section (continuation lines are joined)."""
    found: dict[str, str] = {}
    lines = docstring.splitlines()
    start = next((i for i, line in enumerate(lines) if _ARGS_HEADER.match(line)), None)
    if start is None:
        return found
    indent: int | None = None
    current: str | None = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        width = len(line) - len(line.lstrip())
        match = _ARG_LINE.match(line)
        if match and (indent is None or width == indent):
            indent, current = width, match[2]
            found[current] = match[3].strip()
        elif indent is not None and width > indent and current:
            found[current] = (found[current] + " " + line.strip()).strip()
        else:
            break  # the section ended (dedent to the next header)
    return found
