"""Flow files written for Prefect, run by the engine: the compatibility layer when prefect is not installed,
clear errors for what it does not cover, and the real package when it is installed."""

from __future__ import annotations

from pathlib import Path

from tests.engine.helpers import make_spec, run_engine, write_flow

COMPAT_NOTE = "served by deploytool's Prefect compatibility layer"


def _messages(run: object) -> list[str]:
    return [message for _, message in run.logs()]  # type: ignore[attr-defined]


def test_a_prefect_flow_runs_and_the_log_says_once_that_the_layer_is_used(tmp_path: Path) -> None:
    write_flow(
        tmp_path,
        """
        import prefect
        from prefect import flow, task, get_run_logger
        from prefect.logging import get_run_logger as logging_logger
        from prefect.runtime import flow_run, deployment
        from prefect.variables import Variable
        from prefect.blocks.system import Secret
        from prefect.futures import wait

        @task(retries=1, persist_result=True, cache_key_fn=None)
        def double(x: int) -> int:
            return 2 * x

        @flow(name="compat", validate_parameters=False)
        def main(n: int = 2) -> dict:
            futures = double.map(range(n))
            wait(futures)
            get_run_logger().info("run %s named %s", flow_run.id, flow_run.name)
            logging_logger().info("deployment %s params %s", deployment.name, flow_run.parameters)
            return {
                "values": futures.result(),
                "region": Variable.get("region"),
                "fallback": Variable.get("missing", default="dflt"),
                "secret_len": len(Secret.load("api-key").get()),
                "repr": repr(Secret.load("api-key")),
            }
        """,
    )
    spec = make_spec(
        parameters={"n": 3}, run_name="brave-otter", variables={"region": "eu"}, secrets={"api-key": "k3y!"}
    )
    run = run_engine(tmp_path, spec)
    assert run.exit_code == 0, run.log
    result = run.one("completed")["result_repr"]
    assert "'values': [0, 2, 4]" in result and "'region': 'eu'" in result and "'fallback': 'dflt'" in result
    assert "'secret_len': 4" in result and "k3y!" not in result
    messages = _messages(run)
    assert "run run-1 named brave-otter" in messages
    assert "deployment test params {'n': 3}" in messages
    assert sum(COMPAT_NOTE in m for m in messages) == 1


def test_a_prefect_api_outside_the_layer_is_named_with_the_docs(tmp_path: Path) -> None:
    write_flow(tmp_path, "from prefect.deployments import run_deployment\nfrom prefect import flow\n")
    run = run_engine(tmp_path, make_spec())
    failed = run.one("failed")
    assert run.exit_code == 2 and failed["stage"] == "load"
    assert "prefect.deployments is not provided by deploytool's Prefect compatibility layer" in failed["message"]
    assert "docs/prefect-compat.md" in failed["message"]

    write_flow(tmp_path, "from prefect import flow, State\n")
    failed = run_engine(tmp_path, make_spec()).one("failed")
    assert "prefect.State is not provided" in failed["message"]

    write_flow(tmp_path, "from prefect import flow\n\n@flow(on_failure=[print])\ndef main():\n    pass\n")
    failed = run_engine(tmp_path, make_spec()).one("failed")
    assert "@flow(on_failure=...) is not provided" in failed["message"]


def test_a_missing_secret_block_says_how_to_create_it(tmp_path: Path) -> None:
    write_flow(
        tmp_path,
        "from prefect import flow\nfrom prefect.blocks.system import Secret\n\n"
        "@flow\ndef main():\n    Secret.load('db')\n",
    )
    run = run_engine(tmp_path, make_spec(secrets={"other": "x"}))
    failed = run.one("failed")
    assert "'db'" in failed["message"] and "secret blocks passed to this run: other" in failed["message"]
    assert "deploytool block set secret/db value=..." in failed["message"]


FAKE_PREFECT = """
class Flow:
    def __init__(self, fn):
        self.fn = fn
        self.name = "real-" + fn.__name__

    def __call__(self, *args, **kwargs):
        print("the real prefect engine runs", self.name)
        return self.fn(*args, **kwargs)


def flow(fn):
    return Flow(fn)
"""


def test_an_installed_prefect_is_used_unless_the_layer_is_forced(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "prefect").mkdir(parents=True)
    (site / "prefect" / "flows.py").write_text(FAKE_PREFECT)  # in a prefect.* module, as the real Flow class is
    (site / "prefect" / "__init__.py").write_text("from prefect.flows import Flow, flow\n")
    write_flow(tmp_path, "from prefect import flow\n\n@flow\ndef main(x: int = 1):\n    return x + 1\n")
    installed = run_engine(tmp_path, make_spec(parameters={"x": 4}), env={"PYTHONPATH": str(site)})
    assert installed.exit_code == 0, installed.log
    assert "the real prefect engine runs real-main" in installed.log
    assert installed.one("flow_loaded")["flow_name"] == "real-main"
    assert installed.one("completed")["result_repr"] == "5"
    assert not any(COMPAT_NOTE in m for m in _messages(installed))

    forced = run_engine(
        tmp_path,
        make_spec(parameters={"x": 4}),
        env={"PYTHONPATH": str(site), "DEPLOYTOOL_PREFECT_COMPAT": "always"},
    )
    assert forced.exit_code == 0 and forced.one("completed")["result_repr"] == "5"
    assert "the real prefect engine runs real-main" not in forced.log
    assert sum(COMPAT_NOTE in m for m in _messages(forced)) == 1

    off = run_engine(tmp_path, make_spec(), env={"DEPLOYTOOL_PREFECT_COMPAT": "never"})
    assert off.exit_code == 2 and off.one("failed")["error_type"] == "ModuleNotFoundError"
