"""The rule for tests whose outside service or data is missing: skip outside CI, fail in CI.

DESIGN.md: "Outside CI, a test whose service cannot be started skips and says why; in CI it fails." CI is
`CI=true` (what CI systems set), or a service's own switch (`DEPLOYTOOL_REQUIRE_CORPUS=1`, ...). The Docker
tests' switch is DEPLOYTOOL_REQUIRE_DOCKER (tests/docker_support.py), under the same rule.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

TRUE = {"1", "true", "yes", "on"}


def flag(name: str) -> bool:
    """True when the environment variable `name` is set to 1/true/yes/on (any case)."""
    return os.environ.get(name, "").strip().lower() in TRUE


def in_ci() -> bool:
    return flag("CI")


def required(switch: str) -> bool:
    """True when a missing service must fail the test: in CI, or when `switch` is set."""
    return in_ci() or flag(switch)


def missing(reason: str, switch: str) -> NoReturn:
    """Skip the current test saying `reason`, or fail it when the service is required (see `required`)."""
    if required(switch):
        why = f"{switch}=1" if flag(switch) else "CI=true"
        pytest.fail(f"{why} but {reason}", pytrace=False)
    pytest.skip(f"{reason} (set {switch}=1 to make this a failure)")
