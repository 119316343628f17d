//! The fiscal [`StampJournal`] in the hub's database: [`SqliteStampJournal`] (feature `sqlite`) and
//! [`PgStampJournal`] (feature `postgres`), from [`SqliteStore::stamp_journal`](super::SqliteStore::stamp_journal)
//! and [`PgStore::stamp_journal`](super::PgStore::stamp_journal), so the queue and the fiscal documents live in
//! one database (table `hub_fiscal_documents`, migration 4).
//!
//! Every method is one transaction, durable when it returns (SQLite: `synchronous=FULL` as the store opens it;
//! PostgreSQL: a commit). Concurrency:
//!
//! * SQLite: writes are group-committed (see [`SqliteStampJournal`]);
//! * [`begin`](StampJournal::begin) inserts with `ON CONFLICT DO NOTHING` and reads the row back in the same
//!   transaction: the first committed sealed document wins, and every racing worker (task or process) gets that
//!   one back; [`begin_sending`](StampJournal::begin_sending) is the same insert with the certifier already in
//!   the row's attempts (one commit for a new document's `begin` and first `sending`), and it tells the
//!   worker whose insert won (`None`) from the others (the existing entry);
//! * [`sending`](StampJournal::sending) and [`not_stamped`](StampJournal::not_stamped) read the row under the
//!   write lock (SQLite `BEGIN IMMEDIATE`, PostgreSQL `SELECT … FOR UPDATE`); [`complete`](StampJournal::complete)
//!   upserts the stamp over a pending (or missing) row only and, when that changes nothing, reads the stamped
//!   row under the lock its conflict took: two completions of one document are serialised and the second sees
//!   the first UUID;
//! * completion order: `complete` takes the next number of the tenant's counter row (`hub_fiscal_completions`)
//!   and holds its lock until commit, so [`stamped`](StampJournal::stamped) lists documents in commit order.
//!
//! * cancellations ([`record_cancellation`](StampJournal::record_cancellation), migration 5) are a JSON
//!   column of the document's row, written under the same row lock; a terminal state is never replaced.
//!
//! The journal stores documents only: no certifier credential, key or password reaches it.

use async_trait::async_trait;
use rust_decimal::Decimal;

use crate::fiscal::{
    Cancellation, CertifierAttempt, FiscalDocumentKind, FiscalKey, FiscalStamp, JournalEntry,
    StampJournal,
};
use crate::{Error, Result};

use super::sql::db_error;
use super::types::corrupt;

fn doc_kind_str(kind: FiscalDocumentKind) -> &'static str {
    match kind {
        FiscalDocumentKind::Invoice => "invoice",
        FiscalDocumentKind::CreditNote => "credit_note",
        FiscalDocumentKind::Payment => "payment",
    }
}

fn doc_kind_from_str(s: &str) -> Result<FiscalDocumentKind> {
    [
        FiscalDocumentKind::Invoice,
        FiscalDocumentKind::CreditNote,
        FiscalDocumentKind::Payment,
    ]
    .into_iter()
    .find(|k| doc_kind_str(*k) == s)
    .ok_or_else(|| corrupt(format!("unknown fiscal document kind `{s}`")))
}

fn no_pending(key: &FiscalKey) -> Error {
    Error::conflict(format!("{key}: no pending fiscal document in the journal"))
}

fn second_uuid(key: &FiscalKey, existing: &str, new: &str) -> Error {
    Error::conflict(format!(
        "{key} is already stamped with UUID {existing}; refusing a second UUID {new}"
    ))
}

fn parse_attempts(json: &str) -> Result<Vec<CertifierAttempt>> {
    serde_json::from_str(json).map_err(|e| corrupt(format!("fiscal journal attempts: {e}")))
}

fn attempts_json(attempts: &[CertifierAttempt]) -> Result<String> {
    serde_json::to_string(attempts).map_err(|e| corrupt(format!("fiscal journal attempts: {e}")))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The columns of a row, as read by every `SELECT` of the journal.
const COLUMNS: &str = "state, sealed, attempts, scheme, doc_kind, uuid, stamped_at, certifier, series, \
                       folio, total, xml";

/// A row read with [`COLUMNS`] as a journal entry.
fn entry_of<R>(row: &R) -> Result<JournalEntry>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let db = |e| db_error("fiscal journal", e);
    let state: String = row.try_get("state").map_err(db)?;
    match state.as_str() {
        "pending" => {
            let sealed: Option<String> = row.try_get("sealed").map_err(db)?;
            let attempts: String = row.try_get("attempts").map_err(db)?;
            Ok(JournalEntry::Pending {
                sealed: sealed
                    .ok_or_else(|| corrupt("pending fiscal document without sealed XML"))?,
                attempts: parse_attempts(&attempts)?,
            })
        }
        "stamped" => {
            let text = |c: &str| -> Result<String> {
                let v: Option<String> = row.try_get(c).map_err(db)?;
                v.ok_or_else(|| corrupt(format!("stamped fiscal document without {c}")))
            };
            let opt = |c: &str| -> Result<Option<String>> { row.try_get(c).map_err(db) };
            let total: Decimal = text("total")?
                .parse()
                .map_err(|e| corrupt(format!("fiscal document total: {e}")))?;
            let mut stamp = FiscalStamp::new(
                text("scheme")?,
                doc_kind_from_str(&text("doc_kind")?)?,
                text("uuid")?,
                text("stamped_at")?,
                text("certifier")?,
                total,
                text("xml")?,
            )
            .with_number(opt("series")?, opt("folio")?);
            // Exactly as stored (FiscalStamp::new upper-cases; a stamp built field by field may not be).
            stamp.uuid = text("uuid")?;
            Ok(JournalEntry::Stamped(stamp))
        }
        other => Err(corrupt(format!("unknown fiscal document state `{other}`"))),
    }
}

/// One write of the journal protocol (owned: it may travel to the SQLite writer task).
#[derive(Debug)]
pub(super) enum Op {
    Begin {
        key: FiscalKey,
        sealed: String,
    },
    BeginSending {
        key: FiscalKey,
        sealed: String,
        certifier: String,
    },
    Sending {
        key: FiscalKey,
        certifier: String,
    },
    NotStamped {
        key: FiscalKey,
        certifier: String,
    },
    Abandon {
        key: FiscalKey,
    },
    Complete {
        key: FiscalKey,
        stamp: FiscalStamp,
    },
    Cancel {
        key: FiscalKey,
        cancellation: Cancellation,
    },
}

fn cancellation_of(json: Option<String>) -> Result<Option<Cancellation>> {
    json.map(|j| {
        serde_json::from_str(&j).map_err(|e| corrupt(format!("fiscal journal cancellation: {e}")))
    })
    .transpose()
}

/// What a write returns: the entry for `begin`, the existing entry (`None`: begun) for `begin_sending`,
/// nothing for the others.
type Reply = Result<Option<JournalEntry>>;

/// The SQL of both journals (both drivers take `$n` parameters). `$lock` locks the row read before a change on
/// PostgreSQL (empty on SQLite, whose `BEGIN IMMEDIATE` already holds the write lock).
macro_rules! sql_journal {
    ($journal:ident, $db:ty, $lock:literal) => {
        impl $journal {
            async fn read_locked(
                tx: &mut sqlx::Transaction<'static, $db>,
                key: &FiscalKey,
            ) -> Result<Option<JournalEntry>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM hub_fiscal_documents \
                     WHERE tenant = $1 AND kind = $2 AND external_ref = $3{}",
                    $lock
                )))
                .bind(&key.tenant)
                .bind(key.kind.as_str())
                .bind(&key.external_ref)
                .fetch_optional(&mut **tx)
                .await
                .map_err(|e| db_error("fiscal journal", e))?;
                row.as_ref().map(entry_of).transpose()
            }

            /// The entry of `key` after an insert that may have done nothing: ours, or the one that was
            /// there first. Only on PostgreSQL can an `abandon` slip in between; that is a transient error.
            async fn read_back(tx: &mut sqlx::Transaction<'static, $db>, key: &FiscalKey) -> Reply {
                match Self::read_locked(tx, key).await? {
                    Some(entry) => Ok(Some(entry)),
                    None => Err(Error::Transient {
                        message: format!(
                            "{key}: the fiscal document was dropped while it was being journalled; retry"
                        ),
                        source: None,
                    }),
                }
            }

            async fn update_attempts(
                tx: &mut sqlx::Transaction<'static, $db>,
                key: &FiscalKey,
                change: impl FnOnce(&mut Vec<CertifierAttempt>) -> bool + Send,
            ) -> Reply {
                let Some(JournalEntry::Pending { mut attempts, .. }) =
                    Self::read_locked(tx, key).await?
                else {
                    return Err(no_pending(key));
                };
                if change(&mut attempts) {
                    sqlx::query(
                        "UPDATE hub_fiscal_documents SET attempts = $4, updated_at = $5 \
                         WHERE tenant = $1 AND kind = $2 AND external_ref = $3 AND state = 'pending'",
                    )
                    .bind(&key.tenant)
                    .bind(key.kind.as_str())
                    .bind(&key.external_ref)
                    .bind(attempts_json(&attempts)?)
                    .bind(now_ms())
                    .execute(&mut **tx)
                    .await
                    .map_err(|e| db_error("fiscal journal", e))?;
                }
                Ok(None)
            }

            /// Runs one write in `tx` (the caller commits it when it returns `Ok`).
            async fn apply(tx: &mut sqlx::Transaction<'static, $db>, op: &Op) -> Reply {
                use sqlx::Row as _;
                let db = |e| db_error("fiscal journal", e);
                match op {
                    Op::Begin { key, sealed } => {
                        sqlx::query(
                            "INSERT INTO hub_fiscal_documents \
                             (tenant, kind, external_ref, state, sealed, attempts, created_at, updated_at) \
                             VALUES ($1, $2, $3, 'pending', $4, '[]', $5, $5) \
                             ON CONFLICT (tenant, kind, external_ref) DO NOTHING",
                        )
                        .bind(&key.tenant)
                        .bind(key.kind.as_str())
                        .bind(&key.external_ref)
                        .bind(sealed)
                        .bind(now_ms())
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?;
                        // Read back in the same transaction.
                        Self::read_back(tx, key).await
                    }
                    Op::BeginSending {
                        key,
                        sealed,
                        certifier,
                    } => {
                        // One statement: the row is born pending with the certifier recorded, so the commit
                        // that makes the document durable also says where it may be going.
                        let attempts = attempts_json(&[CertifierAttempt {
                            certifier: certifier.clone(),
                            definitely_not_stamped: false,
                        }])?;
                        let inserted = sqlx::query(
                            "INSERT INTO hub_fiscal_documents \
                             (tenant, kind, external_ref, state, sealed, attempts, created_at, updated_at) \
                             VALUES ($1, $2, $3, 'pending', $4, $5, $6, $6) \
                             ON CONFLICT (tenant, kind, external_ref) DO NOTHING",
                        )
                        .bind(&key.tenant)
                        .bind(key.kind.as_str())
                        .bind(&key.external_ref)
                        .bind(sealed)
                        .bind(attempts)
                        .bind(now_ms())
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?
                        .rows_affected();
                        if inserted > 0 {
                            return Ok(None);
                        }
                        // Another worker's entry, returned unchanged (as `begin` would).
                        Self::read_back(tx, key).await
                    }
                    Op::Sending { key, certifier } => {
                        Self::update_attempts(tx, key, |attempts| {
                            if attempts.iter().any(|a| a.certifier == *certifier) {
                                return false;
                            }
                            attempts.push(CertifierAttempt {
                                certifier: certifier.clone(),
                                definitely_not_stamped: false,
                            });
                            true
                        })
                        .await
                    }
                    Op::NotStamped { key, certifier } => {
                        Self::update_attempts(tx, key, |attempts| {
                            let mut changed = false;
                            for a in attempts
                                .iter_mut()
                                .filter(|a| a.certifier == *certifier && !a.definitely_not_stamped)
                            {
                                a.definitely_not_stamped = true;
                                changed = true;
                            }
                            changed
                        })
                        .await
                    }
                    Op::Abandon { key } => {
                        sqlx::query(
                            "DELETE FROM hub_fiscal_documents \
                             WHERE tenant = $1 AND kind = $2 AND external_ref = $3 AND state = 'pending'",
                        )
                        .bind(&key.tenant)
                        .bind(key.kind.as_str())
                        .bind(&key.external_ref)
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?;
                        Ok(None)
                    }
                    Op::Cancel { key, cancellation } => {
                        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT state, uuid, cancellation FROM hub_fiscal_documents \
                             WHERE tenant = $1 AND kind = $2 AND external_ref = $3{}",
                            $lock
                        )))
                        .bind(&key.tenant)
                        .bind(key.kind.as_str())
                        .bind(&key.external_ref)
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(db)?;
                        let stamped_uuid = match &row {
                            Some(r) if r.try_get::<String, _>("state").map_err(db)? == "stamped" => {
                                r.try_get::<Option<String>, _>("uuid").map_err(db)?
                            }
                            _ => None,
                        };
                        if !stamped_uuid.is_some_and(|u| u.eq_ignore_ascii_case(&cancellation.uuid)) {
                            return Err(Error::conflict(format!(
                                "{key}: no stamped document with UUID {} to cancel",
                                cancellation.uuid
                            )));
                        }
                        let existing = match &row {
                            Some(r) => cancellation_of(r.try_get("cancellation").map_err(db)?)?,
                            None => None,
                        };
                        if existing.is_some_and(|e| {
                            e.state.is_terminal() && e.state != cancellation.state
                        }) {
                            return Ok(None);
                        }
                        let json = serde_json::to_string(cancellation).map_err(|e| {
                            corrupt(format!("fiscal journal cancellation: {e}"))
                        })?;
                        sqlx::query(
                            "UPDATE hub_fiscal_documents SET cancellation = $4, updated_at = $5 \
                             WHERE tenant = $1 AND kind = $2 AND external_ref = $3 AND state = 'stamped'",
                        )
                        .bind(&key.tenant)
                        .bind(key.kind.as_str())
                        .bind(&key.external_ref)
                        .bind(json)
                        .bind(now_ms())
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?;
                        Ok(None)
                    }
                    Op::Complete { key, stamp } => {
                        // No read first: the insert below changes only a pending (or missing) row, and when it
                        // changes nothing the row is read then (a stamp already there: the same UUID is a
                        // no-op, another one a Conflict). A repeated completion so takes a counter number it
                        // does not use, a harmless gap (only the order of the numbers matters).
                        // The tenant's counter row stays locked until commit: completion numbers follow
                        // commit order.
                        let completion: i64 = sqlx::query(
                            "INSERT INTO hub_fiscal_completions (tenant, last_completion) VALUES ($1, 1) \
                             ON CONFLICT (tenant) DO UPDATE SET \
                               last_completion = hub_fiscal_completions.last_completion + 1 \
                             RETURNING last_completion",
                        )
                        .bind(&key.tenant)
                        .fetch_one(&mut **tx)
                        .await
                        .map_err(db)?
                        .try_get("last_completion")
                        .map_err(db)?;
                        let done = sqlx::query(
                            "INSERT INTO hub_fiscal_documents \
                             (tenant, kind, external_ref, state, sealed, attempts, scheme, doc_kind, uuid, \
                              stamped_at, certifier, series, folio, total, xml, completion, created_at, updated_at) \
                             VALUES ($1, $2, $3, 'stamped', NULL, '[]', $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                                     $13, $14, $14) \
                             ON CONFLICT (tenant, kind, external_ref) DO UPDATE SET \
                               state = 'stamped', sealed = NULL, scheme = excluded.scheme, \
                               doc_kind = excluded.doc_kind, uuid = excluded.uuid, \
                               stamped_at = excluded.stamped_at, certifier = excluded.certifier, \
                               series = excluded.series, folio = excluded.folio, total = excluded.total, \
                               xml = excluded.xml, completion = excluded.completion, \
                               updated_at = excluded.updated_at \
                             WHERE hub_fiscal_documents.state = 'pending'",
                        )
                        .bind(&key.tenant)
                        .bind(key.kind.as_str())
                        .bind(&key.external_ref)
                        .bind(&stamp.scheme)
                        .bind(doc_kind_str(stamp.kind))
                        .bind(&stamp.uuid)
                        .bind(&stamp.stamped_at)
                        .bind(&stamp.certifier)
                        .bind(&stamp.series)
                        .bind(&stamp.folio)
                        .bind(stamp.total.to_string())
                        .bind(&stamp.xml)
                        .bind(completion)
                        .bind(now_ms())
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?;
                        if done.rows_affected() > 0 {
                            return Ok(None);
                        }
                        // Already stamped (earlier, or by another worker since: the row is locked by the
                        // conflict now, and this statement sees its stamp). The caller rolls back on the
                        // error; on a replay of the same UUID the skipped counter value leaves a harmless gap
                        // in the completion numbers.
                        match Self::read_locked(tx, key).await? {
                            Some(JournalEntry::Stamped(existing)) if existing.uuid == stamp.uuid => {
                                Ok(None)
                            }
                            Some(JournalEntry::Stamped(existing)) => {
                                Err(second_uuid(key, &existing.uuid, &stamp.uuid))
                            }
                            _ => Err(Error::Transient {
                                message: format!(
                                    "{key}: concurrent change of the fiscal document; retry"
                                ),
                                source: None,
                            }),
                        }
                    }
                }
            }
        }

        #[async_trait]
        impl StampJournal for $journal {
            async fn get(&self, key: &FiscalKey) -> Result<Option<JournalEntry>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM hub_fiscal_documents \
                     WHERE tenant = $1 AND kind = $2 AND external_ref = $3"
                )))
                .bind(&key.tenant)
                .bind(key.kind.as_str())
                .bind(&key.external_ref)
                .fetch_optional(self.store.pool())
                .await
                .map_err(|e| db_error("fiscal journal", e))?;
                row.as_ref().map(entry_of).transpose()
            }

            async fn begin(&self, key: &FiscalKey, sealed: &str) -> Result<JournalEntry> {
                self.write(Op::Begin {
                    key: key.clone(),
                    sealed: sealed.to_owned(),
                })
                .await?
                .ok_or_else(|| corrupt("begin returned no entry"))
            }

            async fn begin_sending(
                &self,
                key: &FiscalKey,
                sealed: &str,
                certifier: &str,
            ) -> Result<Option<JournalEntry>> {
                self.write(Op::BeginSending {
                    key: key.clone(),
                    sealed: sealed.to_owned(),
                    certifier: certifier.to_owned(),
                })
                .await
            }

            async fn sending(&self, key: &FiscalKey, certifier: &str) -> Result<()> {
                self.write(Op::Sending {
                    key: key.clone(),
                    certifier: certifier.to_owned(),
                })
                .await
                .map(drop)
            }

            async fn not_stamped(&self, key: &FiscalKey, certifier: &str) -> Result<()> {
                self.write(Op::NotStamped {
                    key: key.clone(),
                    certifier: certifier.to_owned(),
                })
                .await
                .map(drop)
            }

            async fn abandon(&self, key: &FiscalKey) -> Result<()> {
                self.write(Op::Abandon { key: key.clone() }).await.map(drop)
            }

            async fn complete(&self, key: &FiscalKey, stamp: &FiscalStamp) -> Result<()> {
                self.write(Op::Complete {
                    key: key.clone(),
                    stamp: stamp.clone(),
                })
                .await
                .map(drop)
            }

            async fn cancellation(&self, key: &FiscalKey) -> Result<Option<Cancellation>> {
                use sqlx::Row as _;
                let row = sqlx::query(
                    "SELECT cancellation FROM hub_fiscal_documents \
                     WHERE tenant = $1 AND kind = $2 AND external_ref = $3",
                )
                .bind(&key.tenant)
                .bind(key.kind.as_str())
                .bind(&key.external_ref)
                .fetch_optional(self.store.pool())
                .await
                .map_err(|e| db_error("fiscal journal", e))?;
                match row {
                    Some(r) => cancellation_of(
                        r.try_get("cancellation")
                            .map_err(|e| db_error("fiscal journal", e))?,
                    ),
                    None => Ok(None),
                }
            }

            async fn record_cancellation(
                &self,
                key: &FiscalKey,
                cancellation: &Cancellation,
            ) -> Result<()> {
                self.write(Op::Cancel {
                    key: key.clone(),
                    cancellation: cancellation.clone(),
                })
                .await
                .map(drop)
            }

            async fn pending(
                &self,
                tenant: &str,
                kind: crate::model::EntityKind,
            ) -> Result<Vec<(FiscalKey, String)>> {
                use sqlx::Row as _;
                // The primary key's (tenant, kind) prefix: no index of its own for the few pending rows.
                let rows = sqlx::query(
                    "SELECT external_ref, sealed FROM hub_fiscal_documents \
                     WHERE tenant = $1 AND kind = $2 AND state = 'pending'",
                )
                .bind(tenant)
                .bind(kind.as_str())
                .fetch_all(self.store.pool())
                .await
                .map_err(|e| db_error("fiscal journal", e))?;
                rows.iter()
                    .map(|r| {
                        let db = |e| db_error("fiscal journal", e);
                        let external_ref: String = r.try_get("external_ref").map_err(db)?;
                        let sealed: Option<String> = r.try_get("sealed").map_err(db)?;
                        let sealed = sealed
                            .ok_or_else(|| corrupt("pending fiscal document without sealed XML"))?;
                        Ok((FiscalKey::new(tenant, kind, external_ref), sealed))
                    })
                    .collect::<Result<Vec<_>>>()
                    // Byte order, whatever the database's collation.
                    .map(|mut all| {
                        all.sort_by(|a, b| a.0.external_ref.cmp(&b.0.external_ref));
                        all
                    })
            }

            async fn stamped(
                &self,
                tenant: &str,
                kind: FiscalDocumentKind,
            ) -> Result<Vec<FiscalStamp>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM hub_fiscal_documents \
                     WHERE tenant = $1 AND state = 'stamped' AND doc_kind = $2 ORDER BY completion"
                )))
                .bind(tenant)
                .bind(doc_kind_str(kind))
                .fetch_all(self.store.pool())
                .await
                .map_err(|e| db_error("fiscal journal", e))?;
                rows.iter()
                    .map(|r| match entry_of(r)? {
                        JournalEntry::Stamped(s) => Ok(s),
                        JournalEntry::Pending { .. } => {
                            Err(corrupt("a stamped row read back as pending"))
                        }
                    })
                    .collect()
            }
        }
    };
}

/// The fiscal [`StampJournal`] in the hub's SQLite file ([`SqliteStore::stamp_journal`](super::SqliteStore::stamp_journal)).
/// Cheap to clone; see the [module docs](self).
///
/// **Group commit.** SQLite has one writer at a time and every commit waits for the disk (`synchronous=FULL`),
/// so the writes of all the journals of one store go through one writer task, which runs whatever writes
/// are waiting (up to 64) in one `BEGIN IMMEDIATE` transaction, commits once, and only then answers each
/// caller: every write is still on disk when its call returns, and concurrent stamps share the disk flush. A
/// failed write is rolled back alone and answered with its error (the round is then re-run with a savepoint
/// per write; savepoints are left out of the common case, where every statement costs a round trip to the
/// connection's thread).
#[cfg(feature = "sqlite")]
#[derive(Debug, Clone)]
pub struct SqliteStampJournal {
    store: super::SqliteStore,
}

/// The writer task's mailbox, shared by every clone of a [`SqliteStore`](super::SqliteStore).
#[cfg(feature = "sqlite")]
pub(super) type JournalWriter = std::sync::Arc<
    std::sync::Mutex<
        Option<tokio::sync::mpsc::UnboundedSender<(Op, tokio::sync::oneshot::Sender<Reply>)>>,
    >,
>;

#[cfg(feature = "sqlite")]
impl super::SqliteStore {
    /// The fiscal journal in this store's database (the same file as the queue).
    pub fn stamp_journal(&self) -> SqliteStampJournal {
        SqliteStampJournal {
            store: self.clone(),
        }
    }
}

/// Most writes committed together.
#[cfg(feature = "sqlite")]
const GROUP: usize = 64;

#[cfg(feature = "sqlite")]
impl SqliteStampJournal {
    async fn write(&self, op: Op) -> Reply {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let mut job = (op, reply);
        // The writer task ends with the runtime that spawned it: then start another one here.
        for _ in 0..2 {
            let sender = {
                let mut slot = self
                    .store
                    .journal_writer()
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match slot.as_ref().filter(|s| !s.is_closed()) {
                    Some(s) => s.clone(),
                    None => {
                        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                        tokio::spawn(Self::writer(self.store.pool().clone(), rx));
                        *slot = Some(tx.clone());
                        tx
                    }
                }
            };
            match sender.send(job) {
                Ok(()) => {
                    return answer.await.unwrap_or_else(|_| {
                        Err(Error::Transient {
                            message:
                                "fiscal journal: the writer stopped (runtime shut down); nothing \
                                      is known to be committed, retry"
                                    .into(),
                            source: None,
                        })
                    });
                }
                Err(tokio::sync::mpsc::error::SendError(back)) => job = back,
            }
        }
        Err(Error::Transient {
            message: "fiscal journal: no writer task could be started".into(),
            source: None,
        })
    }

    /// Runs waiting writes in one transaction per round; answers after the commit.
    async fn writer(
        pool: sqlx::SqlitePool,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<(Op, tokio::sync::oneshot::Sender<Reply>)>,
    ) {
        let mut jobs = Vec::with_capacity(GROUP);
        while rx.recv_many(&mut jobs, GROUP).await > 0 {
            let results = Self::round(&pool, &jobs).await;
            for ((_, reply), result) in jobs.drain(..).zip(results) {
                // A caller that went away (cancelled) no longer needs the answer.
                let _ = reply.send(result);
            }
        }
    }

    /// One round: the waiting writes in one transaction, committed once. Every write runs without a savepoint
    /// (each statement is a round trip to the connection's thread, and this is the writer's hot path); if
    /// one fails, the transaction is rolled back whole and the round is run again with a savepoint per write
    /// ([`round_isolated`](Self::round_isolated)), so a failed write is still undone alone and answered with
    /// its own error. The writes are replayed in the same order on the same database state, so they do the
    /// same thing again.
    async fn round(
        pool: &sqlx::SqlitePool,
        jobs: &[(Op, tokio::sync::oneshot::Sender<Reply>)],
    ) -> Vec<Reply> {
        let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => tx,
            Err(e) => return Self::failed(jobs, "begin", &db_error("begin", e)),
        };
        let mut results = Vec::with_capacity(jobs.len());
        for (op, _) in jobs {
            match Self::apply(&mut tx, op).await {
                Ok(r) => results.push(Ok(r)),
                Err(_) => {
                    if let Err(e) = tx.rollback().await {
                        return Self::failed(jobs, "rollback", &db_error("rollback", e));
                    }
                    return Self::round_isolated(pool, jobs).await;
                }
            }
        }
        match tx.commit().await {
            Ok(()) => results,
            Err(e) => Self::failed(jobs, "commit", &db_error("commit", e)),
        }
    }

    /// Every job answered with a transient error: nothing of the round was committed.
    fn failed(
        jobs: &[(Op, tokio::sync::oneshot::Sender<Reply>)],
        what: &str,
        e: &Error,
    ) -> Vec<Reply> {
        jobs.iter()
            .map(|_| {
                Err(Error::Transient {
                    message: format!("fiscal journal ({what}): {e}; nothing was committed, retry"),
                    source: None,
                })
            })
            .collect()
    }

    /// A round with a savepoint around each write: a failed write is rolled back alone.
    async fn round_isolated(
        pool: &sqlx::SqlitePool,
        jobs: &[(Op, tokio::sync::oneshot::Sender<Reply>)],
    ) -> Vec<Reply> {
        let failed = |what: &str, e: &Error| Self::failed(jobs, what, e);
        let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => tx,
            Err(e) => return failed("begin", &db_error("begin", e)),
        };
        let mut results = Vec::with_capacity(jobs.len());
        for (op, _) in jobs {
            let savepoint =
                async |sql: &'static str, tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>| {
                    sqlx::query(sql)
                        .execute(&mut **tx)
                        .await
                        .map(drop)
                        .map_err(|e| db_error("fiscal journal savepoint", e))
                };
            if let Err(e) = savepoint("SAVEPOINT journal_op", &mut tx).await {
                return failed("savepoint", &e);
            }
            let result = Self::apply(&mut tx, op).await;
            if result.is_err()
                && let Err(e) = savepoint("ROLLBACK TO SAVEPOINT journal_op", &mut tx).await
            {
                return failed("rollback to savepoint", &e);
            }
            if let Err(e) = savepoint("RELEASE SAVEPOINT journal_op", &mut tx).await {
                return failed("release savepoint", &e);
            }
            results.push(result);
        }
        match tx.commit().await {
            Ok(()) => results,
            Err(e) => failed("commit", &db_error("commit", e)),
        }
    }
}

#[cfg(feature = "sqlite")]
sql_journal!(SqliteStampJournal, sqlx::Sqlite, "");

/// The fiscal [`StampJournal`] in the hub's PostgreSQL database ([`PgStore::stamp_journal`](super::PgStore::stamp_journal)):
/// worker processes sharing the database share the journal. Cheap to clone; see the [module docs](self).
/// Each write is its own transaction (PostgreSQL flushes concurrent commits together by itself).
#[cfg(feature = "postgres")]
#[derive(Debug, Clone)]
pub struct PgStampJournal {
    store: super::PgStore,
}

#[cfg(feature = "postgres")]
impl super::PgStore {
    /// The fiscal journal in this store's database (the same database as the queue).
    pub fn stamp_journal(&self) -> PgStampJournal {
        PgStampJournal {
            store: self.clone(),
        }
    }
}

#[cfg(feature = "postgres")]
impl PgStampJournal {
    async fn write(&self, op: Op) -> Reply {
        let mut tx = self.store.write_tx().await?;
        let result = Self::apply(&mut tx, &op).await?;
        tx.commit().await.map_err(|e| db_error("commit", e))?;
        Ok(result)
    }
}

#[cfg(feature = "postgres")]
sql_journal!(PgStampJournal, sqlx::Postgres, " FOR UPDATE");
