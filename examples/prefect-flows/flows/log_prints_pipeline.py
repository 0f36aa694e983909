"""print() as logging (log_prints) across a flow and its tasks, with a thread-pool task runner
(unchanged Prefect 3 code)."""

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner


@task(log_prints=True)
def score(name: str) -> int:
    print(f"scoring {name}")
    return len(name)


@task(log_prints=False)
def debug_dump(scores: list[int]) -> None:
    print(f"raw scores (not logged): {scores}")


@flow(name="log-prints-pipeline", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=2))
def log_prints_pipeline(names: list[str] = ["ada", "grace", "linus"]) -> int:  # noqa: B006
    print(f"scoring {len(names)} names")
    scores = score.map(names).result()
    debug_dump(scores)
    print(f"total {sum(scores)}")
    return sum(scores)


if __name__ == "__main__":
    log_prints_pipeline()
