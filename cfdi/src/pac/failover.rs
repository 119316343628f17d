//! [`Failover`]: a primary PAC and backups, never two UUIDs for one CFDI.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{CancelRequest, CancelResult, CfdiIdentity, Pac, PacError, SatStatus, Stamped};

/// Stamps with a primary PAC and fails over to backups only when the primary **definitely did
/// not stamp** (see the decision table in the [module docs](super)). Cheap to clone.
#[derive(Clone)]
pub struct Failover {
    pacs: Vec<Arc<dyn Pac>>,
    uncertain_attempts: u32,
    backoff: Duration,
}

impl std::fmt::Debug for Failover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.pacs.iter().map(|p| p.name()).collect();
        f.debug_struct("Failover")
            .field("pacs", &names)
            .field("uncertain_attempts", &self.uncertain_attempts)
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl Failover {
    /// A failover with just the primary (add backups with [`with_backup`](Self::with_backup)).
    /// Defaults: 4 recovery attempts after an uncertain outcome, 500 ms base backoff.
    pub fn new(primary: Arc<dyn Pac>) -> Self {
        Self {
            pacs: vec![primary],
            uncertain_attempts: 4,
            backoff: Duration::from_millis(500),
        }
    }

    /// Adds a backup PAC, tried after the ones already added.
    #[must_use]
    pub fn with_backup(mut self, backup: Arc<dyn Pac>) -> Self {
        self.pacs.push(backup);
        self
    }

    /// How many times to recover / re-send at the same PAC after an uncertain outcome before
    /// giving up with [`PacError::Uncertain`] (default 4; at least 1).
    #[must_use]
    pub fn uncertain_attempts(mut self, attempts: u32) -> Self {
        self.uncertain_attempts = attempts.max(1);
        self
    }

    /// Base delay before each recovery attempt (doubles each time, capped at 30 s).
    #[must_use]
    pub fn backoff(mut self, base: Duration) -> Self {
        self.backoff = base;
        self
    }

    /// The PACs in the order they are tried.
    pub fn pacs(&self) -> &[Arc<dyn Pac>] {
        &self.pacs
    }

    /// Stamps `sealed_xml` with the first PAC that can, following the decision table.
    ///
    /// # Errors
    /// * the error of the PAC that stopped the failover ([`PacError::Rejected`],
    ///   [`PacError::Uncertain`], [`PacError::Tfd`], …);
    /// * [`PacError::AllFailed`] when every PAC definitely did not stamp.
    pub async fn stamp(&self, sealed_xml: &str) -> Result<Stamped, PacError> {
        // Parse once up front: a broken document fails before anything is sent.
        super::tfd::Sent::parse(sealed_xml)?;
        let mut errors = Vec::new();
        for pac in &self.pacs {
            match self.stamp_at(pac.as_ref(), sealed_xml).await {
                Ok(s) => return Ok(s),
                Err(e) if e.allows_failover() => {
                    tracing::warn!(pac = pac.name(), error = %e, "PAC did not stamp; trying the next one");
                    errors.push(e);
                }
                Err(e) => {
                    tracing::warn!(pac = pac.name(), error = %e, "stopping failover");
                    return Err(e);
                }
            }
        }
        Err(PacError::AllFailed { errors })
    }

    fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1).min(16))
            .unwrap_or(u32::MAX);
        self.backoff
            .saturating_mul(factor)
            .min(Duration::from_secs(30))
    }

    async fn stamp_at(&self, pac: &dyn Pac, sealed_xml: &str) -> Result<Stamped, PacError> {
        let first = match pac.stamp(sealed_xml).await {
            Ok(s) => return Ok(s),
            Err(e) if e.is_definitely_not_stamped() => return Err(e),
            Err(PacError::Tfd { pac, problem }) => return Err(PacError::Tfd { pac, problem }),
            Err(e) => e,
        };
        tracing::warn!(pac = pac.name(), error = %first, "stamp outcome uncertain; recovering from the same PAC");
        let mut last = first;
        for attempt in 1..=self.uncertain_attempts {
            tokio::time::sleep(self.delay(attempt)).await;
            match pac.recover(sealed_xml).await {
                Ok(Some(s)) => return Ok(s),
                Ok(None) => {
                    // The PAC has no stamp of it (yet). Re-sending to the same PAC is safe: it
                    // answers a duplicate with the existing stamp (307), never a new UUID.
                    match pac.stamp(sealed_xml).await {
                        Ok(s) => return Ok(s),
                        Err(e @ PacError::Tfd { .. }) => return Err(e),
                        Err(e) => last = e,
                    }
                }
                Err(e @ PacError::Tfd { .. }) => return Err(e),
                Err(e) => last = e,
            }
        }
        Err(PacError::Uncertain {
            pac: pac.name().to_owned(),
            message: format!(
                "still unknown after {} recovery attempts (last: {last}); recover it from this PAC later, do not stamp it elsewhere",
                self.uncertain_attempts
            ),
        })
    }
}

#[async_trait]
impl Pac for Failover {
    fn name(&self) -> &str {
        "failover"
    }

    async fn stamp(&self, sealed_xml: &str) -> Result<Stamped, PacError> {
        Failover::stamp(self, sealed_xml).await
    }

    /// Asks each PAC in turn; the first stamp found wins.
    async fn recover(&self, sealed_xml: &str) -> Result<Option<Stamped>, PacError> {
        let mut last = None;
        for pac in &self.pacs {
            match pac.recover(sealed_xml).await {
                Ok(Some(s)) => return Ok(Some(s)),
                Ok(None) => {}
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<CancelResult, PacError> {
        let mut errors = Vec::new();
        for pac in &self.pacs {
            match pac.cancel(request).await {
                Ok(r) => return Ok(r),
                Err(e) if e.allows_failover() => errors.push(e),
                Err(e) => return Err(e),
            }
        }
        Err(PacError::AllFailed { errors })
    }

    async fn sat_status(&self, identity: &CfdiIdentity) -> Result<SatStatus, PacError> {
        let mut errors = Vec::new();
        for pac in &self.pacs {
            match pac.sat_status(identity).await {
                Ok(r) => return Ok(r),
                Err(e) if e.allows_failover() => errors.push(e),
                Err(e) => return Err(e),
            }
        }
        Err(PacError::AllFailed { errors })
    }
}
