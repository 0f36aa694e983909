"""Placeholders: native types, every form, errors with key paths, phases, the sandbox, find_refs."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from typing import Any

import pytest

from deploytool.errors import TemplateError
from deploytool.templating import (
    DEPLOY_KEEP,
    Phase,
    PlaceholderError,
    TemplateContext,
    check_tree,
    find_refs,
    is_placeholder,
    join_path,
    render_tree,
)
from deploytool.templating.parse import looks_unsafe

pytestmark = pytest.mark.usefixtures("compiled_afresh")  # tests/templating_support.py

VALUES: dict[str, Any] = {
    "env": {"HOME": "/home/u", "SECS": "5", "TAG": "v1"},
    "variables": {"n": 42, "cfg": {"a": [1, 2], "b": "x"}, "flag": False},
    "blocks": {
        ("secret", "db-pw"): {"value": "s3cret-pw"},
        ("secret", "dict-secret"): {"value": {"user": "u", "key": "k-123"}},
        ("docker-registry-credentials", "my-reg"): {"username": "bob", "password": "hunter22"},
    },
    "steps": {"build-image": {"image": "reg/img:1", "tag": "1"}, "clone": {"directory": "/src"}},
    "runtime": {"flow_run": {"name": "brave-fox", "id": "r1"}, "deployment": {"name": "etl"}, "flow": {"name": "f"}},
}


def run_ctx(**extra: Any) -> TemplateContext:
    return TemplateContext.for_phase(Phase.RUN, **{**VALUES, **extra})


def deploy_ctx() -> TemplateContext:
    return TemplateContext.for_phase(Phase.DEPLOY, **{k: v for k, v in VALUES.items() if k != "runtime"})


def render(obj: Any, **extra: Any) -> Any:
    return render_tree(obj, run_ctx(**extra))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ variables.n }}", 42),
        ("{{ variables.cfg }}", {"a": [1, 2], "b": "x"}),
        ("{{ variables.cfg.a }}", [1, 2]),
        ("{{ variables.cfg.a[1] }}", 2),
        ("{{ variables.cfg.a.0 }}", 1),
        ("{{ variables.flag }}", False),
        ("{{ prefect.variables.n }}", 42),
        ("{{ $SECS }}", "5"),
        ("{{ $SECS | int }}", 5),
        ("{{ build-image.image }}", "reg/img:1"),
        ("{{ prefect.blocks.secret.dict-secret }}", {"user": "u", "key": "k-123"}),
    ],
)
def test_a_whole_placeholder_keeps_the_native_type(template: str, expected: Any) -> None:
    assert render(template) == expected


def test_mixed_strings_render_to_str() -> None:
    assert render("n={{ variables.n }}") == "n=42"
    assert render("{{ variables.n }}{{ variables.n }}") == "4242"
    assert render(" {{ variables.n }}") == " 42"
    # containers inside text become JSON, not Python's repr
    assert render("cfg={{ variables.cfg }}") == 'cfg={"a": [1, 2], "b": "x"}'


def test_trees_keep_their_shape_and_non_strings() -> None:
    tree = {"a": ["{{ variables.n }}", 1, None, True], "b": {"c": "{{ $TAG }}"}, "d": 1.5}
    assert render(tree) == {"a": [42, 1, None, True], "b": {"c": "v1"}, "d": 1.5}
    assert render({"{{ $TAG }}": 1}) == {"v1": 1}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ $HOME }}", "/home/u"),
        ("{{$HOME}}", "/home/u"),
        ("{{ $HOME}}", "/home/u"),
        ("{{$HOME }}", "/home/u"),
        ("{{ env.HOME }}", "/home/u"),
        ("{{ env['HOME'] }}", "/home/u"),
        ("{{ variables.cfg.b }}", "x"),
        ("{{ prefect.variables.cfg.b }}", "x"),
        ("{{ prefect.blocks.secret.db-pw }}", "s3cret-pw"),
        ("{{ prefect.blocks.secret.db-pw.value }}", "s3cret-pw"),
        ("{{ prefect.blocks.secret.dict-secret.key }}", "k-123"),
        ("{{ prefect.blocks.docker-registry-credentials.my-reg.password }}", "hunter22"),
        ("{{ build-image.tag }}", "1"),
        ("{{ clone.directory }}/flows", "/src/flows"),
        ("{{ flow_run.name }}", "brave-fox"),
        ("{{ ctx.flow_run.name }}", "brave-fox"),
        ("{{ ctx.flow.name }}", "f"),
        ("{{ deployment.name }}", "etl"),
        ("run-{{ ctx.flow_run.name }}-{{ ctx.flow.name }}", "run-brave-fox-f"),
    ],
)
def test_every_placeholder_form(template: str, expected: Any) -> None:
    assert render(template) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ $NOPE | default('a') }}", "a"),
        ("{{ env['GIT_BRANCH'] | default('main') }}", "main"),
        ("{{ variables.nope | default(variables.n) }}", 42),
        ("{{ $HOME | upper }}", "/HOME/U"),
        ("{{ $HOME.upper() }}", "/HOME/U"),
        ("{{ variables.cfg.a | length }}", 2),
        ("{{ $TAG ~ '-' ~ variables.n }}", "v1-42"),
        ("{{ '{{' }}.State.Running}}", "{{.State.Running}}"),
        ("{{ 'x}}y' }}", "x}}y"),
    ],
)
def test_jinja_filters_and_expressions(template: str, expected: Any) -> None:
    assert render(template) == expected


@pytest.mark.parametrize(
    ("template", "reason", "hint"),
    [
        ("{{ $NOPE }}", "environment variable NOPE is not set", "default"),
        ("{{ $HOMEE }}", "environment variable HOMEE is not set", "did you mean 'HOME'?"),
        ("{{ variables.m }}", "variable 'm' does not exist", None),
        ("{{ prefect.variables.cgf }}", "variable 'cgf' does not exist", "did you mean 'cfg'?"),
        ("{{ prefect.blocks.secret.nope }}", "no block 'nope' of type 'secret'", "db-pw"),
        ("{{ prefect.blocks.secrett.db-pw }}", "unknown block type 'secrett'", "did you mean 'secret'?"),
        ("{{ prefect.blocks.docker-registry-credentials.my-reg.pasword }}", "has no key 'pasword'", "'password'"),
        ("{{ prefect.blocks.secret }}", "needs a type and a name", None),
        ("{{ prefect.variable.n }}", "unknown namespace 'prefect.variable'", "did you mean 'variables'?"),
        ("{{ build-imag.image }}", "unknown name 'build-imag'", "did you mean 'build-image'?"),
        ("{{ build-image.imag }}", "build-image has no key 'imag'", "did you mean 'image'?"),
        ("{{ variables.cfg.a[5] }}", "has no key '5'", None),
        ("{{ $X | defualt('a') }}", "No filter named 'defualt'", "did you mean 'default'?"),
        ("{{ 1/0 }}", "could not evaluate: ZeroDivisionError", None),
        ("{{ variables.n", "unclosed placeholder", None),
        ("{{ }}", "empty placeholder", None),
        ("{{ variables.n variables }}", "invalid placeholder", None),
    ],
)
def test_errors_name_the_key_path_the_placeholder_and_a_hint(template: str, reason: str, hint: str | None) -> None:
    tree = {"deployments[etl]": {"work_pool": {"job_variables": {"image": template}}}}
    with pytest.raises(PlaceholderError) as info:
        render(tree)
    err = info.value
    assert isinstance(err, TemplateError)
    assert err.path == '["deployments[etl]"].work_pool.job_variables.image'
    assert reason in err.reason
    assert template.strip() in str(err) or "unclosed" in reason
    if hint:
        assert err.hint and hint in err.hint


def test_the_caller_chooses_the_root_of_the_key_path() -> None:
    with pytest.raises(PlaceholderError) as info:
        render_tree({"image": "{{ $NOPE }}"}, run_ctx(), "deployments[etl].work_pool.job_variables")
    assert str(info.value).startswith("deployments[etl].work_pool.job_variables.image: environment variable NOPE")


def test_an_error_inside_an_inline_placeholder_is_reported_too() -> None:
    with pytest.raises(PlaceholderError, match=r"tags\[1\]: variable 'x' does not exist"):
        render({"tags": ["ok", "v-{{ variables.x }}"]})


def test_run_time_values_are_missing_at_deploy_time_unless_kept() -> None:
    ctx = TemplateContext(**{k: v for k, v in VALUES.items() if k != "runtime"})
    with pytest.raises(PlaceholderError, match="run-time value 'flow_run' is not available"):
        render_tree("{{ flow_run.name }}", ctx)


def test_deploy_phase_keeps_blocks_and_run_time_refs_verbatim_and_resolves_the_rest() -> None:
    tree = {
        "image": "{{ build-image.image }}",
        "env": {
            "PW": "{{ prefect.blocks.secret.db-pw }}",
            "NAME": "{{ flow_run.name }}",
            "MIXED": "{{ $TAG }}-{{ ctx.flow_run.name }}",
            "N": "{{ variables.n }}",
        },
        "creds": "{{ prefect.blocks.docker-registry-credentials.my-reg }}",
    }
    deployed = render_tree(tree, deploy_ctx())
    assert deployed == {
        "image": "reg/img:1",
        "env": {
            "PW": "{{ prefect.blocks.secret.db-pw }}",
            "NAME": "{{ flow_run.name }}",
            "MIXED": "v1-{{ ctx.flow_run.name }}",
            "N": 42,
        },
        "creds": "{{ prefect.blocks.docker-registry-credentials.my-reg }}",
    }
    assert "s3cret-pw" not in repr(deployed)
    # the worker renders the stored result at launch
    final = render_tree(deployed, run_ctx())
    assert final["env"] == {"PW": "s3cret-pw", "NAME": "brave-fox", "MIXED": "v1-brave-fox", "N": 42}
    assert final["creds"] == {"username": "bob", "password": "hunter22"}


def test_deploy_output_is_a_template_so_resolved_braces_are_escaped() -> None:
    # A value resolved at deploy time must come back unchanged after the worker's render, not be re-read.
    ctx = TemplateContext.for_phase(
        Phase.DEPLOY, env={"FMT": "{{.State}}", "SNEAKY": "{{ prefect.blocks.secret.db-pw }}"}
    )
    deployed = render_tree({"a": "{{ $FMT }}", "b": "x {{ $SNEAKY }}"}, ctx)
    assert render_tree(deployed, run_ctx()) == {"a": "{{.State}}", "b": "x {{ prefect.blocks.secret.db-pw }}"}


def test_keep_accepts_first_names_too() -> None:
    # e.g. pull steps: a later pull step's id is kept for run time
    ctx = TemplateContext.for_phase(Phase.DEPLOY, keep={"clone-step"}, env={"X": "1"})
    assert render_tree("{{ clone-step.directory }}/{{ $X }}", ctx) == "{{ clone-step.directory }}/1"
    assert ctx.keep == DEPLOY_KEEP | {"clone-step"}


def test_names_shadow_namespaces() -> None:
    # a base job template's variable `env` is not the process environment
    ctx = TemplateContext(env={"HOME": "/h"}, names={"env": {"A": "1"}})
    assert render_tree("{{ env }}", ctx) == {"A": "1"}
    assert render_tree("{{ $HOME }}", ctx) == "/h"


ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ self.__init__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ namespace.__init__ }}",
    "{{ (1).__class__ }}",
    "{{ ''['__class__'] }}",
    "{{ variables | attr('__class__') }}",
    "{{ variables.cfg.__class__ }}",
    "{{ build-image.__class__ }}",
    "{{ _ref.__call__ }}",
    "{{ variables.cfg.update({'a': 1}) }}",
    "{{ [1].append(2) }}",
]


@pytest.mark.parametrize("template", ESCAPES)
def test_sandbox_escapes_are_refused(template: str) -> None:
    with pytest.raises(PlaceholderError, match="unsafe expression refused"):
        render({"x": template})


@pytest.mark.parametrize(
    ("template", "unsafe"),
    [
        *((t, True) for t in ESCAPES),
        ("{{ $MY_TAG | default('__none__') }}", False),  # underscores inside a string are text
        ("{{ flow_run.name | replace('_', '-') ~ \"_x\" }}", False),
        ("{{ variables.my_list | join(',') }}", False),
        ("{{ variables.cfg.items }}", False),  # a key, not the dict method
        ("{{ 'a'.upper() }}", False),
    ],
)
def test_validate_calls_unsafe_what_the_sandbox_refuses(template: str, unsafe: bool) -> None:
    # `deploytool validate` decides from the text alone (it does not import jinja2) what `deploy` would refuse
    try:
        render({"x": template})
        refused = False
    except PlaceholderError as exc:
        refused = exc.reason == "unsafe expression refused"
    assert (looks_unsafe(template[2:-2]), refused) == (unsafe, unsafe)


@pytest.mark.parametrize("name", ["range", "dict", "lipsum", "cycler", "joiner", "namespace"])
def test_default_globals_are_gone(name: str) -> None:
    with pytest.raises(PlaceholderError, match=f"unknown name '{name}'"):
        render("{{ " + name + "() }}")


def test_a_function_is_not_a_value() -> None:
    with pytest.raises(PlaceholderError, match="gives a function"):
        render("{{ '{}'.format }}")


def test_find_refs_reports_each_reference_without_rendering() -> None:
    tree = {
        "build": [{"run_shell_script": {"script": "echo {{ clone.directory }} {{ $HOME }}"}}],
        "image": "{{ build-image.image | default(variables.img) }}",
        "pw": "{{ prefect.blocks.secret.db-pw }}",
        "tags": ["{{ flow_run.name }}", "{{ ctx.flow.name }}", "{{ prefect.variables.v }}", "{{ env.X }}"],
        "plain": "no placeholders",
    }
    refs = find_refs(tree)
    got = [(r.path, r.name, r.namespace, r.head, r.whole) for r in refs]
    assert got == [
        ("build[0].run_shell_script.script", "clone.directory", None, "clone", False),
        ("build[0].run_shell_script.script", "$HOME", "env", "$", False),
        ("image", "build-image.image", None, "build-image", True),
        ("image", "variables.img", "variables", "variables", True),
        ("pw", "prefect.blocks.secret.db-pw", "prefect.blocks", "prefect", True),
        ("tags[0]", "flow_run.name", "flow_run", "flow_run", True),
        ("tags[1]", "ctx.flow.name", "ctx", "ctx", True),
        ("tags[2]", "prefect.variables.v", "prefect.variables", "prefect", True),
        ("tags[3]", "env.X", "env", "env", True),
    ]
    assert refs[2].raw == "{{ build-image.image | default(variables.img) }}"
    assert refs[2].parts == ("build-image", "image")


def test_find_refs_raises_and_check_tree_collects_malformed_placeholders() -> None:
    tree = {"a": "{{ x", "b": ["{{ ''.__class__ }}"], "c": "{{ ok }}"}
    with pytest.raises(PlaceholderError):
        find_refs(tree)
    problems = check_tree(tree)
    assert [(p.path, p.reason) for p in problems] == [
        ("a", "unclosed placeholder"),
        ("b[0]", "unsafe expression refused"),
    ]


def test_is_placeholder() -> None:
    assert is_placeholder("{{ a.b }}")
    assert not is_placeholder("x {{ a.b }}")
    assert not is_placeholder("{{ a }}{{ b }}")
    assert not is_placeholder("{{ a")


def test_join_path() -> None:
    assert join_path("", "a") == "a"
    assert join_path("a", "b-c") == "a.b-c"
    assert join_path("a", 0) == "a[0]"
    assert join_path("labels", "prefect.io/x") == 'labels["prefect.io/x"]'


def test_secret_values_are_every_string_of_the_blocks() -> None:
    assert {"s3cret-pw", "hunter22", "k-123"} <= run_ctx().secret_values()


def test_importing_templating_does_not_import_jinja2() -> None:
    code = "import sys, deploytool.templating; assert 'jinja2' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("template", "reason", "hint"),
    [
        (
            "{{ prefect.blocks.secret }}",
            "a block reference needs a type and a name",
            "write {{ prefect.blocks.TYPE.NAME }}",
        ),
        ("{{ prefect.blocks.secrett.db-pw }}", "unknown block type 'secrett'", "did you mean 'secret'?"),
        ("{{ prefect.blocks.aws.db-pw }}", "unknown block type 'aws'", "no block of that type exists"),
        ("{{ prefect.blocks.secret.db-pww }}", "no block 'db-pww' of type 'secret'", "did you mean 'db-pw'?"),
        (
            "{{ prefect.blocks.secret.zzz }}",
            "no block 'zzz' of type 'secret'",
            "blocks of type secret: db-pw, dict-secret",
        ),
    ],
)
def test_a_block_reference_that_does_not_resolve_says_exactly_what_exists(
    template: str, reason: str, hint: str
) -> None:
    with pytest.raises(PlaceholderError) as info:
        render({"image": template})
    assert (info.value.reason, info.value.hint) == (reason, hint)


def test_a_placeholder_inside_text_writes_lists_and_mappings_as_json_and_the_rest_as_text() -> None:
    when = datetime(2030, 1, 2, 3, 4, 5)
    got = render(
        "a={{ variables.cfg }} b={{ variables.n }} c={{ variables.when }} d={{ variables.nested }}",
        variables={**VALUES["variables"], "when": when, "nested": {"at": when, "list": [1, "x"]}},
    )
    assert got == (
        'a={"a": [1, 2], "b": "x"} b=42 c=2030-01-02 03:04:05 d={"at": "2030-01-02 03:04:05", "list": [1, "x"]}'
    )
