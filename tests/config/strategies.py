"""Hypothesis strategies for project-file-shaped documents, shared by the fuzz and schema_lite tests."""

from __future__ import annotations

from hypothesis import strategies as st

KEYS = st.sampled_from(
    [
        "name",
        "deployments",
        "build",
        "push",
        "pull",
        "entrypoint",
        "work_pool",
        "job_variables",
        "schedules",
        "schedule",
        "cron",
        "interval",
        "rrule",
        "timezone",
        "parameters",
        "tags",
        "concurrency_limit",
        "git_clone",
        "prefect.deployments.steps.run_shell_script",
        "id",
        "script",
        "definitions",
        "version",
        "triggers",
        "zzz",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["{{ $HOME }}", "{{ nope.x }}", "flows/x.py:f", "* * * * *", "{{", "}}", "x.py:"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.one_of(KEYS, st.text(max_size=5)), children, max_size=5)
    ),
    max_leaves=25,
)
