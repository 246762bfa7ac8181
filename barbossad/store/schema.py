"""SQLite schema: forward migrations, the version kept in PRAGMA user_version."""

from __future__ import annotations

# Each entry migrates from version i to i+1. Never edit a released migration; append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE definitions (
        hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        body TEXT NOT NULL,           -- canonical JSON of the definition that ran
        created_at REAL NOT NULL
    );
    CREATE TABLE workflows (
        name TEXT PRIMARY KEY,
        source TEXT NOT NULL,         -- 'api' (templates live in files)
        template_name TEXT NOT NULL DEFAULT '',
        definition_hash TEXT NOT NULL REFERENCES definitions(hash),
        variable_values TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workflow TEXT NOT NULL,
        state TEXT NOT NULL,
        trigger TEXT NOT NULL,
        triggered_by TEXT NOT NULL DEFAULT '',
        parameters TEXT NOT NULL DEFAULT '{}',
        definition_hash TEXT NOT NULL,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        error TEXT NOT NULL DEFAULT '',
        retry_of INTEGER REFERENCES runs(id)
    );
    CREATE INDEX runs_workflow ON runs(workflow, id DESC);
    CREATE INDEX runs_state ON runs(state, id DESC);
    CREATE INDEX runs_created ON runs(created_at);
    CREATE INDEX runs_trigger ON runs(trigger, id DESC);
    CREATE TABLE task_runs (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        task_id TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        state TEXT NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER,
        started_at REAL,
        finished_at REAL,
        error TEXT NOT NULL DEFAULT '',
        outputs TEXT NOT NULL DEFAULT '{}',
        output_truncated INTEGER NOT NULL DEFAULT 0,
        reused INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, task_id)
    );
    CREATE INDEX task_runs_state ON task_runs(state);
    CREATE TABLE task_attempts (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        task_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        state TEXT NOT NULL,
        exit_code INTEGER,
        started_at REAL,
        finished_at REAL,
        error TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (run_id, task_id, attempt)
    );
    CREATE TABLE task_output (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        task_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        stream TEXT NOT NULL,
        part TEXT NOT NULL DEFAULT 'head',   -- 'head' or 'tail' (kept when output is capped)
        data BLOB NOT NULL
    );
    CREATE INDEX task_output_run ON task_output(run_id, task_id, id);
    CREATE TABLE schedules (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workflow TEXT NOT NULL,
        expression TEXT NOT NULL,
        timezone TEXT NOT NULL DEFAULT '',  -- IANA name, '' for the system's zone
        paused INTEGER NOT NULL DEFAULT 0,
        origin TEXT NOT NULL,               -- 'api' or 'template'
        origin_key TEXT NOT NULL DEFAULT '',-- template schedules: 'template:<workflow>#<index>'
        misfire TEXT NOT NULL DEFAULT 'skip',
        overlap TEXT NOT NULL DEFAULT 'skip',
        catch_up_limit INTEGER NOT NULL DEFAULT 10,
        catch_up_window REAL,
        parameters TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        active_since REAL NOT NULL,         -- slots at or before this are never due
        last_slot REAL,                     -- the newest slot with a schedule_fires row
        last_slot_outcome TEXT NOT NULL DEFAULT '',
        last_slot_reason TEXT NOT NULL DEFAULT '',
        last_fire_time REAL,                -- the slot of the newest run started
        last_run_id INTEGER,
        last_outcome TEXT NOT NULL DEFAULT '',  -- state of last_run_id
        missed_count INTEGER NOT NULL DEFAULT 0,
        skipped_count INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX schedules_workflow ON schedules(workflow);
    CREATE UNIQUE INDEX schedules_origin ON schedules(origin_key) WHERE origin_key != '';
    CREATE TABLE schedule_fires (
        schedule_id INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
        scheduled_time REAL NOT NULL,       -- the slot (whole seconds since the epoch)
        recorded_at REAL NOT NULL,
        outcome TEXT NOT NULL,              -- 'started', 'queued', 'skipped', 'missed', 'failed'
        reason TEXT NOT NULL DEFAULT '',
        run_id INTEGER,
        slots INTEGER NOT NULL DEFAULT 1,   -- a 'missed' row stands for this many slots
        UNIQUE (schedule_id, scheduled_time)
    );
    CREATE INDEX schedule_fires_unsettled ON schedule_fires(schedule_id)
        WHERE outcome = 'queued' OR (outcome = 'started' AND run_id IS NULL);
    CREATE TABLE daemon_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        outcome TEXT NOT NULL DEFAULT 'ok',
        details TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_time ON audit_log(time);
    CREATE TABLE template_status (
        name TEXT PRIMARY KEY,              -- the template (file stem)
        path TEXT NOT NULL,
        valid INTEGER NOT NULL,
        issues TEXT NOT NULL DEFAULT '[]',  -- JSON list of the current file's issues
        active_hash TEXT NOT NULL DEFAULT '',-- the last good version in use ('' = none)
        updated_at REAL NOT NULL
    );
    CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        hook TEXT NOT NULL,
        delivery_id TEXT NOT NULL DEFAULT '',
        digest TEXT NOT NULL DEFAULT '',    -- sha256 of the signed bytes (never the signature)
        received_at REAL NOT NULL,
        outcome TEXT NOT NULL,              -- 'accepted', 'bad_signature', 'replay', ...
        status INTEGER NOT NULL,            -- the HTTP status answered
        detail TEXT NOT NULL DEFAULT '',
        remote TEXT NOT NULL DEFAULT '',
        run_id INTEGER
    );
    -- Replay protection: a delivery id, and a signed body, is accepted once per hook. Only
    -- accepted rows are unique, so a forged request cannot burn a genuine delivery's id.
    CREATE UNIQUE INDEX webhook_deliveries_id ON webhook_deliveries(hook, delivery_id)
        WHERE outcome = 'accepted';
    CREATE UNIQUE INDEX webhook_deliveries_digest ON webhook_deliveries(hook, digest)
        WHERE outcome = 'accepted';
    CREATE INDEX webhook_deliveries_time ON webhook_deliveries(received_at);
    """,
    # 2: no query looks task rows up by state alone (crash recovery goes through runs), and the
    # index cost every task state change an extra b-tree delete and insert.
    """
    DROP INDEX IF EXISTS task_runs_state;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
