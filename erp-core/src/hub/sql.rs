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
/// per-row filter on the ordered index walk, which stops after the batch.
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
        "SELECT r.kind, r.external_ref, r.remote \
         FROM jsonb_array_elements($3::text::jsonb) AS t(e) \
         JOIN hub_records r ON r.tenant = $1 AND r.connection = $2 AND r.kind = t.e->>0 \
              AND r.external_ref = t.e->>1 \
         WHERE r.state = 'done'"
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
}

/// The rows [`COMPLETE`] + [`LOG_ATTEMPT`] (SQLite) or [`COMPLETE_MANY_PG`] write for `results` at `now`.
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
            })
        })
        .collect()
}

/// PostgreSQL: the results of a batch (`$1`, JSON array of [`CompletionRow`]) in one statement. The UPDATE is
/// fenced by the lease token `$2` exactly like [`COMPLETE`]; attempts are logged only for the rows it updated,
/// whose ids it returns.
pub(crate) const COMPLETE_MANY_PG: &str = "WITH v AS ( \
       SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS v(id bigint, state text, next bigint, remote text, \
         error_kind text, message text, started bigint, duration bigint, outcome text, remote_id text)), \
     u AS ( \
       UPDATE hub_records r SET state = v.state, attempts = r.attempts + 1, next_attempt_at = v.next, \
         remote = COALESCE(v.remote, r.remote), last_error_kind = v.error_kind, last_error = v.message, \
         locked_by = NULL, locked_until = NULL, lease_token = NULL, updated_at = $3 \
       FROM v WHERE r.id = v.id AND r.state = 'claimed' AND r.lease_token = $2 \
         AND r.id = ANY (ARRAY(SELECT id FROM v)) \
       RETURNING r.id, r.attempts) \
     INSERT INTO hub_attempts \
       (record_id, attempt, started_at, duration_ms, outcome, error_kind, message, remote_id, worker) \
     SELECT u.id, u.attempts, v.started, v.duration, v.outcome, v.error_kind, v.message, v.remote_id, $4 \
     FROM u JOIN v ON v.id = u.id \
     RETURNING record_id";

pub(crate) const COMPLETE: &str = "UPDATE hub_records SET state = $3, attempts = attempts + 1, \
       next_attempt_at = $4, remote = COALESCE($5, remote), last_error_kind = $6, last_error = $7, \
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
                use sqlx::Row as _;
                use $crate::hub::sql::*;
                let e = |err| db_error("claim", err);
                let max = i64::try_from(req.max).unwrap_or(i64::MAX);
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
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
                    tx.commit().await.map_err(e)?;
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
                tx.commit().await.map_err(e)?;
                let mut by_id = std::collections::HashMap::with_capacity(rows.len());
                for row in &rows {
                    let c = claimed_from(row).map_err(e)??;
                    by_id.insert(c.id, c);
                }
                // In pick order (RETURNING's order is unspecified).
                Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
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
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                let rows = completion_rows(results, now)?;
                let mut lost = Vec::new();
                if $pg {
                    // One statement: the fenced UPDATE of every record and the INSERT of their attempts.
                    let json = serde_json::to_string(&rows)
                        .map_err(|x| $crate::Error::config(x.to_string()))?;
                    let written = sqlx::query(COMPLETE_MANY_PG)
                        .bind(json)
                        .bind(lease.token)
                        .bind(now)
                        .bind(&lease.worker)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(e)?
                        .iter()
                        .map(|r| r.try_get::<i64, _>("record_id"))
                        .collect::<Result<std::collections::HashSet<i64>, _>>()
                        .map_err(e)?;
                    lost.extend(rows.iter().map(|r| r.id).filter(|id| !written.contains(id)));
                } else {
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
                tx.commit().await.map_err(e)?;
                $crate::hub::memory::lost_lease(&lost)
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
