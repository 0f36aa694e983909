"""Uses prefect.runtime and tags to label what it does (unchanged Prefect 3 code)."""

from prefect import flow, runtime, tags, task
from prefect.futures import wait


@task
def describe(kind: str) -> str:
    return f"{kind}: {runtime.flow_run.name} ({runtime.flow_run.id}) of deployment {runtime.deployment.name}"


@flow(name="runtime-tags", flow_run_name="report-{day}")
def runtime_tags(day: str = "monday") -> list[str]:
    print(f"parameters: {runtime.flow_run.parameters}")
    with tags("reporting", day):
        futures = [describe.submit(kind) for kind in ("summary", "detail")]
    done, not_done = wait(futures)
    assert not not_done
    return sorted(f.result() for f in done)


if __name__ == "__main__":
    runtime_tags()
