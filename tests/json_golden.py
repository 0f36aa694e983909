"""JSON documents compared with golden files: what changes from one run of a test to the next (ids, times,
durations) is replaced by `<volatile>` or `<time>`, the rest is compared as it is, key by key, in order.

After a deliberate change of a document, rewrite its golden file: DEPLOYTOOL_WRITE_GOLDEN=1 pytest TEST_FILE.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00)?")
RELATIVE = re.compile(r"\b(in \d+s|\d+s ago|\d+ s ago)")
VOLATILE = frozenset(
    {
        "id",
        "deployment_id",
        "flow_run_id",
        "created",
        "updated",
        "scheduled_time",
        "start_time",
        "end_time",
        "duration_seconds",
        "lease_expires",
        "last_heartbeat",
        "last_failure",
        "time",
        "now",
        "hours",
        "name_of_run",
        "last_log_id",
    }
)


def normalise(value: Any, names: dict[str, str]) -> Any:
    """`value` with the VOLATILE keys' values (when not null) as `<volatile>`, times in text as `<time>`, relative
    times as `<relative>`, and each text of `names` (ids, paths) replaced by its placeholder."""
    if isinstance(value, dict):
        return {k: "<volatile>" if k in VOLATILE and v is not None else normalise(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, names) for v in value]
    if isinstance(value, str):
        for real, placeholder in names.items():
            value = value.replace(real, placeholder)
        return RELATIVE.sub("<relative>", TIME.sub("<time>", value))
    return value


def check_golden(path: Path, document: Any, names: dict[str, str]) -> None:
    """`document`, normalised, is the JSON in `path` (written instead with DEPLOYTOOL_WRITE_GOLDEN=1)."""
    text = json.dumps(normalise(document, names), indent=1) + "\n"
    if os.environ.get("DEPLOYTOOL_WRITE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"the JSON of {path.stem} changed (see {path})"
