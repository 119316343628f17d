//! Retry acceptance tests: Retry-After, lost responses of writes (Uncertain vs retried with an idempotency key),
//! 5xx on reads and writes, connect errors.
#![cfg(feature = "http")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use erp_hub_core::ErrorKind;
use erp_hub_core::http::{HttpClient, Jitter, Replay, RequestSpec, RetryPolicy, TokenUse};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(max_attempts)
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(50))
        .with_jitter(Jitter::Full)
}

fn client(max_attempts: u32, timeout: Duration) -> HttpClient {
    HttpClient::builder()
        .retry_policy(fast_policy(max_attempts))
        .timeout(timeout)
        .build()
        .unwrap()
}

#[tokio::test]
async fn retry_after_seconds_is_waited_out_then_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([1, 2])))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;

    let c = client(3, Duration::from_secs(5));
    let started = Instant::now();
    let resp = c
        .send(RequestSpec::get(&format!("{}/items", server.uri())).unwrap())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.attempts(), 2);
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    let items: Vec<u32> = resp.json().unwrap();
    assert_eq!(items, vec![1, 2]);
}

#[tokio::test]
async fn retry_after_longer_than_allowed_is_returned_as_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let c = HttpClient::builder()
        .retry_policy(fast_policy(5).with_max_retry_after(Duration::from_secs(60)))
        .build()
        .unwrap();
    let err = c
        .send_json::<serde_json::Value>(RequestSpec::get(&server.uri()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn a_429_is_retried_even_for_a_write_without_key() {
    // The provider refused the request without processing it, so re-sending cannot duplicate it.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let resp = client(3, Duration::from_secs(5))
        .send(
            RequestSpec::post(&server.uri())
                .unwrap()
                .form(&[("a", "1")]),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn post_without_key_whose_response_never_arrives_is_uncertain_and_not_resent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/company/1/invoice"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(4, Duration::from_millis(300));
    let spec = RequestSpec::post(&format!("{}/v3/company/1/invoice", server.uri()))
        .unwrap()
        .json(&serde_json::json!({"Line": []}))
        .unwrap();
    assert!(!spec.is_replay_safe());
    let err = c.send(spec).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Uncertain, "{err}");
    assert!(!err.is_retriable());
    // `expect(1)` is verified when the server drops.
}

#[tokio::test]
async fn same_post_with_idempotency_key_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/Invoices"))
        .and(header("Idempotency-Key", "inv-F-1042"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/Invoices"))
        .and(header("Idempotency-Key", "inv-F-1042"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "9"})))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let c = client(4, Duration::from_millis(300));
    let spec = RequestSpec::post(&format!("{}/Invoices", server.uri()))
        .unwrap()
        .json(&serde_json::json!({"Invoices": []}))
        .unwrap()
        .idempotency_key("inv-F-1042");
    let resp = c.send(spec).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.attempts(), 2);
}

#[tokio::test]
async fn idempotency_key_as_query_parameter() {
    // QuickBooks Online de-duplicates writes by the `requestid` query parameter.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(query_param("requestid", "k-1"))
        .and(query_param("minorversion", "75"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(query_param("requestid", "k-1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let spec = RequestSpec::post(&format!("{}/v3/company/1/payment", server.uri()))
        .unwrap()
        .query(&[("minorversion", "75")])
        .idempotency_query("requestid", "k-1");
    let resp = client(3, Duration::from_secs(5)).send(spec).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.attempts(), 3);
}

#[tokio::test]
async fn get_5xx_is_retried_up_to_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("maintenance"))
        .expect(3)
        .mount(&server)
        .await;
    let c = client(3, Duration::from_secs(5));
    let resp = c
        .send(RequestSpec::get(&server.uri()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.attempts(), 3);
    let err = resp.error_for_status().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.to_string().contains("maintenance"));
}

#[tokio::test]
async fn per_request_retry_policy_overrides_the_client() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(2)
        .mount(&server)
        .await;
    let spec = RequestSpec::get(&server.uri())
        .unwrap()
        .retry_policy(fast_policy(2));
    let resp = client(5, Duration::from_secs(5)).send(spec).await.unwrap();
    assert_eq!(resp.attempts(), 2);
}

#[tokio::test]
async fn write_5xx_without_key_is_not_resent_and_is_uncertain() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(3, Duration::from_secs(5))
        .send_json::<serde_json::Value>(RequestSpec::post(&server.uri()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Uncertain);
}

#[tokio::test]
async fn replay_never_overrides_the_method() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let spec = RequestSpec::get(&server.uri())
        .unwrap()
        .replay(Replay::Never);
    let resp = client(3, Duration::from_secs(5)).send(spec).await.unwrap();
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.attempts(), 1);
    assert_eq!(
        resp.error_for_status().unwrap_err().kind(),
        ErrorKind::Uncertain
    );
}

#[tokio::test]
async fn connect_error_is_transient_even_for_a_write() {
    // A port that nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = client(2, Duration::from_secs(5))
        .send(RequestSpec::post(&format!("http://127.0.0.1:{port}/x")).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
}

#[tokio::test]
async fn status_mapping() {
    let server = MockServer::start().await;
    for (p, status) in [
        ("/401", 401),
        ("/403", 403),
        ("/404", 404),
        ("/409", 409),
        ("/422", 422),
    ] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(status).set_body_string("{\"Fault\":{}}"))
            .mount(&server)
            .await;
    }
    let c = client(1, Duration::from_secs(5));
    let kind = |p: &'static str| {
        let c = c.clone();
        let url = format!("{}{p}", server.uri());
        async move {
            c.send_json::<serde_json::Value>(RequestSpec::get(&url).unwrap().token(TokenUse::None))
                .await
                .unwrap_err()
                .kind()
        }
    };
    assert_eq!(kind("/401").await, ErrorKind::Auth);
    assert_eq!(kind("/403").await, ErrorKind::Auth);
    assert_eq!(kind("/404").await, ErrorKind::NotFound);
    assert_eq!(kind("/409").await, ErrorKind::Conflict);
    assert_eq!(kind("/422").await, ErrorKind::Validation);
}

#[tokio::test]
async fn raw_response_is_available_for_provider_mapping() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("intuit_tid", "1-abc")
                .set_body_json(serde_json::json!({
                    "Fault": {"Error": [{"Message": "Duplicate Name Exists Error", "code": "6240"}],
                              "type": "ValidationFault"}
                })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let resp = client(3, Duration::from_secs(5))
        .send(RequestSpec::post(&server.uri()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["intuit_tid"], "1-abc");
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(body["Fault"]["Error"][0]["code"], "6240");
}

/// A sleeper that records the requested delays and returns at once.
fn recording_sleeper() -> (erp_hub_core::http::Sleeper, Arc<Mutex<Vec<Duration>>>) {
    let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let rec = Arc::clone(&delays);
    let sleeper: erp_hub_core::http::Sleeper = Arc::new(move |d| {
        rec.lock().unwrap().push(d);
        Box::pin(async {})
    });
    (sleeper, delays)
}

#[tokio::test]
async fn backoff_delays_grow_within_their_caps() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .expect(5)
        .mount(&server)
        .await;
    let (sleeper, delays) = recording_sleeper();
    let policy = RetryPolicy::default()
        .with_max_attempts(5)
        .with_base_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter(Jitter::None);
    let c = HttpClient::builder()
        .retry_policy(policy.clone())
        .sleeper(sleeper)
        .build()
        .unwrap();
    let started = Instant::now();
    let resp = c
        .send(RequestSpec::get(&server.uri()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.attempts(), 5);
    // 1 + 2 + 4 + 5 (capped) seconds requested, none actually slept.
    let secs: Vec<u64> = delays
        .lock()
        .unwrap()
        .iter()
        .map(Duration::as_secs)
        .collect();
    assert_eq!(secs, vec![1, 2, 4, 5]);
    assert!(started.elapsed() < Duration::from_secs(5));

    // With full jitter every delay stays within its cap.
    let (sleeper, delays) = recording_sleeper();
    let c = HttpClient::builder()
        .retry_policy(policy.clone().with_jitter(Jitter::Full))
        .sleeper(sleeper)
        .build()
        .unwrap();
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .expect(5)
        .mount(&server)
        .await;
    c.send(RequestSpec::get(&server.uri()).unwrap())
        .await
        .unwrap();
    let got = delays.lock().unwrap().clone();
    assert_eq!(got.len(), 4);
    for (i, d) in got.iter().enumerate() {
        let retry = u32::try_from(i).unwrap() + 1;
        assert!(*d <= policy.backoff_cap(retry), "{got:?}");
    }
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let server = MockServer::start().await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(30);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header(
            "Retry-After",
            at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let (sleeper, delays) = recording_sleeper();
    let c = HttpClient::builder()
        .retry_policy(fast_policy(3))
        .sleeper(sleeper)
        .build()
        .unwrap();
    let resp = c
        .send(RequestSpec::get(&server.uri()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let got = delays.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    // Whole seconds in the date: between 28 and 30 s from "now".
    assert!(
        got[0] > Duration::from_secs(28) && got[0] <= Duration::from_secs(30),
        "{got:?}"
    );
}
