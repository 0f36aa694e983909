-- deploytool store on PostgreSQL, schema version 1 (the same tables as the SQLite store's 0001).
-- Text is COLLATE "C" (byte order): ids are compared as ranges, and times are ISO 8601 UTC text with
-- microseconds ("2025-01-31T12:00:00.000000+00:00"), fixed width, so text order is time order on every server
-- whatever its locale. Keeping SQLite's column types makes `store copy` lossless both ways. JSON is text.

CREATE TABLE work_pools (
    name              TEXT COLLATE "C" PRIMARY KEY,
    type              TEXT COLLATE "C" NOT NULL,
    base_job_template TEXT NOT NULL DEFAULT '{}',
    concurrency_limit BIGINT,
    paused            INTEGER NOT NULL DEFAULT 0,
    description       TEXT,
    created           TEXT COLLATE "C" NOT NULL,
    updated           TEXT COLLATE "C" NOT NULL
);

CREATE TABLE work_queues (
    pool_name         TEXT COLLATE "C" NOT NULL REFERENCES work_pools(name) ON DELETE CASCADE,
    name              TEXT COLLATE "C" NOT NULL,
    priority          BIGINT NOT NULL,
    concurrency_limit BIGINT,
    paused            INTEGER NOT NULL DEFAULT 0,
    created           TEXT COLLATE "C" NOT NULL,
    updated           TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (pool_name, name)
);

CREATE TABLE deployments (
    id                       TEXT COLLATE "C" PRIMARY KEY,
    flow_name                TEXT COLLATE "C" NOT NULL,
    flow_key                 TEXT COLLATE "C" NOT NULL,
    name                     TEXT COLLATE "C" NOT NULL,
    entrypoint               TEXT NOT NULL,
    pool_name                TEXT COLLATE "C" NOT NULL REFERENCES work_pools(name),
    queue_name               TEXT COLLATE "C" NOT NULL,
    parameters               TEXT NOT NULL,
    parameter_schema         TEXT NOT NULL,
    job_variables            TEXT NOT NULL,
    pull_steps               TEXT NOT NULL,
    schedules                TEXT NOT NULL,
    tags                     TEXT NOT NULL,
    version                  TEXT,
    description              TEXT,
    concurrency              TEXT,
    concurrency_limit        BIGINT,
    collision_strategy       TEXT COLLATE "C",
    enforce_parameter_schema INTEGER NOT NULL,
    paused                   INTEGER NOT NULL DEFAULT 0,
    source_file              TEXT COLLATE "C",
    content_hash             TEXT,
    created                  TEXT COLLATE "C" NOT NULL,
    updated                  TEXT COLLATE "C" NOT NULL,
    UNIQUE (flow_key, name)
);
CREATE INDEX deployments_pool ON deployments (pool_name);
CREATE INDEX deployments_source ON deployments (source_file);

CREATE TABLE flow_runs (
    -- seq: insertion order (SQLite's rowid), the tie-break of runs created in the same microsecond.
    seq               BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                TEXT COLLATE "C" PRIMARY KEY,
    name              TEXT COLLATE "C" NOT NULL,
    deployment_id     TEXT COLLATE "C" REFERENCES deployments(id) ON DELETE SET NULL,
    flow_name         TEXT COLLATE "C" NOT NULL,
    deployment_name   TEXT COLLATE "C" NOT NULL,
    pool_name         TEXT COLLATE "C" NOT NULL,
    queue_name        TEXT COLLATE "C" NOT NULL,
    parameters        TEXT NOT NULL,
    job_variables     TEXT NOT NULL,
    state             TEXT COLLATE "C" NOT NULL,
    state_message     TEXT,
    scheduled_time    TEXT COLLATE "C" NOT NULL,
    start_time        TEXT COLLATE "C",
    end_time          TEXT COLLATE "C",
    attempt           BIGINT NOT NULL DEFAULT 1,
    worker_name       TEXT COLLATE "C",
    lease_expires     TEXT COLLATE "C",
    infrastructure_id TEXT,
    exit_code         BIGINT,
    created           TEXT COLLATE "C" NOT NULL,
    idempotency_key   TEXT COLLATE "C" UNIQUE
);
-- claim_next: the first due SCHEDULED run of one queue, by scheduled time (only SCHEDULED rows are indexed).
CREATE INDEX flow_runs_claim ON flow_runs (pool_name, queue_name, scheduled_time, seq) WHERE state = 'SCHEDULED';
-- concurrency counts of a pool, a queue and a deployment; the pools' run counts.
CREATE INDEX flow_runs_pool_state ON flow_runs (pool_name, state, queue_name);
CREATE INDEX flow_runs_deployment_state ON flow_runs (deployment_id, state);
-- "latest runs", optionally filtered by state or deployment.
CREATE INDEX flow_runs_created ON flow_runs (created, seq);
CREATE INDEX flow_runs_state_created ON flow_runs (state, created, seq);
CREATE INDEX flow_runs_deployment_created ON flow_runs (deployment_id, created, seq);
CREATE INDEX flow_runs_name ON flow_runs (name);
-- lease renewal and recovery touch only active runs.
CREATE INDEX flow_runs_worker ON flow_runs (worker_name) WHERE state IN ('PENDING', 'RUNNING', 'CANCELLING');
CREATE INDEX flow_runs_lease ON flow_runs (lease_expires) WHERE state IN ('PENDING', 'RUNNING', 'CANCELLING');

CREATE TABLE logs (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id  TEXT COLLATE "C" NOT NULL REFERENCES flow_runs(id) ON DELETE CASCADE,
    time    TEXT COLLATE "C" NOT NULL,
    level   TEXT NOT NULL,
    source  TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX logs_run ON logs (run_id, id);

CREATE TABLE workers (
    pool_name      TEXT COLLATE "C" NOT NULL,
    name           TEXT COLLATE "C" NOT NULL,
    host           TEXT NOT NULL,
    pid            BIGINT NOT NULL,
    last_heartbeat TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (pool_name, name)
);

CREATE TABLE variables (
    name    TEXT COLLATE "C" PRIMARY KEY,
    value   TEXT NOT NULL,
    updated TEXT COLLATE "C" NOT NULL
);

CREATE TABLE blocks (
    type          TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    data          TEXT NOT NULL,
    secret_fields TEXT NOT NULL,
    updated       TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (type, name)
);
