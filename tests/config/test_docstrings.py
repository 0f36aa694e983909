"""A flow's docstring (its description, its parameters' descriptions) is read as `ast.get_docstring` reads it,
without the import of inspect that `ast.get_docstring` makes (issue 17, item 4: `validate` reads every
entrypoint's flow)."""

from __future__ import annotations

import ast

from hypothesis import given, settings
from hypothesis import strategies as st

from deploytool.config.flowscan import cleandoc, docstring_of

LINES = st.lists(
    st.sampled_from(["", " ", "    ", "\t", "  x", "    y  ", "\tz", "Args:", "  a: one", " \t w"]), max_size=8
)


@settings(max_examples=300, deadline=None)
@given(LINES, st.booleans())
def test_a_docstring_is_cleaned_as_ast_get_docstring_cleans_it(lines: list[str], has_doc: bool) -> None:
    doc = "\n".join(lines)
    body = f"    {doc!r}\n    pass\n" if has_doc else "    pass\n"
    node = ast.parse(f"def f(x):\n{body}").body[0]
    assert isinstance(node, ast.FunctionDef)
    assert docstring_of(node) == ast.get_docstring(node)


def test_indentation_and_blank_lines_go() -> None:
    assert cleandoc("  Sum.\n\n    Args:\n      a: first\n    \n") == "Sum.\n\nArgs:\n  a: first"
