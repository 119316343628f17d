//! Rate limiter acceptance tests: max in flight and requests per window, measured at the server, per tenant, and
//! fed from response headers.
#![cfg(feature = "http")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use erp_hub_core::http::{
    HttpClient, RateLimitConfig, RateLimitUpdate, RateLimits, RequestSpec, RetryPolicy,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

type Arrivals = Arc<Mutex<Vec<(String, Instant)>>>;

/// Mounts `GET /{p}` answering after `delay`, recording (tenant header, arrival instant).
async fn recording_mock(server: &MockServer, delay: Duration) -> Arrivals {
    let arrivals: Arrivals = Arc::default();
    let rec = Arc::clone(&arrivals);
    Mock::given(method("GET"))
        .respond_with(move |req: &Request| {
            let tenant = req
                .headers
                .get("x-tenant")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            rec.lock().unwrap().push((tenant, Instant::now()));
            ResponseTemplate::new(200).set_delay(delay)
        })
        .mount(server)
        .await;
    arrivals
}

/// The largest number of arrivals inside any interval of length `span`.
fn max_in_span(times: &[Instant], span: Duration) -> usize {
    let mut t: Vec<Instant> = times.to_vec();
    t.sort();
    (0..t.len())
        .map(|i| t[i..].iter().take_while(|x| **x - t[i] < span).count())
        .max()
        .unwrap_or(0)
}

fn times(arrivals: &Arrivals, tenant: &str) -> Vec<Instant> {
    arrivals
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| t == tenant)
        .map(|(_, i)| *i)
        .collect()
}

async fn fire(client: &HttpClient, url: &str, tenant: &str, n: usize) {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let client = client.clone();
        let spec = RequestSpec::get(url)
            .unwrap()
            .tenant(tenant)
            .header("x-tenant", tenant)
            .unwrap();
        tasks.push(tokio::spawn(async move { client.send(spec).await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_most_two_in_flight() {
    let server = MockServer::start().await;
    let delay = Duration::from_millis(300);
    let arrivals = recording_mock(&server, delay).await;
    let limits = Arc::new(RateLimits::new(
        RateLimitConfig::new(1000, Duration::from_secs(60), 2).unwrap(),
    ));
    let client = HttpClient::builder()
        .rate_limits(limits)
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let started = Instant::now();
    fire(&client, &server.uri(), "realm-1", 6).await;
    let t = times(&arrivals, "realm-1");
    assert_eq!(t.len(), 6);
    // Each request occupies the server for `delay`: no more than 2 may arrive within less than that.
    assert!(
        max_in_span(&t, delay - Duration::from_millis(50)) <= 2,
        "{t:?}"
    );
    assert!(started.elapsed() >= delay * 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn window_limit_is_respected_per_tenant() {
    let server = MockServer::start().await;
    let arrivals = recording_mock(&server, Duration::ZERO).await;
    let window = Duration::from_millis(300);
    let limits = Arc::new(RateLimits::new(
        RateLimitConfig::new(3, window, 10).unwrap(),
    ));
    let client = HttpClient::builder()
        .rate_limits(Arc::clone(&limits))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let started = Instant::now();
    // Two tenants at once: each has its own budget.
    let uri = server.uri();
    let a = fire(&client, &uri, "a", 7);
    let b = fire(&client, &uri, "b", 3);
    tokio::join!(a, b);
    let elapsed = started.elapsed();
    let ta = times(&arrivals, "a");
    let tb = times(&arrivals, "b");
    assert_eq!((ta.len(), tb.len()), (7, 3));
    assert!(max_in_span(&ta, window / 2) <= 3, "{ta:?}");
    // 7 requests at 3 per window need two full windows.
    assert!(elapsed >= window * 2, "{elapsed:?}");
    // Tenant b was not held back by tenant a.
    let first = ta.iter().chain(tb.iter()).min().copied().unwrap();
    assert!(tb.iter().all(|t| *t - first < window), "{tb:?}");
}

#[tokio::test]
async fn remaining_zero_header_pauses_the_tenant_until_reset() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/first"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Rate-Limit-Remaining", "0")
                .insert_header("X-Rate-Limit-Reset", "1"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/second"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let limits = Arc::new(RateLimits::new(
        RateLimitConfig::new(150, Duration::from_secs(60), 10).unwrap(),
    ));
    let client = HttpClient::builder()
        .rate_limits(limits)
        .rate_limit_headers(Arc::new(|h| {
            RateLimitUpdate::from_headers(h, "x-rate-limit-remaining", Some("x-rate-limit-reset"))
        }))
        .build()
        .unwrap();
    let send = |p: &str| {
        client.send(
            RequestSpec::get(&format!("{}{p}", server.uri()))
                .unwrap()
                .tenant("alegra-user"),
        )
    };
    send("/first").await.unwrap();
    let started = Instant::now();
    send("/second").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_pauses_other_requests_of_the_tenant() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/throttled"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/other"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let limits = Arc::new(RateLimits::new(
        RateLimitConfig::new(500, Duration::from_secs(60), 10).unwrap(),
    ));
    // No retries: the 429 is returned, but the limiter still learns the pause.
    let client = HttpClient::builder()
        .rate_limits(limits)
        .retry_policy(RetryPolicy::default().with_max_attempts(1))
        .build()
        .unwrap();
    let spec = |p: &str| {
        RequestSpec::get(&format!("{}{p}", server.uri()))
            .unwrap()
            .tenant("t")
    };
    let resp = client.send(spec("/throttled")).await.unwrap();
    assert_eq!(resp.status(), 429);
    let started = Instant::now();
    client.send(spec("/other")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}
