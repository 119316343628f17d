//! Cancellation follow-up (feature `hub`): void → cancel request (motivo 02, or 01 with the substitute's
//! UUID) → SAT status reads on the hub's schedule (a "retry later" error with a hint, never a loop) until
//! Cancelado / Plazo vencido / Solicitud rechazada, recorded in the journal; "en proceso" (acceptance
//! required) is a state the sync log shows. PACs and the SAT status service are the in-process mocks.

mod pac_mock;

use std::sync::Arc;
use std::time::Duration;

use cfdi::hub::{CfdiStep, FiscalError, FiscalProfile, MemoryDirectory};
use cfdi::pac::{Failover, SatStatusClient, SwAuth, SwCancelCsd, SwClient, SwConfig};
use chrono::{NaiveDate, TimeZone, Utc};
use erp_hub_core::ErrorKind;
use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey, WriteOp};
use erp_hub_core::fiscal::{
    CancellationState, FiscalAdapter, FiscalKey, FiscalStep, MemoryStampJournal, StampJournal,
};
use erp_hub_core::hub::{Hub, HubConfig, HubStore as _, MemoryStore, RecordState, Scope};
use erp_hub_core::model::{Customer, EntityKind, Invoice, InvoiceLine, PartyRef, TaxId};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::testing::MemoryErp;
use pac_mock::*;
use rust_decimal_macros::dec;

const T: &str = "acme";
const FIRST: Duration = Duration::from_millis(10);

struct Env {
    ledger: Arc<Ledger>,
    sw: Arc<SwMock>,
    sat: Arc<SatMock>,
    journal: Arc<MemoryStampJournal>,
    step: Arc<CfdiStep>,
    _servers: (wiremock::MockServer, wiremock::MockServer),
}

fn profile() -> FiscalProfile {
    serde_json::from_value(serde_json::json!({
        "emisor": {"rfc": "EKU9003173C9", "nombre": "ESCUELA KEMPER URGATE", "regimen_fiscal": "601",
                   "lugar_expedicion": "42501"},
        "csd": {"cer": "unused.cer", "key": "unused.key", "password_secret": "csd"},
        "series": {"invoice": "F"},
        "default_clave_prod_serv": "81111500",
        "default_clave_unidad": "E48",
    }))
    .unwrap()
}

/// SW (stamps, cancels) whose SAT status goes to the mock ConsultaCFDIService; `direct`: the step reads the
/// status from the SAT client itself instead of through the PAC.
async fn env(direct: bool) -> Env {
    let ledger = Ledger::new();
    let sw = SwMock::new("sw", Arc::clone(&ledger));
    let sw_server = start_sw(&sw).await;
    let sat = SatMock::new(Arc::clone(&ledger));
    let sat_server = start_sat(&sat).await;
    let cer = std::fs::read("tests/fixtures/csd/EKU9003173C9.cer").unwrap();
    let key = std::fs::read("tests/fixtures/csd/EKU9003173C9.key").unwrap();
    let client = SwClient::new(
        SwConfig::new(
            sw_server.uri(),
            sw_server.uri(),
            SwAuth::UserPassword {
                user: SW_USER.into(),
                password: SW_PASSWORD.into(),
            },
        )
        .with_pac_certificate(pac_csd().certificate().clone())
        .with_cancel_csd(SwCancelCsd::new(&cer, &key, PASSWORD))
        .with_sat_status_url(sat_server.uri()),
    )
    .unwrap();
    let journal = Arc::new(MemoryStampJournal::new());
    let mut step = CfdiStep::new(journal.clone(), Arc::new(MemoryDirectory::new()))
        .with_tenant(T, profile(), emisor_csd(), &Failover::new(Arc::new(client)))
        .with_cancel_poll(FIRST, Duration::from_millis(40))
        .with_clock(|| Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap());
    if direct {
        step = step.with_sat_status(SatStatusClient::new(&sat_server.uri()).unwrap());
    }
    Env {
        ledger,
        sw,
        sat,
        journal,
        step: Arc::new(step),
        _servers: (sw_server, sat_server),
    }
}

fn customer() -> Customer {
    let mut c = Customer::new("c-1", "Universidad Robotica Española");
    c.tax_ids.push(TaxId::MxRfc {
        rfc: "URE180429TM6".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: Some("86991".into()),
    });
    c
}

fn invoice(ext: &str) -> Invoice {
    Invoice::new(
        ext,
        PartyRef::external("c-1"),
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Consultoría", dec!(1), dec!(1000))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    )
}

/// Stamps `inv` and returns its UUID.
async fn stamp(e: &Env, inv: Invoice) -> String {
    e.step
        .stamp(T, &WriteOp::UpsertCustomer(customer()))
        .await
        .unwrap();
    e.step
        .stamp(T, &WriteOp::CreateInvoice(inv))
        .await
        .unwrap()
        .unwrap()
        .uuid
}

async fn state(e: &Env, ext: &str) -> Option<CancellationState> {
    e.journal
        .cancellation(&FiscalKey::new(T, EntityKind::Invoice, ext))
        .await
        .unwrap()
        .map(|c| c.state)
}

/// One step that must be "pending": the erp error is a Transient with a retry hint naming the state.
async fn expect_pending(e: &Env, ext: &str, hint: Duration, words: &str) {
    let err = FiscalStep::cancel(e.step.as_ref(), T, ext)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert_eq!(err.retry_hint(), Some(hint), "{err}");
    assert!(err.to_string().contains(words), "{err}");
}

#[tokio::test]
async fn cancelled_without_acceptance_motivo_02() {
    let e = env(true).await;
    let uuid = stamp(&e, invoice("inv-1")).await;
    e.sat.script(
        &uuid,
        &[
            ("Vigente", "Cancelable sin aceptación", ""),
            (
                "Cancelado",
                "Cancelable sin aceptación",
                "Cancelado sin aceptación",
            ),
        ],
    );
    // 1: the request (recorded), no status read yet.
    expect_pending(&e, "inv-1", FIRST, "requested").await;
    assert_eq!(state(&e, "inv-1").await, Some(CancellationState::Requested));
    let bodies = e.sw.cancel_bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["motivo"], "02");
    assert_eq!(bodies[0]["uuid"], uuid.as_str());
    assert!(bodies[0].get("folioSustitucion").is_none());
    // 2: the SAT has not registered it yet; the hint doubles.
    expect_pending(&e, "inv-1", FIRST * 2, "requested").await;
    // 3: cancelled.
    let c = e.step.cancel_invoice(T, "inv-1").await.unwrap().unwrap();
    assert_eq!(c.state, CancellationState::Cancelled);
    assert_eq!((c.reason.as_str(), c.checks), ("02", 2));
    assert!(
        c.detail.contains("Cancelado sin aceptación"),
        "{}",
        c.detail
    );
    // Terminal: no more requests nor reads.
    let again = e.step.cancel_invoice(T, "inv-1").await.unwrap().unwrap();
    assert_eq!(again, c);
    assert_eq!(e.sat.queries_for(&uuid), 2);
    assert_eq!(e.sw.cancel_bodies.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn acceptance_required_then_deadline_passed() {
    let e = env(false).await; // status through the PAC (SW → ConsultaCFDIService)
    let uuid = stamp(&e, invoice("inv-2")).await;
    e.sat.script(
        &uuid,
        &[
            ("Vigente", "Cancelable con aceptación", "En proceso"),
            ("Vigente", "Cancelable con aceptación", "En proceso"),
            ("Cancelado", "Cancelable con aceptación", "Plazo vencido"),
        ],
    );
    expect_pending(&e, "inv-2", FIRST, "requested").await;
    expect_pending(&e, "inv-2", FIRST * 2, "awaiting the receptor's acceptance").await;
    assert_eq!(
        state(&e, "inv-2").await,
        Some(CancellationState::AwaitingAcceptance)
    );
    // The schedule is capped (40 ms).
    expect_pending(&e, "inv-2", FIRST * 4, "En proceso").await;
    let c = e.step.cancel_invoice(T, "inv-2").await.unwrap().unwrap();
    assert_eq!(c.state, CancellationState::DeadlinePassed);
    assert!(c.state.is_cancelled());
}

#[tokio::test]
async fn rejected_by_the_receptor_keeps_the_erp_invoice_and_says_why() {
    let e = env(true).await;
    let erp = Arc::new(MemoryErp::new());
    let adapter = FiscalAdapter::new(erp.clone(), e.step.clone(), T);
    adapter
        .upsert_customer(&customer(), &IdempotencyKey::new("c-1").unwrap())
        .await
        .unwrap();
    let remote = adapter
        .create_invoice(&invoice("inv-3"), &IdempotencyKey::new("inv-3").unwrap())
        .await
        .unwrap();
    let uuid = e
        .journal
        .stamped(T, erp_hub_core::fiscal::FiscalDocumentKind::Invoice)
        .await
        .unwrap()[0]
        .uuid
        .clone();
    e.sat.script(
        &uuid,
        &[
            ("Vigente", "Cancelable con aceptación", "En proceso"),
            (
                "Vigente",
                "Cancelable con aceptación",
                "Solicitud rechazada",
            ),
        ],
    );
    let key = IdempotencyKey::new("void-inv-3").unwrap();
    for _ in 0..2 {
        let err = adapter.void_invoice(&remote, &key).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    }
    let err = adapter.void_invoice(&remote, &key).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    match &err {
        erp_hub_core::Error::Validation { errors, .. } => {
            assert_eq!(errors[0].code.as_deref(), Some("cancellation_rejected"));
            assert_eq!(errors[0].field, "inv-3: cancellation");
            assert!(errors[0].message.contains("Solicitud rechazada"), "{err}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(state(&e, "inv-3").await, Some(CancellationState::Rejected));
    let rec = erp.get(EntityKind::Invoice, &remote.id).await.unwrap();
    assert!(
        !rec.voided,
        "a rejected cancellation must not void the ERP invoice"
    );
}

#[tokio::test]
async fn reissue_cancels_with_motivo_01_and_the_substitute_uuid() {
    let e = env(true).await;
    let old = stamp(&e, invoice("inv-4")).await;
    let mut new = invoice("inv-4b");
    new.passthrough = serde_json::json!({"cfdi": {"sustituye": "inv-4"}});
    let new_uuid = stamp(&e, new).await;
    let xml = &e.ledger.by_uuid(&new_uuid).unwrap().xml;
    let doc = cfdi::parse_str(xml).unwrap();
    assert_eq!(doc.cfdi_relacionados[0].tipo_relacion, "04");
    assert_eq!(doc.cfdi_relacionados[0].uuids, std::slice::from_ref(&old));
    e.sat.script(
        &old,
        &[(
            "Cancelado",
            "Cancelable sin aceptación",
            "Cancelado sin aceptación",
        )],
    );
    expect_pending(&e, "inv-4", FIRST, "requested").await;
    let bodies = e.sw.cancel_bodies.lock().unwrap().clone();
    assert_eq!(bodies[0]["motivo"], "01");
    assert_eq!(bodies[0]["folioSustitucion"], new_uuid.as_str());
    let c = e.step.cancel_invoice(T, "inv-4").await.unwrap().unwrap();
    assert_eq!(c.state, CancellationState::Cancelled);
    assert_eq!(c.substitute.as_deref(), Some(new_uuid.as_str()));
    // A reissue of an invoice that is not stamped waits for it (nothing stamped).
    let mut orphan = invoice("inv-5b");
    orphan.passthrough = serde_json::json!({"cfdi": {"sustituye": "inv-5"}});
    let err = e
        .step
        .stamp_document(T, &WriteOp::CreateInvoice(orphan))
        .await
        .unwrap_err();
    assert!(matches!(err, FiscalError::NotStamped { .. }), "{err}");
}

#[tokio::test]
async fn an_unstamped_invoice_has_nothing_to_cancel() {
    let e = env(true).await;
    assert!(e.step.cancel_invoice(T, "never").await.unwrap().is_none());
    assert!(e.sw.cancel_bodies.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_hub_polls_on_its_schedule_and_the_sync_log_shows_acceptance_pending() {
    let e = env(true).await;
    let erp = Arc::new(MemoryErp::new());
    let adapter = Arc::new(FiscalAdapter::new(erp.clone(), e.step.clone(), T));
    adapter
        .upsert_customer(&customer(), &IdempotencyKey::new("c-1").unwrap())
        .await
        .unwrap();
    let remote = adapter
        .create_invoice(&invoice("inv-6"), &IdempotencyKey::new("inv-6").unwrap())
        .await
        .unwrap();
    let uuid = e.ledger.issued()[0].uuid.clone();
    e.sat.script(
        &uuid,
        &[
            ("Vigente", "Cancelable con aceptación", "En proceso"),
            ("Vigente", "Cancelable con aceptación", "En proceso"),
            (
                "Cancelado",
                "Cancelable con aceptación",
                "Cancelado con aceptación",
            ),
        ],
    );
    let store = Arc::new(MemoryStore::new());
    // Backoff far longer than the step's hints: the hints, not the backoff, set the schedule.
    let hub = Hub::new(
        store.clone(),
        HubConfig::default()
            .with_max_attempts(10)
            .with_backoff(Duration::from_secs(30), Duration::from_secs(60))
            .with_poll(Duration::from_millis(5)),
    );
    let scope = Scope::new(T, "memory:1");
    hub.register(scope.clone(), adapter);
    hub.enqueue(&scope, vec![WriteOp::VoidInvoice(remote.clone())])
        .await
        .unwrap();
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(20), hub.run_until_settled())
        .await
        .expect("the hub followed the hints")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let log = store
        .find(&scope, EntityKind::Invoice, &format!("void:{}", remote.id))
        .await
        .unwrap()
        .unwrap();
    let log = store.record(log.id).await.unwrap().unwrap();
    assert_eq!(log.state, RecordState::Done);
    assert_eq!(log.attempts, 4, "request, 2 × en proceso, cancelled");
    let messages: Vec<String> = log
        .history
        .iter()
        .filter_map(|a| a.message.clone())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("awaiting the receptor's acceptance") && m.contains("En proceso")),
        "{messages:?}"
    );
    assert!(
        erp.get(EntityKind::Invoice, &remote.id)
            .await
            .unwrap()
            .voided
    );
    assert_eq!(state(&e, "inv-6").await, Some(CancellationState::Cancelled));
}

#[tokio::test]
async fn global_invoice_is_stamped_once_and_walk_in_sales_get_no_cfdi_of_their_own() {
    let e = env(true).await;
    let mut mostrador = Customer::new("pg", "Mostrador");
    mostrador.tax_ids.push(TaxId::MxRfc {
        rfc: "XAXX010101000".into(),
        regimen_fiscal: None,
        postal_code: None,
    });
    let mut sale = invoice("tk-1");
    sale.customer = PartyRef::external("pg");
    sale.passthrough = serde_json::json!({"cfdi": {"global": true}});
    e.step
        .stamp(T, &WriteOp::UpsertCustomer(mostrador.clone()))
        .await
        .unwrap();
    let none = e
        .step
        .stamp(T, &WriteOp::CreateInvoice(sale.clone()))
        .await
        .unwrap();
    assert!(
        none.is_none(),
        "a walk-in sale waits for the global invoice"
    );
    assert!(e.ledger.issued().is_empty());
    let sales = [cfdi::hub::GlobalSale::new(&sale, &mostrador)];
    let day = cfdi::hub::GlobalPeriod::Daily(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
    let first = e
        .step
        .stamp_global(T, "GL-1", day, &sales, "01")
        .await
        .unwrap();
    let again = e
        .step
        .stamp_global(T, "GL-1", day, &sales, "01")
        .await
        .unwrap();
    assert_eq!(first.uuid, again.uuid);
    assert_eq!(
        e.ledger.issued().len(),
        1,
        "one UUID for the global invoice"
    );
    assert_eq!(first.total, sale.breakdown().unwrap().total.amount());
    let doc = cfdi::parse_str(&first.xml).unwrap();
    assert_eq!(doc.receptor.rfc, "XAXX010101000");
    assert_eq!(doc.conceptos[0].no_identificacion.as_deref(), Some("tk-1"));
}

#[tokio::test]
async fn a_request_the_sat_refuses_is_recorded_as_rejected() {
    let e = env(true).await;
    // A stamp the SAT does not know (the mock answers 205, "no existe").
    let key = FiscalKey::new(T, EntityKind::Invoice, "inv-x");
    e.journal.begin(&key, "<sealed/>").await.unwrap();
    let unknown = "0D1A2B3C-4D5E-4F60-8A7B-9C0D1E2F3A4B";
    let stamp = erp_hub_core::fiscal::FiscalStamp::new(
        cfdi::hub::SCHEME,
        erp_hub_core::fiscal::FiscalDocumentKind::Invoice,
        unknown,
        "2026-12-01T10:00:00",
        "sw",
        dec!(1160),
        "<cfdi:Comprobante/>",
    );
    e.journal.complete(&key, &stamp).await.unwrap();
    let c = e.step.cancel_invoice(T, "inv-x").await.unwrap().unwrap();
    assert_eq!(c.state, CancellationState::Rejected);
    assert!(c.detail.contains("205"), "{}", c.detail);
    assert_eq!(state(&e, "inv-x").await, Some(CancellationState::Rejected));
    assert_eq!(e.sat.queries_for(unknown), 0);
}

/// A failover built from the profile ([`FiscalProfile::failover`]) can cancel at each PAC: SW gets the
/// profile's CSD files and password, Finkok the certificate as PEM and the key PEM from
/// `cancel_key_secret`.
#[tokio::test]
async fn a_profile_built_failover_cancels_at_each_pac() {
    use cfdi::hub::MapSecrets;
    use cfdi::pac::{CancelRequest, CancelStatus, Motivo};
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", Arc::clone(&ledger));
    let fk_server = start_finkok(&fk).await;
    let sw = SwMock::new("sw", Arc::clone(&ledger));
    let sw_server = start_sw(&sw).await;
    let profile: FiscalProfile = serde_json::from_value(serde_json::json!({
        "emisor": {"rfc": "EKU9003173C9", "nombre": "ESCUELA KEMPER URGATE", "regimen_fiscal": "601",
                   "lugar_expedicion": "42501"},
        "csd": {"cer": "tests/fixtures/csd/EKU9003173C9.cer", "key": "tests/fixtures/csd/EKU9003173C9.key",
                "password_secret": "csd"},
        "primary_pac": {"kind": "finkok", "url": fk_server.uri(), "user": FINKOK_USER,
                        "password_secret": "fk", "cancel_key_secret": "fk-cancel-key"},
        "backup_pac": {"kind": "sw", "url": sw_server.uri(), "user": SW_USER, "password_secret": "sw"},
    }))
    .unwrap();
    const KEY_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n...\n-----END RSA PRIVATE KEY-----\n";
    let secrets = MapSecrets::new()
        .with("csd", PASSWORD)
        .with("fk", FINKOK_PASSWORD)
        .with("sw", SW_PASSWORD)
        .with("fk-cancel-key", KEY_PEM);
    let failover = profile
        .failover(&secrets, Some(pac_csd().certificate()))
        .unwrap();
    let (issued, _) = ledger
        .stamp("finkok", &fk.signer, &sealed_cfdi("1"))
        .unwrap();
    let request = CancelRequest::new(
        &issued.uuid,
        "EKU9003173C9",
        Motivo::ErroresSinRelacion,
        None,
    )
    .unwrap();
    for pac in failover.pacs() {
        let r = pac
            .cancel(&request)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", pac.name()));
        assert_eq!(r.status, CancelStatus::Requested, "{}", pac.name());
    }

    let cer = std::fs::read("tests/fixtures/csd/EKU9003173C9.cer").unwrap();
    let key = std::fs::read("tests/fixtures/csd/EKU9003173C9.key").unwrap();
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let bodies = sw.cancel_bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["b64Cer"], b64(&cer));
    assert_eq!(bodies[0]["b64Key"], b64(&key));
    assert_eq!(bodies[0]["password"], PASSWORD);
    let fields = fk.cancel_fields.lock().unwrap().clone();
    assert_eq!(fields.len(), 1);
    let decoded = |f: &str| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(
                    fields[0]
                        .get(f)
                        .unwrap_or_else(|| panic!("no {f} in {fields:?}")),
                )
                .unwrap(),
        )
        .unwrap()
    };
    let cer_pem = decoded("cer");
    assert!(
        cer_pem.starts_with("-----BEGIN CERTIFICATE-----\n"),
        "{cer_pem}"
    );
    assert_eq!(
        cfdi::Certificate::from_bytes(cer_pem.as_bytes())
            .unwrap()
            .der(),
        cfdi::Certificate::from_bytes(&cer).unwrap().der()
    );
    assert_eq!(decoded("key"), KEY_PEM);
}
