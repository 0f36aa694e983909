"""ETL with tasks and .map: read a CSV, convert each row, write a JSON report (unchanged Prefect 3 code)."""

import csv
import json
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped


@task(name="extract-rows", retries=2, retry_delay_seconds=1)
def extract(path: str) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@task
def transform(row: dict, unit: str) -> dict:
    celsius = float(row["temp_c"])
    value = celsius * 9 / 5 + 32 if unit == "F" else celsius
    return {"city": row["city"], "country": row["country"], "temp": round(value, 1), "unit": unit}


@task
def load(rows: list[dict], output: str) -> int:
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(rows, indent=2))
    return len(rows)


@flow(name="weather-etl")
def weather_etl(source: str = "data/cities.csv", output: str = "out/weather.json", unit: str = "F") -> int:
    logger = get_run_logger()
    rows = extract(source)
    converted = transform.map(rows, unmapped(unit))
    count = load(converted.result(), output)
    logger.info("Loaded %d rows into %s", count, output)
    return count


if __name__ == "__main__":
    weather_etl()
