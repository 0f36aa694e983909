"""A toy extract-transform-load flow.

It "extracts" a few numbered records per source, doubles their values and "loads" them as JSON lines into a
file under the system temp directory (or `output_dir` when given). Stdlib only.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from deploytool import flow

logger = logging.getLogger(__name__)


def extract(source: str, batch_size: int) -> list[dict[str, object]]:
    return [{"source": source, "n": i, "value": i * 10} for i in range(batch_size)]


def transform(records: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{**record, "value": int(str(record["value"])) * 2} for record in records]


def load(records: list[dict[str, object]], output_dir: Path) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / "etl-output.jsonl"
    with target.open("a", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
    return target


@flow(name="etl", retries=1, retry_delay_seconds=5)
def etl(
    sources: list[str] | None = None,
    batch_size: int = 3,
    dry_run: bool = False,
    output_dir: str | None = None,
) -> int:
    """Extract records from each source, transform them and append them to a JSON-lines file.

    Args:
        sources: names of the sources to read (default: one source called "demo")
        batch_size: how many records to read per source
        dry_run: transform but do not write anything
        output_dir: where to write etl-output.jsonl (default: the system temp directory)
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    records: list[dict[str, object]] = []
    for source in sources or ["demo"]:
        extracted = extract(source, batch_size)
        logger.info("extracted %d records from %s", len(extracted), source)
        records.extend(transform(extracted))
    if dry_run:
        logger.info("dry run: %d records not written", len(records))
        return len(records)
    target = load(records, Path(output_dir) if output_dir else Path(tempfile.gettempdir()))
    logger.info("wrote %d records to %s", len(records), target)
    return len(records)


if __name__ == "__main__":
    etl(dry_run=True)
