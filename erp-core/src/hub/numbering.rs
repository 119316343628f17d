//! Gap-free document numbers: Costa Rican consecutivos, CFDI folios, any series a tax authority audits.
//!
//! A number is consumed only together with the document that carries it. [`NumberStore::issue`] runs, in one
//! transaction: look the document up by its key (a second call for the same document returns the stored
//! number and bytes, and builds nothing), lock the series, take `last + 1`, call your `build` closure with it
//! (make and sign the XML there), store the number with the built bytes, and commit. If `build` fails, or the
//! process dies before the commit, nothing is consumed and the next document gets the same number; after the
//! commit the document is on disk with its number, so a crash never skips or repeats one.
//!
//! Concurrency: SQLite takes the write lock up front (`BEGIN IMMEDIATE`); PostgreSQL locks the series row
//! (`SELECT … FOR UPDATE`), so workers in many processes allocating from one series wait for each other and
//! other series run in parallel. A `(series, number)` pair is unique in the table as a last line of defence.
//!
//! After restoring the database from a backup the counter may lie behind numbers already sent to the
//! authority; [`NumberStore::advance_to`] moves it past the last number known to be used (it never moves a
//! series back), and [`NumberStore::issue`] refuses a number that is already stored.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::{Error, Result};

/// One numbering series: an issuer (RFC, cédula) and the series within it (e.g. a CR sucursal + terminal +
/// tipo de documento `"001-00001-01"`, a CFDI `Serie`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Series {
    /// The issuer's tax id.
    pub issuer: String,
    /// The series within the issuer.
    pub series: String,
}

impl Series {
    /// A series of `issuer`.
    pub fn new(issuer: impl Into<String>, series: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            series: series.into(),
        }
    }
}

/// A numbered document as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Issued {
    /// Its number in the series (from 1).
    pub number: u64,
    /// The bytes `build` made for it (e.g. the signed XML).
    pub document: Vec<u8>,
    /// `true` when this call allocated the number; `false` when the document had one already.
    pub fresh: bool,
}

/// What [`NumberStore::issue`] calls with the allocated number to make the document.
pub type Build<'a> = &'a (dyn Fn(u64) -> Result<Vec<u8>> + Send + Sync);

/// Durable, gap-free numbering (see the [module docs](self)).
#[async_trait]
pub trait NumberStore: Send + Sync {
    /// The document `document_key` in `series`: its stored number and bytes if it has one, else the next
    /// number with the bytes `build` makes for it, stored before this returns.
    ///
    /// # Errors
    /// `build`'s error (nothing consumed); a `Conflict` when the number to allocate is already stored (the
    /// counter was moved back, e.g. by a restore); a `Transient` error when the database is unavailable.
    async fn issue(&self, series: &Series, document_key: &str, build: Build<'_>) -> Result<Issued>;

    /// The document stored under `document_key`, if any.
    ///
    /// # Errors
    /// A `Transient` error when the database is unavailable.
    async fn get(&self, series: &Series, document_key: &str) -> Result<Option<Issued>>;

    /// The last number consumed in `series` (0 before the first).
    ///
    /// # Errors
    /// A `Transient` error when the database is unavailable.
    async fn last(&self, series: &Series) -> Result<u64>;

    /// Moves the counter to at least `last_used` (after a restore, with the last number the authority has);
    /// never moves it back.
    ///
    /// # Errors
    /// A `Transient` error when the database is unavailable.
    async fn advance_to(&self, series: &Series, last_used: u64) -> Result<()>;
}

fn taken(series: &Series, number: u64) -> Error {
    Error::Conflict {
        message: format!(
            "number {number} of series {}/{} is already stored for another document: the counter was moved \
             back (restored backup?); advance it past the last number used",
            series.issuer, series.series
        ),
    }
}

/// [`NumberStore`] in memory (tests).
#[derive(Debug, Default)]
pub struct MemoryNumbers {
    inner: Mutex<HashMap<Series, MemorySeries>>,
}

#[derive(Debug, Default)]
struct MemorySeries {
    last: u64,
    by_key: HashMap<String, (u64, Vec<u8>)>,
    numbers: HashMap<u64, String>,
}

impl MemoryNumbers {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Series, MemorySeries>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl NumberStore for MemoryNumbers {
    async fn issue(&self, series: &Series, document_key: &str, build: Build<'_>) -> Result<Issued> {
        let mut all = self.lock();
        let s = all.entry(series.clone()).or_default();
        if let Some((number, document)) = s.by_key.get(document_key) {
            return Ok(Issued {
                number: *number,
                document: document.clone(),
                fresh: false,
            });
        }
        let number = s.last + 1;
        if s.numbers.contains_key(&number) {
            return Err(taken(series, number));
        }
        let document = build(number)?;
        s.last = number;
        s.numbers.insert(number, document_key.to_owned());
        s.by_key
            .insert(document_key.to_owned(), (number, document.clone()));
        Ok(Issued {
            number,
            document,
            fresh: true,
        })
    }

    async fn get(&self, series: &Series, document_key: &str) -> Result<Option<Issued>> {
        Ok(self.lock().get(series).and_then(|s| {
            s.by_key.get(document_key).map(|(number, document)| Issued {
                number: *number,
                document: document.clone(),
                fresh: false,
            })
        }))
    }

    async fn last(&self, series: &Series) -> Result<u64> {
        Ok(self.lock().get(series).map_or(0, |s| s.last))
    }

    async fn advance_to(&self, series: &Series, last_used: u64) -> Result<()> {
        let mut all = self.lock();
        let s = all.entry(series.clone()).or_default();
        s.last = s.last.max(last_used);
        Ok(())
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::invalid("number", format!("{n} is out of range")))
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The SQL of both stores (both drivers take `$n` parameters). `$lock` is the clause that locks the series
/// row on PostgreSQL (empty on SQLite, whose `BEGIN IMMEDIATE` already holds the write lock).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
macro_rules! sql_numbers {
    ($store:ty, $lock:literal) => {
        #[async_trait]
        impl NumberStore for $store {
            async fn issue(
                &self,
                series: &Series,
                document_key: &str,
                build: Build<'_>,
            ) -> Result<Issued> {
                use sqlx::Row as _;
                let db = |place: &'static str| move |e| super::sql::db_error(place, e);
                let mut tx = self.write_tx().await?;
                sqlx::query(
                    "INSERT INTO hub_number_series (issuer, series, last_number) VALUES ($1, $2, 0) \
                     ON CONFLICT (issuer, series) DO NOTHING",
                )
                .bind(&series.issuer)
                .bind(&series.series)
                .execute(&mut *tx)
                .await
                .map_err(db("number series"))?;
                let last: i64 = sqlx::query(concat!(
                    "SELECT last_number FROM hub_number_series WHERE issuer = $1 AND series = $2",
                    $lock
                ))
                .bind(&series.issuer)
                .bind(&series.series)
                .fetch_one(&mut *tx)
                .await
                .map_err(db("number series"))?
                .try_get("last_number")
                .map_err(db("number series"))?;
                // Looked up under the series lock, so two workers issuing one document cannot both allocate.
                if let Some(row) = sqlx::query(
                    "SELECT number, document FROM hub_numbered_documents \
                     WHERE issuer = $1 AND series = $2 AND document_key = $3",
                )
                .bind(&series.issuer)
                .bind(&series.series)
                .bind(document_key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("numbered document"))?
                {
                    return Ok(Issued {
                        number: to_u64(row.try_get("number").map_err(db("numbered document"))?),
                        document: row.try_get("document").map_err(db("numbered document"))?,
                        fresh: false,
                    });
                }
                let number = to_u64(last) + 1;
                let stored: Option<i64> = sqlx::query_scalar(
                    "SELECT number FROM hub_numbered_documents \
                     WHERE issuer = $1 AND series = $2 AND number = $3",
                )
                .bind(&series.issuer)
                .bind(&series.series)
                .bind(to_i64(number)?)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("numbered document"))?;
                if stored.is_some() {
                    return Err(taken(series, number));
                }
                // Dropping `tx` on an error rolls back: nothing is consumed.
                let document = build(number)?;
                sqlx::query(
                    "INSERT INTO hub_numbered_documents (issuer, series, number, document_key, document, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&series.issuer)
                .bind(&series.series)
                .bind(to_i64(number)?)
                .bind(document_key)
                .bind(&document)
                .bind(chrono::Utc::now().timestamp_millis())
                .execute(&mut *tx)
                .await
                .map_err(db("numbered document"))?;
                sqlx::query(
                    "UPDATE hub_number_series SET last_number = $3 WHERE issuer = $1 AND series = $2",
                )
                .bind(&series.issuer)
                .bind(&series.series)
                .bind(to_i64(number)?)
                .execute(&mut *tx)
                .await
                .map_err(db("number series"))?;
                tx.commit().await.map_err(db("commit"))?;
                Ok(Issued {
                    number,
                    document,
                    fresh: true,
                })
            }

            async fn get(&self, series: &Series, document_key: &str) -> Result<Option<Issued>> {
                use sqlx::Row as _;
                let db = |e| super::sql::db_error("numbered document", e);
                let row = sqlx::query(
                    "SELECT number, document FROM hub_numbered_documents \
                     WHERE issuer = $1 AND series = $2 AND document_key = $3",
                )
                .bind(&series.issuer)
                .bind(&series.series)
                .bind(document_key)
                .fetch_optional(self.pool())
                .await
                .map_err(db)?;
                row.map(|r| {
                    Ok(Issued {
                        number: to_u64(r.try_get("number").map_err(db)?),
                        document: r.try_get("document").map_err(db)?,
                        fresh: false,
                    })
                })
                .transpose()
            }

            async fn last(&self, series: &Series) -> Result<u64> {
                let last: Option<i64> = sqlx::query_scalar(
                    "SELECT last_number FROM hub_number_series WHERE issuer = $1 AND series = $2",
                )
                .bind(&series.issuer)
                .bind(&series.series)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| super::sql::db_error("number series", e))?;
                Ok(last.map_or(0, to_u64))
            }

            async fn advance_to(&self, series: &Series, last_used: u64) -> Result<()> {
                let mut tx = self.write_tx().await?;
                sqlx::query(
                    "INSERT INTO hub_number_series (issuer, series, last_number) VALUES ($1, $2, $3) \
                     ON CONFLICT (issuer, series) DO UPDATE SET last_number = \
                     CASE WHEN hub_number_series.last_number < excluded.last_number \
                     THEN excluded.last_number ELSE hub_number_series.last_number END",
                )
                .bind(&series.issuer)
                .bind(&series.series)
                .bind(to_i64(last_used)?)
                .execute(&mut *tx)
                .await
                .map_err(|e| super::sql::db_error("number series", e))?;
                tx.commit()
                    .await
                    .map_err(|e| super::sql::db_error("commit", e))
            }
        }
    };
}

#[cfg(feature = "sqlite")]
sql_numbers!(super::SqliteStore, "");
#[cfg(feature = "postgres")]
sql_numbers!(super::PgStore, " FOR UPDATE");
