//! Xero's API limits and how the adapter keeps under them.
//!
//! Per tenant: **60 calls per minute**, **5,000 per day**, **5 in flight**; per app: **10,000 per minute**
//! across all tenants. Responses report what is left in `X-MinLimit-Remaining`, `X-DayLimit-Remaining` and
//! `X-AppMinLimit-Remaining`; a `429` says which limit was hit in `X-Rate-Limit-Problem` and how long to wait
//! in `Retry-After`.
//!
//! The adapter enforces all four on the client side with erp-hub-core's
//! rate limiters (sliding windows plus a concurrency cap), feeds them the
//! remaining budgets from every response, and pauses the limiter named by `X-Rate-Limit-Problem` for the
//! `Retry-After` delay.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use erp_hub_core::Result;
use erp_hub_core::http::{
    HeaderMap, RateLimitConfig, RateLimitUpdate, RateLimiter, RateLimits, parse_retry_after,
};

/// Client-side limits. The defaults are Xero's published limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct XeroLimits {
    /// Calls per minute per tenant (60).
    pub per_minute: u32,
    /// Calls per day per tenant (5,000).
    pub per_day: u32,
    /// Concurrent calls per tenant (5).
    pub in_flight: u32,
    /// Calls per minute for the whole app, all tenants together (10,000).
    pub app_per_minute: u32,
}

impl Default for XeroLimits {
    fn default() -> Self {
        Self {
            per_minute: 60,
            per_day: 5_000,
            in_flight: 5,
            app_per_minute: 10_000,
        }
    }
}

/// Which limit a `429` says was hit (`X-Rate-Limit-Problem`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitProblem {
    /// The tenant's per-minute limit.
    Minute,
    /// The tenant's daily limit.
    Day,
    /// The app-wide per-minute limit.
    AppMinute,
    /// Too many concurrent calls for the tenant.
    Concurrent,
    /// A value this version does not know.
    Other(String),
}

impl RateLimitProblem {
    fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "minute" => Self::Minute,
            "day" | "daily" => Self::Day,
            "appminute" | "app-minute" | "app_minute" => Self::AppMinute,
            "concurrent" => Self::Concurrent,
            _ => Self::Other(s.trim().to_owned()),
        }
    }
}

/// The limit headers of one Xero response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct XeroRateHeaders {
    /// `X-MinLimit-Remaining`.
    pub minute_remaining: Option<u32>,
    /// `X-DayLimit-Remaining`.
    pub day_remaining: Option<u32>,
    /// `X-AppMinLimit-Remaining`.
    pub app_minute_remaining: Option<u32>,
    /// `X-Rate-Limit-Problem` (on a `429`).
    pub problem: Option<RateLimitProblem>,
    /// `Retry-After` (on a `429`).
    pub retry_after: Option<Duration>,
}

impl XeroRateHeaders {
    /// Reads the headers (absent or malformed values are `None`).
    pub fn parse(headers: &HeaderMap) -> Self {
        let int = |name: &str| -> Option<u32> {
            let v: u64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
            Some(u32::try_from(v).unwrap_or(u32::MAX))
        };
        Self {
            minute_remaining: int("x-minlimit-remaining"),
            day_remaining: int("x-daylimit-remaining"),
            app_minute_remaining: int("x-appminlimit-remaining"),
            problem: headers
                .get("x-rate-limit-problem")
                .and_then(|v| v.to_str().ok())
                .map(RateLimitProblem::parse),
            retry_after: parse_retry_after(headers),
        }
    }
}

/// The tenant's per-minute budget, for erp-hub-core's `HttpClient` header hook.
pub(crate) fn minute_update(headers: &HeaderMap) -> Option<RateLimitUpdate> {
    let h = XeroRateHeaders::parse(headers);
    h.minute_remaining
        .map(|r| RateLimitUpdate::new(Some(r), Some(Duration::from_secs(60))))
}

/// The day and app limiters (the per-minute/in-flight one lives in the `HttpClient`).
pub(crate) struct Limiters {
    pub(crate) minute: Arc<RateLimits>,
    day: RateLimits,
    app: RateLimiter,
}

impl fmt::Debug for Limiters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiters")
            .field("minute", &self.minute)
            .field("day", &self.day)
            .field("app", &self.app)
            .finish()
    }
}

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const MINUTE: Duration = Duration::from_secs(60);

impl Limiters {
    pub(crate) fn new(limits: XeroLimits) -> Result<Self> {
        let minute = RateLimitConfig::new(limits.per_minute, MINUTE, limits.in_flight)?;
        // The day and app limiters count calls only; concurrency is capped by the per-tenant limiter.
        let day = RateLimitConfig::new(limits.per_day, DAY, u32::MAX >> 3)?;
        let app = RateLimitConfig::new(limits.app_per_minute, MINUTE, u32::MAX >> 3)?;
        Ok(Self {
            minute: Arc::new(RateLimits::new(minute)),
            day: RateLimits::new(day),
            app: RateLimiter::new(app),
        })
    }

    /// Waits for a call slot in the tenant's day budget and the app's minute budget.
    pub(crate) async fn acquire(&self, tenant: &str) -> Result<()> {
        drop(self.app.acquire().await?);
        drop(self.day.acquire(tenant).await?);
        Ok(())
    }

    /// Feeds one response's headers into the day and app limiters and, on a `429`, pauses the one that was hit.
    pub(crate) fn observe(&self, tenant: &str, headers: &HeaderMap, status: u16) {
        let h = XeroRateHeaders::parse(headers);
        if let Some(r) = h.day_remaining {
            self.day
                .limiter(tenant)
                .observe(RateLimitUpdate::new(Some(r), None));
        }
        if let Some(r) = h.app_minute_remaining {
            self.app
                .observe(RateLimitUpdate::new(Some(r), Some(MINUTE)));
        }
        if status == 429 {
            let wait = h.retry_after.unwrap_or(MINUTE);
            tracing::warn!(
                tenant,
                problem = ?h.problem,
                retry_after_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "Xero rate limit hit"
            );
            match h.problem {
                Some(RateLimitProblem::Day) => self.day.limiter(tenant).pause_for(wait),
                Some(RateLimitProblem::AppMinute) => self.app.pause_for(wait),
                // Minute / concurrent: the HttpClient already paused the tenant's limiter.
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limit_headers() {
        let mut h = HeaderMap::new();
        h.insert("X-MinLimit-Remaining", "59".parse().unwrap());
        h.insert("X-DayLimit-Remaining", "4999".parse().unwrap());
        h.insert("X-AppMinLimit-Remaining", "9000".parse().unwrap());
        h.insert("X-Rate-Limit-Problem", "Day".parse().unwrap());
        h.insert("Retry-After", "3600".parse().unwrap());
        let p = XeroRateHeaders::parse(&h);
        assert_eq!(p.minute_remaining, Some(59));
        assert_eq!(p.day_remaining, Some(4999));
        assert_eq!(p.app_minute_remaining, Some(9000));
        assert_eq!(p.problem, Some(RateLimitProblem::Day));
        assert_eq!(p.retry_after, Some(Duration::from_secs(3600)));
        assert_eq!(minute_update(&h).unwrap().remaining, Some(59));
        assert!(
            XeroRateHeaders::parse(&HeaderMap::new())
                .minute_remaining
                .is_none()
        );
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn day_budget_of_zero_blocks_only_that_tenant() {
        let l = Limiters::new(XeroLimits::default()).unwrap();
        l.observe("t1", &headers(&[("X-DayLimit-Remaining", "0")]), 200);
        let blocked = tokio::time::timeout(Duration::from_secs(3600), l.acquire("t1")).await;
        assert!(blocked.is_err(), "t1 must wait for its daily budget");
        tokio::time::timeout(Duration::from_secs(1), l.acquire("t2"))
            .await
            .expect("t2 is not affected")
            .unwrap();
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn app_minute_429_pauses_every_tenant() {
        let l = Limiters::new(XeroLimits::default()).unwrap();
        let h = headers(&[("X-Rate-Limit-Problem", "appminute"), ("Retry-After", "30")]);
        l.observe("t1", &h, 429);
        let start = tokio::time::Instant::now();
        l.acquire("t2").await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(30));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn app_limit_counts_calls_of_all_tenants() {
        let limits = XeroLimits {
            app_per_minute: 3,
            ..XeroLimits::default()
        };
        let l = Limiters::new(limits).unwrap();
        let start = tokio::time::Instant::now();
        for t in ["a", "b", "c", "d"] {
            l.acquire(t).await.unwrap();
        }
        assert!(
            start.elapsed() >= Duration::from_secs(60),
            "the 4th call waits for the app window"
        );
    }
}
