"""Stored variables and blocks: the values templates read as `{{ prefect.variables.x }}` and
`{{ prefect.blocks.TYPE.NAME[.field] }}`.

A block's secret fields are never returned in clear by anything here: `BlockDetail.of` masks them (and any
copy of a secret value inside another field). Only the worker reads them, from the store, at launch.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime

# The rules of secret fields live in deploytool.blockfields (the store applies them too); named here as before.
from deploytool.blockfields import MASK as MASK
from deploytool.blockfields import SECRET_BLOCK_TYPE as SECRET_BLOCK_TYPE
from deploytool.blockfields import SECRET_WORDS as SECRET_WORDS
from deploytool.blockfields import all_secret_paths, public_view, secret_values
from deploytool.blockfields import is_secret_name as is_secret_name
from deploytool.blockfields import secret_paths as secret_paths
from deploytool.errors import ConflictError, DeploytoolError
from deploytool.inputs import read_stream_limited, read_text_limited
from deploytool.models import Block, Variable
from deploytool.records import record
from deploytool.redaction import Redactor
from deploytool.store import Store

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any, TextIO

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_BLOCK_TYPE = re.compile(r"[a-z0-9][a-z0-9-]*")
MAX_NAME = 255


# --- parsing ---------------------------------------------------------------------------------------------


MAX_JSON_DEPTH = 100
"""Arrays and objects nest at most this deep in a value given on the command line or in a JSON file."""


def load_json(text: str, where: str, **options: Any) -> Any:
    """`json.loads(text, **options)`, with a DeploytoolError naming `where` for what JSON allows but deploytool
    cannot take: nesting deeper than MAX_JSON_DEPTH, an integer with more digits than Python converts.
    A JSONDecodeError (and any ValueError the options raise) propagates for the caller to word."""
    try:
        value = json.loads(text, **options)
    except RecursionError:
        raise _too_deep(where) from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError) or "integer string conversion" not in str(exc):
            raise
        raise DeploytoolError(
            f"{where}: a number has more than {sys.get_int_max_str_digits()} digits",
            hint="give such a value as a string (in quotes)",
        ) from None
    if _nesting(value) > MAX_JSON_DEPTH:
        raise _too_deep(where)
    return value


def _too_deep(where: str) -> DeploytoolError:
    return DeploytoolError(
        f"{where}: arrays and objects nest more than {MAX_JSON_DEPTH} levels deep",
        hint="flatten the value, or give it as a string",
    )


def _nesting(value: Any) -> int:
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            if deepest > MAX_JSON_DEPTH:
                return deepest
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_value(text: str, where: str = "value") -> Any:
    """`text` as JSON when it parses (`42`, `true`, `{"a": 1}`, `"quoted"`), else the string itself.

    NaN and Infinity are not JSON: they stay strings, and so does a number too large for a float (`1e400`).
    A value nested too deeply or an integer with too many digits is a DeploytoolError naming `where`.
    """

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    def finite(number: str) -> float:
        value = float(number)
        if math.isinf(value):
            raise ValueError(number)
        return value

    try:
        return load_json(text, where, parse_constant=refuse, parse_float=finite)
    except ValueError:
        return text


def check_variable_name(name: str) -> str:
    """`name` if templates can refer to it (`{{ prefect.variables.NAME }}`); else a DeploytoolError."""
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise DeploytoolError(
            f"invalid variable name {name!r}",
            hint="start with a letter or '_', then letters, digits, '_' or '-' (it is used as"
            " {{ prefect.variables.NAME }})",
        )
    return name


def parse_block_ref(ref: str) -> tuple[str, str]:
    """`TYPE/NAME` split into (type, name), each checked; DeploytoolError saying what is wrong."""
    btype, slash, name = ref.partition("/")
    if not slash or not btype or not name:
        raise DeploytoolError(
            f"{ref!r} is not TYPE/NAME", hint="for example secret/db-password or github-credentials/ci"
        )
    if not _BLOCK_TYPE.fullmatch(btype) or len(btype) > MAX_NAME:
        raise DeploytoolError(
            f"invalid block type {btype!r}", hint="use lowercase letters, digits and '-', e.g. github-credentials"
        )
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise DeploytoolError(
            f"invalid block name {name!r}",
            hint="start with a letter or '_', then letters, digits, '_' or '-' (it is used as"
            f" {{{{ prefect.blocks.{btype}.NAME }}}})",
        )
    return btype, name


def read_json_object(source: str, stdin: TextIO | None = None) -> dict[str, Any]:
    """A JSON object read from a file, or from `stdin` when `source` is `-` (keeps secrets off the command
    line and out of shell history)."""
    label = "standard input" if source == "-" else source
    if source == "-":
        if stdin is None:
            raise DeploytoolError("no standard input to read JSON from")
        text = read_stream_limited(stdin, label=label)
    else:
        text = read_text_limited(source, label=label)
    try:
        data = load_json(text, label)
    except json.JSONDecodeError as exc:
        raise DeploytoolError(
            f"{label}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}", hint='a block is a JSON object: {"key": ...}'
        ) from None
    if not isinstance(data, dict):
        raise DeploytoolError(f"{label} holds a JSON {type(data).__name__}, not an object", hint='write {"key": ...}')
    return data


# --- variables -------------------------------------------------------------------------------------------


def set_variable(store: Store, name: str, value: Any, *, overwrite: bool = False) -> tuple[Variable, bool]:
    """Store a variable; returns it and whether it existed. ConflictError if it exists, unless `overwrite`."""
    check_variable_name(name)
    with store.transaction():
        existed = any(v.name == name for v in store.variables.list())
        if existed and not overwrite:
            raise ConflictError(
                f"variable {name!r} already exists",
                hint=f"replace it: deploytool variable set {name} VALUE --overwrite",
            )
        return store.variables.set(name, value), existed


def get_variable(store: Store, name: str) -> Variable:
    """The variable; NotFoundError (with the `set` command) if it is not set."""
    return store.variables.get(name)


def list_variables(store: Store) -> list[Variable]:
    """Every variable, by name."""
    return store.variables.list()


def unset_variable(store: Store, name: str) -> None:
    """Remove a variable; NotFoundError if it is not set."""
    store.variables.delete(name)


# --- blocks ----------------------------------------------------------------------------------------------


def set_block(store: Store, ref: str, data: Mapping[str, Any], *, secrets: Sequence[str] = ()) -> tuple[Block, bool]:
    """Create or replace block `TYPE/NAME` holding `data` (its fields, parsed by the caller: the CLI reads them
    from `key=value` arguments over a JSON object, deploytool.cli.values.block_fields).

    Returns the block and whether it replaced one. A block without fields is refused.
    """
    btype, name = parse_block_ref(ref)
    data = dict(data)
    if not data:
        raise DeploytoolError(
            f"block {btype}/{name} has no fields", hint="give key=value arguments or --from-json FILE"
        )
    if btype == SECRET_BLOCK_TYPE and "value" not in data:
        raise DeploytoolError(
            f"a {SECRET_BLOCK_TYPE!r} block needs a 'value' field", hint=f"deploytool block set secret/{name} value=..."
        )
    block = Block(type=btype, name=name, data=data, secret_fields=secret_paths(btype, data, secrets))
    with store.transaction():
        existed = any(b.name == name for b in store.blocks.list(btype))
        return store.blocks.set(block), existed


@record
class BlockSummary:
    """A block as `block ls` shows it: its type, name, field names and secret field names, never a value."""

    type: str
    name: str
    fields: list[str]
    secret_fields: list[str]
    updated: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: a row of `block ls -o json`."""
        return {
            "type": self.type,
            "name": self.name,
            "fields": self.fields,
            "secret_fields": self.secret_fields,
            "updated": self.updated.isoformat(),
        }


@record
class BlockDetail:
    """A block as `block inspect` shows it: its data with the secret fields replaced by MASK and any copy of a
    secret elsewhere by ***, the secret fields (by the rules of today) and the placeholder that refers to it."""

    type: str
    name: str
    reference: str
    data: dict[str, Any]
    secret_fields: list[str]
    updated: datetime

    @classmethod
    def of(cls, block: Block) -> BlockDetail:
        # The store gives public views already (secrets are stored encrypted); the rules as they are now are
        # applied again for blocks stored before them (e.g. a secret inside a list was not detected).
        data, fields = public_view(block.type, block.data, block.secret_fields)
        return cls(
            type=block.type,
            name=block.name,
            reference=f"{{{{ prefect.blocks.{block.type}.{block.name} }}}}",
            data=data,
            secret_fields=fields,
            updated=block.updated,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the `data` of `block inspect -o json`."""
        return {
            "type": self.type,
            "name": self.name,
            "reference": self.reference,
            "data": self.data,
            "secret_fields": self.secret_fields,
            "updated": self.updated.isoformat(),
        }


def list_blocks(store: Store, btype: str | None = None) -> list[BlockSummary]:
    """Blocks (of one type, or all) as their type, name, field names and secret field names: no values."""
    return [
        BlockSummary(b.type, b.name, sorted(b.data), list(b.secret_fields), b.updated) for b in store.blocks.list(btype)
    ]


def inspect_block(store: Store, ref: str) -> BlockDetail:
    """A block with its secret values masked, and the placeholder that refers to it."""
    btype, name = parse_block_ref(ref)
    return BlockDetail.of(store.blocks.get(btype, name))


def delete_block(store: Store, ref: str) -> None:
    """Remove block `TYPE/NAME`; NotFoundError if there is none."""
    btype, name = parse_block_ref(ref)
    store.blocks.delete(btype, name)


def store_redactor(store: Store) -> Redactor:
    """A Redactor for the secret values of every stored block (their secret fields, by the rules of today):
    what commands that show stored text (logs, state messages, deployments) mask as a last line of defence.

    The secrets are decrypted for this only where this host has the store's key (one machine's SQLite store
    always has it); elsewhere what the worker masked when it stored the text is what is shown."""
    secrets: list[Any] = []
    for block in store.blocks.reveal_all(readable_only=True):
        secrets += secret_values(block.data, all_secret_paths(block.type, block.data, block.secret_fields))
    return Redactor(secrets)
