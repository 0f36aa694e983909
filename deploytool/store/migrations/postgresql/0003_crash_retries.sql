-- deploytool store on PostgreSQL, schema version 3: a deployment's policy for retrying CRASHED runs.
ALTER TABLE deployments ADD COLUMN crash_retries TEXT;
