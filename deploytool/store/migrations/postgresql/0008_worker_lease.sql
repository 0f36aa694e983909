-- deploytool store on PostgreSQL, schema version 8: each worker's lease with its heartbeat (as SQLite's 0008).
ALTER TABLE workers ADD COLUMN lease_seconds DOUBLE PRECISION;
