-- deploytool store, schema version 8: each worker's lease with its heartbeat.

-- How long the worker's heartbeat counts (its lease: 3 heartbeats, 15 s by default): `worker ls` shows it stale,
-- and its pool NOT_READY, once its last heartbeat is older (store/worker_status.py). NULL: a record written
-- before version 8, judged by the default lease.
ALTER TABLE workers ADD COLUMN lease_seconds REAL;
