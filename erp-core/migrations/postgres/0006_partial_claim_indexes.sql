-- erp-hub sync hub, PostgreSQL schema 6: the two claim picks walk partial indexes that hold only the rows they
-- look for, in the order they take them. With schema 2's (state, tenant, connection, next_attempt_at, id) index,
-- a table without statistics yet (freshly filled, autovacuum not yet run) or a generic plan let PostgreSQL pick
-- the unique (tenant, connection, kind, external_ref) index for the expired-lease pick and filter every record
-- of the scope (~15 ms per claim at 10,000 records instead of ~0.05 ms). A partial index is also cheaper to
-- keep: a record has an entry only while it is queued (or claimed), not in every state it passes through.
CREATE INDEX hub_records_queued ON hub_records (tenant, connection, next_attempt_at, id) WHERE state = 'queued';
CREATE INDEX hub_records_leased ON hub_records (tenant, connection, locked_until, id) WHERE state = 'claimed';
DROP INDEX hub_records_claim;
