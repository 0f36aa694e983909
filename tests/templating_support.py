"""A fixture for the templating tests: each test compiles its placeholders afresh.

Compiled placeholders are cached per process (deploytool.templating.parse.compile_expression), and jinja folds
constant expressions (`{{ 'a' | center(9) }}`, limits' estimates included) when it compiles them. A test that
found its placeholder compiled by an earlier test would check that test's code, not the code as it is now: under
mutation testing (scripts/mutation.sh) the runner compiles every placeholder once before it tries each mutant.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def compiled_afresh() -> Iterator[None]:
    from deploytool.templating.parse import compile_expression

    compile_expression.cache_clear()
    yield
    compile_expression.cache_clear()
