-- deploytool store, schema version 6: what a worker needs to survive a store that comes and goes.

-- A log line's idempotency key (the worker's job token and the line's number in its job): a batch sent again
-- after a connection dropped at COMMIT stores each line once. NULL for lines written without one.
ALTER TABLE logs ADD COLUMN line_key TEXT;
CREATE UNIQUE INDEX logs_line_key ON logs (run_id, line_key) WHERE line_key IS NOT NULL;

-- Why a worker that beats cannot take runs (its Docker daemon does not answer); NULL when it can.
ALTER TABLE workers ADD COLUMN problem TEXT;
