"""What users read about job variables: each issue's key path, message, layer and hint, in full.

Written against the mutants that survived `scripts/mutation.sh jobvars` (docs/quality.md): the other tests
checked that an issue was reported, not what it said or where it pointed.
"""

from __future__ import annotations

from typing import Any

import pytest

from deploytool.jobvars import (
    DEPLOYMENT,
    POOL_DEFAULT,
    RUN,
    JobVariableIssue,
    explain,
    merge_layers,
    render_job_configuration,
    validate_base_job_template,
    validate_job_variables,
    variable_defaults,
)
from deploytool.templating import PlaceholderError, TemplateContext


def _template(job_configuration: Any, **properties: Any) -> dict[str, Any]:
    return {"job_configuration": job_configuration, "variables": {"type": "object", "properties": properties}}


def _issues(template: Any) -> list[tuple[str, str, str | None, str | None]]:
    return [(i.path, i.message, i.layer, i.hint) for i in validate_base_job_template(template)]


@pytest.mark.parametrize(
    ("issue", "text"),
    [
        (JobVariableIssue("env.A", "bad value", RUN, "use a string"), "env.A: bad value (set by run) (use a string)"),
        (JobVariableIssue("env.A", "bad value"), "env.A: bad value"),
        (JobVariableIssue("", "bad value", DEPLOYMENT), "bad value (set by deployment)"),
        (JobVariableIssue("", "bad value", hint="fix it"), "bad value (fix it)"),
    ],
)
def test_an_issue_reads_path_message_layer_hint(issue: JobVariableIssue, text: str) -> None:
    assert issue.format() == text


def test_a_template_that_is_not_a_mapping() -> None:
    assert _issues([1]) == [("", "a base job template must be a mapping", None, None)]


def test_a_template_without_job_configuration_and_with_variables_of_another_type() -> None:
    assert _issues({"variables": {"type": "array"}}) == [
        ("job_configuration", "missing, or not a mapping", None, None),
        ("variables", "must be a JSON schema of type object", None, None),
    ]


def test_variables_without_a_type_are_an_object_schema() -> None:
    assert _issues({"job_configuration": {}, "variables": {"properties": {"n": {"type": "integer"}}}}) == []


def test_an_invalid_variables_schema_is_named() -> None:
    (issue,) = _issues(_template({}, n={"type": "nonsense"}))
    assert issue[0] == "variables" and issue[1].startswith("invalid JSON schema: 'nonsense' is not valid")


def test_a_malformed_placeholder_names_its_key_the_reason_and_the_fix() -> None:
    assert _issues(_template({"image": "{{ image"}, image={"type": "string"})) == [
        (
            "job_configuration.image",
            "unclosed placeholder in '{{ image'",
            None,
            "close it with '}}', or write a literal '{{' as {{ '{{' }}",
        )
    ]


def test_a_placeholder_naming_no_variable_suggests_the_nearest() -> None:
    assert _issues(_template({"image": "{{ imagee }}"}, image={"type": "string"})) == [
        ("job_configuration.image", "{{ imagee }} names no variable of the template", None, "did you mean 'image'?")
    ]


def test_a_default_that_does_not_fit_its_schema_points_at_the_default() -> None:
    assert _issues(_template({"n": "{{ n }}"}, n={"type": "integer", "default": "x"})) == [
        ("variables.properties.n", "'x' is not of type 'integer'", None, None)
    ]


def test_a_valueless_variable_inside_text_says_where_and_what_to_do() -> None:
    template = _template({"command": "run {{ cmd }}"}, cmd={"type": "string"})
    with pytest.raises(PlaceholderError) as caught:
        render_job_configuration(template, {})
    assert caught.value.path == "job_configuration.command"
    assert caught.value.placeholder == "{{ cmd }}"
    assert caught.value.hint == "give it a default in the pool's base job template, or set it in job_variables"


def test_a_value_that_does_not_resolve_names_the_configuration_key() -> None:
    template = _template({"command": "{{ cmd }}"}, cmd={"type": "string"})
    with pytest.raises(PlaceholderError, match=r"^job_configuration\.command: environment variable NOPE_X is not set"):
        render_job_configuration(template, {"cmd": "{{ $NOPE_X }}"})


def test_env_over_a_literal_env_is_rendered_with_the_context_and_errors_name_env() -> None:
    template = _template({"env": {"A": "1"}}, env={"type": "object"})
    context = TemplateContext(env={"HOME_X": "/h"})
    assert render_job_configuration(template, {"env": {"B": "{{ $HOME_X }}"}}, context) == {
        "env": {"A": "1", "B": "/h"}
    }
    with pytest.raises(PlaceholderError, match=r"^env\.B: environment variable NOPE_X is not set"):
        render_job_configuration(template, {"env": {"B": "{{ $NOPE_X }}"}}, context)


def test_placeholders_of_later_phases_stay_for_the_second_pass() -> None:
    template = _template({"command": "{{ cmd }}", "name": "{{ flow_run.name }}"}, cmd={"type": "string"})
    context = TemplateContext(runtime={"flow_run": {"name": "r-1"}})
    assert render_job_configuration(template, {"cmd": "go"}, context) == {"command": "go", "name": "r-1"}


def test_explain_renders_with_the_context_and_names_sources() -> None:
    template = _template(
        {"command": "{{ cmd }}", "env": {"A": "1"}, "labels": {"team": "{{ team }}"}},
        cmd={"type": "string"},
        team={"type": "string", "default": "data"},
        env={"type": "object"},
    )
    layers = [(POOL_DEFAULT, variable_defaults(template)), (DEPLOYMENT, {"cmd": "{{ $CMD_X }}"}), (RUN, None)]
    rows = explain(template, layers, TemplateContext(env={"CMD_X": "run it"}))
    assert [(r.path, r.value, r.source) for r in rows] == [
        ("command", "run it", DEPLOYMENT),
        ("env.A", "1", "template literal"),
        ("labels.team", "data", "template"),
    ]


def test_defaults_are_copies_a_merge_cannot_change() -> None:
    template = _template({}, env={"type": "object", "default": {"A": {"B": "1"}}})
    defaults = variable_defaults(template)
    defaults["env"]["A"]["B"] = "changed"
    assert variable_defaults(template) == {"env": {"A": {"B": "1"}}}


def test_merge_paths_start_at_the_top() -> None:
    _, provenance = merge_layers([(RUN, {"env": {"A": "1"}})])
    assert provenance == {"env": RUN, "env.A": RUN}


def _int_template(**more: Any) -> dict[str, Any]:
    return _template({}, n={"type": "integer"}, **more)


def test_a_long_schema_message_is_cut_to_200_characters() -> None:
    prefix, suffix = "'", "' is not of type 'integer'"
    for length, cut in ((200, False), (201, True), (400, True)):
        value = "x" * (length - len(prefix) - len(suffix))
        (issue,) = validate_job_variables({"n": value}, _int_template())
        if cut:
            assert len(issue.message) == 200 and issue.message == (prefix + value + suffix)[:197] + "..."
        else:
            assert issue.message == prefix + value + suffix


def test_an_unknown_variable_lists_the_known_ones_when_none_is_close() -> None:
    (issue,) = validate_job_variables({"zzz": 1}, _int_template(m={"type": "string"}))
    assert (issue.path, issue.message, issue.hint) == ("zzz", "unknown job variable", "known variables: n, m")
    (issue,) = validate_job_variables({"zzz": 1}, _template({}))
    assert issue.hint == "known variables: none"


def test_every_value_is_checked_past_a_placeholder_left_for_launch() -> None:
    template = _template({}, a={"type": "integer"}, b={"type": "integer"})
    issues = validate_job_variables({"a": "{{ prefect.blocks.secret.x }}", "b": "nope"}, template)
    assert [(i.path, i.message) for i in issues] == [("b", "'nope' is not of type 'integer'")]


def test_a_missing_required_variable_has_an_empty_path() -> None:
    template = {"job_configuration": {}, "variables": {"type": "object", "required": ["n"], "properties": {"n": {}}}}
    (issue,) = validate_job_variables({}, template, check_required=True)
    assert issue.path == "" and issue.message == "'n' is a required property"


def test_any_of_reports_the_best_matching_branch() -> None:
    template = _template({}, n={"anyOf": [{"type": "integer"}, {"type": "null"}]})
    (issue,) = validate_job_variables({"n": "x"}, template)
    assert issue.message == "'x' is not of type 'integer'"


@pytest.mark.parametrize(
    ("path", "provenance", "layer"),
    [
        ("cfg.a.b", {"cfg": DEPLOYMENT, "cfg.a": RUN}, RUN),  # the nearest parent, not the first one
        ("vols[0][1]", {"vols": DEPLOYMENT, "vols[0]": RUN}, RUN),
        ("e.A", {"e": RUN}, RUN),  # a one-letter parent
    ],
)
def test_an_issue_names_the_layer_of_its_nearest_parent(path: str, provenance: dict[str, str], layer: str) -> None:
    top = path.split(".")[0].split("[")[0]
    schemas = {
        "cfg": {"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "integer"}}}}},
        "vols": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
        "e": {"type": "object", "properties": {"A": {"type": "string"}}},
    }
    values = {"cfg": {"a": {"b": "x"}}, "vols": [["a", 1]], "e": {"A": 1}}
    (issue,) = validate_job_variables({top: values[top]}, _template({}, **{top: schemas[top]}), provenance)
    assert issue.path == path and issue.layer == layer


def test_a_template_whose_variables_are_not_a_mapping_has_no_defaults() -> None:
    assert variable_defaults({"variables": ["x"]}) == {}


def test_merged_values_share_nothing_with_the_layers() -> None:
    layer: dict[str, Any] = {"volumes": [["a"]]}
    merged, _ = merge_layers([(RUN, layer)])
    merged["volumes"][0].append("b")
    assert layer == {"volumes": [["a"]]}


def test_removing_a_key_that_is_not_there_is_fine_and_a_merged_mapping_names_the_last_layer() -> None:
    merged, provenance = merge_layers([(DEPLOYMENT, {"env": {"A": "1"}}), (RUN, {"gone": None, "env": {"B": "2"}})])
    assert merged == {"env": {"A": "1", "B": "2"}}
    assert provenance == {"env": RUN, "env.A": DEPLOYMENT, "env.B": RUN}


def test_a_key_without_a_parent_has_no_layer_even_if_a_prefix_of_it_has_one() -> None:
    (issue,) = validate_job_variables({"nn": 1}, _int_template(), {"n": RUN})
    assert issue.path == "nn" and issue.layer is None


def test_a_placeholder_naming_nothing_when_the_template_has_no_variables() -> None:
    assert _issues(_template({"x": "{{ y }}"})) == [
        ("job_configuration.x", "{{ y }} names no variable of the template", None, "variables: none")
    ]


def test_only_an_enum_error_suggests_a_value() -> None:
    template = _template({}, n={"type": "integer"}, mode={"enum": ["fast", "slow"]})
    issues = validate_job_variables({"n": "t", "mode": "fats"}, template)
    assert [(i.path, i.hint) for i in issues] == [("mode", "did you mean 'fast'?"), ("n", None)]


def test_a_name_that_is_neither_a_variable_nor_a_namespace_fails_the_first_pass_at_its_key() -> None:
    with pytest.raises(PlaceholderError, match=r"^job_configuration\.command: "):
        render_job_configuration(_template({"command": "{{ nope }}"}, n={"type": "integer"}), {})


def test_explain_tells_literal_values_from_templated_ones_of_every_shape() -> None:
    template = _template(
        {"count": 3, "args": ["a", "{{ cmd }}"], "plain": ["a"], "sub": "{{ cfg.a }}"},
        cmd={"type": "string"},
        cfg={"type": "object"},
    )
    layers = [(DEPLOYMENT, {"cmd": "go", "cfg": {"a": "x"}})]
    rows = {r.path: r.source for r in explain(template, layers)}
    assert rows == {"count": "template literal", "args": "template", "plain": "template literal", "sub": "template"}


def test_keys_that_are_not_plain_names_are_quoted_in_paths_and_forgotten_when_replaced() -> None:
    _, provenance = merge_layers([(RUN, {"a.b": 1})])
    assert provenance == {'["a.b"]': RUN}
    _, provenance = merge_layers([(DEPLOYMENT, {"labels": {"prefect.io/x": "1"}}), (RUN, {"labels": "flat"})])
    assert provenance == {"labels": RUN}
