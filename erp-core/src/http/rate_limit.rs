//! Per-tenant client-side rate limiting: requests per sliding window plus a cap on requests in flight.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::{Error, Result};

/// Limits for one tenant, e.g. QuickBooks Online: 500 requests per minute and 10 concurrent per realm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    max_requests: u32,
    window: Duration,
    max_in_flight: u32,
}

impl RateLimitConfig {
    /// At most `max_requests` started in any sliding `window`, and at most `max_in_flight` at the same time.
    ///
    /// # Errors
    /// [`Error::Config`] when a value is zero.
    pub fn new(max_requests: u32, window: Duration, max_in_flight: u32) -> Result<Self> {
        if max_requests == 0 || max_in_flight == 0 || window.is_zero() {
            return Err(Error::config(
                "rate limit: max_requests, window and max_in_flight must be non-zero",
            ));
        }
        Ok(Self {
            max_requests,
            window,
            max_in_flight,
        })
    }

    /// Requests allowed per window.
    pub fn max_requests(&self) -> u32 {
        self.max_requests
    }

    /// The window length.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Requests allowed in flight at once.
    pub fn max_in_flight(&self) -> u32 {
        self.max_in_flight
    }
}

/// What a provider said about our remaining budget, read from response headers.
///
/// Built by a provider-specific parser (see [`RateLimitUpdate::from_headers`]) and fed to
/// [`RateLimiter::observe`]. For example Alegra sends `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset`
/// (seconds until the window resets); Xero sends `X-MinLimit-Remaining` without a reset time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitUpdate {
    /// Requests the provider still accepts in its current window.
    pub remaining: Option<u32>,
    /// Time until the provider's window resets (unknown: the limiter assumes one full configured window).
    pub reset_after: Option<Duration>,
}

impl RateLimitUpdate {
    /// An update with the given remaining budget and reset delay.
    pub fn new(remaining: Option<u32>, reset_after: Option<Duration>) -> Self {
        Self {
            remaining,
            reset_after,
        }
    }

    /// Reads an integer `remaining_header` and an optional `reset_header` (seconds until reset).
    /// `None` when the remaining header is absent or not an integer.
    ///
    /// ```
    /// # use erp_hub_core::http::{HeaderMap, RateLimitUpdate};
    /// let mut h = HeaderMap::new();
    /// h.insert("x-rate-limit-remaining", "0".parse().unwrap());
    /// h.insert("x-rate-limit-reset", "17".parse().unwrap());
    /// let u = RateLimitUpdate::from_headers(&h, "x-rate-limit-remaining", Some("x-rate-limit-reset")).unwrap();
    /// assert_eq!(u.remaining, Some(0));
    /// assert_eq!(u.reset_after, Some(std::time::Duration::from_secs(17)));
    /// ```
    pub fn from_headers(
        headers: &HeaderMap,
        remaining_header: &str,
        reset_header: Option<&str>,
    ) -> Option<Self> {
        let int =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let remaining = int(remaining_header)?;
        let reset_after = reset_header.and_then(int).map(Duration::from_secs);
        Some(Self {
            remaining: Some(u32::try_from(remaining).unwrap_or(u32::MAX)),
            reset_after,
        })
    }
}

#[derive(Debug)]
struct WindowState {
    /// Start instants of the requests in the current sliding window (oldest first).
    started: VecDeque<Instant>,
    /// No request may start before this instant (Retry-After, or a provider budget of zero).
    paused_until: Option<Instant>,
    /// The provider's own remaining budget and when it resets.
    provider_budget: Option<(u32, Instant)>,
}

/// A rate limiter for one tenant. Obtain one from [`RateLimits`], or build one directly.
pub struct RateLimiter {
    config: RateLimitConfig,
    in_flight: Arc<Semaphore>,
    state: Mutex<WindowState>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("config", &self.config)
            .field("available_in_flight", &self.in_flight.available_permits())
            .finish_non_exhaustive()
    }
}

/// Held while a request is in flight; dropping it frees the concurrency slot.
#[derive(Debug)]
pub struct RateLimitPermit {
    _permit: OwnedSemaphorePermit,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state stays consistent even if a holder panicked: every update is a single assignment.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RateLimiter {
    /// A limiter with the given limits.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            in_flight: Arc::new(Semaphore::new(config.max_in_flight as usize)),
            state: Mutex::new(WindowState {
                started: VecDeque::new(),
                paused_until: None,
                provider_budget: None,
            }),
        }
    }

    /// The limits.
    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    /// Waits for a concurrency slot and a slot in the window, then returns a permit that holds the concurrency
    /// slot until dropped. Each call counts as one request against the window.
    ///
    /// # Errors
    /// Never fails in practice; the `Result` covers a closed semaphore.
    pub async fn acquire(&self) -> Result<RateLimitPermit> {
        let permit = Arc::clone(&self.in_flight)
            .acquire_owned()
            .await
            .map_err(|_| Error::config("rate limiter closed"))?;
        loop {
            let wait_until = {
                let mut st = lock(&self.state);
                let now = Instant::now();
                self.next_start(&mut st, now)
            };
            match wait_until {
                None => return Ok(RateLimitPermit { _permit: permit }),
                Some(at) => tokio::time::sleep_until(at).await,
            }
        }
    }

    /// Either records a start at `now` (returns `None`) or says when to try again.
    fn next_start(&self, st: &mut WindowState, now: Instant) -> Option<Instant> {
        if let Some(until) = st.paused_until {
            if now < until {
                return Some(until);
            }
            st.paused_until = None;
        }
        if let Some((remaining, reset_at)) = st.provider_budget {
            if now >= reset_at {
                st.provider_budget = None;
            } else if remaining == 0 {
                return Some(reset_at);
            }
        }
        while let Some(&oldest) = st.started.front() {
            if now.saturating_duration_since(oldest) >= self.config.window {
                st.started.pop_front();
            } else {
                break;
            }
        }
        if st.started.len() >= self.config.max_requests as usize {
            let oldest = st.started.front().copied().unwrap_or(now);
            return Some(oldest + self.config.window);
        }
        st.started.push_back(now);
        if let Some((remaining, _)) = st.provider_budget.as_mut() {
            *remaining = remaining.saturating_sub(1);
        }
        None
    }

    /// Blocks new requests for `duration` from now (for a `Retry-After`). A later deadline already set wins.
    pub fn pause_for(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut st = lock(&self.state);
        st.paused_until = Some(st.paused_until.map_or(until, |u| u.max(until)));
    }

    /// Feeds what the provider reported about its own budget. With `remaining = 0`, no request starts until the
    /// reset (or one configured window when the reset is unknown); with `remaining = n`, at most `n` more start
    /// before then.
    pub fn observe(&self, update: RateLimitUpdate) {
        let Some(remaining) = update.remaining else {
            return;
        };
        let reset_at = Instant::now() + update.reset_after.unwrap_or(self.config.window);
        let mut st = lock(&self.state);
        st.provider_budget = Some((remaining, reset_at));
    }
}

/// A registry of [`RateLimiter`]s keyed by tenant id (QuickBooks realm, Xero tenant, ...), created on first use.
pub struct RateLimits {
    default: RateLimitConfig,
    overrides: Mutex<HashMap<String, RateLimitConfig>>,
    limiters: Mutex<HashMap<String, Arc<RateLimiter>>>,
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimits")
            .field("default", &self.default)
            .field("tenants", &lock(&self.limiters).len())
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    /// Every tenant gets `default` unless [`set_config`](Self::set_config) says otherwise.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use erp_hub_core::http::{RateLimitConfig, RateLimits};
    /// # async fn demo() -> erp_hub_core::Result<()> {
    /// // QuickBooks Online: 500 requests/min and 10 concurrent per realm.
    /// let limits = RateLimits::new(RateLimitConfig::new(500, Duration::from_secs(60), 10)?);
    /// let _permit = limits.acquire("realm-123").await?;
    /// // ... send the request while holding the permit ...
    /// # Ok(()) }
    /// ```
    pub fn new(default: RateLimitConfig) -> Self {
        Self {
            default,
            overrides: Mutex::new(HashMap::new()),
            limiters: Mutex::new(HashMap::new()),
        }
    }

    /// Uses `config` for `tenant` from now on (replaces its limiter; permits already held stay valid).
    pub fn set_config(&self, tenant: &str, config: RateLimitConfig) {
        lock(&self.overrides).insert(tenant.to_owned(), config);
        lock(&self.limiters).insert(tenant.to_owned(), Arc::new(RateLimiter::new(config)));
    }

    /// The limiter of `tenant`, created on first use.
    pub fn limiter(&self, tenant: &str) -> Arc<RateLimiter> {
        let mut limiters = lock(&self.limiters);
        if let Some(l) = limiters.get(tenant) {
            return Arc::clone(l);
        }
        let config = lock(&self.overrides)
            .get(tenant)
            .copied()
            .unwrap_or(self.default);
        let limiter = Arc::new(RateLimiter::new(config));
        limiters.insert(tenant.to_owned(), Arc::clone(&limiter));
        limiter
    }

    /// Forgets a tenant's limiter state (e.g. after disconnecting it).
    pub fn remove(&self, tenant: &str) {
        lock(&self.limiters).remove(tenant);
    }

    /// Shorthand for `self.limiter(tenant).acquire()`.
    ///
    /// # Errors
    /// See [`RateLimiter::acquire`].
    pub async fn acquire(&self, tenant: &str) -> Result<RateLimitPermit> {
        self.limiter(tenant).acquire().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn window_and_provider_budget() {
        let cfg = RateLimitConfig::new(2, Duration::from_millis(200), 5).unwrap();
        let l = RateLimiter::new(cfg);
        let t0 = Instant::now();
        for _ in 0..3 {
            drop(l.acquire().await.unwrap());
        }
        assert!(t0.elapsed() >= Duration::from_millis(200));

        let l = RateLimiter::new(cfg);
        l.observe(RateLimitUpdate::new(
            Some(0),
            Some(Duration::from_millis(150)),
        ));
        let t0 = Instant::now();
        drop(l.acquire().await.unwrap());
        assert!(t0.elapsed() >= Duration::from_millis(150));
    }

    #[test]
    fn zero_limits_are_config_errors() {
        assert!(RateLimitConfig::new(0, Duration::from_secs(1), 1).is_err());
        assert!(RateLimitConfig::new(1, Duration::ZERO, 1).is_err());
        assert!(RateLimitConfig::new(1, Duration::from_secs(1), 0).is_err());
    }
}
