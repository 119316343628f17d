//! Credentials and tokens never appear in `Debug` output, error messages or logs.
#![cfg(feature = "pac")]

mod pac_mock;

use std::sync::Arc;
use std::time::Duration;

use cfdi::pac::{
    CancelRequest, Failover, FinkokCancelCsd, FinkokClient, FinkokConfig, Motivo, Pac, SwAuth,
    SwCancelCsd, SwClient, SwConfig,
};
use erp_hub_core::testing::LogCapture;
use pac_mock::*;

const KEY_PEM: &str =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\nKEY-PEM-s3cr3t\n-----END ENCRYPTED PRIVATE KEY-----";

fn assert_clean(what: &str, out: &str) {
    for secret in [
        FINKOK_PASSWORD,
        SW_PASSWORD,
        SW_TOKEN,
        PASSWORD,
        "KEY-PEM-s3cr3t",
    ] {
        assert!(!out.contains(secret), "{what} leaks {secret:?}: {out}");
    }
}

#[tokio::test]
async fn no_secret_in_debug_errors_or_trace_logs() {
    let (logs_capture, _guard) = LogCapture::start();

    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let fk_server = start_finkok(&fk).await;
    let sw = SwMock::new("sw", ledger.clone());
    let sw_server = start_sw(&sw).await;

    let fcfg = FinkokConfig::new(fk_server.uri(), FINKOK_USER, FINKOK_PASSWORD)
        .with_cancel_csd(FinkokCancelCsd::new("CERT", KEY_PEM))
        .with_timeout(Duration::from_millis(700));
    let scfg = SwConfig::new(
        sw_server.uri(),
        sw_server.uri(),
        SwAuth::UserPassword {
            user: SW_USER.into(),
            password: SW_PASSWORD.into(),
        },
    )
    .with_cancel_csd(SwCancelCsd::new(b"cer", b"key", PASSWORD));
    assert_clean("FinkokConfig", &format!("{fcfg:?} {fcfg:#?}"));
    assert_clean("SwConfig", &format!("{scfg:?} {scfg:#?}"));
    let finkok = FinkokClient::new(fcfg).unwrap();
    let swc = SwClient::new(scfg).unwrap();
    assert_clean("clients", &format!("{finkok:?} {swc:?}"));
    let token_cfg = SwConfig::production_with_token(SW_TOKEN);
    assert_clean("token config", &format!("{token_cfg:?}"));

    // Traffic: stamps (one uncertain → recovery), cancels, failures with the credentials in play.
    fk.hang_next.store(1, std::sync::atomic::Ordering::SeqCst);
    let f = Failover::new(Arc::new(finkok.clone()))
        .with_backup(Arc::new(swc.clone()))
        .backoff(Duration::from_millis(10));
    let a = f.stamp(&sealed_cfdi("L-1")).await.unwrap();
    let b = swc.stamp(&sealed_cfdi("L-2")).await.unwrap();
    sw.revoke_tokens();
    let _ = swc.stamp(&sealed_cfdi("L-3")).await.unwrap();
    let req =
        CancelRequest::new(&a.uuid, "EKU9003173C9", Motivo::ErroresSinRelacion, None).unwrap();
    finkok.cancel(&req).await.unwrap();
    let req =
        CancelRequest::new(&b.uuid, "EKU9003173C9", Motivo::ErroresSinRelacion, None).unwrap();
    swc.cancel(&req).await.unwrap();
    let bad_sw = SwClient::new(SwConfig::new(
        sw_server.uri(),
        sw_server.uri(),
        SwAuth::UserPassword {
            user: SW_USER.into(),
            password: format!("{SW_PASSWORD}-wrong").into(),
        },
    ))
    .unwrap();
    let e1 = bad_sw.stamp(&sealed_cfdi("L-4")).await.unwrap_err();
    let bad_fk = FinkokClient::new(FinkokConfig::new(
        closed_port_url(),
        FINKOK_USER,
        FINKOK_PASSWORD,
    ))
    .unwrap();
    let e2 = bad_fk.stamp(&sealed_cfdi("L-5")).await.unwrap_err();
    assert_clean("errors", &format!("{e1} {e1:?} {e2} {e2:?}"));

    let logs = logs_capture.text();
    assert!(
        logs.contains("http.request"),
        "tracing was captured: {logs}"
    );
    assert_clean("logs", &logs);
}
