"""`deploytool variable ...` and `deploytool block ...`: the stored values templates refer to.

Secret block values are never printed: inspect masks them, and no command offers to show them.
"""

from __future__ import annotations

import sys

from deploytool.cli.json_errors import json_errors
from deploytool.cli.output import OutputFormat, local_time, print_json, print_table
from deploytool.cli.params import OUTPUT, Argument, Group, Option
from deploytool.cli.store_access import open_store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

VARIABLE_GROUP, BLOCK_GROUP = "variable", "block"
variable_app = Group(
    VARIABLE_GROUP, help="Stored variables: JSON values that templates read as {{ prefect.variables.NAME }}."
)
block_app = Group(
    BLOCK_GROUP,
    help="Blocks: named documents (credentials, secrets) that templates read as {{ prefect.blocks.TYPE.NAME }}.",
)
GROUPS = (variable_app, block_app)

BLOCK = Argument(help="TYPE/NAME, e.g. secret/db-password or github-credentials/ci.")

# --- variables -------------------------------------------------------------------------------------------


@variable_app.command("set")
def set_(
    name: Annotated[str, Argument(help="The variable's name.")],
    value: Annotated[str, Argument(help="The value: JSON when it parses (42, true, [1], {...}), else text.")],
    overwrite: Annotated[bool, Option("--overwrite", help="Replace an existing variable.")] = False,
) -> None:
    """Set a variable."""
    from deploytool.core.values import parse_value, set_variable

    parsed = parse_value(value, f"the value of variable {name!r}")
    with open_store() as store:
        _, existed = set_variable(store, name, parsed, overwrite=overwrite)
    kind = "text" if isinstance(parsed, str) else f"JSON {type(parsed).__name__}"
    print(f"{'Replaced' if existed else 'Set'} variable {name!r} ({kind}).")


@variable_app.command()
def get(
    name: Annotated[str, Argument(help="The variable's name.")],
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Print a variable's value (text as is, anything else as JSON)."""
    import json

    from deploytool.core.values import get_variable

    with json_errors("variable", output), open_store() as store:
        variable = get_variable(store, name)
    if output == OutputFormat.json:
        print_json("variable", variable.to_dict())
        return
    value = variable.value
    print(value if isinstance(value, str) else json.dumps(value))


@variable_app.command("ls")
def ls_variables(output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """List variables and their values."""
    import json

    from deploytool.core.values import list_variables

    with json_errors("variable-list", output), open_store() as store:
        variables = list_variables(store)
    if output == OutputFormat.json:
        print_json("variable-list", [v.to_dict() for v in variables])
        return
    if not variables:
        print("No variables. Set one: deploytool variable set NAME VALUE", file=sys.stderr)
        return
    rows = [(v.name, _short(json.dumps(v.value)), local_time(v.updated)) for v in variables]
    print_table(None, ["name", "value", "updated"], rows, local_times=True)


@variable_app.command()
def unset(name: Annotated[str, Argument(help="The variable's name.")]) -> None:
    """Remove a variable."""
    from deploytool.core.values import unset_variable

    with open_store() as store:
        unset_variable(store, name)
    print(f"Unset variable {name!r}.")


# --- blocks ----------------------------------------------------------------------------------------------


@block_app.command("set")
def set_block(
    ref: Annotated[str, BLOCK],
    fields: Annotated[
        list[str] | None, Argument(help="key=value fields; values are JSON when they parse, else text.")
    ] = None,
    secret: Annotated[
        list[str] | None,
        Option("--secret", help="Keep this field secret (repeatable). Fields named like password, token,"
                     " secret or key, and the value of a `secret` block, are secret anyway."),
    ] = None,
    from_json: Annotated[
        str | None,
        Option("--from-json", help="Start from this JSON object file (`-`: standard input, which keeps"
                     " secrets out of your shell history); key=value fields go over it."),
    ] = None,
) -> None:  # fmt: skip
    """Create or replace a block. Nothing of its values is printed back."""
    from deploytool.cli.values import block_fields
    from deploytool.core.values import read_json_object
    from deploytool.core.values import set_block as set_block_

    data = block_fields(fields or [], read_json_object(from_json, sys.stdin) if from_json else None)
    with open_store() as store:
        block, existed = set_block_(store, ref, data, secrets=secret or [])
    secrets = f"; secret: {', '.join(block.secret_fields)}" if block.secret_fields else ""
    print(
        f"{'Replaced' if existed else 'Created'} block {block.type}/{block.name}"
        f" (fields: {', '.join(sorted(block.data))}{secrets})."
    )
    print(f"Use it in templates as {{{{ prefect.blocks.{block.type}.{block.name} }}}}", file=sys.stderr)


@block_app.command("ls")
def ls_blocks(
    type_arg: Annotated[str | None, Argument(metavar="[TYPE]", help="Only blocks of this type.")] = None,
    block_type: Annotated[str | None, Option("--type", "-t", help="Only blocks of this type.")] = None,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """List blocks: type, name and field names (never their values)."""
    from deploytool.core.values import list_blocks

    with json_errors("block-list", output), open_store() as store:
        blocks = list_blocks(store, block_type or type_arg)
    if output == OutputFormat.json:
        print_json("block-list", [b.to_dict() for b in blocks])
        return
    if not blocks:
        print("No blocks. Create one: deploytool block set secret/NAME value=...", file=sys.stderr)
        return
    rows = [(b.type, b.name, ", ".join(b.fields), ", ".join(b.secret_fields) or "-") for b in blocks]
    print_table(None, ["type", "name", "fields", "secret fields"], rows)


@block_app.command("inspect")
def inspect_block(ref: Annotated[str, BLOCK], output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """Show a block, with its secret values masked."""
    import json

    from deploytool.core.values import inspect_block as inspect_block_

    with json_errors("block", output), open_store() as store:
        detail = inspect_block_(store, ref)
    if output == OutputFormat.json:
        print_json("block", detail.to_dict())
        return
    print(f"block: {detail.type}/{detail.name}")
    print(f"reference: {detail.reference}")
    print(f"secret fields: {', '.join(detail.secret_fields) or 'none'}")
    print(f"updated: {local_time(detail.updated, '-', zone=True)}")
    print("data:")
    print("\n".join("  " + line for line in json.dumps(detail.data, indent=2).splitlines()))


@block_app.command("delete")
def delete_block(ref: Annotated[str, BLOCK]) -> None:
    """Delete a block."""
    from deploytool.core.values import delete_block as delete_block_

    with open_store() as store:
        delete_block_(store, ref)
    print(f"Deleted block {ref}.")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
