from __future__ import annotations

from tests.worker_support import db_path, project, store

__all__ = ["db_path", "project", "store"]  # the fixtures of the worker tests (tests/worker_support.py)
