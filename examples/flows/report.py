"""Write a small plain-text report to a temp file and print where it is."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from deploytool import flow


@flow(name="make-report")
def make_report(title: str = "Daily report", sections: list[str] | None = None, days: int = 1) -> str:
    """Write a report with one line per section.

    Args:
        title: first line of the report
        sections: section names (default: "summary")
        days: how many days the report covers
    """
    now = dt.datetime.now(dt.UTC)
    lines = [title, f"generated {now:%Y-%m-%d %H:%M} UTC, covering {days} day(s)", ""]
    lines += [f"- {section}: ok" for section in sections or ["summary"]]
    with tempfile.NamedTemporaryFile(
        "w", prefix="report-", suffix=".txt", delete=False, encoding="utf-8"
    ) as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"report written to {fh.name}")
    return str(Path(fh.name))


if __name__ == "__main__":
    make_report()
