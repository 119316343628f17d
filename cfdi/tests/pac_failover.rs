//! Failover fault injection: never two UUIDs for one CFDI, nothing lost.
#![cfg(feature = "pac")]

mod pac_mock;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cfdi::pac::{
    Failover, FinkokClient, FinkokConfig, Pac, PacErrorKind, SwAuth, SwClient, SwConfig,
};
use pac_mock::*;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn finkok_at(url: &str) -> FinkokClient {
    FinkokClient::new(
        FinkokConfig::new(url, FINKOK_USER, FINKOK_PASSWORD)
            .with_pac_certificate(pac_csd().certificate().clone())
            .with_timeout(Duration::from_millis(700)),
    )
    .unwrap()
}

fn sw_at(url: &str) -> SwClient {
    SwClient::new(
        SwConfig::new(
            url,
            url,
            SwAuth::UserPassword {
                user: SW_USER.into(),
                password: SW_PASSWORD.into(),
            },
        )
        .with_pac_certificate(pac_csd().certificate().clone())
        .with_timeout(Duration::from_millis(700)),
    )
    .unwrap()
}

fn failover(primary: FinkokClient, backup: SwClient) -> Failover {
    Failover::new(Arc::new(primary))
        .with_backup(Arc::new(backup))
        .backoff(Duration::from_millis(20))
        .uncertain_attempts(3)
}

/// A backup server that must never be called.
async fn untouchable_backup() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn primary_stamps_then_times_out_recovered_from_primary_backup_never_called() {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    fk.hang_next.store(1, Ordering::SeqCst);
    let primary = start_finkok(&fk).await;
    let backup = untouchable_backup().await;
    let f = failover(finkok_at(&primary.uri()), sw_at(&backup.uri()));
    let sealed = sealed_cfdi("T-1");
    let s = f.stamp(&sealed).await.expect("recovered");
    assert_eq!(s.pac, "finkok");
    assert!(s.previously_stamped, "came from `stamped`, not a new stamp");
    let sello = cfdi::parse_str(&sealed).unwrap().sello;
    assert_eq!(ledger.uuids_for(&sello), vec![s.uuid.clone()]);
    assert_eq!(fk.stamp_calls.load(Ordering::SeqCst), 1);
    assert!(fk.stamped_calls.load(Ordering::SeqCst) >= 1);
    backup.verify().await;
}

#[tokio::test]
async fn lagging_recovery_resends_to_the_same_pac_and_gets_the_same_uuid() {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    fk.hang_next.store(1, Ordering::SeqCst);
    fk.stamped_lag.store(1, Ordering::SeqCst); // `stamped` does not see it at first
    let primary = start_finkok(&fk).await;
    let backup = untouchable_backup().await;
    let f = failover(finkok_at(&primary.uri()), sw_at(&backup.uri()));
    let sealed = sealed_cfdi("T-2");
    let s = f.stamp(&sealed).await.expect("stamp");
    assert!(
        s.previously_stamped,
        "the re-send got 307 and the existing stamp"
    );
    assert_eq!(ledger.issued().len(), 1);
    assert_eq!(ledger.double_stamps(), 0);
    backup.verify().await;
}

#[tokio::test]
async fn primary_refuses_connections_backup_stamps() {
    let ledger = Ledger::new();
    let sw = SwMock::new("sw", ledger.clone());
    let backup = start_sw(&sw).await;
    let f = failover(finkok_at(&closed_port_url()), sw_at(&backup.uri()));
    let sealed = sealed_cfdi("T-3");
    let s = f.stamp(&sealed).await.expect("backup stamps");
    assert_eq!(s.pac, "sw");
    assert_eq!(ledger.issued().len(), 1);
    assert_eq!(ledger.issued()[0].pac, "sw");
}

#[tokio::test]
async fn primary_rejects_credentials_backup_stamps() {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    let sw = SwMock::new("sw", ledger.clone());
    let backup = start_sw(&sw).await;
    let bad = FinkokClient::new(FinkokConfig::new(primary.uri(), FINKOK_USER, "wrong")).unwrap();
    let f = Failover::new(Arc::new(bad)).with_backup(Arc::new(sw_at(&backup.uri())));
    let s = f.stamp(&sealed_cfdi("T-4")).await.unwrap();
    assert_eq!(s.pac, "sw");
    assert_eq!(ledger.issued().len(), 1);
}

#[tokio::test]
async fn both_down_is_a_typed_error_and_nothing_is_stamped() {
    let ledger = Ledger::new();
    let f = failover(finkok_at(&closed_port_url()), sw_at(&closed_port_url()));
    let e = f.stamp(&sealed_cfdi("T-5")).await.unwrap_err();
    assert_eq!(e.kind(), PacErrorKind::AllFailed, "{e}");
    assert!(e.is_definitely_not_stamped());
    match &e {
        cfdi::pac::PacError::AllFailed { errors } => {
            assert_eq!(errors.len(), 2);
            assert!(errors.iter().all(|x| x.kind() == PacErrorKind::Transient));
        }
        other => panic!("{other}"),
    }
    assert!(ledger.issued().is_empty());
}

#[tokio::test]
async fn a_rejected_document_is_not_sent_to_the_backup() {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    let backup = untouchable_backup().await;
    let f = failover(finkok_at(&primary.uri()), sw_at(&backup.uri()));
    let broken = sealed_cfdi("T-6").replace("Folio=\"T-6\"", "Folio=\"T-7\"");
    let e = f.stamp(&broken).await.unwrap_err();
    assert!(matches!(e, cfdi::pac::PacError::Rejected { .. }), "{e}");
    assert_eq!(e.kind(), PacErrorKind::Validation, "{e}");
    assert!(ledger.issued().is_empty());
    backup.verify().await;
}

#[tokio::test]
async fn still_uncertain_after_retries_never_fails_over() {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    // Every answer is lost: stamp hangs, and so does `stamped` (same path).
    primary.reset().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&primary)
        .await;
    let backup = untouchable_backup().await;
    let f = failover(finkok_at(&primary.uri()), sw_at(&backup.uri())).uncertain_attempts(2);
    let e = f.stamp(&sealed_cfdi("T-8")).await.unwrap_err();
    assert_eq!(e.kind(), PacErrorKind::Uncertain, "{e}");
    assert!(!e.is_definitely_not_stamped());
    backup.verify().await;
}

#[tokio::test]
async fn many_cfdis_with_random_faults_get_exactly_one_uuid_each() {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    let sw = SwMock::new("sw", ledger.clone());
    let backup = start_sw(&sw).await;
    let f = failover(finkok_at(&primary.uri()), sw_at(&backup.uri()));
    let mut sellos = Vec::new();
    for i in 0..6 {
        if i % 2 == 0 {
            fk.hang_next.store(1, Ordering::SeqCst);
        }
        let sealed = sealed_cfdi(&format!("M-{i}"));
        sellos.push(cfdi::parse_str(&sealed).unwrap().sello);
        let s = f.stamp(&sealed).await.expect("stamped");
        // Stamping again (a caller retry) returns the same UUID.
        let again = f.stamp(&sealed).await.expect("stamped again");
        assert_eq!(s.uuid, again.uuid);
    }
    assert_eq!(ledger.double_stamps(), 0);
    for s in &sellos {
        assert_eq!(ledger.uuids_for(s).len(), 1, "lost or doubled");
    }
    assert_eq!(sw.stamp_calls.load(Ordering::SeqCst), 0);
    let _ = f.name();
}

#[tokio::test]
async fn known_stamped_but_unfetchable_stays_uncertain_and_never_fails_over() {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    let sealed = sealed_cfdi("T-9");
    // Stamped at the primary earlier (e.g. by another process).
    let first = finkok_at(&primary.uri()).stamp(&sealed).await.unwrap();
    // Now Finkok answers 307 without the XML and `stamped` is down.
    fk.omit_xml_on_307.store(true, Ordering::SeqCst);
    fk.fail_stamped.store(true, Ordering::SeqCst);
    let backup = untouchable_backup().await;
    let f = failover(finkok_at(&primary.uri()), sw_at(&backup.uri())).uncertain_attempts(2);
    let e = f.stamp(&sealed).await.unwrap_err();
    assert_eq!(e.kind(), PacErrorKind::Uncertain, "{e}");
    assert!(!e.is_definitely_not_stamped());
    backup.verify().await;
    // Once `stamped` works again the original stamp comes back.
    fk.fail_stamped.store(false, Ordering::SeqCst);
    let s = f.stamp(&sealed).await.unwrap();
    assert_eq!(s.uuid, first.uuid);
    assert_eq!(ledger.double_stamps(), 0);
}
