-- deploytool store on PostgreSQL, schema version 4: the task runs of flow runs (as the SQLite store's 0004).
CREATE TABLE task_runs (
    id               TEXT COLLATE "C" PRIMARY KEY,
    flow_run_id      TEXT COLLATE "C" NOT NULL REFERENCES flow_runs(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    task_name        TEXT NOT NULL,
    state            TEXT COLLATE "C" NOT NULL,
    attempts         BIGINT NOT NULL,
    start_time       TEXT COLLATE "C" NOT NULL,
    end_time         TEXT COLLATE "C",
    duration_seconds DOUBLE PRECISION,
    message          TEXT,
    tags             TEXT NOT NULL
);
CREATE INDEX task_runs_flow_run ON task_runs (flow_run_id, start_time);
