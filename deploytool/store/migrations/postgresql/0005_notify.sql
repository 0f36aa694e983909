-- deploytool store on PostgreSQL, schema version 5: NOTIFY, sent at commit by the transaction that made the change
-- (docs/stores.md, "Notifications"). Idle workers and `--watch`/`--follow` LISTEN on two channels:
--   deploytool_pool  payload: a pool's name. A run of the pool may have become claimable: a SCHEDULED run was
--                    created, rescheduled, released or re-queued; an active run ended (a concurrency slot freed);
--                    the pool, one of its queues or a deployment's concurrency limit changed (resumed,
--                    limit raised).
--   deploytool_run   payload: a run's id. The run's state changed, or it got log lines.
-- Statement-level triggers with transition tables: one NOTIFY per pool or run per statement, however many rows
-- (and PostgreSQL folds identical notifications of one transaction into one). Payloads stay tiny.

CREATE FUNCTION deploytool_notify_runs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('deploytool_pool', p.pool_name)
        FROM (SELECT DISTINCT pool_name FROM added WHERE state = 'SCHEDULED') p;
    RETURN NULL;
END $$;

CREATE FUNCTION deploytool_notify_runs_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('deploytool_pool', p.pool_name) FROM (
        SELECT DISTINCT n.pool_name FROM after_rows n JOIN before_rows o ON o.id = n.id
        WHERE (n.state = 'SCHEDULED' AND (o.state <> 'SCHEDULED' OR o.scheduled_time <> n.scheduled_time
                                          OR o.pool_name <> n.pool_name OR o.queue_name <> n.queue_name))
           OR (o.state IN ('PENDING', 'RUNNING', 'CANCELLING') AND n.state NOT IN ('PENDING', 'RUNNING', 'CANCELLING'))
    ) p;
    PERFORM pg_notify('deploytool_run', n.id) FROM after_rows n JOIN before_rows o ON o.id = n.id
        WHERE n.state <> o.state;
    RETURN NULL;
END $$;

CREATE FUNCTION deploytool_notify_logs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('deploytool_run', r.run_id) FROM (SELECT DISTINCT run_id FROM added) r;
    RETURN NULL;
END $$;

CREATE FUNCTION deploytool_notify_pool_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('deploytool_pool', NEW.name);
    RETURN NULL;
END $$;

CREATE FUNCTION deploytool_notify_queue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('deploytool_pool', NEW.pool_name);
    RETURN NULL;
END $$;

CREATE TRIGGER flow_runs_notify_insert AFTER INSERT ON flow_runs REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION deploytool_notify_runs_inserted();
CREATE TRIGGER flow_runs_notify_update AFTER UPDATE ON flow_runs REFERENCING OLD TABLE AS before_rows
    NEW TABLE AS after_rows FOR EACH STATEMENT EXECUTE FUNCTION deploytool_notify_runs_updated();
CREATE TRIGGER logs_notify_insert AFTER INSERT ON logs REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION deploytool_notify_logs_inserted();
-- Row triggers on the small tables, only when what a claim depends on changed.
CREATE TRIGGER work_pools_notify AFTER UPDATE ON work_pools FOR EACH ROW
    WHEN (OLD.paused IS DISTINCT FROM NEW.paused OR OLD.concurrency_limit IS DISTINCT FROM NEW.concurrency_limit)
    EXECUTE FUNCTION deploytool_notify_pool_changed();
CREATE TRIGGER work_queues_notify AFTER INSERT OR UPDATE ON work_queues FOR EACH ROW
    EXECUTE FUNCTION deploytool_notify_queue_changed();
CREATE TRIGGER deployments_notify AFTER UPDATE ON deployments FOR EACH ROW
    WHEN (OLD.concurrency_limit IS DISTINCT FROM NEW.concurrency_limit)
    EXECUTE FUNCTION deploytool_notify_queue_changed();
