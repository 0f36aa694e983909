-- deploytool store, schema version 4: the task runs of flow runs, as their engines reported them.

CREATE TABLE task_runs (
    id               TEXT PRIMARY KEY,
    flow_run_id      TEXT NOT NULL REFERENCES flow_runs(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    task_name        TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    start_time       TEXT NOT NULL,
    end_time         TEXT,
    duration_seconds REAL,
    message          TEXT,
    tags             TEXT NOT NULL
) STRICT;
CREATE INDEX task_runs_flow_run ON task_runs (flow_run_id, start_time);
