"""Reads a Secret block and a Variable, as a job talking to a warehouse would (unchanged Prefect 3 code)."""

from prefect import flow, task
from prefect.blocks.system import Secret
from prefect.logging import get_run_logger
from prefect.variables import Variable


@task
def connect(dsn: str) -> str:
    # A real flow would open a connection here; the DSN holds the password.
    return f"connected to {dsn.split('@')[-1]}"


@flow(name="warehouse-report")
def warehouse_report(table: str = "sales") -> str:
    logger = get_run_logger()
    password = Secret.load("warehouse-password").get()
    region = Variable.get("warehouse_region", default="eu-west-1")
    dsn = f"postgresql://report:{password}@warehouse.{region}.example.com/analytics"
    logger.info("using %s", dsn)  # the worker masks the secret in the run's logs
    status = connect(dsn)
    logger.info("%s; reading %s", status, table)
    return status


if __name__ == "__main__":
    warehouse_report()
