"""Placeholders in project files and job configurations: `{{ expression }}` rendered in a jinja2 sandbox.

A string that is exactly one placeholder keeps the value's type (dict, int, list...); any other string renders
to a string. A reference that does not resolve is a PlaceholderError (a TemplateError) naming the key path and
the placeholder, never an empty string or a dropped key. Which namespaces resolve in which phase is documented
in docs/templating.md: at deploy time block references (secrets) and run-time values are kept verbatim for the
worker, so a secret is never stored resolved.

jinja2 is imported lazily (in `parse.jinja()`), so importing this package for its types costs nothing.
"""

from __future__ import annotations

from deploytool.templating.context import (
    DEPLOY_KEEP,
    NAMESPACES,
    RUNTIME_NAMESPACES,
    Phase,
    PlaceholderError,
    Ref,
    TemplateContext,
    join_path,
)
from deploytool.templating.render import check_tree, find_refs, has_placeholders, is_placeholder, render_tree

__all__ = [
    "DEPLOY_KEEP",
    "NAMESPACES",
    "RUNTIME_NAMESPACES",
    "Phase",
    "PlaceholderError",
    "Ref",
    "TemplateContext",
    "check_tree",
    "find_refs",
    "has_placeholders",
    "is_placeholder",
    "join_path",
    "render_tree",
]
