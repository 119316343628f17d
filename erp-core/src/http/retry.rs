//! Retry policy: exponential backoff with full jitter, `Retry-After`, and the replay-safety rule.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How the computed backoff is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// "Full jitter": a uniformly random delay in `[0, min(max_delay, base_delay * 2^(n-1))]` before retry `n`.
    ///
    /// Spreads the retries of many clients that failed at the same moment, so they do not hammer the provider
    /// in lock-step.
    Full,
    /// No randomness: exactly `min(max_delay, base_delay * 2^(n-1))` (useful in tests).
    None,
}

/// When and how often a request is retried.
///
/// A request is only ever re-sent when doing so cannot apply it twice (see [`crate::http::RequestSpec`]):
/// reads (`GET`, `HEAD`, `OPTIONS`) always, writes only when the caller marked them idempotent
/// (an idempotency key). Retried outcomes: connect errors, timeouts and broken responses, `408`, `429`,
/// `500`, `502`, `503`, `504`. A `429` is retried even for a write without idempotency key: the provider
/// refused it without processing it.
///
/// `Retry-After` (seconds or HTTP-date) on a `429`/`503` replaces the computed backoff; if it asks for more than
/// [`max_retry_after`](Self::max_retry_after), the response is handed back to the caller instead (which
/// [`HttpResponse::error_for_status`](crate::http::HttpResponse::error_for_status) maps to
/// [`Error::RateLimited`](crate::Error::RateLimited)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total attempts, the first one included (`1` disables retries). Values below 1 count as 1.
    pub max_attempts: u32,
    /// Backoff before the first retry (doubles with each further retry).
    pub base_delay: Duration,
    /// Upper bound of the computed backoff.
    pub max_delay: Duration,
    /// The longest `Retry-After` we are willing to wait for inside one call.
    pub max_retry_after: Duration,
    /// How the backoff is randomised.
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    /// 4 attempts, 250 ms base delay, 30 s max delay, `Retry-After` honoured up to 120 s, full jitter.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            jitter: Jitter::Full,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets [`max_attempts`](Self::max_attempts).
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Sets [`base_delay`](Self::base_delay).
    #[must_use]
    pub fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Sets [`max_delay`](Self::max_delay).
    #[must_use]
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Sets [`max_retry_after`](Self::max_retry_after).
    #[must_use]
    pub fn with_max_retry_after(mut self, max_retry_after: Duration) -> Self {
        self.max_retry_after = max_retry_after;
        self
    }

    /// Sets [`jitter`](Self::jitter).
    #[must_use]
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Total attempts allowed (at least 1).
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The upper bound of the backoff before retry number `retry` (1-based): `min(max_delay, base * 2^(retry-1))`.
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(31);
        let factor = 1u32 << exp;
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The delay before retry number `retry` (1-based), jitter applied.
    pub fn backoff(&self, retry: u32) -> Duration {
        let cap = self.backoff_cap(retry);
        match self.jitter {
            Jitter::None => cap,
            Jitter::Full => {
                let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
                Duration::from_millis(rand::random_range(0..=cap_ms))
            }
        }
    }
}

/// Whether a response with this status is worth re-sending, given whether the request is replay-safe.
pub(crate) fn status_is_retriable(status: StatusCode, replay_safe: bool) -> bool {
    match status.as_u16() {
        429 => true,
        408 | 500 | 502 | 503 | 504 => replay_safe,
        _ => false,
    }
}

/// Parses a `Retry-After` header: delta-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`,
/// and the obsolete RFC 850 and asctime forms). A date in the past gives zero. `None` when absent or unparsable.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after_value(value, Utc::now())
}

/// [`parse_retry_after`] on a header value, relative to `now`.
pub fn parse_retry_after_value(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long values saturate instead of failing.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = parse_http_date(value)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    // IMF-fixdate is a subset of RFC 2822 ("GMT" is an accepted zone).
    if let Ok(d) = DateTime::parse_from_rfc2822(value) {
        return Some(d.with_timezone(&Utc));
    }
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; asctime: "Sun Nov  6 08:49:37 1994".
    let rfc850 = value
        .split_once(", ")
        .and_then(|(_, rest)| rest.strip_suffix(" GMT"))
        .and_then(|rest| NaiveDateTime::parse_from_str(rest, "%d-%b-%y %H:%M:%S").ok());
    if let Some(d) = rfc850 {
        return Some(d.and_utc());
    }
    let normalized = value.split_whitespace().collect::<Vec<_>>().join(" ");
    NaiveDateTime::parse_from_str(&normalized, "%a %b %e %H:%M:%S %Y")
        .ok()
        .map(|d| d.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 10, 21, 7, 27, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(
            parse_retry_after_value("2", now()),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after_value(" 120 ", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after_value("Wed, 21 Oct 2015 07:28:00 GMT", now()),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after_value("Wednesday, 21-Oct-15 07:28:30 GMT", now()),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after_value("Wed Oct 21 07:29:00 2015", now()),
            Some(Duration::from_secs(120))
        );
        // In the past: no wait.
        assert_eq!(
            parse_retry_after_value("Wed, 21 Oct 2015 07:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after_value("soon", now()), None);
        assert_eq!(parse_retry_after_value("-5", now()), None);
        assert_eq!(parse_retry_after_value("", now()), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default()
            .with_base_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_millis(1000))
            .with_jitter(Jitter::None);
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(4), Duration::from_millis(800));
        assert_eq!(p.backoff(5), Duration::from_millis(1000));
        assert_eq!(p.backoff(u32::MAX), Duration::from_millis(1000));
        let full = p.clone().with_jitter(Jitter::Full);
        for retry in 1..10 {
            assert!(full.backoff(retry) <= p.backoff_cap(retry));
        }
    }

    #[test]
    fn replay_rule() {
        assert!(status_is_retriable(StatusCode::TOO_MANY_REQUESTS, false));
        assert!(!status_is_retriable(StatusCode::SERVICE_UNAVAILABLE, false));
        assert!(status_is_retriable(StatusCode::SERVICE_UNAVAILABLE, true));
        assert!(!status_is_retriable(StatusCode::BAD_REQUEST, true));
        assert!(!status_is_retriable(StatusCode::NOT_IMPLEMENTED, true));
    }
}
