//! PAC failover that never issues two UUIDs for one CFDI, against in-process mock PACs.
//!
//! ```text
//! cargo run -p examples --example pac_failover
//! ```
//!
//! A mock Finkok (primary, SOAP) and a mock SW Sapien (backup, REST) run on 127.0.0.1. They stamp
//! for real: each TimbreFiscalDigital is signed with a SAT test CSD acting as the PAC, and every
//! stamp they issue goes into a shared ledger. Each scenario injects a fault, stamps with
//! [`cfdi::pac::Failover`], and prints one line. The last line counts, from the ledger, the CFDIs
//! that got more than one UUID (`double_stamps`) and the stamps the caller was not told about or
//! told about wrongly (`lost`). Both must be 0.

#[path = "../../cfdi/tests/pac_mock/mod.rs"]
mod pac_mock;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cfdi::pac::{
    Failover, FinkokClient, FinkokConfig, PacError, Stamped, SwAuth, SwClient, SwConfig,
};
use pac_mock::*;

fn finkok_at(url: &str, password: &str) -> FinkokClient {
    FinkokClient::new(
        FinkokConfig::new(url, FINKOK_USER, password.to_owned())
            .with_pac_certificate(pac_csd().certificate().clone())
            .with_timeout(Duration::from_millis(700)),
    )
    .expect("finkok client")
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
    .expect("sw client")
}

/// Checks one outcome against the ledger; returns how many stamps were "lost" (the caller got a
/// UUID the PACs never issued, or was told "nothing stamped" while a PAC holds a stamp).
fn audit(ledger: &Ledger, sealed: &str, outcome: &Result<Stamped, PacError>) -> usize {
    let sello = cfdi::parse_str(sealed).map(|d| d.sello).unwrap_or_default();
    let issued = ledger.uuids_for(&sello);
    match outcome {
        Ok(s) => usize::from(!issued.contains(&s.uuid)),
        Err(e) if e.is_definitely_not_stamped() => usize::from(!issued.is_empty()),
        // Uncertain: the caller was told to recover it; nothing is silently lost.
        Err(_) => 0,
    }
}

fn describe(outcome: &Result<Stamped, PacError>) -> String {
    match outcome {
        Ok(s) => format!(
            "stamped by {} uuid={}{}",
            s.pac,
            s.uuid,
            if s.previously_stamped {
                " (recovered)"
            } else {
                ""
            }
        ),
        Err(e) => format!(
            "error kind={} not_stamped={}",
            e.kind(),
            e.is_definitely_not_stamped()
        ),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", Arc::clone(&ledger));
    let fk_server = start_finkok(&fk).await;
    let sw = SwMock::new("sw", Arc::clone(&ledger));
    let sw_server = start_sw(&sw).await;
    let mut lost = 0;

    let mut run = |name: &str, sealed: &str, outcome: Result<Stamped, PacError>| {
        lost += audit(&ledger, sealed, &outcome);
        println!("{name}: {}", describe(&outcome));
    };

    let make = |primary: FinkokClient, backup: SwClient| {
        Failover::new(Arc::new(primary))
            .with_backup(Arc::new(backup))
            .backoff(Duration::from_millis(20))
            .uncertain_attempts(3)
    };

    // 1. The primary stamps, then its answer is lost (timeout): recovered from the primary.
    let sw_before = sw.stamp_calls.load(Ordering::SeqCst);
    fk.hang_next.store(1, Ordering::SeqCst);
    let f = make(
        finkok_at(&fk_server.uri(), FINKOK_PASSWORD),
        sw_at(&sw_server.uri()),
    );
    let sealed = sealed_cfdi("EX-1");
    let out = f.stamp(&sealed).await;
    let backup_calls = sw.stamp_calls.load(Ordering::SeqCst) - sw_before;
    run(
        &format!("primary_timeout_after_stamp (backup calls: {backup_calls})"),
        &sealed,
        out,
    );

    // 2. Recovery lags behind: re-sent to the primary, which answers 307 with the same stamp.
    fk.hang_next.store(1, Ordering::SeqCst);
    fk.stamped_lag.store(1, Ordering::SeqCst);
    let sealed = sealed_cfdi("EX-2");
    let out = f.stamp(&sealed).await;
    run("primary_timeout_lagging_recovery", &sealed, out);

    // 3. The primary refuses connections: the backup stamps.
    let f = make(
        finkok_at(&closed_port_url(), FINKOK_PASSWORD),
        sw_at(&sw_server.uri()),
    );
    let sealed = sealed_cfdi("EX-3");
    let out = f.stamp(&sealed).await;
    run("primary_connection_refused", &sealed, out);

    // 4. The primary rejects our credentials: the backup stamps.
    let f = make(
        finkok_at(&fk_server.uri(), "wrong-password"),
        sw_at(&sw_server.uri()),
    );
    let sealed = sealed_cfdi("EX-4");
    let out = f.stamp(&sealed).await;
    run("primary_auth_rejected", &sealed, out);

    // 5. The document is rejected (broken Sello): no failover, nothing stamped.
    let f = make(
        finkok_at(&fk_server.uri(), FINKOK_PASSWORD),
        sw_at(&sw_server.uri()),
    );
    let sealed = sealed_cfdi("EX-5").replace("Folio=\"EX-5\"", "Folio=\"EX-5b\"");
    let out = f.stamp(&sealed).await;
    run("document_rejected", &sealed, out);

    // 6. Both PACs down: a typed error, nothing stamped.
    let f = make(
        finkok_at(&closed_port_url(), FINKOK_PASSWORD),
        sw_at(&closed_port_url()),
    );
    let sealed = sealed_cfdi("EX-6");
    let out = f.stamp(&sealed).await;
    run("both_down", &sealed, out);

    // 7. A caller retries a CFDI that was already stamped: same UUID.
    let f = make(
        finkok_at(&fk_server.uri(), FINKOK_PASSWORD),
        sw_at(&sw_server.uri()),
    );
    let sealed = sealed_cfdi("EX-1");
    let out = f.stamp(&sealed).await;
    run("caller_retry_of_stamped_cfdi", &sealed, out);

    println!("double_stamps={} lost={lost}", ledger.double_stamps());
}
