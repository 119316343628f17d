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

/// The dependency check is written `d` first, then `p` by its unique key (a join let SQLite scan the scope
/// for every dependency: quadratic).
pub(crate) const CLAIM_PICK: &str = "SELECT r.id FROM hub_records r \
     WHERE r.tenant = $1 AND r.connection = $2 \
       AND ((r.state = 'queued' AND r.next_attempt_at <= $3) OR (r.state = 'claimed' AND r.locked_until < $3)) \
       AND NOT EXISTS (SELECT 1 FROM hub_deps d WHERE d.record_id = r.id AND EXISTS ( \
             SELECT 1 FROM hub_records p WHERE p.tenant = r.tenant AND p.connection = r.connection \
                AND p.kind = d.kind AND p.external_ref = d.external_ref AND p.state <> 'done')) \
     ORDER BY r.next_attempt_at, r.id LIMIT $4";

pub(crate) const LOG_EXPIRED: &str = "INSERT INTO hub_attempts \
     (record_id, attempt, started_at, duration_ms, outcome, error_kind, message, remote_id, worker) \
     SELECT id, attempts + 1, $2, 0, 'lease_expired', NULL, \
            'the worker''s lease ran out; the send may have happened', NULL, COALESCE(locked_by, '') \
     FROM hub_records WHERE id = $1 AND state = 'claimed'";

pub(crate) const CLAIM_ONE: &str = "UPDATE hub_records SET \
       attempts = attempts + CASE WHEN state = 'claimed' THEN 1 ELSE 0 END, \
       state = 'claimed', locked_by = $2, locked_until = $3, lease_token = $4, \
       first_sent_at = COALESCE(first_sent_at, $5), updated_at = $5 \
     WHERE id = $1 \
     RETURNING id, tenant, connection, kind, external_ref, op, idempotency_key, \
       attempts - retry_base AS budget, enqueued_at, first_sent_at";

pub(crate) const HEARTBEAT: &str = "UPDATE hub_records SET locked_until = $3 \
     WHERE id = $1 AND state = 'claimed' AND lease_token = $2";

pub(crate) const COMPLETE: &str = "UPDATE hub_records SET state = $3, attempts = attempts + 1, \
       next_attempt_at = $4, remote = COALESCE($5, remote), last_error_kind = $6, last_error = $7, \
       locked_by = NULL, locked_until = NULL, lease_token = NULL, updated_at = $8 \
     WHERE id = $1 AND state = 'claimed' AND lease_token = $2 \
     RETURNING attempts";

pub(crate) const LOG_ATTEMPT: &str = "INSERT INTO hub_attempts \
     (record_id, attempt, started_at, duration_ms, outcome, error_kind, message, remote_id, worker) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(crate) const RELEASE: &str = "UPDATE hub_records SET state = 'queued', next_attempt_at = $3, \
       locked_by = NULL, locked_until = NULL, lease_token = NULL, updated_at = $4 \
     WHERE id = $1 AND state = 'claimed' AND lease_token = $2";

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

pub(crate) const REMOTE_OF: &str = "SELECT remote FROM hub_records WHERE tenant = $1 AND connection = $2 \
     AND kind = $3 AND external_ref = $4 AND state = 'done'";

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

pub(crate) const STATUS: &str = "SELECT r.tenant, r.connection, \
       SUM(CASE WHEN r.state = 'queued' THEN 1 ELSE 0 END) AS queued, \
       SUM(CASE WHEN r.state = 'queued' AND EXISTS (SELECT 1 FROM hub_deps d WHERE d.record_id = r.id \
             AND EXISTS (SELECT 1 FROM hub_records p WHERE p.tenant = r.tenant AND p.connection = r.connection \
                AND p.kind = d.kind AND p.external_ref = d.external_ref AND p.state <> 'done')) \
           THEN 1 ELSE 0 END) AS blocked, \
       SUM(CASE WHEN r.state = 'claimed' THEN 1 ELSE 0 END) AS claimed, \
       SUM(CASE WHEN r.state = 'done' THEN 1 ELSE 0 END) AS done, \
       SUM(CASE WHEN r.state = 'dead' THEN 1 ELSE 0 END) AS dead, \
       MIN(CASE WHEN r.state IN ('queued', 'claimed') THEN r.enqueued_at END) AS oldest \
     FROM hub_records r GROUP BY r.tenant, r.connection ORDER BY r.tenant, r.connection";

/// Implements `HubStore` for a store type with a `pool` field, a `write_tx()` method that opens a write
/// transaction and a `now(&mut tx)` method that reads the store clock.
macro_rules! sql_store {
    ($Store:ty, $Db:ty, $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::hub::HubStore for $Store {
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
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                let ids: Vec<i64> =
                    sqlx::query(sqlx::AssertSqlSafe(format!("{CLAIM_PICK}{}", $lock)))
                        .bind(&req.scope.tenant)
                        .bind(&req.scope.connection)
                        .bind(now)
                        .bind(i64::try_from(req.max).unwrap_or(i64::MAX))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(e)?
                        .iter()
                        .map(|r| r.try_get::<i64, _>("id"))
                        .collect::<Result<_, _>>()
                        .map_err(e)?;
                let until = now.saturating_add(duration_ms(req.lease_for));
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    sqlx::query(LOG_EXPIRED)
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(e)?;
                    let row = sqlx::query(CLAIM_ONE)
                        .bind(id)
                        .bind(&req.lease.worker)
                        .bind(until)
                        .bind(req.lease.token)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(e)?;
                    out.push(claimed_from(&row).map_err(e)??);
                }
                tx.commit().await.map_err(e)?;
                Ok(out)
            }

            async fn heartbeat(
                &self,
                lease: &$crate::hub::Lease,
                ids: &[$crate::hub::RecordId],
                extend: std::time::Duration,
            ) -> $crate::Result<()> {
                use $crate::hub::sql::*;
                let e = |err| db_error("heartbeat", err);
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                let mut lost = Vec::new();
                for id in ids {
                    let n = sqlx::query(HEARTBEAT)
                        .bind(*id)
                        .bind(lease.token)
                        .bind(now.saturating_add(duration_ms(extend)))
                        .execute(&mut *tx)
                        .await
                        .map_err(e)?
                        .rows_affected();
                    if n == 0 {
                        lost.push(*id);
                    }
                }
                tx.commit().await.map_err(e)?;
                $crate::hub::memory::lost_lease(&lost)
            }

            async fn complete(
                &self,
                lease: &$crate::hub::Lease,
                results: &[$crate::hub::Completion],
            ) -> $crate::Result<()> {
                use sqlx::Row as _;
                use $crate::hub::sql::*;
                use $crate::hub::types::error_kind_str;
                let e = |err| db_error("complete", err);
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                let now_t = ms_to_time(now);
                let mut lost = Vec::new();
                for c in results {
                    let (state, next, remote, error, outcome) =
                        $crate::hub::memory::apply(&c.verdict, now_t);
                    let remote_json = match &remote {
                        Some(r) => Some(
                            serde_json::to_string(r)
                                .map_err(|x| $crate::Error::config(x.to_string()))?,
                        ),
                        None => None,
                    };
                    let row = sqlx::query(COMPLETE)
                        .bind(c.id)
                        .bind(lease.token)
                        .bind(state.as_str())
                        .bind(next.timestamp_millis())
                        .bind(remote_json)
                        .bind(error.as_ref().map(|x| error_kind_str(x.kind)))
                        .bind(error.as_ref().map(|x| x.message.clone()))
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(e)?;
                    let Some(row) = row else {
                        lost.push(c.id);
                        continue;
                    };
                    let attempt: i64 = row.try_get("attempts").map_err(e)?;
                    sqlx::query(LOG_ATTEMPT)
                        .bind(c.id)
                        .bind(attempt)
                        .bind(c.started_at.timestamp_millis())
                        .bind(duration_ms(c.duration))
                        .bind(outcome)
                        .bind(error.as_ref().map(|x| error_kind_str(x.kind)))
                        .bind(error.as_ref().map(|x| x.message.clone()))
                        .bind(remote.as_ref().map(|r| r.id.clone()))
                        .bind(&lease.worker)
                        .execute(&mut *tx)
                        .await
                        .map_err(e)?;
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
                let mut tx = self.write_tx().await?;
                let now = Self::now(&mut tx).await?;
                for id in ids {
                    sqlx::query(RELEASE)
                        .bind(*id)
                        .bind(lease.token)
                        .bind(now.saturating_add(duration_ms(after)))
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(e)?;
                }
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
                let mut out = Vec::with_capacity(refs.len());
                for (kind, r) in refs {
                    let row = sqlx::query(REMOTE_OF)
                        .bind(&scope.tenant)
                        .bind(&scope.connection)
                        .bind(kind.as_str())
                        .bind(r)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(e)?;
                    let remote = match row {
                        Some(row) => match row.try_get::<Option<String>, _>("remote").map_err(e)? {
                            Some(json) => Some(serde_json::from_str(&json).map_err(|x| {
                                $crate::hub::types::corrupt(format!("remote of {kind} `{r}`: {x}"))
                            })?),
                            None => None,
                        },
                        None => None,
                    };
                    out.push(remote);
                }
                Ok(out)
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
