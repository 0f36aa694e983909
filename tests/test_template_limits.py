"""Templates cannot exhaust memory: every operation that could build a huge value is refused before it runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploytool.models import TERMINAL, RunState
from deploytool.store import Store
from deploytool.templating import Phase, PlaceholderError, TemplateContext, render_tree
from tests.config.memlimit import run_limited
from tests.worker.helpers import make_deployment, make_pool, queue_run, state_of, tick_until, worker, write_flow

pytestmark = pytest.mark.usefixtures("compiled_afresh")  # tests/templating_support.py

CTX = TemplateContext.for_phase(
    Phase.RUN, runtime={"flow_run": {"name": "brave-fox"}}, variables={"text": "a\nb\nc", "items": ["x", "y"]}
)

HUGE = [
    "{{ flow_run.name ~ 'a'.center(700000000) }}",
    "{{ 'a'.ljust(999999999) }}",
    "{{ 'a'.rjust(999999999) }}",
    "{{ '1'.zfill(999999999) }}",
    "{{ 'a\tb'.expandtabs(999999999) }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '{0:{1}}'.format(1, 999999999) }}",
    "{{ '{x:>999999999}'.format_map({'x': 1}) }}",
    "{{ '%999999999d' % 1 }}",
    "{{ '%999999999d' | format(1) }}",
    "{{ variables.text | indent(999999999, true) }}",
    "{{ 'a' | center(999999999) }}",
    "{{ ('a' * 1000).replace('a', 'aaaaaaaaaa').replace('a', 'aaaaaaaaaa').replace('a', 'aaaaaaaaaa') }}",
    "{{ ('a' * 1000) | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') }}",
    "{{ 'a' * 10**9 }}",
    "{{ ['a'] * 10**9 }}",
    "{{ ['a' * 99999] * 100 }}",
    "{{ ('x' * 1000).join(['b'] * 100000) }}",
    "{{ (['a' * 99999, 'b' * 99999] * 5) | join(',') }}",
    "{{ (['a'] * 166666) | join((10 ** 100) ** 40) }}",  # a separator that is a number of 4,001 digits
    "{{ ('a' * 99999) ~ ('a' * 99999) ~ ('a' * 99999) ~ ('a' * 99999) ~ ('a' * 99999) ~ ('a' * 99999) "
    "~ ('a' * 99999) ~ ('a' * 99999) ~ ('a' * 99999) ~ ('a' * 99999) ~ ('a' * 99999) }}",
    "{{ ('a' * 600000) + ('a' * 600000) }}",
    "{{ [1] | batch(999999999, 'x') | list }}",
    "{{ [1] | slice(999999999) | list }}",
    "{{ [[[1]]] | tojson(999999999) }}",
    "{{ ('abc' * 10) | wordwrap(2, wrapstring='x' * 99999) }}",
    "{{ ('abc' * 1000) | wordwrap(1, true, 'x' * 999990) }}",
    "{{ ['a' * 99999] | map('center', 99999999) | list }}",
    "{{ ('<' * 300000) | e }}",
    "{{ ('<' * 300000) | escape }}",
    "{{ ('<' * 300000) | forceescape }}",
    "{{ 2 ** 100000 }}",
    "{{ ((10 ** 100) ** 100) ** 100 }}",
]
# Refused by the size of their result, once built (each step under the limit until the last one): the others
# are refused by the estimate, before anything is built ("would build").
REFUSED_AFTER = ("replace(", "**")


_RENDER_IN_CHILD = """
import json, sys
from deploytool.templating import Phase, PlaceholderError, TemplateContext, render_tree
ctx = TemplateContext.for_phase(Phase.RUN, runtime={"flow_run": {"name": "brave-fox"}}, variables={"text": "a\\nb"})
try:
    render_tree({"job": {"env": {"A": sys.argv[1]}}}, ctx)
except PlaceholderError as exc:
    print(json.dumps({"path": exc.path, "placeholder": exc.placeholder, "message": str(exc)}))
"""


@pytest.mark.parametrize("template", HUGE)
def test_a_placeholder_that_would_build_a_huge_value_is_refused_before_it_does(template: str) -> None:
    # in a child process with a memory limit: a regression fails here instead of exhausting the machine
    done = run_limited(_RENDER_IN_CHILD, [template])
    assert done.returncode == 0, done.stderr[-2000:]
    refused = json.loads(done.stdout)
    assert refused["path"] == "job.env.A"
    assert refused["placeholder"] == template
    assert "too large" in refused["message"] and "docs/templating.md#limits" in refused["message"]
    if not any(mark in template for mark in REFUSED_AFTER):
        assert "would build a value over 1,000,000 characters" in refused["message"]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'a'.center(5) }}", "  a  "),
        ("{{ '{:>4}'.format(7) }}", "   7"),
        ("{{ '%03d' % 7 }}", "007"),
        ("{{ '%03d' | format(7) }}", "007"),
        ("{{ variables.text | indent(2, true) }}", "  a\n  b\n  c"),
        ("{{ variables.items | join(',') }}", "x,y"),
        ("{{ 'a-b'.replace('-', '_') }}", "a_b"),
        ("{{ flow_run.name ~ '-' ~ 'x' * 3 }}", "brave-fox-xxx"),
        ("{{ ('a' * 100000) | length }}", 100000),
        ("{{ variables.items | tojson }}", '["x", "y"]'),
        ("{{ 2 ** 64 }}", 2**64),
    ],
)
def test_ordinary_padding_formatting_and_joining_still_work(template: str, expected: object) -> None:
    assert render_tree(template, CTX) == expected


def test_all_the_placeholders_of_one_render_share_a_budget() -> None:
    # each placeholder is under the per-value limit, together they are over the per-render one
    tree = {f"k{i}": "{{ 'a' * 900000 }}" for i in range(20)}
    with pytest.raises(PlaceholderError, match="in all"):
        render_tree(tree, CTX)


def test_a_huge_template_in_a_job_variable_fails_that_run_with_the_placeholder_and_its_path(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    template = "{{ flow_run.name ~ 'a'.center(700000000) }}"
    with Store.open(tmp_path / "store" / "deploytool.db") as store:
        make_pool(store)
        deployment = make_deployment(
            store, project, write_flow(project, "print('never')"), job_variables={"env": {"TAG": template}}
        )
        run = queue_run(store, deployment)
        w = worker(store)
        w.register()
        tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
        done = store.runs.get(run.id)
        w.close()
    assert done.state is RunState.FAILED
    message = done.state_message or ""
    assert "too large" in message and "'.center()'" in message
    assert "env.TAG" in message and template in message
