-- erp-hub sync hub, SQLite schema 1. Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE hub_records (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT    NOT NULL,
    connection      TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    external_ref    TEXT    NOT NULL,
    op              TEXT    NOT NULL,   -- the WriteOp as JSON, as enqueued
    fingerprint     TEXT    NOT NULL,   -- SHA-256 of the op's canonical JSON
    generation      INTEGER NOT NULL,
    idempotency_key TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'claimed', 'done', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    retry_base      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    enqueued_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    first_sent_at   INTEGER,
    locked_by       TEXT,
    locked_until    INTEGER,
    lease_token     INTEGER,
    remote          TEXT,               -- RemoteRef as JSON, once done
    last_error_kind TEXT,
    last_error      TEXT,
    UNIQUE (tenant, connection, kind, external_ref)
);
-- Not prefixed by tenant: the dependency checks must look dependencies up by the unique key below.
CREATE INDEX hub_records_ready ON hub_records (state, next_attempt_at);

CREATE TABLE hub_deps (
    record_id    INTEGER NOT NULL REFERENCES hub_records (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    external_ref TEXT    NOT NULL,
    PRIMARY KEY (record_id, kind, external_ref)
);

CREATE TABLE hub_attempts (
    record_id   INTEGER NOT NULL REFERENCES hub_records (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    error_kind  TEXT,
    message     TEXT,
    remote_id   TEXT,
    worker      TEXT    NOT NULL,
    PRIMARY KEY (record_id, attempt)
);

CREATE TABLE hub_tokens (
    key        TEXT    PRIMARY KEY,
    nonce      BLOB    NOT NULL,
    sealed     BLOB    NOT NULL,       -- ChaCha20-Poly1305 of the token set's JSON, key bound as AAD
    updated_at INTEGER NOT NULL
);
