"""The built-in steps, their Prefect aliases and their outputs.

Step inputs are described by `$defs/step_<name>` in schemas/deploy.schema.json, which is what validates them;
a test keeps this registry and the schema in agreement.
"""

from __future__ import annotations

from deploytool.errors import did_you_mean
from deploytool.records import record


@record
class StepSpec:
    name: str
    aliases: tuple[str, ...]
    outputs: tuple[str, ...]
    summary: str


STEPS: dict[str, StepSpec] = {
    spec.name: spec
    for spec in (
        StepSpec(
            "run_shell_script",
            (
                "prefect.deployments.steps.run_shell_script",
                "prefect.deployments.steps.utility.run_shell_script",
                "prefect.projects.steps.run_shell_script",
            ),
            ("stdout", "stderr"),
            "run a script, line by line",
        ),
        StepSpec(
            "set_working_directory",
            (
                "prefect.deployments.steps.set_working_directory",
                "prefect.deployments.steps.pull.set_working_directory",
                "prefect.projects.steps.set_working_directory",
            ),
            ("directory",),
            "change the working directory",
        ),
        StepSpec(
            "git_clone",
            (
                "prefect.deployments.steps.git_clone",
                "prefect.deployments.steps.pull.git_clone",
                "prefect.projects.steps.git_clone_project",
                "prefect.projects.steps.git_clone",
            ),
            ("directory",),
            "clone or refresh a git repository",
        ),
        StepSpec(
            "pip_install_requirements",
            (
                "prefect.deployments.steps.pip_install_requirements",
                "prefect.deployments.steps.utility.pip_install_requirements",
                "prefect.projects.steps.pip_install_requirements",
            ),
            ("stdout", "stderr"),
            "pip install -r requirements.txt",
        ),
        StepSpec(
            "build_docker_image",
            (
                "prefect_docker.deployments.steps.build_docker_image",
                "prefect_docker.projects.steps.build_docker_image",
            ),
            ("image_name", "tag", "image", "image_id", "additional_tags", "rebuilt"),
            "build a Docker image",
        ),
        StepSpec(
            "push_docker_image",
            (
                "prefect_docker.deployments.steps.push_docker_image",
                "prefect_docker.projects.steps.push_docker_image",
            ),
            ("image_name", "tag", "image", "additional_tags"),
            "push a Docker image",
        ),
    )
}

ALIASES: dict[str, str] = {alias: spec.name for spec in STEPS.values() for alias in (spec.name, *spec.aliases)}

# Prefect integrations whose steps deploytool does not implement: named, not guessed at.
_THIRD_PARTY_PREFIXES = (
    "prefect_aws",
    "prefect_gcp",
    "prefect_azure",
    "prefect_github",
    "prefect_gitlab",
    "prefect_bitbucket",
    "prefect_kubernetes",
    "prefect_dbt",
    "prefect_snowflake",
)


def canonical_step(name: str) -> str | None:
    """The built-in step a name (short or Prefect's dotted form) refers to, or None."""
    return ALIASES.get(name)


def unknown_step_message(name: str) -> tuple[str, str]:
    """The message and hint for a step name that is not built in."""
    known = ", ".join(sorted(STEPS))
    if name.startswith(_THIRD_PARTY_PREFIXES) or (name.startswith("prefect_") and "." in name):
        package = name.split(".", 1)[0]
        return (
            f"step {name!r} from {package} is not supported by deploytool",
            f"built-in steps are {known}; run the equivalent with run_shell_script "
            "(for example `aws s3 sync`), or bake the code into an image",
        )
    hint = f"{mean} " if (mean := did_you_mean(name, ALIASES)) else ""
    return f"unknown step {name!r}", f"{hint}built-in steps are {known}"
