"""What a run's job configuration takes from its pool's template and its job variables alone, worked out once.

A worker runs the same deployments again and again. Of what `prepare` (deploytool.worker.launch) does per run,
three things depend only on the pool's base job template, the merged job variables and the pull steps: the
block references they hold (which blocks to read), pass 1 of the job configuration (the variables put into the
template: `jobvars.substitute_job_variables`, with its checks), and whether anything is left to render. They are
kept here, for the last `SIZE` such combinations, keyed by their exact contents (a changed pool, deployment or run
job variable is another key). Per run only what can change between runs is read and rendered: the worker's
environment, stored variables, blocks and the run's own values (`flow_run.*`, `deployment.*`), and only when the
configuration or the pull steps hold a placeholder; otherwise they are copies. The result equals an uncached
rendering, key order and types included (tests/worker/test_job_configuration_cache.py).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deploytool.jobvars import copy_tree, is_static, substitute_job_variables
from deploytool.templating import find_refs

SIZE = 64
Blocks = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Fixed:
    """The part of a run's job that its template, job variables and pull steps fix."""

    key: str  # their contents (JobTemplates.key)
    blocks: Blocks  # the blocks they refer to, (type, name)
    substituted: dict[str, Any] | None  # pass 1 of the job configuration (None: not worked out yet)
    static: bool  # nothing in `substituted` or the variables' env to render per run
    steps_static: bool  # nothing in the pull steps to render per run


def block_refs(template: Mapping[str, Any], variables: Mapping[str, Any], steps: list[Any]) -> Blocks:
    """The blocks a job's configuration, variables and pull steps refer to (`{{ prefect.blocks.TYPE.NAME }}`), by
    (type, name)."""
    wanted: set[tuple[str, str]] = set()
    for tree in (template.get("job_configuration") or {}, variables, steps):
        for ref in find_refs(tree):
            if ref.namespace == "prefect.blocks" and len(ref.parts) >= 4:
                wanted.add((str(ref.parts[2]), str(ref.parts[3])))
    return frozenset(wanted)


class JobTemplates:
    """The `Fixed` part of recent runs' jobs (thread-safe; bounded to `SIZE` combinations)."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[str, Fixed] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(template: Mapping[str, Any], variables: Mapping[str, Any], pull_steps: list[Any]) -> str:
        # repr, not JSON: it tells 1 from "1" and from 1.0, True from 1, and keeps the order of keys.
        return repr((template, variables, pull_steps))

    def fixed(self, template: Mapping[str, Any], variables: Mapping[str, Any], steps: list[Any]) -> Fixed:
        """Their entry, with at least its block references (find_refs' errors are raised as they come)."""
        key = self.key(template, variables, steps)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
        refs = block_refs(template, variables, steps)
        return Fixed(key, refs, None, False, is_static([s.get("inputs") or {} for s in steps]))

    def substituted(self, entry: Fixed, template: Mapping[str, Any], variables: Mapping[str, Any]) -> Fixed:
        """The entry with pass 1 worked out (its errors raised as they come), kept for the next run."""
        if entry.substituted is not None:
            return entry
        substituted = copy_tree(substitute_job_variables(template, variables))  # shares nothing with this run
        env = variables.get("env") if isinstance((template.get("job_configuration") or {}).get("env"), Mapping) else {}
        static = is_static(substituted) and is_static(env)
        done = Fixed(entry.key, entry.blocks, substituted, static, entry.steps_static)
        with self._lock:
            self._entries[entry.key] = done
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return done
