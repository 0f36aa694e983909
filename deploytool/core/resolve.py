"""Turn a validated DeploymentSpec into the Deployment to store: build/push outputs, templates, job variables.

Problems are collected for every selected deployment and raised together, so one deploy reports them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from deploytool.config import DeploymentSpec, Project, StepCall
from deploytool.core.deploy_options import DeployOptions
from deploytool.core.plan import content_hash
from deploytool.core.pools import missing_pool
from deploytool.errors import ConfigError, ConfigIssue, DeploytoolError, NotFoundError, StepError, TemplateError
from deploytool.models import DEFAULT_QUEUE, Deployment, WorkPool
from deploytool.records import replace
from deploytool.store import Store
from deploytool.templating import Phase, PlaceholderError, TemplateContext, render_tree

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

# Pull steps run where the job runs: their environment, variables and secrets are the worker's, resolved
# at launch; only the outputs of build and push steps are baked in at deploy time.
PREFECT_FILENAME = "prefect.yaml"
_PULL_KEEP = frozenset({"env", "variables", "prefect.variables", "prefect.blocks", "flow_run", "deployment", "ctx"})


class Resolver:
    def __init__(
        self,
        project: Project,
        store: Store,
        *,
        env: Mapping[str, str],
        on_output: Callable[[str, str], None] | None = None,
        overrides: DeployOptions | None = None,
    ) -> None:
        self.project = project
        self.overrides = overrides  # what came from the command line: its problems name the option
        self.store = store
        self.env = dict(env)
        self.on_output = on_output
        self.rebuilt_images: list[str] = []  # built again under a tag that named other content before
        self.issues: list[ConfigIssue] = []
        self._pools: dict[str, WorkPool | None] = {}
        self._step_outputs: dict[str, dict[str, dict[str, Any]]] = {}
        self._variables = {v.name: v.value for v in store.variables.list()}
        self._blocks = {(b.type, b.name): b.data for b in store.blocks.list()}

    def raise_if_problems(self) -> None:
        if any(i.severity == "error" for i in self.issues):
            raise ConfigError(self.issues, self.project.file.name)

    @property
    def warnings(self) -> list[ConfigIssue]:
        return [i for i in self.issues if i.severity == "warning"]

    def _problem(
        self, spec: DeploymentSpec, where: str, message: str, hint: str | None = None, *, severity: str = "error"
    ) -> None:
        line, col = _position(self.project, spec, where)
        path = f"deployments[{spec.name}]" + (f".{where}" if where else "")
        self.issues.append(ConfigIssue(self.project.file.name, line, col, path, message, hint, severity))

    def resolve(self, spec: DeploymentSpec) -> Deployment:
        from deploytool.jobvars import merge_layers, validate_job_variables, variable_defaults

        outputs = self._run_build_and_push(spec)
        context = TemplateContext.for_phase(
            Phase.DEPLOY, env=self.env, variables=self._variables, blocks=self._blocks, steps=outputs
        )
        values = {
            "work_pool": spec.work_pool,
            "work_queue": spec.work_queue,
            "parameters": spec.parameters,
            "job_variables": spec.job_variables,
            "tags": spec.tags,
            "description": spec.description,
            "version": spec.version,
            "schedules": spec.schedules,
        }
        try:
            rendered = render_tree(values, context)
        except PlaceholderError as exc:
            self._problem(spec, _field_of(exc.path), f"{exc.reason} in {exc.placeholder}", exc.hint)
            rendered = values
        except TemplateError as exc:
            self._problem(spec, "", exc.message, exc.hint)
            rendered = values
        pull = self._render_pull(spec, outputs)

        pool_name = rendered["work_pool"]
        pool = self._pool(spec, pool_name) if isinstance(pool_name, str) else None
        if pool is not None:
            template = pool.base_job_template
            _, provenance = merge_layers(
                [("pool default", variable_defaults(template)), ("deployment", rendered["job_variables"])]
            )
            for issue in validate_job_variables(rendered["job_variables"], template, provenance):
                hint = issue.hint or f"see `deploytool work-pool inspect {pool.name}` for its variables"
                where = f"work_pool.job_variables.{issue.path}" if issue.path else "work_pool.job_variables"
                ignorable = issue.message == "unknown job variable" and "." not in issue.path
                from_cli = bool(self.overrides and _given(self.overrides.job_variables, issue.path))
                if ignorable and self.project.file.name == PREFECT_FILENAME and not from_cli:
                    # Prefect ignores job variables its pool type does not have: so does a prefect.yaml here
                    strict = bool(self.overrides and self.overrides.strict)
                    message, fix = ignored_job_variable(issue.path, pool.type, hint, issue.hint is None, strict)
                    self._problem(spec, where, message, fix, severity="error" if strict else "warning")
                    if not strict:
                        variables = rendered["job_variables"]
                        rendered["job_variables"] = {k: v for k, v in variables.items() if k != issue.path}
                    continue
                message = f"{issue.message} (pool {pool.name!r}, {pool.type})"
                if "job variable" not in issue.message:
                    message = f"job variable {message}"
                if self.overrides and _given(self.overrides.job_variables, issue.path):
                    where, message = "", f"--job-variable {issue.path}: {message}"
                self._problem(spec, where, message, hint)

        self._check_parameters(spec, rendered["parameters"])
        existing_paused = self._existing_paused(spec)
        deployment = Deployment(
            flow_name=spec.flow_name,
            name=spec.name,
            entrypoint=spec.entrypoint,
            pool_name=pool_name if isinstance(pool_name, str) else "",
            queue_name=rendered["work_queue"] or DEFAULT_QUEUE,
            parameters=dict(rendered["parameters"] or {}),
            parameter_schema=spec.parameter_schema,
            job_variables=dict(rendered["job_variables"] or {}),
            pull_steps=pull,
            schedules=list(rendered["schedules"] or []),
            tags=[str(t) for t in rendered["tags"] or []],
            version=None if rendered["version"] is None else str(rendered["version"]),
            description=rendered["description"],
            concurrency_limit=spec.concurrency_limit,
            catch_up=spec.catch_up,
            crash_retries=spec.crash_retries,
            enforce_parameter_schema=spec.enforce_parameter_schema,
            # A redeploy keeps a paused deployment paused unless the file says otherwise.
            paused=spec.paused if spec.paused is not None else existing_paused,
            source_file=str(self.project.file.resolve()),
        )
        return replace(deployment, content_hash=content_hash(deployment))

    def _render_pull(self, spec: DeploymentSpec, outputs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        if not spec.pull and _uses_auto_image(spec):
            # The auto image holds the project at a fixed place; runs start there (Prefect writes this step
            # into the file instead, with the deploying machine's directory name in it).
            from deploytool.steps.dockerfile import AUTO_PROJECT_DIR

            return [{"name": "set_working_directory", "id": None, "inputs": {"directory": AUTO_PROJECT_DIR}}]

        pull_ids = {c.id for c in spec.pull if c.id}
        context = TemplateContext.for_phase(
            Phase.DEPLOY, keep=_PULL_KEEP | pull_ids, env=self.env, variables=self._variables, steps=outputs
        )
        rendered: list[StepCall] = []
        for call in spec.pull:
            try:
                inputs = render_tree(call.inputs, context)
            except TemplateError as exc:
                self._problem(spec, "pull", exc.message, exc.hint)
                inputs = call.inputs
            rendered.append(StepCall(call.name, call.written_name, inputs, call.id, call.path))
        return stored_pull_steps(rendered)

    def _pool(self, spec: DeploymentSpec, name: str) -> WorkPool | None:
        if name not in self._pools:
            try:
                self._pools[name] = self.store.pools.get(name)
            except NotFoundError:
                self._pools[name] = None
        pool = self._pools[name]
        if pool is None:
            from_cli = self.overrides is not None and self.overrides.pool == name
            self._problem(
                spec,
                "" if from_cli else "work_pool.name",
                f"{'--pool: ' if from_cli else ''}work pool {name!r} does not exist",
                missing_pool(self.store, name, spec.job_variables).hint,
            )
        return pool

    def _existing_paused(self, spec: DeploymentSpec) -> bool:
        try:
            return self.store.deployments.get_by_name(spec.flow_name, spec.name).paused
        except NotFoundError:
            return False

    def _check_parameters(self, spec: DeploymentSpec, parameters: Any) -> None:
        from deploytool.config.paramcheck import check_parameters

        if not spec.parameter_schema or not isinstance(parameters, dict):
            return
        for problem in check_parameters(spec.parameter_schema, parameters):
            if self.overrides and problem.name in self.overrides.params:
                self._problem(spec, "", f"--param {problem.name}: {problem.message}", problem.hint)
            else:
                self._problem(spec, f"parameters.{problem.name}", problem.message, problem.hint)

    def _run_build_and_push(self, spec: DeploymentSpec) -> dict[str, dict[str, Any]]:
        """Run the deployment's build then push steps; an identical list runs once per deploy."""
        calls = spec.build + spec.push
        if not calls:
            return {}
        key = json.dumps([[c.name, c.id, c.inputs] for c in calls], sort_keys=True, default=str)
        if key in self._step_outputs:
            return self._step_outputs[key]
        from deploytool.steps.run import run_steps, templating_render

        if self.overrides is not None and self.overrides.dry_run:
            from deploytool.steps.preview import preview_steps as run_steps  # says what it would do, does nothing
        context = TemplateContext.for_phase(Phase.RUN, env=self.env, variables=self._variables, blocks=self._blocks)
        secrets = context.secret_values()
        base = self.project.base_dir
        render = templating_render(context)
        outputs: dict[str, dict[str, Any]] = {}
        try:
            for phase, phase_calls in (("build", spec.build), ("push", spec.push)):  # push steps see build's outputs
                outputs = run_steps(
                    phase_calls,
                    phase=phase,
                    cwd=base,
                    render=render,
                    on_output=self.on_output,
                    secrets=secrets,
                    outputs=outputs,
                )
        except StepError:
            raise
        except DeploytoolError as exc:
            raise StepError(f"deployment {spec.full_name}: {exc.message}", exc.hint) from exc
        self._step_outputs[key] = {k: dict(v) for k, v in outputs.items()}
        self.rebuilt_images += [str(v["image"]) for v in outputs.values() if v.get("rebuilt") is True]
        return self._step_outputs[key]


def ignored_job_variable(name: str, pool_type: str, hint: str, generic: bool, strict: bool) -> tuple[str, str]:
    """The message and fix for a job variable a prefect.yaml gives that its pool's type does not have: a warning
    (ignored, as Prefect ignores it), or under --strict an error. `generic`: `hint` is not a did-you-mean."""
    fix = f"remove it; {hint}" if generic else f"{hint}; or remove it"
    if strict:
        return f"job variable {name!r} is not a variable of {pool_type} pools (Prefect would ignore it)", fix
    return f"job variable {name!r} is not a variable of {pool_type} pools; ignored (as Prefect does)", fix


def _uses_auto_image(spec: DeploymentSpec) -> bool:
    return any(c.name == "build_docker_image" and c.inputs.get("dockerfile") == "auto" for c in spec.build)


def _given(tree: Mapping[str, Any], path: str) -> bool:
    """Whether the dotted key path `path` (`env.X`) is set in `tree`."""
    node: Any = tree
    for part in path.split(".") if path else []:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return bool(path)


def _field_of(path: str) -> str:
    """Map a rendered key path (`job_variables.env.X`) back to the file's (`work_pool.job_variables.env.X`)."""
    head = path.split(".", 1)[0].split("[", 1)[0]
    if head in ("job_variables",):
        return f"work_pool.{path}"
    if head == "work_pool":
        return "work_pool.name"
    if head == "work_queue":
        return "work_pool.work_queue_name"
    return path


def _position(project: Project, spec: DeploymentSpec, where: str) -> tuple[int, int]:
    positions = project.positions
    if positions is None:
        return 1, 1
    path: list[str | int] = ["deployments", spec.index]
    for part in where.split(".") if where else []:
        path.append(part)
    return positions.locate(tuple(path))


def stored_pull_steps(calls: list[StepCall]) -> list[dict[str, Any]]:
    """Pull steps as stored on a deployment and handed to the engine: canonical name, id, inputs."""
    return [{"name": c.name, "id": c.id, "inputs": c.inputs} for c in calls]


def pool_job_variable_issues(project: Project, *, strict: bool = False) -> list[ConfigIssue]:
    """`deploytool validate`'s check of each deployment's job variables against its work pool, when the store
    exists and holds that pool (the store is only read: a missing SQLite store is not created, a missing pool is
    left to `deploy`). The store is the one every command uses: DEPLOYTOOL_STORE_URL / --store when set. A store
    that cannot be opened (server down, not migrated, no access) is one warning, not a failed validation.
    Variable names only: values may hold placeholders that only `deploy` resolves."""
    from deploytool.settings import Settings

    settings = Settings.from_env()
    if settings.store_url is None and not settings.db_path.is_file():
        return []
    try:
        with Store.open(settings.store) as store:
            return _job_variable_issues(store, project, strict=strict)
    except DeploytoolError as exc:
        hint = "job variables are checked against their pool by `deploytool deploy` when the store answers"
        message = f"could not check job variables against their work pools: {exc.message}"
        return [ConfigIssue(project.file.name, 1, 1, "", message, hint, "warning")]


def _job_variable_issues(store: Store, project: Project, *, strict: bool) -> list[ConfigIssue]:
    from deploytool.jobvars import validate_job_variables

    prefect = project.file.name == PREFECT_FILENAME
    issues: list[ConfigIssue] = []
    for spec in project.deployments:
        if not spec.work_pool or "{{" in spec.work_pool or not spec.job_variables:
            continue
        try:
            pool = store.pools.get(spec.work_pool)
        except NotFoundError:
            continue
        for issue in validate_job_variables(spec.job_variables, pool.base_job_template, {}):
            if issue.message != "unknown job variable" or "." in issue.path:
                continue
            where = f"work_pool.job_variables.{issue.path}"
            line, col = _position(project, spec, where)
            hint = issue.hint or f"see `deploytool work-pool inspect {pool.name}` for its variables"
            if prefect:
                message, hint = ignored_job_variable(issue.path, pool.type, hint, issue.hint is None, strict)
            else:
                message = f"unknown job variable (pool {pool.name!r}, {pool.type})"
            severity = "warning" if prefect and not strict else "error"
            path = f"deployments[{spec.name}].{where}"
            issues.append(ConfigIssue(project.file.name, line, col, path, message, hint, severity))
    return issues
