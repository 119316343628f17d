-- erp-hub sync hub, schema 2: the claim walks this index in due order per scope and state and stops after the
-- batch, instead of sorting every record of the scope (schema 1's (state, next_attempt_at) index was not
-- usable together with the scope filter). State first: the dependency checks look records up by their
-- unique key, and a (tenant, connection, ...) prefix here let PostgreSQL pick this index for them instead.
DROP INDEX hub_records_ready;
CREATE INDEX hub_records_claim ON hub_records (state, tenant, connection, next_attempt_at, id);
