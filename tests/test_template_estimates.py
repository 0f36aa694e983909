"""Where the size limit of a placeholder bites, operation by operation (docs/templating.md#limits).

Each operation that can build more than it is given (a filter, a str method, `%`, `+`, `~`, `*`) estimates the
size of its result from its arguments and refuses, before building anything, when the estimate is over the limit
of 1,000,000 characters ("would build"); what it builds is measured too ("builds"). Each row below is one
operation with one size N in its template: at the largest N it takes, the placeholder renders (or is refused
only once built); at N + 1 it is refused by the estimate, with the message a user sees. The estimates are worst
cases (`| e` may make five characters of one), so the largest N is not always where the real output reaches the
limit; what is pinned is where the refusal starts. In-process and cheap: nothing built here is over a few MB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from deploytool.templating import Phase, PlaceholderError, TemplateContext, render_tree
from deploytool.templating.limits import LIMIT_HINT

pytestmark = pytest.mark.usefixtures("compiled_afresh")  # tests/templating_support.py

FIXED: dict[str, Any] = {"lines": "a\nb\nc\nde", "items": ["x", "y"], "tabs": "\t" * 10, "big": "a" * 600000}
# The variable `v` of a row, made from N.
VALUES: dict[str, Callable[[int], Any]] = {
    "a": lambda n: "a" * n,
    "x": lambda n: "x" * n,
    "<": lambda n: "<" * n,
    "newlines": lambda n: "\n" * n,
    "tabs": lambda n: "\t" * n,
    "%s+a": lambda n: "%s" + "a" * n,
    "list of a": lambda n: ["a"] * n,
    "nested a": lambda n: [["a" * n]],
    "one a": lambda n: ["a" * n],
}


def _render(template: str, value: str | None, n: int) -> tuple[str, Any]:
    variables = dict(FIXED)
    if value is not None:
        variables["v"] = VALUES[value](n)
    ctx = TemplateContext.for_phase(Phase.RUN, runtime={}, variables=variables)
    placeholder = template.replace("N", str(n))
    try:
        return placeholder, render_tree({"A": placeholder}, ctx)["A"]
    except PlaceholderError as exc:
        return placeholder, exc


# (what the message names, the template with its size N, the value of `variables.v` made from N, the largest N
# the estimate takes, and what happens at that N: it renders, or it is refused once built)
ROWS: list[tuple[str, str, str | None, int, str]] = [
    ("'| center'", "{{ 'a' | center(N) }}", None, 1000000, "built"),
    ("'| center'", "{{ 'a' | center(width=N) }}", None, 1000000, "built"),
    ("'| indent'", "{{ variables.lines | indent(N) }}", None, 249998, "renders"),
    ("'| indent'", "{{ variables.lines | indent(width=N) }}", None, 249998, "renders"),
    ("'| indent'", "{{ variables.lines | indent(' ' * N) }}", None, 249998, "renders"),
    ("'| indent'", "{{ variables.v | indent }}", "newlines", 199999, "renders"),
    ("'| indent'", "{{ variables.v | indent(1) }}", "newlines", 499999, "renders"),
    ("'| format'", "{{ '%Ns' | format('a') }}", None, 999984, "renders"),
    ("'| format'", "{{ '%.Nf' | format(1.5) }}", None, 999978, "renders"),
    ("'| format'", "{{ '%*d' | format(N, 1) }}", None, 999982, "renders"),
    ("'| format'", "{{ '%s%s' | format('a' * N, 'b' * N) }}", None, 499993, "renders"),
    ("'| format'", "{{ '%(x)s%(y)s' | format(x='a' * N, y='b' * N) }}", None, 499987, "renders"),
    ("'| format'", "{{ variables.v | format('b' * 500000) }}", "%s+a", 499991, "renders"),
    ("'| format'", "{{ 5 | format(x=variables.v) }}", "a", 999992, "renders"),
    ("'| replace'", "{{ ('a' * N) | replace('a', 'bb') }}", None, 500000, "built"),
    ("'| replace'", "{{ variables.big | replace('a', 'bb', N) }}", None, 400000, "built"),
    ("'| replace'", "{{ variables.big | replace('a', 'bb', count=N) }}", None, 400000, "built"),
    ("'| replace'", "{{ ('a' * N) | replace(old='a', new='bb') }}", None, 500000, "built"),
    ("'| replace'", "{{ ('a' * N) | replace('', 'b') }}", None, 499999, "built"),
    ("'| join'", "{{ variables.items | join('x' * N) }}", None, 499995, "renders"),
    ("'| join'", "{{ variables.items | join(d='x' * N) }}", None, 499995, "renders"),
    ("'| join'", "{{ variables.v | join(',') }}", "list of a", 199999, "renders"),
    ("'| join'", "{{ 'abc' | join('x' * N) }}", None, 333331, "renders"),
    ("'| join'", "{{ {'a': 1, 'b': 2} | join('x' * N) }}", None, 499994, "renders"),
    ("'| join'", "{{ (variables.items | map('upper')) | join('x' * N) }}", None, 124999, "renders"),
    ("'| join'", "{{ variables.v | join(10 ** 9) }}", "list of a", 71428, "renders"),  # jinja joins with str(d)
    ("'| join'", "{{ variables.v | join(none) }}", "list of a", 124999, "renders"),
    ("'| wordwrap'", "{{ ('a' * N) | wordwrap(1000000) }}", None, 500000, "renders"),
    ("'| wordwrap'", "{{ 'abc' | wordwrap(2, true, 'x' * N) }}", None, 333332, "renders"),
    ("'| wordwrap'", "{{ 'abc' | wordwrap(2, wrapstring='x' * N) }}", None, 333332, "renders"),
    ("'| wordwrap'", "{{ ('a' * N) | wordwrap(1000000, wrapstring='') }}", None, 500000, "renders"),
    ("'| batch'", "{{ [1] | batch(N) | list }}", None, 999996, "renders"),
    ("'| batch'", "{{ [1] | batch(linecount=N) | list }}", None, 999996, "renders"),
    ("'| batch'", "{{ variables.v | batch(500000) | list }}", "a", 499998, "built"),
    ("'| slice'", "{{ [variables.v, variables.v] | slice(2) | list }}", "a", 499995, "built"),
    ("'| slice'", "{{ [variables.v, variables.v] | slice(slices=2) | list }}", "a", 499995, "built"),
    ("'| tojson'", "{{ [[1]] | tojson(N) }}", None, 47618, "renders"),
    ("'| tojson'", "{{ [[1]] | tojson(indent=N) }}", None, 47618, "renders"),
    ("'| tojson'", "{{ {'a': {'b': 1} } | tojson(N) }}", None, 25640, "renders"),
    ("'| tojson'", "{{ [[[1]]] | tojson(N) }}", None, 24999, "renders"),
    ("'| tojson'", "{{ variables.v | tojson }}", "a", 499998, "renders"),
    ("'| tojson'", "{{ [variables.v, variables.v] | tojson }}", "a", 166662, "renders"),
    ("'| pprint'", "{{ variables.v | pprint }}", "a", 499998, "renders"),
    ("'| pprint'", "{{ variables.v | pprint }}", "nested a", 249992, "renders"),
    ("'| pprint'", "{{ [variables.v, variables.v] | pprint }}", "a", 166662, "renders"),
    ("'| list'", "{{ [variables.v, variables.v] | list }}", "a", 499996, "renders"),
    ("'| string'", "{{ [variables.v, variables.v] | string }}", "a", 499996, "built"),
    ("'| unique'", "{{ [variables.v, variables.v] | unique | list }}", "a", 499996, "renders"),
    ("'| sort'", "{{ [variables.v, variables.v] | sort }}", "a", 499996, "renders"),
    ("'| reverse'", "{{ [variables.v, variables.v] | reverse }}", "a", 499996, "renders"),
    ("'| sum'", "{{ [variables.v, variables.v] | sum(start=[]) }}", "one a", 499993, "renders"),
    ("'| e'", "{{ variables.v | e }}", "<", 199998, "renders"),
    ("'| escape'", "{{ variables.v | escape }}", "<", 199998, "renders"),
    ("'| forceescape'", "{{ variables.v | forceescape }}", "<", 199998, "renders"),
    ("'| urlize'", "{{ variables.v | urlize }}", "<", 199998, "renders"),
    ("'.center()'", "{{ 'a'.center(N) }}", None, 1000000, "built"),
    ("'.ljust()'", "{{ 'a'.ljust(N) }}", None, 1000000, "built"),
    ("'.rjust()'", "{{ 'a'.rjust(N) }}", None, 1000000, "built"),
    ("'.zfill()'", "{{ '1'.zfill(N) }}", None, 1000000, "built"),
    ("'.center()'", "{{ 'a'.center(-N) }}", None, 1000000, "renders"),
    ("'.expandtabs()'", "{{ variables.tabs.expandtabs(N) }}", None, 100000, "built"),
    ("'.expandtabs()'", "{{ variables.tabs.expandtabs(tabsize=N) }}", None, 100000, "built"),
    ("'.expandtabs()'", "{{ variables.v.expandtabs() }}", "tabs", 125000, "built"),
    ("'.expandtabs()'", "{{ variables.v.expandtabs(2) }}", "tabs", 500000, "built"),
    ("'.replace()'", "{{ ('a' * N).replace('a', 'bb') }}", None, 500000, "built"),
    ("'.replace()'", "{{ variables.big.replace('a', 'bb', N) }}", None, 400000, "built"),
    ("'.replace()'", "{{ ('a' * N).replace('', 'b') }}", None, 499999, "built"),
    ("'.replace()'", "{{ 'ab'.replace('', 'x' * N) }}", None, 333332, "renders"),
    ("'.replace()'", "{{ ('a' * N).replace('a', 'bb', -1) }}", None, 500000, "built"),
    ("'.replace()'", "{{ ('ab' * N).replace('ab', 'xyz') }}", None, 333333, "built"),
    ("'.join()'", "{{ ('x' * N).join(['a', 'b']) }}", None, 499995, "renders"),
    ("'.join()'", "{{ ','.join(variables.v) }}", "list of a", 199999, "renders"),
    ("'.join()'", "{{ ('x' * N).join('abc') }}", None, 333332, "renders"),
    ("'.join()'", "{{ variables.v.join({'a': 1, 'b': 2}) }}", "x", 499994, "renders"),
    ("'.join()'", "{{ ('x' * N).join(('a', 'b', 'c')) }}", None, 333328, "renders"),
    ("'.format()'", "{{ '{:>N}'.format(1) }}", None, 999980, "renders"),
    ("'.format()'", "{{ '{:>N}{:>N}'.format(1, 2) }}", None, 499978, "renders"),
    ("'.format()'", "{{ '{:>N}'.format('a', 'b') }}", None, 999974, "renders"),
    ("'.format()'", "{{ '{0:{1}}'.format(1, N) }}", None, 999973, "renders"),
    ("'.format()'", "{{ '{x:{w}}'.format(x=1, w=N) }}", None, 999968, "renders"),
    ("'.format()'", "{{ '{0}{0}{0}'.format('a' * N) }}", None, 333319, "renders"),
    ("'.format()'", "{{ '{x}{x}{x}'.format(x='a' * N) }}", None, 333316, "renders"),
    ("'.format_map()'", "{{ '{x:>N}'.format_map({'x': 1}) }}", None, 999979, "renders"),
    ("'.format_map()'", "{{ '{x:{w}}'.format_map({'x': 1, 'w': N}) }}", None, 999974, "renders"),
    ("'.translate()'", "{{ ('a' * N).translate({97: 'bbbb'}) }}", None, 76923, "renders"),
    ("'%'", "{{ '%Nd' % 1 }}", None, 999991, "renders"),
    ("'%'", "{{ '%-Nd' % 1 }}", None, 999990, "renders"),
    ("'%'", "{{ '%.Nf' % 1.5 }}", None, 999983, "renders"),
    ("'%'", "{{ '%*d' % (N, 1) }}", None, 999984, "renders"),
    ("'%'", "{{ '%*s' % (N, 'a') }}", None, 999983, "renders"),
    ("'%'", "{{ '%(a)Ns' % {'a': 1} }}", None, 999982, "renders"),
    ("'%'", "{{ '%s%s' % ('a' * N, 'b' * N) }}", None, 499994, "renders"),
    ("'+'", "{{ ('a' * N) + ('a' * 500000) }}", None, 499996, "renders"),
    ("'+'", "{{ variables.v + variables.v }}", "list of a", 124999, "renders"),
    ("'~'", "{{ ('a' * N) ~ ('b' * 500000) }}", None, 499996, "renders"),
    ("'~'", "{{ 'b' ~ ('a' * N) ~ ('c' * 500000) ~ 7 }}", None, 499991, "renders"),
    ("'*'", "{{ 'a' * N }}", None, 1000000, "built"),
    ("'*'", "{{ N * 'a' }}", None, 1000000, "built"),
    ("'*'", "{{ ['a'] * N }}", None, 166666, "renders"),
    ("'*'", "{{ ('a',) * N }}", None, 166666, "renders"),
    ("'*'", "{{ N * ['a'] }}", None, 166666, "renders"),
    ("'*'", "{{ [none] * N }}", None, 125000, "renders"),  # null, as JSON
    ("'*'", "{{ [true] * N }}", None, 125000, "renders"),
]


@pytest.mark.parametrize(("what", "template", "value", "largest", "at_largest"), ROWS, ids=[r[1] for r in ROWS])
def test_each_operation_is_refused_before_it_builds_just_past_the_largest_size_it_takes(
    what: str, template: str, value: str | None, largest: int, at_largest: str
) -> None:
    _, result = _render(template, value, largest)
    if at_largest == "renders":
        assert not isinstance(result, PlaceholderError), result
    else:
        assert isinstance(result, PlaceholderError) and "builds a value over 1,000,000 characters" in result.reason
    placeholder, refused = _render(template, value, largest + 1)
    assert isinstance(refused, PlaceholderError), f"{placeholder} was not refused"
    assert str(refused) == (
        f"A: too large: {what} would build a value over 1,000,000 characters in {placeholder} ({LIMIT_HINT})"
    )


UNDER: dict[str, Any] = {"big": "a" * 600_000, "many": ["a"] * 200_000, "p": 2**999, "q": 2**14_000}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ variables.big.expandtabs(0) }}", "a" * 600_000),
        ("{{ variables.big.expandtabs(1) }}", "a" * 600_000),
        ("{{ variables.big.replace('a', 'bb', 0) }}", "a" * 600_000),
        ("{{ variables.big.replace('a', '') }}", ""),
        ("{{ variables.big.startswith('a') }}", True),
        ("{{ variables.many | join }}", "a" * 200_000),
        ("{{ 12 | replace('1', '9') }}", "92"),
        ("{{ 42 | center(6) }}", "  42  "),
        ("{{ '%s' % 5 }}", "5"),
        ("{{ 2 * 1000001 }}", 2_000_002),
        ("{{ 2 ** 100 }}", 2**100),
        ("{{ 2 ** -100 }}", 2**-100),
        ("{{ 2 ** -2 }}", 0.25),
        ("{{ 2.5 ** 2 }}", 6.25),
        ("{{ 2 ** true }}", 2),
        ("{{ variables.p ** 14 }}", 2**13_986),
        ("{{ (2 ** 100) ** 70 * (2 ** 100) ** 69 * 2 ** 99 }}", 2**13_999),  # 14,000 bits
        ("n={{ (2 ** 100) ** 70 }}", f"n={2**7000}"),
    ],
)
def test_an_operation_whose_result_stays_under_the_limits_gives_it(template: str, expected: Any) -> None:
    ctx = TemplateContext.for_phase(Phase.RUN, variables=UNDER)
    assert render_tree({"A": template}, ctx) == {"A": expected}


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ 2 ** 101 }}", "too large: '**' with an exponent over 100"),
        ("{{ 2 ** -101 }}", "too large: '**' with an exponent over 100"),
        ("{{ 2 ** 100.5 }}", "too large: '**' with an exponent over 100"),
        ("{{ variables.p ** 15 }}", "too large: '**' would build a number over 14,000 bits"),
        ("{{ variables.q ** 1 }}", "too large: '**' would build a number over 14,000 bits"),
        ("{{ (2 ** 100) ** 70 * (2 ** 100) ** 70 }}", "too large: '*' builds a number over 14,000 bits"),
        ("{{ variables.many | indent(1) }}", "too large: '| indent' would build a value over 1,000,000 characters"),
        ("{{ ('a' * 999998) | tojson }}", "too large: '| tojson' would build a value over 1,000,000 characters"),
        (
            "{{ variables.big | wordwrap(2, true, 5) }}",
            "too large: '| wordwrap' would build a value over 1,000,000 characters",
        ),
        (
            "{{ variables.many | wordwrap }}",  # a list as text: what jinja would wrap if it could
            "too large: '| wordwrap' would build a value over 1,000,000 characters",
        ),
        # a value of another type than the operation takes fails as Python would say, whatever its size
        ("{{ '%*s' % 5 }}", "could not evaluate: TypeError: not enough arguments for format string"),
        (
            "{{ 'a' | pprint(99999999) }}",
            "could not evaluate: TypeError: do_pprint() takes 1 positional argument but 2 were given",
        ),
        (
            "{{ 2 ** '3' }}",
            "could not evaluate: TypeError: unsupported operand type(s) for ** or pow(): 'int' and 'str'",
        ),
        ("{{ 42 | indent }}", "could not evaluate: TypeError: unsupported operand type(s) for +=: 'int' and 'str'"),
        (
            "{{ 42 | indent(999997) }}",
            "could not evaluate: TypeError: unsupported operand type(s) for +=: 'int' and 'str'",
        ),
        ("{{ 'a1'.replace('1', 2) }}", "could not evaluate: TypeError: replace() argument 2 must be str, not int"),
        (
            "{{ 'abc' | wordwrap(2, true, 5) }}",
            "could not evaluate: AttributeError: 'int' object has no attribute 'join'",
        ),
        (
            "{{ ('a' * 400000) | wordwrap(2, true, 5) }}",
            "could not evaluate: AttributeError: 'int' object has no attribute 'join'",
        ),
    ],
)
def test_numbers_past_their_limits_and_values_of_the_wrong_type_are_refused_saying_why(
    template: str, reason: str
) -> None:
    ctx = TemplateContext.for_phase(Phase.RUN, variables=UNDER)
    with pytest.raises(PlaceholderError) as info:
        render_tree({"A": template}, ctx)
    hint = f" ({LIMIT_HINT})" if reason.startswith("too large") else ""
    assert str(info.value) == f"A: {reason} in {template}{hint}"
