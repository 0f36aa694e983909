-- deploytool store on PostgreSQL, schema version 6: log line keys and worker problems (as SQLite's 0006).
ALTER TABLE logs ADD COLUMN line_key TEXT COLLATE "C";
CREATE UNIQUE INDEX logs_line_key ON logs (run_id, line_key) WHERE line_key IS NOT NULL;
ALTER TABLE workers ADD COLUMN problem TEXT;
