-- erp-hub sync hub, PostgreSQL schema 1. Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE hub_records (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant          TEXT    NOT NULL,
    connection      TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    external_ref    TEXT    NOT NULL,
    op              TEXT    NOT NULL,   -- the WriteOp as JSON, as enqueued
    fingerprint     TEXT    NOT NULL,   -- SHA-256 of the op's canonical JSON
    generation      BIGINT  NOT NULL,
    idempotency_key TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'claimed', 'done', 'dead')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    retry_base      BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    enqueued_at     BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    first_sent_at   BIGINT,
    locked_by       TEXT,
    locked_until    BIGINT,
    lease_token     BIGINT,
    remote          TEXT,               -- RemoteRef as JSON, once done
    last_error_kind TEXT,
    last_error      TEXT,
    UNIQUE (tenant, connection, kind, external_ref)
);
-- Not prefixed by tenant: the dependency checks must look dependencies up by the unique key below.
CREATE INDEX hub_records_ready ON hub_records (state, next_attempt_at);

CREATE TABLE hub_deps (
    record_id    BIGINT  NOT NULL REFERENCES hub_records (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    external_ref TEXT    NOT NULL,
    PRIMARY KEY (record_id, kind, external_ref)
);

CREATE TABLE hub_attempts (
    record_id   BIGINT  NOT NULL REFERENCES hub_records (id) ON DELETE CASCADE,
    attempt     BIGINT  NOT NULL,
    started_at  BIGINT  NOT NULL,
    duration_ms BIGINT  NOT NULL,
    outcome     TEXT    NOT NULL,
    error_kind  TEXT,
    message     TEXT,
    remote_id   TEXT,
    worker      TEXT    NOT NULL,
    PRIMARY KEY (record_id, attempt)
);

CREATE TABLE hub_tokens (
    key        TEXT    PRIMARY KEY,
    nonce      BYTEA    NOT NULL,
    sealed     BYTEA    NOT NULL,       -- ChaCha20-Poly1305 of the token set's JSON, key bound as AAD
    updated_at BIGINT  NOT NULL
);
