-- Fiscal documents (erp_hub_core::fiscal::StampJournal, erp_hub_core::hub::{SqliteStampJournal,PgStampJournal}):
-- one row per document, keyed by the ERP record (tenant, entity kind, our external reference). A pending row
-- holds the sealed document, byte for byte what is (re)sent, and the certifiers it was sent to (JSON array
-- [{"certifier", "definitely_not_stamped"}], in the order tried); a stamped row holds the stamp (UUID, stamped
-- XML, ...) and its place in the tenant's completion order. No credential or key is ever stored here.
CREATE TABLE hub_fiscal_documents (
    tenant       TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    external_ref TEXT   NOT NULL,
    state        TEXT   NOT NULL CHECK (state IN ('pending', 'stamped')),
    sealed       TEXT,
    attempts     TEXT   NOT NULL DEFAULT '[]',
    scheme       TEXT,
    doc_kind     TEXT,
    uuid         TEXT,
    stamped_at   TEXT,
    certifier    TEXT,
    series       TEXT,
    folio        TEXT,
    total        TEXT,
    xml          TEXT,
    completion   INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant, kind, external_ref),
    CHECK (state <> 'pending' OR sealed IS NOT NULL),
    CHECK (state <> 'stamped' OR (uuid IS NOT NULL AND xml IS NOT NULL AND completion IS NOT NULL))
);

-- stamped(tenant, kind) in completion order; a completion number is used once per tenant.
CREATE UNIQUE INDEX hub_fiscal_documents_completion ON hub_fiscal_documents (tenant, completion);
-- An operator looks a document up by its UUID.
CREATE INDEX hub_fiscal_documents_uuid ON hub_fiscal_documents (uuid);

-- The last completion number per tenant. complete() increments it in its transaction, holding the row lock
-- until commit, so completion numbers follow commit order (also with many PostgreSQL workers).
CREATE TABLE hub_fiscal_completions (
    tenant          TEXT   PRIMARY KEY,
    last_completion INTEGER NOT NULL CHECK (last_completion >= 0)
);
