-- Gap-free document numbers (erp_hub_core::hub::numbering): one counter per series, one row per numbered
-- document, written in the same transaction.
CREATE TABLE hub_number_series (
    issuer      TEXT   NOT NULL,
    series      TEXT   NOT NULL,
    last_number BIGINT NOT NULL CHECK (last_number >= 0),
    PRIMARY KEY (issuer, series)
);

CREATE TABLE hub_numbered_documents (
    issuer       TEXT   NOT NULL,
    series       TEXT   NOT NULL,
    number       BIGINT NOT NULL CHECK (number > 0),
    document_key TEXT   NOT NULL,
    document     BYTEA  NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (issuer, series, number),
    UNIQUE (issuer, series, document_key)
);
