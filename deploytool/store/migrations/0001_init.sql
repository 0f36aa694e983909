-- deploytool store, schema version 1.
-- Times are ISO 8601 UTC text with microseconds ("2025-01-31T12:00:00.000000+00:00"): fixed width, so text
-- order is time order. JSON documents are TEXT.

CREATE TABLE work_pools (
    name              TEXT PRIMARY KEY,
    type              TEXT NOT NULL,
    base_job_template TEXT NOT NULL DEFAULT '{}',
    concurrency_limit INTEGER,
    paused            INTEGER NOT NULL DEFAULT 0,
    description       TEXT,
    created           TEXT NOT NULL,
    updated           TEXT NOT NULL
) STRICT;

CREATE TABLE work_queues (
    pool_name         TEXT NOT NULL REFERENCES work_pools(name) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    priority          INTEGER NOT NULL,
    concurrency_limit INTEGER,
    paused            INTEGER NOT NULL DEFAULT 0,
    created           TEXT NOT NULL,
    updated           TEXT NOT NULL,
    PRIMARY KEY (pool_name, name)
) STRICT;

CREATE TABLE deployments (
    id                       TEXT PRIMARY KEY,
    flow_name                TEXT NOT NULL,
    flow_key                 TEXT NOT NULL,   -- flow_name with '_' as '-': the name users may type either way
    name                     TEXT NOT NULL,
    entrypoint               TEXT NOT NULL,
    pool_name                TEXT NOT NULL REFERENCES work_pools(name),
    queue_name               TEXT NOT NULL,
    parameters               TEXT NOT NULL,
    parameter_schema         TEXT NOT NULL,
    job_variables            TEXT NOT NULL,
    pull_steps               TEXT NOT NULL,
    schedules                TEXT NOT NULL,
    tags                     TEXT NOT NULL,
    version                  TEXT,
    description              TEXT,
    concurrency              TEXT,            -- the whole concurrency_limit mapping, JSON
    concurrency_limit        INTEGER,         -- its "limit", as a column so claims can compare it
    collision_strategy       TEXT,            -- its "collision_strategy": ENQUEUE or CANCEL_NEW
    enforce_parameter_schema INTEGER NOT NULL,
    paused                   INTEGER NOT NULL DEFAULT 0,
    source_file              TEXT,
    content_hash             TEXT,
    created                  TEXT NOT NULL,
    updated                  TEXT NOT NULL,
    UNIQUE (flow_key, name)
) STRICT;
CREATE INDEX deployments_pool ON deployments (pool_name);
CREATE INDEX deployments_source ON deployments (source_file);

CREATE TABLE flow_runs (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    deployment_id     TEXT REFERENCES deployments(id) ON DELETE SET NULL,
    flow_name         TEXT NOT NULL,
    deployment_name   TEXT NOT NULL,
    pool_name         TEXT NOT NULL,      -- no foreign key: a run's history outlives its pool
    queue_name        TEXT NOT NULL,
    parameters        TEXT NOT NULL,
    job_variables     TEXT NOT NULL,
    state             TEXT NOT NULL,
    state_message     TEXT,
    scheduled_time    TEXT NOT NULL,
    start_time        TEXT,
    end_time          TEXT,
    attempt           INTEGER NOT NULL DEFAULT 1,
    worker_name       TEXT,
    lease_expires     TEXT,
    infrastructure_id TEXT,
    exit_code         INTEGER,
    created           TEXT NOT NULL,
    idempotency_key   TEXT UNIQUE
) STRICT;
-- claim_next: the first due SCHEDULED run of one queue, by scheduled time.
CREATE INDEX flow_runs_claim ON flow_runs (pool_name, queue_name, state, scheduled_time);
-- concurrency counts of a pool and of a deployment; the pool's run counts.
CREATE INDEX flow_runs_pool_state ON flow_runs (pool_name, state);
CREATE INDEX flow_runs_deployment_state ON flow_runs (deployment_id, state);
-- "latest runs", optionally filtered by state or deployment.
CREATE INDEX flow_runs_created ON flow_runs (created);
CREATE INDEX flow_runs_state_created ON flow_runs (state, created);
CREATE INDEX flow_runs_deployment_created ON flow_runs (deployment_id, created);
-- lease renewal and recovery touch only active runs.
CREATE INDEX flow_runs_worker ON flow_runs (worker_name) WHERE state IN ('PENDING', 'RUNNING', 'CANCELLING');
CREATE INDEX flow_runs_lease ON flow_runs (lease_expires) WHERE state IN ('PENDING', 'RUNNING', 'CANCELLING');

CREATE TABLE logs (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id  TEXT NOT NULL REFERENCES flow_runs(id) ON DELETE CASCADE,
    time    TEXT NOT NULL,
    level   TEXT NOT NULL,
    source  TEXT NOT NULL,
    message TEXT NOT NULL
) STRICT;
CREATE INDEX logs_run ON logs (run_id, id);

CREATE TABLE workers (
    pool_name      TEXT NOT NULL,
    name           TEXT NOT NULL,
    host           TEXT NOT NULL,
    pid            INTEGER NOT NULL,
    last_heartbeat TEXT NOT NULL,
    PRIMARY KEY (pool_name, name)
) STRICT;

CREATE TABLE variables (
    name    TEXT PRIMARY KEY,
    value   TEXT NOT NULL,
    updated TEXT NOT NULL
) STRICT;

CREATE TABLE blocks (
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    data          TEXT NOT NULL,
    secret_fields TEXT NOT NULL,
    updated       TEXT NOT NULL,
    PRIMARY KEY (type, name)
) STRICT;
