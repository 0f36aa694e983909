-- deploytool store, schema version 3: a deployment's policy for retrying CRASHED runs.
-- (0002 belongs to the schedules work; the runner applies whichever is missing, in order.)

-- The whole crash_retries mapping, JSON: {"max": 3, "backoff_seconds": 30, "max_backoff_seconds": 600}.
ALTER TABLE deployments ADD COLUMN crash_retries TEXT;
