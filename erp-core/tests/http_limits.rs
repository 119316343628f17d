//! Response bodies are capped (`HttpClientBuilder::max_response_bytes`): a provider (or anything in between)
//! answering with an endless or huge body costs a typed error, not the process's memory.
#![cfg(feature = "http")]

use std::time::Duration;

use erp_hub_core::ErrorKind;
use erp_hub_core::http::{HttpClient, RequestSpec, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(limit: usize) -> HttpClient {
    HttpClient::builder()
        .retry_policy(RetryPolicy::default().with_max_attempts(1))
        .timeout(Duration::from_secs(5))
        .max_response_bytes(limit)
        .build()
        .unwrap()
}

async fn server_with_body(len: usize) -> MockServer {
    let server = MockServer::start().await;
    for m in ["GET", "POST"] {
        Mock::given(method(m))
            .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(len)))
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test]
async fn a_body_at_the_limit_is_read_whole() {
    let server = server_with_body(1024).await;
    let resp = client(1024)
        .send(RequestSpec::get(&server.uri()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.body().len(), 1024);
}

#[tokio::test]
async fn a_longer_body_is_refused_by_its_content_length() {
    let server = server_with_body(1025).await;
    let c = client(1024);
    let read = c
        .send(RequestSpec::get(&server.uri()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(read.kind(), ErrorKind::Transient, "{read}");
    assert!(
        read.to_string().contains("over the limit of 1024 bytes"),
        "{read}"
    );
    // A write the provider accepted was applied: the outcome is unknown, never a clean failure.
    let write = c
        .send(RequestSpec::post(&server.uri()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(write.kind(), ErrorKind::Uncertain, "{write}");
}

/// A chunked body (no Content-Length) that never ends is cut at the limit while streaming.
#[tokio::test]
async fn an_endless_chunked_body_is_cut_while_streaming() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf).await;
        let _ = sock
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("400\r\n{}\r\n", "[".repeat(1024));
        // 64 MiB if nobody stops reading; the client must stop after its 1 MiB limit.
        for _ in 0..65_536 {
            if sock.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let err = client(1024 * 1024)
        .send(RequestSpec::get(&format!("http://{addr}/")).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(
        err.to_string().contains("is longer, over the limit"),
        "{err}"
    );
}
