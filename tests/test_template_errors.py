"""What a placeholder that cannot be rendered says, word for word, and the edges of how placeholders are read:
quotes and escapes inside `{{ }}`, hyphenated step ids, keys that are placeholders, the budget of one render,
what `find_refs` and `check_tree` report. Each message is what `validate`, `deploy` and a failed run show."""

from __future__ import annotations

from typing import Any

import pytest

from deploytool.templating import (
    Phase,
    PlaceholderError,
    TemplateContext,
    check_tree,
    find_refs,
    render_tree,
)
from deploytool.templating.limits import LIMIT_HINT

VALUES: dict[str, Any] = {
    "env": {"HOME": "/home/u", "SECS": "5", "TAG": "v1"},
    "variables": {"n": 42, "cfg": {"a": [1, 2], "b": "x"}, "m": {"0": "zero"}, "i": {1: "one"}},
    "blocks": {
        ("secret", "db-pw"): {"value": "s3cret-pw"},
        ("secret", "dict-secret"): {"value": {"user": "u", "key": "k-123"}},
        ("docker-registry-credentials", "my-reg"): {"username": "bob", "password": "hunter22"},
    },
    "steps": {
        "build-image": {"image": "reg/img:1"},
        "clone": {"directory": "/src"},
        "s-1": {0: "zero", "items": ["a"]},
    },
    "runtime": {"flow_run": {"name": "brave-fox"}, "deployment": {"name": "etl"}},
}
RUN = TemplateContext.for_phase(Phase.RUN, **VALUES)
BARE = TemplateContext.for_phase(Phase.RUN, runtime={})  # no steps, no run-time values


pytestmark = pytest.mark.usefixtures("compiled_afresh")  # tests/templating_support.py


def _error(template: Any, ctx: TemplateContext = RUN) -> str:
    with pytest.raises(PlaceholderError) as info:
        render_tree({"image": template}, ctx)
    return str(info.value)


UNSAFE_HINT = "placeholders may only read and combine values, not reach into Python objects"
ENV_HINT = "set it, or give a default: {{ $NAME | default('x') }}"
PREFECT_HINT = "use prefect.variables.X or prefect.blocks.T.N"
RUNTIME_HINT = "it is set when a worker launches a run"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ env }}", "'env' needs a variable name in {{ env }} (write {{ $NAME }} or {{ env.NAME }})"),
        ("{{ $NOPE }}", f"environment variable NOPE is not set in {{{{ $NOPE }}}} ({ENV_HINT})"),
        ("{{ env.NOPE }}", f"environment variable NOPE is not set in {{{{ env.NOPE }}}} ({ENV_HINT})"),
        ("{{ $HOMEE }}", "environment variable HOMEE is not set in {{ $HOMEE }} (did you mean 'HOME'?)"),
        ("{{ $HOME.x }}", "$HOME (str) has no key 'x' in {{ $HOME.x }}"),
        ("{{ variables }}", "a variable reference needs a name in {{ variables }} (write {{ variables.NAME }})"),
        (
            "{{ prefect.variables }}",
            "a variable reference needs a name in {{ prefect.variables }} (write {{ variables.NAME }})",
        ),
        (
            "{{ variables.x }}",
            "variable 'x' does not exist in {{ variables.x }} (create it with `deploytool variable set`)",
        ),
        ("{{ variables.cgf }}", "variable 'cgf' does not exist in {{ variables.cgf }} (did you mean 'cfg'?)"),
        ("{{ variables.cfg.c }}", "variables.cfg has no key 'c' in {{ variables.cfg.c }}"),
        ("{{ variables.cfg.a.x }}", "variables.cfg.a (list) has no key 'x' in {{ variables.cfg.a.x }}"),
        ("{{ variables.cfg.a.2 }}", "variables.cfg.a (list) has no key '2' in {{ variables.cfg.a.2 }}"),
        ("{{ variables.n.x }}", "variables.n (int) has no key 'x' in {{ variables.n.x }}"),
        ("{{ prefect }}", f"unknown namespace 'prefect.' in {{{{ prefect }}}} ({PREFECT_HINT})"),
        ("{{ prefect.nope }}", f"unknown namespace 'prefect.nope' in {{{{ prefect.nope }}}} ({PREFECT_HINT})"),
        (
            "{{ prefect.block.x.y }}",
            "unknown namespace 'prefect.block' in {{ prefect.block.x.y }} (did you mean 'blocks'?)",
        ),
        (
            "{{ prefect.blocks }}",
            "a block reference needs a type and a name in {{ prefect.blocks }} (write {{ prefect.blocks.TYPE.NAME }})",
        ),
        (
            "{{ prefect.blocks.secret.db-pw.nope }}",
            "prefect.blocks.secret.db-pw (str) has no key 'nope' in {{ prefect.blocks.secret.db-pw.nope }}",
        ),
        (
            "{{ prefect.blocks.docker-registry-credentials.my-reg.pasword }}",
            "prefect.blocks.docker-registry-credentials.my-reg has no key 'pasword' in"
            " {{ prefect.blocks.docker-registry-credentials.my-reg.pasword }} (did you mean 'password'?)",
        ),
        (
            "{{ nope }}",
            "unknown name 'nope': not an earlier step id nor a namespace in {{ nope }} (step ids: build-image,"
            " clone, s-1)",
        ),
        (
            "{{ build-imag.image }}",
            "unknown name 'build-imag': not an earlier step id nor a namespace in {{ build-imag.image }}"
            " (did you mean 'build-image'?)",
        ),
        ("{{ clone.dir }}", "clone has no key 'dir' in {{ clone.dir }}"),
        ("{{ flow_run.nope }}", "flow_run has no key 'nope' in {{ flow_run.nope }}"),
        (
            "{{ 'a'.upper }}",
            "the placeholder gives a function, not a value in {{ 'a'.upper }} (call it, or use a filter)",
        ),
        (
            "{{ ''.__class__ }}",
            "unsafe expression refused in {{ ''.__class__ }} (placeholders may only read and combine values, not"
            " reach into Python objects)",
        ),
        (
            "{{ 'a' * 1000001 }}",
            f"too large: '*' would build a value over 1,000,000 characters in {{{{ 'a' * 1000001 }}}} ({LIMIT_HINT})",
        ),
        ("{{ {'a': 1}.b }}", "undefined value: 'dict object' has no attribute 'b' in {{ {'a': 1}.b }}"),
        (
            "{{ [variables.nope] }}",
            "variable 'nope' does not exist in {{ [variables.nope] }} (create it with `deploytool variable set`)",
        ),
        (
            "{{ {'a': variables.nope} }}",
            "variable 'nope' does not exist in {{ {'a': variables.nope} }} (create it with `deploytool variable set`)",
        ),
        (
            "{{ variables.n",
            "unclosed placeholder in '{{ variables.n' (close it with '}}', or write a literal '{{' as {{ '{{' }})",
        ),
        ("{{}}", "empty placeholder in {{}}"),
        ("{{ [1].append }}", f"unsafe expression refused in {{{{ [1].append }}}} ({UNSAFE_HINT})"),
        ("{{ {'a': 1}.update }}", f"unsafe expression refused in {{{{ {{'a': 1}}.update }}}} ({UNSAFE_HINT})"),
        (
            "{{ variables.cfg.update({'a': 1}) }}",
            f"unsafe expression refused in {{{{ variables.cfg.update({{'a': 1}}) }}}} ({UNSAFE_HINT})",
        ),
        (
            "{{ ['b', 'a' * 999994] }}",  # each part is under the limit, the list is 1,000,003 characters as JSON
            "too large: the placeholder builds a value over 1,000,000 characters in {{ ['b', 'a' * 999994] }}"
            f" ({LIMIT_HINT})",
        ),
    ],
)
def test_each_placeholder_error_says_exactly_what_and_what_to_do(template: str, message: str) -> None:
    assert _error(template) == f"image: {message}"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "{{ flow_run.name }}",
            f"run-time value 'flow_run' is not available here in {{{{ flow_run.name }}}} ({RUNTIME_HINT})",
        ),
        (
            "{{ deployment.name }}",
            f"run-time value 'deployment' is not available here in {{{{ deployment.name }}}} ({RUNTIME_HINT})",
        ),
        ("{{ nope }}", "unknown name 'nope': not an earlier step id nor a namespace in {{ nope }} (step ids: none)"),
    ],
)
def test_without_steps_or_run_time_values_the_error_says_so(template: str, message: str) -> None:
    assert _error(template, BARE) == f"image: {message}"


def test_an_error_at_the_root_of_a_render_names_no_key_path() -> None:
    with pytest.raises(PlaceholderError) as info:
        render_tree("{{ $NOPE }}", RUN)
    assert str(info.value) == f"environment variable NOPE is not set in {{{{ $NOPE }}}} ({ENV_HINT})"
    assert info.value.path == ""


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'it\\'s }} here' }}", "it's }} here"),  # a quoted }} (and an escaped quote) does not close
        ("{{'}}'}}", "}}"),
        ('{{ "a}}" ~ \'"\' }}', 'a}}"'),
        ("{{ 'it\\'' }}", "it'"),  # an escaped quote right before the closing one
        ("{{ 'it\\'s \\'x\\'' }}", "it's 'x'"),
        ("{{ build-image.image }}", "reg/img:1"),  # a hyphenated step id is a name, not a subtraction
        ("{{ s-1.0 }}", "zero"),  # a number in a hyphenated name is the key 0 ...
        ("{{ s-1.items.0 }}", "a"),  # ... or an index
        ("{{ variables.m.0 }}", "zero"),  # the key '0' of a mapping read from JSON
        ("{{ variables.i.1 }}", "one"),  # the key 1 of a mapping with number keys
        ("{{ prefect.blocks.secret.db-pw }}", "s3cret-pw"),  # a secret block means its value
        ("{{ prefect.blocks.secret.dict-secret.user }}", "u"),
        ("{{ prefect.blocks.secret.dict-secret.value.user }}", "u"),  # unless the reference selects `value`
    ],
)
def test_placeholders_read_as_written(template: str, expected: Any) -> None:
    assert render_tree({"image": template}, RUN) == {"image": expected}


def test_keys_that_are_placeholders_are_rendered_as_text_and_their_errors_name_the_key() -> None:
    tree = {"labels": {"{{ variables.cfg }}": 1, "{{ variables.n }}": "{{ variables.n }}", 7: "{{ $TAG }}"}}
    assert render_tree(tree, RUN) == {"labels": {'{"a": [1, 2], "b": "x"}': 1, "42": 42, 7: "v1"}}
    assert _error({"x-{{ variables.nope }}": 1}) == (
        "image[\"x-{{ variables.nope }}\"]: variable 'nope' does not exist in {{ variables.nope }}"
        " (create it with `deploytool variable set`)"
    )


def test_names_are_not_the_environment_and_keep_the_environment_for_later() -> None:
    names = {"$": {"HOME": "shadow"}, "image": "img"}
    run = TemplateContext.for_phase(Phase.RUN, env={"HOME": "/home/u"}, names=names)
    assert render_tree(["{{ $HOME }}", "{{ image }}"], run) == ["/home/u", "img"]
    deploy = TemplateContext.for_phase(Phase.DEPLOY, env={"HOME": "/home/u"}, names=names, keep=["env"])
    assert render_tree(["{{ $HOME }}", "{{ image }}"], deploy) == ["{{ $HOME }}", "img"]


def test_a_template_variable_names_itself_in_its_errors() -> None:
    ctx = TemplateContext.for_phase(Phase.RUN, names={"image": "img", "cfg": {"tags": 1}})
    assert _error("{{ image.tag }}", ctx) == "image: image (str) has no key 'tag' in {{ image.tag }}"
    assert _error("{{ cfg.tag }}", ctx) == "image: cfg has no key 'tag' in {{ cfg.tag }} (did you mean 'tags'?)"


def test_a_bare_namespace_that_is_kept_at_deploy_time_is_kept_whole() -> None:
    deploy = TemplateContext.for_phase(Phase.DEPLOY, **VALUES)
    tree = ["{{ prefect.blocks }}", "{{ flow_run }}", "{{ ctx }}"]
    assert render_tree(tree, deploy) == tree


def test_a_value_resolved_at_deploy_time_is_escaped_at_every_depth() -> None:
    deploy = TemplateContext.for_phase(Phase.DEPLOY, variables={"tpl": {"a": "{{ x }}", "l": ["{{ y }}", 1]}})
    assert render_tree("{{ variables.tpl }}", deploy) == {"a": "{{ '{{' }} x }}", "l": ["{{ '{{' }} y }}", 1]}


def test_one_render_builds_at_most_ten_million_characters_in_all() -> None:
    ctx = TemplateContext.for_phase(Phase.RUN, variables={"big": "a" * 999_998, "one": "b"})  # 1,000,000 each
    full = {f"k{i}": "{{ variables.big }}" for i in range(10)}
    assert render_tree(full, ctx) == {f"k{i}": "a" * 999_998 for i in range(10)}
    with pytest.raises(PlaceholderError) as info:
        render_tree({**full, "last": "{{ variables.one }}"}, ctx)
    assert str(info.value) == (
        "last: too large: the placeholders of this file or job configuration build over 10,000,000 characters"
        f" in all in {{{{ variables.one }}}} ({LIMIT_HINT})"
    )


HUGE = "a" * 999_999  # as a value 1,000,001 characters (its quotes count): one over the limit


@pytest.mark.parametrize(
    ("template", "name"),
    [
        ("{{ variables.big }}", "variables.big"),
        ("{{ prefect.variables.big }}", "prefect.variables.big"),
        ("{{ variables.cfg.big }}", "variables.cfg.big"),
        ("{{ variables.cfg['big'] }}", "variables.cfg.big"),
        ("{{ variables.cfg }}", "variables.cfg"),
        ("{{ variables.big | default('x') }}", "variables.big"),
        ("x-{{ variables.big }}", "variables.big"),
        ("{{ $BIG }}", "$BIG"),
        ("{{ env['BIG'] }}", "env.BIG"),
        ("{{ prefect.blocks.secret.big }}", "prefect.blocks.secret.big"),
        ("{{ build-image.big }}", "build-image.big"),
        ("{{ flow_run.big }}", "flow_run.big"),
    ],
)
def test_a_stored_value_over_the_limit_is_refused_naming_the_reference_that_read_it(template: str, name: str) -> None:
    ctx = TemplateContext.for_phase(
        Phase.RUN,
        env={"BIG": HUGE},
        variables={"big": HUGE, "cfg": {"big": HUGE}},
        blocks={("secret", "big"): {"value": HUGE}},
        steps={"build-image": {"big": HUGE}},
        runtime={"flow_run": {"big": HUGE}},
    )
    placeholder = template.removeprefix("x-")
    assert _error(template, ctx) == (
        f"image: too large: {name} holds a value over 1,000,000 characters in {placeholder} ({LIMIT_HINT})"
    )


def test_find_refs_says_where_each_reference_is_how_it_is_written_and_what_it_names() -> None:
    tree = {
        "a": "{{ variables.n }} and more",
        3: "{{ prefect }}",
        "b": ["{{ prefect.variables.n }}", "{{ deployment.name }}", "x-{{ $HOME }}", "{{ $HOME.x.y }}"],
    }
    found = [(r.path, r.raw, r.expression, r.parts, r.whole, r.namespace, r.name) for r in find_refs(tree, "root")]
    assert found == [
        ("root.a", "{{ variables.n }}", "variables.n", ("variables", "n"), False, "variables", "variables.n"),
        ("root[3]", "{{ prefect }}", "prefect", ("prefect",), True, None, "prefect"),
        (
            "root.b[0]",
            "{{ prefect.variables.n }}",
            "prefect.variables.n",
            ("prefect", "variables", "n"),
            True,
            "prefect.variables",
            "prefect.variables.n",
        ),
        (
            "root.b[1]",
            "{{ deployment.name }}",
            "deployment.name",
            ("deployment", "name"),
            True,
            "deployment",
            "deployment.name",
        ),
        ("root.b[2]", "{{ $HOME }}", "$HOME", ("$", "HOME"), False, "env", "$HOME"),
        ("root.b[3]", "{{ $HOME.x.y }}", "$HOME.x.y", ("$", "HOME", "x", "y"), True, "env", "$HOME.x.y"),
    ]


def test_check_tree_names_each_malformed_placeholder_under_the_callers_root() -> None:
    problems = check_tree({"a": {"b": "{{ variables.n", 5: "ok"}, "{{ }}": 1}, "root")
    assert [str(p) for p in problems] == [
        "root.a.b: unclosed placeholder in '{{ variables.n'"
        " (close it with '}}', or write a literal '{{' as {{ '{{' }})",
        'root["{{ }}"]: empty placeholder in {{ }}',
    ]


def test_secret_values_are_every_string_of_the_blocks_at_any_depth() -> None:
    ctx = TemplateContext.for_phase(Phase.RUN, blocks={("t", "n"): {"a": {"b": "deep"}, "l": [["in-list"]], "e": ""}})
    assert ctx.secret_values() == {"deep", "in-list"}
