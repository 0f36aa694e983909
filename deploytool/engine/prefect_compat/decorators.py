"""Prefect's `@flow` and `@task` keywords mapped onto deploytool's: the same behaviour where deploytool has it,
accepted and ignored where it only changes Prefect's bookkeeping (result persistence, caching), an error where
ignoring it would silently change what the flow does (state hooks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deploytool.engine.prefect_compat._support import unsupported
from deploytool.flows import Flow
from deploytool.flows import flow as deploytool_flow
from deploytool.tasks import Task
from deploytool.tasks import task as deploytool_task

FLOW_KEYWORDS = frozenset(
    {"name", "log_prints", "retries", "retry_delay_seconds", "timeout_seconds", "description", "version",
     "task_runner"}
)  # fmt: skip
TASK_KEYWORDS = frozenset(
    {"name", "retries", "retry_delay_seconds", "timeout_seconds", "tags", "log_prints", "description"}
)
# Prefect keywords that only change Prefect's own records or caches: accepted, without effect here.
IGNORED = frozenset(
    {"validate_parameters", "persist_result", "result_storage", "result_serializer", "cache_result_in_memory",
     "flow_run_name", "task_run_name", "cache_policy", "cache_key_fn", "cache_expiration", "refresh_cache",
     "retry_jitter_factor", "viz_return_value", "version", "result_storage_key"}
)  # fmt: skip


def _split(kind: str, options: dict[str, Any], supported: frozenset[str]) -> dict[str, Any]:
    kept = {}
    for key, value in options.items():
        if key in supported:
            kept[key] = value
        elif key not in IGNORED:
            raise unsupported(f"@{kind}({key}=...)")
    return kept


def flow(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Prefect's `@flow` / `@flow(...)`, made a deploytool Flow."""
    kept = _split("flow", options, FLOW_KEYWORDS)
    if fn is not None:
        return deploytool_flow(fn, **kept)
    decorate: Callable[[Callable[..., Any]], Flow[..., Any]] = deploytool_flow(**kept)
    return decorate


def task(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Prefect's `@task` / `@task(...)`, made a deploytool Task."""
    kept = _split("task", options, TASK_KEYWORDS)
    if fn is not None:
        return deploytool_task(fn, **kept)
    decorate: Callable[[Callable[..., Any]], Task[..., Any]] = deploytool_task(**kept)
    return decorate
