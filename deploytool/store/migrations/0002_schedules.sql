-- deploytool store, schema version 2: schedules.
-- (0003 belongs to the retries work; the runner applies whichever is missing, in order.)

-- A deployment's catch-up policy for runs missed while nothing was scheduling or running them:
-- 'all', 'latest' (the default) or 'none'. See docs/schedules.md.
ALTER TABLE deployments ADD COLUMN catch_up TEXT NOT NULL DEFAULT 'latest';

-- How far each schedule of a deployment has been turned into runs: `until` is the latest slot the scheduler
-- created. Slots after it and before "now" were missed (no scheduler was running). A schedule with no mark
-- (new, changed, or its deployment was paused) starts from now: nothing before that counts as missed.
-- `schedule_id` is the hash of the schedule's normalised definition (deploytool.scheduling).
CREATE TABLE schedule_marks (
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    schedule_id   TEXT NOT NULL,
    until         TEXT NOT NULL,
    PRIMARY KEY (deployment_id, schedule_id)
) STRICT;

-- Auto-scheduled runs carry the idempotency key 'scheduled:<deployment id>:<schedule id>:<time>'; the
-- scheduler looks them up per deployment through flow_runs_deployment_state.
