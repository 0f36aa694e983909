-- deploytool store on PostgreSQL, schema version 2: schedules (as the SQLite store's 0002).
ALTER TABLE deployments ADD COLUMN catch_up TEXT NOT NULL DEFAULT 'latest';

CREATE TABLE schedule_marks (
    deployment_id TEXT COLLATE "C" NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    schedule_id   TEXT COLLATE "C" NOT NULL,
    until         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (deployment_id, schedule_id)
);
