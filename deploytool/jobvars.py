"""Job variables: layer them, check them against a pool's base job template, render the job configuration.

A base job template has Prefect's shape: `job_configuration` (what the worker's runner receives, with
`{{ variable }}` placeholders) and `variables` (a JSON schema whose property defaults are the pool's defaults).
Values are layered pool defaults < deployment job_variables < run job_variables; docs/job-variables.md has the
rules. jsonschema is imported only inside the functions that validate.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence

from deploytool import pooltypes
from deploytool.errors import did_you_mean
from deploytool.records import record, replace
from deploytool.templating import (
    NAMESPACES,
    PlaceholderError,
    TemplateContext,
    find_refs,
    has_placeholders,
    is_placeholder,
    join_path,
    render_tree,
)
from deploytool.typeforms import Any

POOL_DEFAULT, DEPLOYMENT, RUN = "pool default", "deployment", "run"
TEMPLATE_LITERAL, UNSET = "template literal", "unset"
# Namespaces a job_configuration may use besides its variables: all are resolved by the worker at launch.
_RUN_TIME_OK = frozenset({"flow_run", "deployment", "ctx", "prefect.blocks", "prefect.variables", "variables"})

Layers = Sequence[tuple[str, Mapping[str, Any] | None]]


@record
class JobVariableIssue:
    """One problem with job variables or a base job template: where (key path), what, and from which layer."""

    path: str
    message: str
    layer: str | None = None
    hint: str | None = None

    def format(self) -> str:
        where = f"{self.path}: " if self.path else ""
        layer = f" (set by {self.layer})" if self.layer else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.message}{layer}{hint}"


@record
class ValueSource:
    """One leaf of a final job configuration and where its value came from (a layer name, TEMPLATE_LITERAL,
    "template" for text built from several values, or UNSET)."""

    path: str
    value: Any
    source: str


def default_base_job_template(pool_type: str) -> dict[str, Any]:
    """The default base job template of a work pool type (its entry in deploytool.pooltypes says where it is)."""
    return pooltypes.pool_type(pool_type).load_base_job_template()


def variable_defaults(base_job_template: Mapping[str, Any]) -> dict[str, Any]:
    """`{name: default}` for each variable whose schema has a non-null default (null means "no value")."""
    props = _properties(base_job_template)
    return {
        k: copy.deepcopy(p["default"])
        for k, p in props.items()
        if isinstance(p, Mapping) and p.get("default") is not None
    }


def job_variable_layers(
    base_job_template: Mapping[str, Any],
    deployment: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
) -> list[tuple[str, Mapping[str, Any] | None]]:
    """The standard layers, lowest first: pool defaults, the deployment's job_variables, the run's."""
    return [(POOL_DEFAULT, variable_defaults(base_job_template)), (DEPLOYMENT, deployment), (RUN, run)]


def merge_layers(layers: Layers) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge layers, later over earlier: mappings merge key by key (recursively), lists and scalars replace,
    None removes the key. Returns the merged values and, for every key path set, the layer that set it."""
    merged: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for name, layer in layers:
        if layer:
            _merge_into(merged, layer, "", name, provenance)
    return merged, provenance


def _merge_into(target: dict[str, Any], layer: Mapping[str, Any], path: str, name: str, prov: dict[str, str]) -> None:
    for key, value in layer.items():
        sub = join_path(path, key)
        if value is None:
            target.pop(key, None)
            _forget(prov, sub)
        elif isinstance(value, Mapping) and isinstance(target.get(key), Mapping):
            _merge_into(target[key], value, sub, name, prov)
            prov[sub] = name
        else:
            _forget(prov, sub)
            target[key] = _plain_copy(value)
            for leaf, _ in _leaves(target[key], sub):
                prov[leaf] = name
            prov[sub] = name


def _plain_copy(value: Any) -> Any:
    # Mappings become dicts (so a later layer can merge into them), with None-valued keys dropped.
    if isinstance(value, Mapping):
        return {k: _plain_copy(v) for k, v in value.items() if v is not None}
    return copy.deepcopy(value)


def _forget(prov: dict[str, str], path: str) -> None:
    for key in [k for k in prov if k == path or k.startswith((path + ".", path + "["))]:
        del prov[key]


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for k, v in value.items():
            yield from _leaves(v, join_path(path, k))
    else:
        yield path, value


def validate_job_variables(
    values: Mapping[str, Any],
    base_job_template: Mapping[str, Any],
    layer_of: Mapping[str, str] | None = None,
    *,
    check_required: bool = False,
) -> list[JobVariableIssue]:
    """Check job variables against the template's `variables` schema (Draft 2020-12 unless it declares
    another). Unknown variables are errors (Prefect ignores them silently). A value that is still a whole
    placeholder (a secret or run-time value, resolved at launch) is checked then, not now. `layer_of` is the
    provenance from merge_layers; `check_required` is for run creation, when every layer is known."""
    props = _properties(base_job_template)
    issues: list[JobVariableIssue] = []
    for key in values:
        if key not in props:
            hint = did_you_mean(str(key), props) or f"known variables: {', '.join(props) or 'none'}"
            issues.append(JobVariableIssue(str(key), "unknown job variable", _layer(layer_of, str(key)), hint))
    schema = dict(base_job_template.get("variables") or {})
    if not check_required:
        schema.pop("required", None)
    known = {k: v for k, v in values.items() if k in props}
    if _fits(schema, known):
        return issues
    from jsonschema.exceptions import best_match  # type: ignore[import-untyped, unused-ignore]

    for err in sorted(_validator(schema).iter_errors(known), key=lambda e: list(map(str, e.absolute_path))):
        if isinstance(err.instance, str) and is_placeholder(err.instance):
            continue
        path: str = ""
        for part in err.absolute_path:
            path = join_path(path, part)
        message = (best_match(err.context) if err.context else err).message
        enum_hint: str | None = None
        if err.validator == "enum" and isinstance(err.instance, str):
            enum_hint = did_you_mean(err.instance, err.validator_value)
        issues.append(JobVariableIssue(path, _short(message), _layer(layer_of, path), enum_hint))
    return issues


def validate_base_job_template(template: Any) -> list[JobVariableIssue]:
    """Problems with a base job template: its shape, its variables schema, placeholders in job_configuration
    that name no variable, and defaults that do not fit their own schema."""
    if not isinstance(template, Mapping):
        return [JobVariableIssue("", "a base job template must be a mapping")]
    issues: list[JobVariableIssue] = []
    jc, variables = template.get("job_configuration"), template.get("variables")
    if not isinstance(jc, Mapping):
        issues.append(JobVariableIssue("job_configuration", "missing, or not a mapping"))
    if not isinstance(variables, Mapping) or variables.get("type", "object") != "object":
        issues.append(JobVariableIssue("variables", "must be a JSON schema of type object"))
        return issues
    from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped, unused-ignore]

    try:
        _validator(variables).check_schema(variables)
    except SchemaError as exc:
        return [*issues, JobVariableIssue("variables", f"invalid JSON schema: {_short(exc.message)}")]
    props = _properties(template)
    if isinstance(jc, Mapping):
        try:
            refs = find_refs(jc, "job_configuration")
        except PlaceholderError as exc:
            return [*issues, JobVariableIssue(exc.path, f"{exc.reason} in {exc.placeholder}", hint=exc.hint)]
        for ref in refs:
            if ref.head not in props and ref.namespace not in _RUN_TIME_OK:
                hint = did_you_mean(ref.head, props) or f"variables: {', '.join(props) or 'none'}"
                issues.append(JobVariableIssue(ref.path, f"{ref.raw} names no variable of the template", hint=hint))
    defaults = {k: p["default"] for k, p in props.items() if isinstance(p, Mapping) and "default" in p}
    for issue in validate_job_variables(defaults, template):
        issues.append(replace(issue, path=join_path("variables.properties", issue.path), layer=None))
    return issues


def render_job_configuration(
    base_job_template: Mapping[str, Any],
    variables: Mapping[str, Any],
    context: TemplateContext | None = None,
) -> dict[str, Any]:
    """The job configuration for merged `variables` (Prefect's semantics, docs/job-variables.md).

    Pass 1 puts each variable's value in: a whole `{{ var }}` keeps the value's type, and a variable with no
    value gives None (the runner's default applies). A valueless variable inside text is an error. Pass 2
    renders what the values themselves hold (secrets, run-time values) with `context`. A literal `env`
    mapping in job_configuration sits under the `env` variable; env entries whose value is None are removed.
    """
    substituted = substitute_job_variables(base_job_template, variables)
    return resolve_job_configuration(base_job_template, variables, substituted, context)


def substitute_job_variables(base_job_template: Mapping[str, Any], variables: Mapping[str, Any]) -> dict[str, Any]:
    """Pass 1 of `render_job_configuration`: a function of the template and the variables alone (a worker keeps
    it for the next run of the same deployment: deploytool.worker.jobconfig)."""
    jc = base_job_template.get("job_configuration") or {}
    props = _properties(base_job_template)
    names: dict[str, Any] = dict.fromkeys(props) | dict(variables)
    for ref in find_refs(jc, "job_configuration"):
        if not ref.whole and ref.head in names and names[ref.head] is None:
            raise PlaceholderError(
                ref.path,
                ref.raw,
                f"job variable '{ref.head}' has no value but is used inside text",
                "give it a default in the pool's base job template, or set it in job_variables",
            )
    substitute = TemplateContext(names=names, keep=frozenset(NAMESPACES), escape=False)
    substituted: dict[str, Any] = render_tree(jc, substitute, "job_configuration")
    return substituted


def resolve_job_configuration(
    base_job_template: Mapping[str, Any],
    variables: Mapping[str, Any],
    substituted: Mapping[str, Any],
    context: TemplateContext | None = None,
    *,
    static: bool = False,
) -> dict[str, Any]:
    """Pass 2 of `render_job_configuration`, over pass 1's result (`substituted`, left as it is). `static`: the
    caller knows that neither `substituted` nor `variables["env"]` holds a placeholder (`is_static`), so there
    is nothing to render: the same result, built by copying."""
    jc = base_job_template.get("job_configuration") or {}
    ctx = context or TemplateContext()
    config: dict[str, Any] = copy_tree(substituted) if static else render_tree(substituted, ctx, "job_configuration")
    literal_env, env_var = jc.get("env"), config.get("env")
    if isinstance(literal_env, Mapping) and isinstance(variables.get("env"), Mapping):
        env = copy_tree(variables["env"]) if static else render_tree(variables["env"], ctx, "env")
        env_var = {**(env_var or {}), **env}
    if isinstance(env_var, Mapping):
        config["env"] = {k: v for k, v in env_var.items() if v is not None}
    return config


def is_static(obj: Any) -> bool:
    """True when no string in `obj`, key or value, holds a placeholder: rendering it only copies it."""
    if isinstance(obj, str):
        return not has_placeholders(obj)
    if isinstance(obj, Mapping):
        return all((not isinstance(k, str) or is_static(k)) and is_static(v) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return all(is_static(v) for v in obj)
    return True


def copy_tree(obj: Any) -> Any:
    """What `render_tree` gives for a static tree: new dicts and lists (tuples become lists), the rest as is."""
    if isinstance(obj, Mapping):
        return {k: copy_tree(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [copy_tree(v) for v in obj]
    return obj


def explain(
    base_job_template: Mapping[str, Any],
    layers: Layers,
    context: TemplateContext | None = None,
) -> list[ValueSource]:
    """Each leaf of the final job configuration, its value and where it came from (for `--explain`).
    The values are not redacted: a caller that prints them redacts first (deploytool.redaction)."""
    merged, provenance = merge_layers(layers)
    config = render_job_configuration(base_job_template, merged, context)
    jc = base_job_template.get("job_configuration") or {}
    props = _properties(base_job_template)
    rows: list[ValueSource] = []
    for key, value in config.items():
        template_value = jc.get(key)
        var = _whole_variable(template_value, props)
        for path, leaf in _leaves(value, key):
            if var is not None:
                source = _layer(provenance, var + path[len(key) :]) or UNSET
            elif key == "env" and isinstance(template_value, Mapping):  # a literal env, the variable over it
                source = provenance.get(path) or TEMPLATE_LITERAL
            elif _has_any_placeholder(template_value):
                source = "template"
            else:
                source = TEMPLATE_LITERAL
            rows.append(ValueSource(path, leaf, source))
    return rows


# --- helpers ----------------------------------------------------------------------------------------------


def _properties(template: Mapping[str, Any]) -> dict[str, Any]:
    variables = template.get("variables")
    props = variables.get("properties") if isinstance(variables, Mapping) else None
    return dict(props) if isinstance(props, Mapping) else {}


# The dialect jsonschema reads a schema without `$schema` as (below); the only one schema_lite evaluates.
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def _fits(schema: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether `values` surely fit `schema`, answered without jsonschema (whose import is most of a `deploytool
    run`'s CPU): True when config/schema_lite can evaluate every keyword of the schema and finds nothing wrong.
    Otherwise (a problem to word, a keyword or dialect schema_lite does not evaluate) jsonschema decides, as
    before: schema_lite is held to jsonschema's results (tests/test_jobvars_schema_lite.py)."""
    from deploytool.config.schema_lite import Validator, unsupported_keywords

    if schema.get("$schema", DRAFT_2020_12) != DRAFT_2020_12 or unsupported_keywords(schema):
        return False
    try:
        return next(Validator(schema).iter_errors(values), None) is None
    except Exception:  # a schema schema_lite cannot read (a boolean subschema, a reference it cannot follow...)
        return False


def _validator(schema: Mapping[str, Any]) -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]
    from jsonschema.validators import validator_for  # type: ignore[import-untyped, unused-ignore]

    # Prefect's templates declare no $schema: they are read as Draft 2020-12 (they use $defs).
    return validator_for(schema, default=Draft202012Validator)(schema)


def _layer(provenance: Mapping[str, str] | None, path: str) -> str | None:
    """The layer that set `path`, or the one that set its nearest parent."""
    if not provenance:
        return None
    while path:
        if path in provenance:
            return provenance[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def _whole_variable(template_value: Any, props: Mapping[str, Any]) -> str | None:
    if isinstance(template_value, str) and is_placeholder(template_value):
        refs = find_refs(template_value)
        if len(refs) == 1 and len(refs[0].parts) == 1 and refs[0].head in props:
            return refs[0].head
    return None


def _has_any_placeholder(value: Any) -> bool:
    if isinstance(value, str):
        return has_placeholders(value)
    if isinstance(value, Mapping):
        return any(_has_any_placeholder(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_any_placeholder(v) for v in value)
    return False


def _short(message: str, limit: int = 200) -> str:
    # jsonschema quotes the whole offending value; keep messages readable (and big values out of logs).
    return message if len(message) <= limit else message[: limit - 3] + "..."
