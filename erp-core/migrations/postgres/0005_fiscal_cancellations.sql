-- The cancellation of a stamped fiscal document (erp_hub_core::fiscal::{Cancellation, StampJournal::record_cancellation}):
-- the journal's row of the document carries it as JSON ({"uuid", "reason", "substitute", "state", "requested_at",
-- "checked_at", "checks", "detail"}), so a cancellation request and its follow-up survive a restart and are
-- visible to every worker. NULL: never cancelled.
ALTER TABLE hub_fiscal_documents ADD COLUMN cancellation TEXT;
