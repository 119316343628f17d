//! The SQL shared by [`SqliteStore`](super::SqliteStore) and [`PgStore`](super::PgStore).
//!
//! Both schemas use the same tables and columns (see `erp-core/migrations/`), with times as milliseconds since
//! the Unix epoch: SQLite takes them from the process clock (one machine), PostgreSQL from the database's
//! `clock_timestamp()` so that workers on many machines agree. Statements use `$n` parameters, which both
//! drivers accept, so one body (expanded by the `sql_store!` macro per backend) serves both.

use chrono::{DateTime, Utc};

use crate::Error;

pub(crate) fn ms_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Maps a driver error: lost connections and pool timeouts are transient (nothing was committed), anything
/// about the contents (decode errors, a file that is not a database) is a configuration error.
pub(crate) fn db_error(place: &str, e: sqlx::Error) -> Error {
    use sqlx::Error as E;
    let transient = match &e {
        E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Protocol(_) => true,
        E::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // PostgreSQL classes 08 (connection), 40 (serialization/deadlock), 53 (resources), 57 (operator
            // intervention, e.g. shutdown); SQLite 5/6 (busy/locked) after busy_timeout.
            ["08", "40", "53", "57"].iter().any(|c| code.starts_with(c))
                || code == "5"
                || code == "6"
                || code == "517"
        }
        _ => false,
    };
    if transient {
        Error::Transient {
            message: format!("hub store ({place}): database unavailable: {e}"),
            source: Some(Box::new(e)),
        }
    } else {
        Error::config(format!("hub store ({place}): {e}"))
    }
}

pub(crate) fn migrate_error(e: sqlx::migrate::MigrateError, latest: i64) -> Error {
    use sqlx::migrate::MigrateError as M;
    match e {
        M::VersionMissing(v) => Error::config(format!(
            "hub store: the database has schema version {v}, newer than this build of erp-hub-core knows \
             (up to {latest}); upgrade erp-hub-core or use another database"
        )),
        M::Execute(inner) | M::ExecuteMigration(inner, _) => db_error("migrate", inner),
        other => Error::config(format!("hub store: migration failed: {other}")),
    }
}

/// The dependency check of a claim: no dependency of `r` (in `hub_deps`) is a record of the same scope that is
/// not done (a dependency the hub does not hold does not block). Written `d` first, then `p` by its unique key
/// as a scalar subquery that no planner flattens into a join (a join let SQLite scan the scope for every
/// dependency, and PostgreSQL walk the scope's records first: quadratic), and as a correlated `count(*) = 0`
/// rather than `NOT EXISTS`: PostgreSQL turns a
/// `NOT EXISTS` into a hash anti-join over every dependency of the table and sorts every candidate before the
/// `LIMIT` (hundreds of ms per claim on a freshly filled, not yet analyzed table); a scalar subquery stays a
/// per-row filter on the ordered index walk, which stops after the batch. PostgreSQL's claim now uses
/// [`pg_deps_done!`] (a fenced `NOT EXISTS`) instead; the status query still counts with this one.
macro_rules! deps_pending {
    () => {
        "(SELECT count(*) FROM hub_deps d WHERE d.record_id = r.id AND COALESCE(( \
             SELECT p.state FROM hub_records p WHERE p.tenant = r.tenant AND p.connection = r.connection \
                AND p.kind = d.kind AND p.external_ref = d.external_ref), 'done') <> 'done')"
    };
}

macro_rules! deps_done {
    () => {
        concat!(deps_pending!(), " = 0")
    };
}

/// PostgreSQL's dependency check (SQLite keeps [`deps_done!`]): the same per-dependency lookup of `p` by its
/// unique key, as `NOT EXISTS (… OFFSET 0)`. The `count(*) = 0` form is estimated to keep 0.5 % of the rows,
/// so once the table has statistics a custom plan checked every queued record of the scope and sorted them
/// (`EXPLAIN ANALYZE`: 15-22 ms per claim with 2,000 queued records, growing with the queue; the bench's
/// table gets statistics from autovacuum at some point of a run). A `NOT EXISTS` subplan is estimated to keep
/// half, so every plan walks the queued index in due order and stops after the batch (0.15-0.27 ms, with and
/// without statistics, custom and generic plans); `OFFSET 0` keeps the planner from turning it into a hash
/// anti-join over all of `hub_deps` (9-13 ms), and `p` stays a lookup by its unique key driven by `d` (a join
/// let the planner walk the scope's records from `p` without statistics: 48-66 ms).
macro_rules! pg_deps_done {
    () => {
        "NOT EXISTS (SELECT 1 FROM hub_deps d WHERE d.record_id = r.id AND COALESCE(( \
             SELECT p.state FROM hub_records p WHERE p.tenant = r.tenant AND p.connection = r.connection \
                AND p.kind = d.kind AND p.external_ref = d.external_ref), 'done') <> 'done' OFFSET 0)"
    };
}

/// Records of a scope whose lease expired (their earlier attempt may have been sent), dependencies done.
pub(crate) const CLAIM_PICK_EXPIRED: &str = concat!(
    "SELECT r.id FROM hub_records r \
     WHERE r.tenant = $1 AND r.connection = $2 AND r.state = 'claimed' AND r.locked_until < $3 AND ",
    deps_done!(),
    " ORDER BY r.locked_until, r.id LIMIT $4"
);

/// Queued, due records of a scope with every dependency done, in due order. Walks the index
/// `hub_records_claim (state, tenant, connection, next_attempt_at, id)` in order and stops after `$4` hits, so a
/// claim costs the blocked records ahead of the hits, not the whole scope.
pub(crate) const CLAIM_PICK_QUEUED: &str = concat!(
    "SELECT r.id FROM hub_records r \
     WHERE r.tenant = $1 AND r.connection = $2 AND r.state = 'queued' AND r.next_attempt_at <= $3 AND ",
    deps_done!(),
    " ORDER BY r.next_attempt_at, r.id LIMIT $4"
);

/// PostgreSQL: the store clock, in milliseconds since the Unix epoch. `statement_timestamp()` is the server's
/// clock when the statement arrived and constant within it, so the single-statement claim and completion below
/// read it once for every row (lease, retry and log times come from the database, never a worker's clock).
macro_rules! pg_now {
    () => {
        "(extract(epoch FROM statement_timestamp()) * 1000)::bigint"
    };
}

/// The `WITH` items of [`CLAIM_PG`] (`expired`, `queued`, `picked`, `logged`) with the placeholders of tenant,
/// connection and batch size given; `$exclude` is appended to the expired pick's conditions.
macro_rules! claim_pg_ctes {
    ($tenant:literal, $connection:literal, $max:literal, $exclude:literal) => {
        concat!(
            "expired AS ( \
               SELECT r.id, r.locked_until AS due, r.attempts, r.locked_by FROM hub_records r \
               WHERE r.tenant = ",
            $tenant,
            " AND r.connection = ",
            $connection,
            " AND r.state = 'claimed' AND r.locked_until < ",
            pg_now!(),
            $exclude,
            " AND ",
            pg_deps_done!(),
            " ORDER BY r.locked_until, r.id LIMIT ",
            $max,
            " FOR UPDATE OF r SKIP LOCKED), \
             queued AS ( \
               SELECT r.id, r.next_attempt_at AS due FROM hub_records r \
               WHERE r.tenant = ",
            $tenant,
            " AND r.connection = ",
            $connection,
            " AND r.state = 'queued' AND r.next_attempt_at <= ",
            pg_now!(),
            " AND ",
            pg_deps_done!(),
            " ORDER BY r.next_attempt_at, r.id LIMIT GREATEST(",
            $max,
            " - (SELECT count(*) FROM expired), 0) \
               FOR UPDATE OF r SKIP LOCKED), \
             picked AS (SELECT id, 0 AS grp, due FROM expired UNION ALL SELECT id, 1 AS grp, due FROM queued), \
             logged AS ( \
               INSERT INTO hub_attempts \
                 (record_id, attempt, started_at, duration_ms, outcome, error_kind, message, remote_id, worker) \
               SELECT e.id, e.attempts + 1, ",
            pg_now!(),
            ", 0, 'lease_expired', NULL, \
                      'the worker''s lease ran out; the send may have happened', NULL, COALESCE(e.locked_by, '') \
               FROM expired e)"
        )
    };
}

/// The lease `UPDATE … RETURNING` of [`CLAIM_PG`] over `picked`, with the placeholders of worker, lease length
/// (ms) and token given.
macro_rules! claim_pg_update {
    ($worker:literal, $lease_ms:literal, $token:literal) => {
        concat!(
            "UPDATE hub_records r SET \
               attempts = r.attempts + CASE WHEN r.state = 'claimed' THEN 1 ELSE 0 END, \
               state = 'claimed', locked_by = ",
            $worker,
            ", locked_until = ",
            pg_now!(),
            " + ",
            $lease_ms,
            ", lease_token = ",
            $token,
            ", first_sent_at = COALESCE(r.first_sent_at, ",
            pg_now!(),
            "), updated_at = ",
            pg_now!(),
            " \
             FROM picked p WHERE r.id = p.id \
             RETURNING p.grp, p.due, r.id, r.tenant, r.connection, r.kind, r.external_ref, r.op, \
               r.idempotency_key, r.attempts - r.retry_base AS budget, r.enqueued_at, r.first_sent_at, \
               (SELECT json_agg(json_build_array(d.kind, d.external_ref, \
                  (SELECT p.remote FROM hub_records p WHERE p.tenant = r.tenant AND p.connection = r.connection \
                     AND p.kind = d.kind AND p.external_ref = d.external_ref AND p.state = 'done')))::text \
                FROM hub_deps d WHERE d.record_id = r.id) AS dep_remotes"
        )
    };
}

/// PostgreSQL: a whole claim in one statement (one round trip, one commit, no `BEGIN`/`COMMIT`): the two picks
/// of [`CLAIM_PICK_EXPIRED`] and [`CLAIM_PICK_QUEUED`] (same index walks and dependency check) lock their rows
/// with `FOR UPDATE OF r SKIP LOCKED`; the queued pick takes what the expired one left of `$3`; the earlier
/// attempt of each expired lease is logged as `lease_expired` from the locked row's values; the UPDATE sets the
/// lease (`$4` worker, `$5` lease length in ms, `$6` token). `grp` and `due` give the pick order (RETURNING's
/// order is unspecified).
pub(crate) const CLAIM_PG: &str = concat!(
    "WITH ",
    claim_pg_ctes!("$1", "$2", "$3", ""),
    " ",
    claim_pg_update!("$4", "$5", "$6")
);

/// Parses [`CLAIM_PG`]'s `dep_remotes` of record `id`: a JSON array of `[kind, external_ref, remote]`, `remote`
/// null while that dependency is not done (or not held by the hub); SQL NULL for no dependencies.
pub(crate) fn dep_remotes(
    id: i64,
    json: Option<&str>,
) -> crate::Result<Vec<((crate::model::EntityKind, String), crate::model::RemoteRef)>> {
    use crate::hub::types::{corrupt, kind_from_str};
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let rows: Vec<(String, String, Option<String>)> = serde_json::from_str(json)
        .map_err(|x| corrupt(format!("dependencies of record {id}: {x}")))?;
    let mut out = Vec::with_capacity(rows.len());
    for (kind, r, remote) in rows {
        if let Some(remote) = remote {
            let remote = serde_json::from_str(&remote)
                .map_err(|x| corrupt(format!("remote of {kind} `{r}`: {x}")))?;
            out.push(((kind_from_str(&kind)?, r), remote));
        }
    }
    Ok(out)
}

/// `id` is one of the record ids bound as one JSON array (`$n`): one statement for a whole batch on both
/// backends. On PostgreSQL `= ANY (ARRAY(...))` (an init plan, then an index scan by primary key) rather than
/// `IN (SELECT ...)`, which the planner may run as a hash semi-join over the whole table.
fn ids_in(pg: bool, n: u8) -> String {
    if pg {
        format!(
            "= ANY (ARRAY(SELECT (x)::bigint FROM jsonb_array_elements_text(${n}::text::jsonb) AS t(x)))"
        )
    } else {
        format!("IN (SELECT value FROM json_each(${n}))")
    }
}

/// The JSON array bound for [`ids_in`].
pub(crate) fn id_list(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

/// Logs the earlier attempt of every claimed (lease-expired) record among `$1` as `lease_expired`.
pub(crate) fn log_expired_many(pg: bool) -> String {
    format!(
        "INSERT INTO hub_attempts \
         (record_id, attempt, started_at, duration_ms, outcome, error_kind, message, remote_id, worker) \
         SELECT id, attempts + 1, $2, 0, 'lease_expired', NULL, \
                'the worker''s lease ran out; the send may have happened', NULL, COALESCE(locked_by, '') \
         FROM hub_records WHERE id {} AND state = 'claimed'",
        ids_in(pg, 1)
    )
}

/// Claims the picked records `$1` (rows locked by the pick on PostgreSQL, the write lock held on SQLite).
pub(crate) fn claim_many(pg: bool) -> String {
    format!(
        "UPDATE hub_records SET \
           attempts = attempts + CASE WHEN state = 'claimed' THEN 1 ELSE 0 END, \
           state = 'claimed', locked_by = $2, locked_until = $3, lease_token = $4, \
           first_sent_at = COALESCE(first_sent_at, $5), updated_at = $5 \
         WHERE id {} \
         RETURNING id, tenant, connection, kind, external_ref, op, idempotency_key, \
           attempts - retry_base AS budget, enqueued_at, first_sent_at",
        ids_in(pg, 1)
    )
}

/// Extends the lease of the records `$1` still held under lease token `$2`; returns their ids.
pub(crate) fn heartbeat_many(pg: bool) -> String {
    format!(
        "UPDATE hub_records SET locked_until = $3 \
         WHERE id {} AND state = 'claimed' AND lease_token = $2 RETURNING id",
        ids_in(pg, 1)
    )
}

/// Gives back the records `$1` still held under lease token `$2`.
pub(crate) fn release_many(pg: bool) -> String {
    format!(
        "UPDATE hub_records SET state = 'queued', next_attempt_at = $3, \
           locked_by = NULL, locked_until = NULL, lease_token = NULL, updated_at = $4 \
         WHERE id {} AND state = 'claimed' AND lease_token = $2",
        ids_in(pg, 1)
    )
}

/// The remotes of done records of scope (`$1`, `$2`) among the `[kind, external_ref]` pairs of the JSON `$3`,
/// each looked up by the unique key (the pairs drive the join).
pub(crate) fn remote_of_many(pg: bool) -> &'static str {
    if pg {
        // A scalar subquery per pair: a join let the planner hash the whole scope on a table without
        // statistics yet (3-10 ms per call at 10,000 records instead of 0.1 ms).
        "SELECT t.e->>0 AS kind, t.e->>1 AS external_ref, \
           (SELECT r.remote FROM hub_records r WHERE r.tenant = $1 AND r.connection = $2 \
              AND r.kind = t.e->>0 AND r.external_ref = t.e->>1 AND r.state = 'done') AS remote \
         FROM jsonb_array_elements($3::text::jsonb) AS t(e)"
    } else {
        "SELECT r.kind, r.external_ref, r.remote \
         FROM json_each($3) AS j \
         CROSS JOIN hub_records r ON r.tenant = $1 AND r.connection = $2 \
              AND r.kind = json_extract(j.value, '$[0]') AND r.external_ref = json_extract(j.value, '$[1]') \
         WHERE r.state = 'done'"
    }
}

/// One completion, as bound to the completion statements.
#[derive(serde::Serialize)]
pub(crate) struct CompletionRow {
    pub(crate) id: i64,
    pub(crate) state: &'static str,
    pub(crate) next: i64,
    /// The `RemoteRef` as JSON.
    pub(crate) remote: Option<String>,
    pub(crate) error_kind: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) started: i64,
    pub(crate) duration: i64,
    pub(crate) outcome: &'static str,
    pub(crate) remote_id: Option<String>,
    /// 1 for a [`Verdict::Wait`](crate::hub::Verdict::Wait): added to `retry_base`, so the attempt does not
    /// use the retry budget.
    pub(crate) wait: i64,
}

/// The rows [`COMPLETE`] + [`LOG_ATTEMPT`] (SQLite) or [`COMPLETE_MANY_PG`] write for `results` at `now`
/// (PostgreSQL passes 0: `next` is then the delay the statement adds to the store clock).
pub(crate) fn completion_rows(
    results: &[crate::hub::Completion],
    now: i64,
) -> crate::Result<Vec<CompletionRow>> {
    use crate::hub::types::error_kind_str;
    let now_t = ms_to_time(now);
    results
        .iter()
        .map(|c| {
            let (state, next, remote, error, outcome) =
                crate::hub::memory::apply(&c.verdict, now_t);
            Ok(CompletionRow {
                id: c.id,
                state: state.as_str(),
                next: next.timestamp_millis(),
                remote: match &remote {
                    Some(r) => {
                        Some(serde_json::to_string(r).map_err(|x| Error::config(x.to_string()))?)
                    }
                    None => None,
                },
                error_kind: error.as_ref().map(|x| error_kind_str(x.kind)),
                message: error.as_ref().map(|x| x.message.clone()),
                started: c.started_at.timestamp_millis(),
                duration: duration_ms(c.duration),
                outcome,
                remote_id: remote.map(|r| r.id),
                wait: i64::from(matches!(c.verdict, crate::hub::Verdict::Wait { .. })),
            })
        })
        .collect()
}

/// The `WITH` items of [`COMPLETE_MANY_PG`] (`v`, `u`, `written`: the ids whose results were written) with the
/// placeholders of the results, lease token and worker given.
macro_rules! complete_pg_ctes {
    ($results:literal, $token:literal, $worker:literal) => {
        concat!(
            "v AS ( \
               SELECT * FROM jsonb_to_recordset(",
            $results,
            "::text::jsonb) AS v(id bigint, state text, next bigint, remote text, \
                 error_kind text, message text, started bigint, duration bigint, outcome text, remote_id text, \
                 wait bigint)), \
             u AS ( \
               UPDATE hub_records r SET state = v.state, attempts = r.attempts + 1, \
                 retry_base = r.retry_base + v.wait, next_attempt_at = ",
            pg_now!(),
            " + v.next, \
                 remote = COALESCE(v.remote, r.remote), last_error_kind = v.error_kind, last_error = v.message, \
                 locked_by = NULL, locked_until = NULL, lease_token = NULL, updated_at = ",
            pg_now!(),
            " \
               FROM v WHERE r.id = v.id AND r.state = 'claimed' AND r.lease_token = ",
            $token,
            " \
                 AND r.id = ANY (ARRAY(SELECT id FROM v)) \
               RETURNING r.id, r.attempts), \
             written AS ( \
               INSERT INTO hub_attempts \
                 (record_id, attempt, started_at, duration_ms, outcome, error_kind, message, remote_id, worker) \
               SELECT u.id, u.attempts, v.started, v.duration, v.outcome, v.error_kind, v.message, v.remote_id, ",
            $worker,
            " \
               FROM u JOIN v ON v.id = u.id \
               RETURNING record_id)"
        )
    };
}

/// PostgreSQL: the results of a batch (`$1`, JSON array of [`CompletionRow`], `next` as a delay in ms from the
/// store clock) in one statement, without `BEGIN`/`COMMIT` (one round trip, one commit). The UPDATE is fenced by
/// the lease token `$2` exactly like [`COMPLETE`]; attempts are logged only for the rows it updated, whose ids it
/// returns.
pub(crate) const COMPLETE_MANY_PG: &str = concat!(
    "WITH ",
    complete_pg_ctes!("$1", "$2", "$3"),
    " SELECT record_id FROM written"
);

/// PostgreSQL: [`COMPLETE_MANY_PG`] (`$1`-`$3`) and [`CLAIM_PG`] (`$4`-`$9`) in one statement: one round trip
/// and one commit per batch. Data-modifying `WITH` items all read the snapshot from before the statement, so
/// the claim does not see this completion: the records being completed are excluded from the expired pick
/// (their lease may have run out while they were sent; one statement must not update a row twice), a retry
/// or a dependency this completion makes ready waits for a later claim. One row per claimed record, or one row
/// with a NULL `id` when nothing was claimed; `written` (a JSON array, NULL for none) holds the ids whose
/// results were written, on every row.
pub(crate) const COMPLETE_CLAIM_PG: &str = concat!(
    "WITH ",
    complete_pg_ctes!("$1", "$2", "$3"),
    ", ",
    claim_pg_ctes!(
        "$4",
        "$5",
        "$6",
        " AND r.id <> ALL (ARRAY(SELECT id FROM v))"
    ),
    ", claimed AS (",
    claim_pg_update!("$7", "$8", "$9"),
    ") SELECT c.*, (SELECT json_agg(record_id) FROM written)::text AS written \
     FROM (SELECT 1) AS one LEFT JOIN claimed c ON true"
);

pub(crate) const COMPLETE: &str = "UPDATE hub_records SET state = $3, attempts = attempts + 1, \
       retry_base = retry_base + $9, next_attempt_at = $4, remote = COALESCE($5, remote), last_error_kind = $6, last_error = $7, \
       locked_by = NULL, locked_until = NULL, lease_token = NULL, updated_at = $8 \
     WHERE id = $1 AND state = 'claimed' AND lease_token = $2 \
     RETURNING attempts";

pub(crate) const LOG_ATTEMPT: &str = "INSERT INTO hub_attempts \
     (record_id, attempt, started_at, duration_ms, outcome, error_kind, message, remote_id, worker) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(crate) const FIND_KEY: &str = "SELECT id, fingerprint, state, attempts, generation FROM hub_records \
     WHERE tenant = $1 AND connection = $2 AND kind = $3 AND external_ref = $4";

pub(crate) const INSERT: &str = "INSERT INTO hub_records (tenant, connection, kind, external_ref, op, \
       fingerprint, generation, idempotency_key, state, attempts, retry_base, next_attempt_at, enqueued_at, \
       updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, 1, $7, 'queued', 0, 0, $8, $8, $8) RETURNING id";

pub(crate) const INSERT_DEP: &str = "INSERT INTO hub_deps (record_id, kind, external_ref) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

pub(crate) const REPLACE: &str = "UPDATE hub_records SET op = $2, fingerprint = $3, generation = $4, \
       idempotency_key = $5, state = 'queued', retry_base = attempts, next_attempt_at = $6, \
       first_sent_at = NULL, last_error_kind = NULL, last_error = NULL, updated_at = $6 \
     WHERE id = $1";

pub(crate) const DELETE_DEPS: &str = "DELETE FROM hub_deps WHERE record_id = $1";

pub(crate) const REQUEUE_PICK: &str = "SELECT tenant, connection, op, generation, last_error_kind FROM hub_records \
     WHERE id = $1 AND state = 'dead'";

pub(crate) const REQUEUE: &str = "UPDATE hub_records SET state = 'queued', next_attempt_at = $2, \
       retry_base = attempts, generation = $3, idempotency_key = $4, \
       first_sent_at = CASE WHEN $5 = 1 THEN NULL ELSE first_sent_at END, updated_at = $2 \
     WHERE id = $1";

pub(crate) const RECORD_BY_ID: &str = "SELECT id, tenant, connection, kind, external_ref, state, attempts, \
     idempotency_key, next_attempt_at, enqueued_at, remote, last_error_kind, last_error FROM hub_records \
     WHERE id = $1";

pub(crate) const RECORD_BY_KEY: &str = "SELECT id, tenant, connection, kind, external_ref, state, attempts, \
     idempotency_key, next_attempt_at, enqueued_at, remote, last_error_kind, last_error FROM hub_records \
     WHERE tenant = $1 AND connection = $2 AND kind = $3 AND external_ref = $4";

pub(crate) const RECORDS: &str = "SELECT id, tenant, connection, kind, external_ref, state, attempts, \
     idempotency_key, next_attempt_at, enqueued_at, remote, last_error_kind, last_error FROM hub_records \
     WHERE ($1 = 0 OR (tenant = $2 AND connection = $3)) AND ($4 = '' OR state = $4) \
     ORDER BY id LIMIT $5";

pub(crate) const HISTORY: &str = "SELECT attempt, started_at, duration_ms, outcome, error_kind, message, \
     remote_id, worker FROM hub_attempts WHERE record_id = $1 ORDER BY attempt";

pub(crate) const STATUS: &str = concat!(
    "SELECT r.tenant, r.connection, \
       SUM(CASE WHEN r.state = 'queued' THEN 1 ELSE 0 END) AS queued, \
       SUM(CASE WHEN r.state = 'queued' AND ",
    deps_pending!(),
    " > 0 THEN 1 ELSE 0 END) AS blocked, \
       SUM(CASE WHEN r.state = 'claimed' THEN 1 ELSE 0 END) AS claimed, \
       SUM(CASE WHEN r.state = 'done' THEN 1 ELSE 0 END) AS done, \
       SUM(CASE WHEN r.state = 'dead' THEN 1 ELSE 0 END) AS dead, \
       MIN(CASE WHEN r.state IN ('queued', 'claimed') THEN r.enqueued_at END) AS oldest \
     FROM hub_records r GROUP BY r.tenant, r.connection ORDER BY r.tenant, r.connection"
);

/// Implements `HubStore` for a store type with a `pool` field, a `write_tx()` method that opens a write
/// transaction and a `now(&mut tx)` method that reads the store clock.
macro_rules! sql_store {
    ($Store:ty, $Db:ty, $lock:literal, $pg:literal) => {
        #[async_trait::async_trait]
        impl $crate::hub::HubStore for $Store {
            fn stamp_journal(&self) -> Option<std::sync::Arc<dyn $crate::fiscal::StampJournal>> {
                // The inherent method: the journal on this store's pool.
                Some(std::sync::Arc::new(<$Store>::stamp_journal(self)))
            }

            async fn enqueue(
                &self,
                records: &[$crate::hub::NewRecord],
            ) -> $crate::Result<Vec<$crate::hub::Enqueued>> {
                use sqlx::Row as _;
                use $crate::hub::op::{Existing, Prepared, on_existing};
                use $crate::hub::sql::*;
                use $crate::hub::{Enqueued, RecordState};
                let prepared = records
                    .iter()
                    .map(|r| Prepared::new(&r.op))
                    .collect::<$crate::Result<Vec<_>>>()?;
                let e = |err| db_error("enqueue", err);
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                let mut out = Vec::with_capacity(records.len());
                for (rec, p) in records.iter().zip(&prepared) {
                    let existing = sqlx::query(FIND_KEY)
                        .bind(&rec.scope.tenant)
                        .bind(&rec.scope.connection)
                        .bind(p.kind.as_str())
                        .bind(&p.external_ref)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(e)?;
                    let id: i64 = match existing {
                        Some(row) => {
                            let id: i64 = row.try_get("id").map_err(e)?;
                            let fp: String = row.try_get("fingerprint").map_err(e)?;
                            let state =
                                RecordState::parse(&row.try_get::<String, _>("state").map_err(e)?)?;
                            let attempts: i64 = row.try_get("attempts").map_err(e)?;
                            let generation: i64 = row.try_get("generation").map_err(e)?;
                            match on_existing(
                                p,
                                &fp,
                                state,
                                u32::try_from(attempts).unwrap_or(u32::MAX),
                            )? {
                                Existing::Unchanged => {
                                    out.push(Enqueued::Unchanged(id));
                                    continue;
                                }
                                Existing::Requeue => {
                                    let generation =
                                        u32::try_from(generation + 1).unwrap_or(u32::MAX);
                                    let key = p.key(&rec.scope, generation)?;
                                    sqlx::query(REPLACE)
                                        .bind(id)
                                        .bind(&p.op_json)
                                        .bind(p.fingerprint.to_string())
                                        .bind(i64::from(generation))
                                        .bind(key.as_str())
                                        .bind(now)
                                        .execute(&mut *tx)
                                        .await
                                        .map_err(e)?;
                                    sqlx::query(DELETE_DEPS)
                                        .bind(id)
                                        .execute(&mut *tx)
                                        .await
                                        .map_err(e)?;
                                    out.push(Enqueued::Requeued(id));
                                    id
                                }
                            }
                        }
                        None => {
                            let key = p.key(&rec.scope, 1)?;
                            let row = sqlx::query(INSERT)
                                .bind(&rec.scope.tenant)
                                .bind(&rec.scope.connection)
                                .bind(p.kind.as_str())
                                .bind(&p.external_ref)
                                .bind(&p.op_json)
                                .bind(p.fingerprint.to_string())
                                .bind(key.as_str())
                                .bind(now)
                                .fetch_one(&mut *tx)
                                .await
                                .map_err(e)?;
                            let id: i64 = row.try_get("id").map_err(e)?;
                            out.push(Enqueued::Queued(id));
                            id
                        }
                    };
                    for (kind, r) in &p.deps {
                        sqlx::query(INSERT_DEP)
                            .bind(id)
                            .bind(kind.as_str())
                            .bind(r)
                            .execute(&mut *tx)
                            .await
                            .map_err(e)?;
                    }
                }
                tx.commit().await.map_err(e)?;
                Ok(out)
            }

            async fn claim(
                &self,
                req: &$crate::hub::ClaimRequest,
            ) -> $crate::Result<Vec<$crate::hub::Claimed>> {
                use $crate::hub::sql::*;
                let e = |err| db_error("claim", err);
                let max = i64::try_from(req.max).unwrap_or(i64::MAX);
                if $pg {
                    // One statement, one round trip, one commit (see CLAIM_PG).
                    let rows = sqlx::query(CLAIM_PG)
                        .bind(&req.scope.tenant)
                        .bind(&req.scope.connection)
                        .bind(max)
                        .bind(&req.lease.worker)
                        .bind(duration_ms(req.lease_for))
                        .bind(req.lease.token)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(e)?;
                    return pg_claimed(&rows);
                }
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                let out = self.claim_in(&mut tx, now, req).await?;
                tx.commit().await.map_err(e)?;
                Ok(out)
            }

            async fn heartbeat(
                &self,
                lease: &$crate::hub::Lease,
                ids: &[$crate::hub::RecordId],
                extend: std::time::Duration,
            ) -> $crate::Result<()> {
                use sqlx::Row as _;
                use $crate::hub::sql::*;
                let e = |err| db_error("heartbeat", err);
                if ids.is_empty() {
                    return Ok(());
                }
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                let held = sqlx::query(sqlx::AssertSqlSafe(heartbeat_many($pg)))
                    .bind(id_list(ids))
                    .bind(lease.token)
                    .bind(now.saturating_add(duration_ms(extend)))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(e)?
                    .iter()
                    .map(|r| r.try_get::<i64, _>("id"))
                    .collect::<Result<std::collections::HashSet<i64>, _>>()
                    .map_err(e)?;
                tx.commit().await.map_err(e)?;
                let lost: Vec<i64> = ids
                    .iter()
                    .copied()
                    .filter(|id| !held.contains(id))
                    .collect();
                $crate::hub::memory::lost_lease(&lost)
            }

            async fn complete(
                &self,
                lease: &$crate::hub::Lease,
                results: &[$crate::hub::Completion],
            ) -> $crate::Result<()> {
                use sqlx::Row as _;
                use $crate::hub::sql::*;
                let e = |err| db_error("complete", err);
                if results.is_empty() {
                    return Ok(());
                }
                if $pg {
                    // One statement without BEGIN/COMMIT: the fenced UPDATE of every record and the INSERT of
                    // their attempts, times from the store clock (`next` is bound as a delay from it).
                    let rows = completion_rows(results, 0)?;
                    let json = serde_json::to_string(&rows)
                        .map_err(|x| $crate::Error::config(x.to_string()))?;
                    let written = sqlx::query(COMPLETE_MANY_PG)
                        .bind(json)
                        .bind(lease.token)
                        .bind(&lease.worker)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(e)?
                        .iter()
                        .map(|r| r.try_get::<i64, _>("record_id"))
                        .collect::<Result<std::collections::HashSet<i64>, _>>()
                        .map_err(e)?;
                    let lost: Vec<i64> = rows
                        .iter()
                        .map(|r| r.id)
                        .filter(|id| !written.contains(id))
                        .collect();
                    return $crate::hub::memory::lost_lease(&lost);
                }
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                let lost = self.complete_in(&mut tx, now, lease, results).await?;
                tx.commit().await.map_err(e)?;
                $crate::hub::memory::lost_lease(&lost)
            }

            async fn complete_and_claim(
                &self,
                lease: &$crate::hub::Lease,
                results: &[$crate::hub::Completion],
                next: &$crate::hub::ClaimRequest,
            ) -> $crate::Result<($crate::Result<()>, Vec<$crate::hub::Claimed>)> {
                use sqlx::Row as _;
                use $crate::hub::sql::*;
                let e = |err| db_error("complete_and_claim", err);
                if $pg {
                    // One statement: one round trip, one commit (see COMPLETE_CLAIM_PG).
                    let rows = completion_rows(results, 0)?;
                    let json = serde_json::to_string(&rows)
                        .map_err(|x| $crate::Error::config(x.to_string()))?;
                    let out = sqlx::query(COMPLETE_CLAIM_PG)
                        .bind(json)
                        .bind(lease.token)
                        .bind(&lease.worker)
                        .bind(&next.scope.tenant)
                        .bind(&next.scope.connection)
                        .bind(i64::try_from(next.max).unwrap_or(i64::MAX))
                        .bind(&next.lease.worker)
                        .bind(duration_ms(next.lease_for))
                        .bind(next.lease.token)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(e)?;
                    let written: Option<String> = match out.first() {
                        Some(row) => row.try_get("written").map_err(e)?,
                        None => None,
                    };
                    let written: std::collections::HashSet<i64> = match written {
                        Some(json) => serde_json::from_str(&json).map_err(|x| {
                            $crate::hub::types::corrupt(format!("written ids: {x}"))
                        })?,
                        None => std::collections::HashSet::new(),
                    };
                    let lost: Vec<i64> = rows
                        .iter()
                        .map(|r| r.id)
                        .filter(|id| !written.contains(id))
                        .collect();
                    let mut claimed_rows = Vec::with_capacity(out.len());
                    for row in out {
                        if row.try_get::<Option<i64>, _>("id").map_err(e)?.is_some() {
                            claimed_rows.push(row);
                        }
                    }
                    let claimed = pg_claimed(&claimed_rows)?;
                    return Ok(($crate::hub::memory::lost_lease(&lost), claimed));
                }
                // One transaction: the completion, then the claim (which sees it), one commit.
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                let lost = self.complete_in(&mut tx, now, lease, results).await?;
                let claimed = self.claim_in(&mut tx, now, next).await?;
                tx.commit().await.map_err(e)?;
                Ok(($crate::hub::memory::lost_lease(&lost), claimed))
            }

            async fn release(
                &self,
                lease: &$crate::hub::Lease,
                ids: &[$crate::hub::RecordId],
                after: std::time::Duration,
            ) -> $crate::Result<()> {
                use $crate::hub::sql::*;
                let e = |err| db_error("release", err);
                if ids.is_empty() {
                    return Ok(());
                }
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                sqlx::query(sqlx::AssertSqlSafe(release_many($pg)))
                    .bind(id_list(ids))
                    .bind(lease.token)
                    .bind(now.saturating_add(duration_ms(after)))
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                tx.commit().await.map_err(e)
            }

            async fn remote_refs(
                &self,
                scope: &$crate::hub::Scope,
                refs: &[($crate::model::EntityKind, String)],
            ) -> $crate::Result<Vec<Option<$crate::model::RemoteRef>>> {
                use sqlx::Row as _;
                use $crate::hub::sql::*;
                let e = |err| db_error("remote_refs", err);
                if refs.is_empty() {
                    return Ok(Vec::new());
                }
                let pairs: Vec<(&str, &str)> =
                    refs.iter().map(|(k, r)| (k.as_str(), r.as_str())).collect();
                let json = serde_json::to_string(&pairs)
                    .map_err(|x| $crate::Error::config(x.to_string()))?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(remote_of_many($pg)))
                    .bind(&scope.tenant)
                    .bind(&scope.connection)
                    .bind(json)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(e)?;
                let mut found = std::collections::HashMap::with_capacity(rows.len());
                for row in &rows {
                    let kind: String = row.try_get("kind").map_err(e)?;
                    let r: String = row.try_get("external_ref").map_err(e)?;
                    if let Some(json) = row.try_get::<Option<String>, _>("remote").map_err(e)? {
                        let remote: $crate::model::RemoteRef = serde_json::from_str(&json)
                            .map_err(|x| {
                                $crate::hub::types::corrupt(format!("remote of {kind} `{r}`: {x}"))
                            })?;
                        found.insert((kind, r), remote);
                    }
                }
                Ok(refs
                    .iter()
                    .map(|(k, r)| found.get(&(k.as_str().to_owned(), r.clone())).cloned())
                    .collect())
            }

            async fn requeue(&self, id: $crate::hub::RecordId) -> $crate::Result<bool> {
                use sqlx::Row as _;
                use $crate::hub::op::Prepared;
                use $crate::hub::sql::*;
                use $crate::hub::types::error_kind_from_str;
                let e = |err| db_error("requeue", err);
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                let Some(row) = sqlx::query(REQUEUE_PICK)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(e)?
                else {
                    return Ok(false);
                };
                let scope = $crate::hub::Scope::new(
                    row.try_get::<String, _>("tenant").map_err(e)?,
                    row.try_get::<String, _>("connection").map_err(e)?,
                );
                let op: $crate::adapter::WriteOp = serde_json::from_str(
                    &row.try_get::<String, _>("op").map_err(e)?,
                )
                .map_err(|x| $crate::hub::types::corrupt(format!("op of record {id}: {x}")))?;
                let mut generation: i64 = row.try_get("generation").map_err(e)?;
                let verdict = match row
                    .try_get::<Option<String>, _>("last_error_kind")
                    .map_err(e)?
                {
                    Some(k) => $crate::hub::memory::is_verdict(error_kind_from_str(&k)?),
                    None => false,
                };
                if verdict {
                    generation += 1;
                }
                let key = Prepared::new(&op)?
                    .key(&scope, u32::try_from(generation).unwrap_or(u32::MAX))?;
                sqlx::query(REQUEUE)
                    .bind(id)
                    .bind(now)
                    .bind(generation)
                    .bind(key.as_str())
                    .bind(i64::from(verdict))
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            async fn record(
                &self,
                id: $crate::hub::RecordId,
            ) -> $crate::Result<Option<$crate::hub::RecordLog>> {
                use $crate::hub::sql::*;
                let e = |err| db_error("record", err);
                let row = sqlx::query(RECORD_BY_ID)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?;
                match row {
                    Some(row) => {
                        let mut log = record_from(&row).map_err(e)??;
                        log.history = self.history(id).await?;
                        Ok(Some(log))
                    }
                    None => Ok(None),
                }
            }

            async fn find(
                &self,
                scope: &$crate::hub::Scope,
                kind: $crate::model::EntityKind,
                external_ref: &str,
            ) -> $crate::Result<Option<$crate::hub::RecordLog>> {
                use $crate::hub::sql::*;
                let e = |err| db_error("find", err);
                let row = sqlx::query(RECORD_BY_KEY)
                    .bind(&scope.tenant)
                    .bind(&scope.connection)
                    .bind(kind.as_str())
                    .bind(external_ref)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?;
                match row {
                    Some(row) => {
                        let mut log = record_from(&row).map_err(e)??;
                        log.history = self.history(log.id).await?;
                        Ok(Some(log))
                    }
                    None => Ok(None),
                }
            }

            async fn records(
                &self,
                filter: &$crate::hub::RecordFilter,
            ) -> $crate::Result<Vec<$crate::hub::RecordLog>> {
                use $crate::hub::sql::*;
                let e = |err| db_error("records", err);
                let (has_scope, tenant, connection) = match &filter.scope {
                    Some(s) => (1_i64, s.tenant.clone(), s.connection.clone()),
                    None => (0, String::new(), String::new()),
                };
                let rows = sqlx::query(RECORDS)
                    .bind(has_scope)
                    .bind(tenant)
                    .bind(connection)
                    .bind(filter.state.map_or("", |s| s.as_str()))
                    .bind(filter.limit.map_or(i64::MAX, i64::from))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(e)?;
                rows.iter().map(|r| record_from(r).map_err(e)?).collect()
            }

            async fn status(&self) -> $crate::Result<Vec<$crate::hub::ScopeStatus>> {
                use sqlx::Row as _;
                use $crate::hub::sql::*;
                let e = |err| db_error("status", err);
                let rows = sqlx::query(STATUS).fetch_all(&self.pool).await.map_err(e)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let n = |c: &str| -> $crate::Result<u64> {
                        Ok(
                            u64::try_from(r.try_get::<Option<i64>, _>(c).map_err(e)?.unwrap_or(0))
                                .unwrap_or(0),
                        )
                    };
                    out.push($crate::hub::ScopeStatus {
                        scope: $crate::hub::Scope::new(
                            r.try_get::<String, _>("tenant").map_err(e)?,
                            r.try_get::<String, _>("connection").map_err(e)?,
                        ),
                        queued: n("queued")?,
                        blocked: n("blocked")?,
                        claimed: n("claimed")?,
                        done: n("done")?,
                        dead: n("dead")?,
                        oldest_pending: r
                            .try_get::<Option<i64>, _>("oldest")
                            .map_err(e)?
                            .map(ms_to_time),
                    });
                }
                Ok(out)
            }
        }

        impl $Store {
            /// The claim of `req` inside the write transaction `tx`, at store time `now` (SQLite: two picks,
            /// the `lease_expired` log, the lease UPDATE).
            async fn claim_in(
                &self,
                tx: &mut sqlx::Transaction<'static, $Db>,
                now: i64,
                req: &$crate::hub::ClaimRequest,
            ) -> $crate::Result<Vec<$crate::hub::Claimed>> {
                use sqlx::Row as _;
                use $crate::hub::sql::*;
                let e = |err| db_error("claim", err);
                let max = i64::try_from(req.max).unwrap_or(i64::MAX);
                let tx = &mut **tx;

                // Expired leases first (rare), then queued records in due order: two index walks that stop at
                // `max` instead of one OR that sorts every candidate of the scope.
                let mut ids: Vec<i64> = Vec::with_capacity(req.max);
                let mut expired = 0;
                for pick in [CLAIM_PICK_EXPIRED, CLAIM_PICK_QUEUED] {
                    let left = max - i64::try_from(ids.len()).unwrap_or(i64::MAX);
                    if left <= 0 {
                        break;
                    }
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{pick}{}", $lock)))
                        .bind(&req.scope.tenant)
                        .bind(&req.scope.connection)
                        .bind(now)
                        .bind(left)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(e)?;
                    for r in &rows {
                        ids.push(r.try_get::<i64, _>("id").map_err(e)?);
                    }
                    if pick == CLAIM_PICK_EXPIRED {
                        expired = ids.len();
                    }
                }
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let list = id_list(&ids);
                let until = now.saturating_add(duration_ms(req.lease_for));
                if expired > 0 {
                    sqlx::query(sqlx::AssertSqlSafe(log_expired_many($pg)))
                        .bind(id_list(&ids[..expired]))
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(e)?;
                }
                let rows = sqlx::query(sqlx::AssertSqlSafe(claim_many($pg)))
                    .bind(&list)
                    .bind(&req.lease.worker)
                    .bind(until)
                    .bind(req.lease.token)
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(e)?;
                let mut by_id = std::collections::HashMap::with_capacity(rows.len());
                for row in &rows {
                    let c = claimed_from(row).map_err(e)??;
                    by_id.insert(c.id, c);
                }
                // In pick order (RETURNING's order is unspecified).
                Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
            }

            /// The results of `results` under `lease` inside the write transaction `tx`, at store time `now`;
            /// returns the ids `lease` no longer holds (their results are not written).
            async fn complete_in(
                &self,
                tx: &mut sqlx::Transaction<'static, $Db>,
                now: i64,
                lease: &$crate::hub::Lease,
                results: &[$crate::hub::Completion],
            ) -> $crate::Result<Vec<i64>> {
                use sqlx::Row as _;
                use $crate::hub::sql::*;
                let e = |err| db_error("complete", err);
                let tx = &mut **tx;
                let rows = completion_rows(results, now)?;
                let mut lost = Vec::new();
                {
                    // SQLite runs in-process: the same two prepared statements per record, one transaction.
                    for r in &rows {
                        let row = sqlx::query(COMPLETE)
                            .bind(r.id)
                            .bind(lease.token)
                            .bind(r.state)
                            .bind(r.next)
                            .bind(r.remote.as_deref())
                            .bind(r.error_kind.as_deref())
                            .bind(r.message.as_deref())
                            .bind(now)
                            .bind(r.wait)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(e)?;
                        let Some(row) = row else {
                            lost.push(r.id);
                            continue;
                        };
                        let attempt: i64 = row.try_get("attempts").map_err(e)?;
                        sqlx::query(LOG_ATTEMPT)
                            .bind(r.id)
                            .bind(attempt)
                            .bind(r.started)
                            .bind(r.duration)
                            .bind(r.outcome)
                            .bind(r.error_kind.as_deref())
                            .bind(r.message.as_deref())
                            .bind(r.remote_id.as_deref())
                            .bind(&lease.worker)
                            .execute(&mut *tx)
                            .await
                            .map_err(e)?;
                    }
                }
                Ok(lost)
            }

            async fn history(
                &self,
                id: $crate::hub::RecordId,
            ) -> $crate::Result<Vec<$crate::hub::AttemptLog>> {
                use sqlx::Row as _;
                use $crate::hub::sql::*;
                use $crate::hub::types::error_kind_from_str;
                let e = |err| db_error("history", err);
                let rows = sqlx::query(HISTORY)
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(e)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    out.push($crate::hub::AttemptLog {
                        attempt: u32::try_from(r.try_get::<i64, _>("attempt").map_err(e)?)
                            .unwrap_or(0),
                        started_at: ms_to_time(r.try_get("started_at").map_err(e)?),
                        duration_ms: u64::try_from(r.try_get::<i64, _>("duration_ms").map_err(e)?)
                            .unwrap_or(0),
                        outcome: r.try_get("outcome").map_err(e)?,
                        error_kind: match r.try_get::<Option<String>, _>("error_kind").map_err(e)? {
                            Some(k) => Some(error_kind_from_str(&k)?),
                            None => None,
                        },
                        message: r.try_get("message").map_err(e)?,
                        remote_id: r.try_get("remote_id").map_err(e)?,
                        worker: r.try_get("worker").map_err(e)?,
                    });
                }
                Ok(out)
            }
        }

        /// [`CLAIM_PG`]'s rows (also [`COMPLETE_CLAIM_PG`]'s, without the NULL row) in pick order: expired
        /// leases first, then queued records, each in due order (RETURNING's order is unspecified).
        #[allow(dead_code)]
        fn pg_claimed(
            rows: &[<$Db as sqlx::Database>::Row],
        ) -> $crate::Result<Vec<$crate::hub::Claimed>> {
            use sqlx::Row as _;
            use $crate::hub::sql::*;
            let e = |err| db_error("claim", err);
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let grp: i32 = row.try_get("grp").map_err(e)?;
                let due: i64 = row.try_get("due").map_err(e)?;
                let mut c = claimed_from(row).map_err(e)??;
                let deps: Option<String> = row.try_get("dep_remotes").map_err(e)?;
                c.dep_remotes = Some(dep_remotes(c.id, deps.as_deref())?);
                out.push(((grp, due, c.id), c));
            }
            out.sort_by_key(|(k, _)| *k);
            Ok(out.into_iter().map(|(_, c)| c).collect())
        }

        fn claimed_from(
            row: &<$Db as sqlx::Database>::Row,
        ) -> Result<$crate::Result<$crate::hub::Claimed>, sqlx::Error> {
            use sqlx::Row as _;
            use $crate::hub::sql::ms_to_time;
            use $crate::hub::types::{corrupt, kind_from_str};
            let id: i64 = row.try_get("id")?;
            let kind: String = row.try_get("kind")?;
            let op: String = row.try_get("op")?;
            let key: String = row.try_get("idempotency_key")?;
            let budget: i64 = row.try_get("budget")?;
            let scope = $crate::hub::Scope::new(
                row.try_get::<String, _>("tenant")?,
                row.try_get::<String, _>("connection")?,
            );
            let external_ref: String = row.try_get("external_ref")?;
            let enqueued_at: i64 = row.try_get("enqueued_at")?;
            let first: Option<i64> = row.try_get("first_sent_at")?;
            Ok((|| {
                Ok($crate::hub::Claimed {
                    id,
                    scope,
                    kind: kind_from_str(&kind)?,
                    external_ref,
                    op: serde_json::from_str(&op)
                        .map_err(|x| corrupt(format!("op of record {id}: {x}")))?,
                    key: $crate::adapter::IdempotencyKey::new(key)?,
                    attempts: u32::try_from(budget).unwrap_or(0),
                    enqueued_at: ms_to_time(enqueued_at),
                    first_sent_at: ms_to_time(first.unwrap_or(enqueued_at)),
                    dep_remotes: None,
                })
            })())
        }

        fn record_from(
            row: &<$Db as sqlx::Database>::Row,
        ) -> Result<$crate::Result<$crate::hub::RecordLog>, sqlx::Error> {
            use sqlx::Row as _;
            use $crate::hub::sql::ms_to_time;
            use $crate::hub::types::{corrupt, error_kind_from_str, kind_from_str};
            let id: i64 = row.try_get("id")?;
            let scope = $crate::hub::Scope::new(
                row.try_get::<String, _>("tenant")?,
                row.try_get::<String, _>("connection")?,
            );
            let kind: String = row.try_get("kind")?;
            let external_ref: String = row.try_get("external_ref")?;
            let state: String = row.try_get("state")?;
            let attempts: i64 = row.try_get("attempts")?;
            let key: String = row.try_get("idempotency_key")?;
            let next: i64 = row.try_get("next_attempt_at")?;
            let enqueued: i64 = row.try_get("enqueued_at")?;
            let remote: Option<String> = row.try_get("remote")?;
            let ek: Option<String> = row.try_get("last_error_kind")?;
            let em: Option<String> = row.try_get("last_error")?;
            Ok((|| {
                Ok($crate::hub::RecordLog {
                    id,
                    scope,
                    kind: kind_from_str(&kind)?,
                    external_ref,
                    state: $crate::hub::RecordState::parse(&state)?,
                    attempts: u32::try_from(attempts).unwrap_or(0),
                    key,
                    next_attempt_at: ms_to_time(next),
                    enqueued_at: ms_to_time(enqueued),
                    remote: match remote {
                        Some(j) => Some(
                            serde_json::from_str(&j)
                                .map_err(|x| corrupt(format!("remote of record {id}: {x}")))?,
                        ),
                        None => None,
                    },
                    last_error: match ek {
                        Some(k) => Some($crate::hub::AttemptError {
                            kind: error_kind_from_str(&k)?,
                            message: em.unwrap_or_default(),
                        }),
                        None => None,
                    },
                    history: Vec::new(),
                })
            })())
        }
    };
}

pub(crate) use sql_store;
