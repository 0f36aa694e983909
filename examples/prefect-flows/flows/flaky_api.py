"""A task against a flaky service, retried with a delay; the flow retries too (unchanged Prefect 3 code)."""

import random

from prefect import flow, get_run_logger, task

ATTEMPTS: dict[str, int] = {}


class ServiceUnavailable(Exception):
    pass


@task(retries=3, retry_delay_seconds=[0, 0.1, 0.2], tags=["api"])
def fetch_page(page: int, failures: int) -> list[int]:
    ATTEMPTS[f"page-{page}"] = ATTEMPTS.get(f"page-{page}", 0) + 1
    if ATTEMPTS[f"page-{page}"] <= failures:
        raise ServiceUnavailable(f"503 for page {page} (attempt {ATTEMPTS[f'page-{page}']})")
    return [page * 10 + i for i in range(3)]


@flow(name="flaky-api", retries=1, retry_delay_seconds=0)
def flaky_api(pages: int = 2, failures: int = 2) -> int:
    logger = get_run_logger()
    futures = [fetch_page.submit(page, failures) for page in range(pages)]
    items = [item for future in futures for item in future.result()]
    logger.info("fetched %d items (sample: %s)", len(items), random.choice(items))
    return len(items)


if __name__ == "__main__":
    flaky_api()
