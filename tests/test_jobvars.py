"""Job variables: layering with provenance, validation, job configuration rendering, explain."""

from __future__ import annotations

from typing import Any

import pytest

from deploytool.jobvars import (
    DEPLOYMENT,
    POOL_DEFAULT,
    RUN,
    TEMPLATE_LITERAL,
    UNSET,
    default_base_job_template,
    explain,
    job_variable_layers,
    merge_layers,
    render_job_configuration,
    validate_base_job_template,
    validate_job_variables,
)
from deploytool.templating import Phase, PlaceholderError, TemplateContext


def test_mappings_merge_recursively_lists_and_scalars_replace_none_removes() -> None:
    merged, prov = merge_layers(
        [
            ("pool", {"env": {"A": "1", "B": "1"}, "labels": {"team": "x"}, "volumes": ["a:/a"], "n": 1}),
            ("deployment", {"env": {"B": "2", "C": "2"}, "volumes": ["b:/b"], "ckw": {"x": {"y": 1}}}),
            ("run", {"env": {"C": None, "D": "3"}, "n": None, "ckw": {"x": {"z": 2}}, "labels": None}),
        ]
    )
    assert merged == {
        "env": {"A": "1", "B": "2", "D": "3"},
        "volumes": ["b:/b"],
        "ckw": {"x": {"y": 1, "z": 2}},
    }
    assert prov["env.A"] == "pool"
    assert prov["env.B"] == "deployment"
    assert prov["env.D"] == "run"
    assert prov["volumes"] == "deployment"
    assert prov["ckw.x.y"] == "deployment"
    assert prov["ckw.x.z"] == "run"
    assert "env.C" not in prov
    assert "n" not in prov
    assert not any(k.startswith("labels") for k in prov)


def test_merge_does_not_mutate_the_layers() -> None:
    pool: dict[str, Any] = {"env": {"A": "1"}}
    merge_layers([("pool", pool), ("run", {"env": {"B": "2"}})])
    assert pool == {"env": {"A": "1"}}


def test_none_inside_a_new_mapping_is_dropped() -> None:
    merged, _ = merge_layers([("run", {"env": {"A": None, "B": "x"}})])
    assert merged == {"env": {"B": "x"}}


def test_keys_that_are_not_names_get_bracketed_paths() -> None:
    _, prov = merge_layers([("deployment", {"labels": {"prefect.io/x": "1"}})])
    assert prov['labels["prefect.io/x"]'] == "deployment"


DOCKER = default_base_job_template("docker")


def test_validation_names_the_variable_and_the_layer() -> None:
    merged, prov = merge_layers(
        job_variable_layers(
            DOCKER,
            {"image_pull_policy": "IfNotPresnt", "imag": "x", "volumes": "a:/a"},
            {"auto_remove": "yes", "env": {"A": 1}},
        )
    )
    issues = {i.path: i for i in validate_job_variables(merged, DOCKER, prov)}
    assert set(issues) == {"imag", "image_pull_policy", "volumes", "auto_remove", "env.A"}
    assert issues["imag"].message == "unknown job variable"
    assert issues["imag"].hint == "did you mean 'image'?"
    assert issues["imag"].layer == DEPLOYMENT
    assert issues["image_pull_policy"].hint == "did you mean 'IfNotPresent'?"
    assert issues["auto_remove"].layer == RUN
    assert issues["auto_remove"].format() == "auto_remove: 'yes' is not of type 'boolean' (set by run)"
    assert issues["env.A"].layer == RUN


def test_placeholders_are_checked_when_resolved_not_before() -> None:
    values = {"registry_credentials": "{{ prefect.blocks.docker-registry-credentials.reg }}", "auto_remove": "{{ x }}"}
    assert validate_job_variables(values, DOCKER) == []


def test_required_is_checked_only_when_asked() -> None:
    template = {
        "job_configuration": {"a": "{{ a }}"},
        "variables": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
    }
    assert validate_job_variables({}, template) == []
    [issue] = validate_job_variables({}, template, check_required=True)
    assert "'a' is a required property" in issue.message


def test_base_job_template_problems() -> None:
    assert validate_base_job_template([]) != []
    assert [i.path for i in validate_base_job_template({"variables": {"type": "object"}})] == ["job_configuration"]
    bad = {
        "job_configuration": {"image": "{{ imag }}", "name": "{{ ctx.flow_run.name }}", "x": "{{ $HOME }}"},
        "variables": {
            "type": "object",
            "properties": {"image": {"type": "string", "default": 3}, "n": {"type": "integer", "default": 1}},
        },
    }
    issues = validate_base_job_template(bad)
    assert [(i.path, i.hint) for i in issues] == [
        ("job_configuration.image", "did you mean 'image'?"),
        ("job_configuration.x", "variables: image, n"),
        ("variables.properties.image", None),
    ]
    broken = {"job_configuration": {}, "variables": {"type": "object", "properties": {"a": {"type": "nope"}}}}
    assert "invalid JSON schema" in validate_base_job_template(broken)[0].message


def test_render_keeps_types_and_gives_none_for_variables_without_value() -> None:
    merged, _ = merge_layers(job_variable_layers(DOCKER, {"image": "img:1", "volumes": ["a:/a"]}))
    config = render_job_configuration(DOCKER, merged)
    assert config["image"] == "img:1"
    assert config["volumes"] == ["a:/a"]
    assert config["auto_remove"] is True  # the default: removed once read
    assert config["command"] is None
    assert config["image_pull_policy"] == "IfNotPresent"


def test_render_resolves_secrets_and_run_values_held_in_variables() -> None:
    values = {"env": {"PW": "{{ prefect.blocks.secret.pw }}", "X": None}, "name": "run-{{ ctx.flow_run.name }}"}
    ctx = TemplateContext(blocks={("secret", "pw"): {"value": "s3"}}, runtime={"flow_run": {"name": "fox"}})
    config = render_job_configuration(DOCKER, values, ctx)
    assert config["env"] == {"PW": "s3"}
    assert config["name"] == "run-fox"


def test_render_at_deploy_time_keeps_secrets_for_the_worker() -> None:
    values = {"env": {"PW": "{{ prefect.blocks.secret.pw }}"}, "image": "{{ $TAG }}"}
    config = render_job_configuration(DOCKER, values, TemplateContext.for_phase(Phase.DEPLOY, env={"TAG": "i:2"}))
    assert config["env"] == {"PW": "{{ prefect.blocks.secret.pw }}"}
    assert config["image"] == "i:2"


def test_a_literal_env_in_the_template_sits_under_the_env_variable() -> None:
    template = {
        "job_configuration": {"env": {"LIT": "1", "OVER": "lit"}, "cmd": "run {{ image }}"},
        "variables": {"type": "object", "properties": {"env": {"type": "object"}, "image": {"type": "string"}}},
    }
    config = render_job_configuration(template, {"env": {"OVER": "var"}, "image": "i"})
    assert config == {"env": {"LIT": "1", "OVER": "var"}, "cmd": "run i"}


def test_a_variable_without_value_inside_text_is_an_error() -> None:
    template = {
        "job_configuration": {"cmd": "run {{ image }}"},
        "variables": {"type": "object", "properties": {"image": {}}},
    }
    with pytest.raises(PlaceholderError, match=r"job_configuration.cmd: job variable 'image' has no value"):
        render_job_configuration(template, {})


def test_explain_says_where_each_value_came_from() -> None:
    layers = job_variable_layers(DOCKER, {"image": "img:1", "env": {"A": "1", "B": "1"}}, {"env": {"B": "2"}})
    rows = {r.path: (r.value, r.source) for r in explain(DOCKER, layers)}
    assert rows["image"] == ("img:1", DEPLOYMENT)
    assert rows["env.A"] == ("1", DEPLOYMENT)
    assert rows["env.B"] == ("2", RUN)
    assert rows["image_pull_policy"] == ("IfNotPresent", POOL_DEFAULT)
    assert rows["command"] == (None, UNSET)


def test_explain_marks_template_literals() -> None:
    template = {
        "job_configuration": {"env": {"LIT": "1"}, "fixed": "x", "cmd": "run {{ image }}"},
        "variables": {"type": "object", "properties": {"env": {"type": "object"}, "image": {"default": "i"}}},
    }
    rows = {r.path: r.source for r in explain(template, job_variable_layers(template, {"env": {"V": "2"}}))}
    assert rows == {"env.LIT": TEMPLATE_LITERAL, "env.V": DEPLOYMENT, "fixed": TEMPLATE_LITERAL, "cmd": "template"}
