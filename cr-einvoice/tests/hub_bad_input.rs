//! Bad input through the whole hub: `Hub` + `SqliteStore` (queue, numbering and fiscal journal in one SQLite
//! file) + `FiscalAdapter` around `MemoryErp` with `CrStep`, against the mock Hacienda. Each case is read back
//! from the record's sync-log history: a MensajeHacienda for another clave, a MensajeHacienda whose signature
//! does not verify, a numbering counter moved back by a restored backup, and supplier documents answered
//! through the queue (`WriteOp::AnswerReceived`): one edited after signing, one signed with a certificate
//! Hacienda did not issue. Typed errors in the log, nothing sent twice, nothing lost.
#![cfg(feature = "hub")]
#![allow(missing_docs)]

mod hacienda_mock;
mod hub_support;

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use cr_einvoice::api::{HaciendaClient, HaciendaConfig, PasswordCredentials, RetryPolicy};
use cr_einvoice::hub::{
    CrProfile, CrStep, MENSAJE_HACIENDA_SERIES, MemoryDirectory, RECEIVED, answer_received,
};
use cr_einvoice::receive::{CondicionImpuesto, Receiver, Respuesta};
use erp_hub_core::ErrorKind;
use erp_hub_core::adapter::WriteOp;
use erp_hub_core::fiscal::{FiscalAdapter, FiscalKey, JournalEntry, StampJournal};
use erp_hub_core::hub::numbering::{NumberStore, Series};
use erp_hub_core::hub::{Hub, HubConfig, RecordLog, RecordState, Scope, SqliteStore};
use erp_hub_core::model::{
    CedulaType, Customer, EntityKind, Invoice, InvoiceLine, PartyRef, RemoteRef, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::testing::MemoryErp;
use hacienda_mock::HaciendaMock;
use hub_support::{fixture, p12, supplier_fe};
use rust_decimal_macros::dec;

const TENANT: &str = "cr-demo";
const MAX_ATTEMPTS: u32 = 3;

fn profile() -> CrProfile {
    serde_json::from_value(serde_json::json!({
        "emisor": {
            "nombre": "Empresa Demo Sociedad Anónima", "tipo_identificacion": "02", "numero": "3101234567",
            "codigo_actividad": "620100", "provincia": 1, "canton": 1, "distrito": 1,
            "otras_senas": "100 m norte del parque central", "correo": "facturacion@demo.example"
        },
        "llave": { "p12": fixture("keys/test-aes.p12"), "pin": "1234" },
        "proveedor_sistemas": "3101234567",
        "sucursal": 1, "terminal": 2,
        "cabys_servicio": { "cabys": "8314100000000", "unidad": "Sp" },
        "cabys_mercancia": { "cabys": "4399100000000", "unidad": "Unid" }
    }))
    .unwrap()
}

fn invoice(r: &str, detalle: &str) -> WriteOp {
    let mut inv = Invoice::new(
        r,
        PartyRef::external("c-ced"),
        NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(),
        Currency::from_code("CRC").unwrap(),
    );
    inv.lines.push(
        InvoiceLine::new(detalle, dec!(2), dec!(15000))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(13)))),
    );
    WriteOp::CreateInvoice(inv)
}

fn customer() -> WriteOp {
    let mut c = Customer::new("c-ced", "Cliente Demo S.R.L.");
    c.tax_ids.push(TaxId::CrCedula {
        kind: CedulaType::Juridica,
        number: "3109876543".into(),
    });
    WriteOp::UpsertCustomer(c)
}

struct Rig {
    _dir: tempfile::TempDir,
    mock: HaciendaMock,
    store: Arc<SqliteStore>,
    erp: Arc<MemoryErp>,
    hub: Hub,
    scope: Scope,
    profile: CrProfile,
}

impl Rig {
    async fn new() -> Self {
        Self::with(Receiver::new(cr_einvoice::demo::RECEPTOR_CEDULA).accept_any_issuer()).await
    }

    /// A rig whose tenant checks supplier documents with `receiver`.
    async fn with(receiver: Receiver) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("hub.db")).await.unwrap());
        let mock = HaciendaMock::start_new(p12("receive/hacienda-other.p12"), 0).await;
        let config = HaciendaConfig::sandbox()
            .with_urls(
                format!("{}/token", mock.uri()),
                format!("{}/recepcion/v1/recepcion", mock.uri()),
            )
            .with_retry(RetryPolicy::never())
            .with_request_timeout(Duration::from_secs(5));
        let client =
            HaciendaClient::new(config, PasswordCredentials::new("cpj@stag", "pw")).unwrap();
        let profile = profile();
        let step = CrStep::new(
            Arc::new(store.stamp_journal()),
            store.clone(),
            Arc::new(MemoryDirectory::new()),
        )
        .with_tenant(TENANT, profile.clone(), profile.load_key().unwrap(), client)
        .with_hacienda_certificate(p12("receive/hacienda-other.p12").certificate().clone())
        .with_poll_after(Duration::from_millis(10))
        .with_receiver(TENANT, receiver);
        let erp = Arc::new(MemoryErp::new());
        let hub = Hub::new(
            store.clone(),
            HubConfig::default()
                .with_workers(2)
                .with_max_attempts(MAX_ATTEMPTS)
                .with_poll(Duration::from_millis(10))
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
        );
        let scope = Scope::new(TENANT, "memory:1");
        hub.register(
            scope.clone(),
            Arc::new(FiscalAdapter::new(erp.clone(), Arc::new(step), TENANT)),
        );
        hub.enqueue(&scope, vec![customer()]).await.unwrap();
        Self {
            _dir: dir,
            mock,
            store,
            erp,
            hub,
            scope,
            profile,
        }
    }

    async fn run(&self, ops: Vec<WriteOp>) {
        self.hub.enqueue(&self.scope, ops).await.unwrap();
        self.hub.run_until_settled().await.unwrap();
    }

    /// The record's sync log, with its history.
    async fn log(&self, r: &str) -> RecordLog {
        let found = self
            .hub
            .store()
            .find(&self.scope, EntityKind::Invoice, r)
            .await
            .unwrap()
            .unwrap();
        self.hub.store().record(found.id).await.unwrap().unwrap()
    }

    async fn journal(&self, r: &str) -> Option<JournalEntry> {
        self.store
            .stamp_journal()
            .get(&FiscalKey::new(TENANT, EntityKind::Invoice, r))
            .await
            .unwrap()
    }

    fn fe(&self) -> Series {
        CrStep::series(
            &self.profile,
            cr_einvoice::TipoDocumento::FacturaElectronica,
        )
    }
}

/// Every attempt in the history failed with `kind` and a message containing each of `says`.
fn every_attempt(log: &RecordLog, kind: ErrorKind, says: &[&str]) {
    assert_eq!(log.history.len(), log.attempts as usize, "{log:#?}");
    for a in &log.history {
        assert_eq!(a.error_kind, Some(kind), "{a:#?}");
        let m = a.message.as_deref().unwrap_or_default();
        for s in says {
            assert!(m.contains(s), "{s:?} not in {m}");
        }
    }
}

/// A MensajeHacienda whose signature or clave is wrong: every attempt is logged as an uncertain outcome that
/// names the problem (the API client refuses an answer for another clave as unreadable; the step refuses
/// one whose signature does not verify against Hacienda's certificate), the document is never POSTed again (later attempts only ask the estado), the answer is
/// not stored, the ERP is not written; after the attempts the record is a dead letter with the clave (its
/// journal entry stays "received", so a requeue resumes it by asking the estado again).
async fn untrustworthy_mensaje(detalle: &str, says: impl Fn(&str) -> String) {
    let rig = Rig::new().await;
    rig.run(vec![
        invoice("inv-ok", "Consultoría"),
        invoice("inv-mh", detalle),
    ])
    .await;
    let log = rig.log("inv-mh").await;
    assert_eq!(log.state, RecordState::Dead, "{log:#?}");
    assert_eq!(log.attempts, MAX_ATTEMPTS);
    let Some(JournalEntry::Pending { sealed, attempts }) = rig.journal("inv-mh").await else {
        panic!("not pending in the journal")
    };
    assert!(attempts.iter().any(|a| a.certifier == RECEIVED));
    let clave = cr_einvoice::Comprobante::from_xml(sealed.as_bytes())
        .unwrap()
        .clave
        .as_str()
        .to_owned();
    every_attempt(
        &log,
        ErrorKind::Uncertain,
        &["inv-mh", &clave, &says(&clave)],
    );
    let rec = &rig.mock.records()[&clave];
    assert_eq!((rec.posts, rec.posts_after_202), (1, 0));
    assert_eq!(
        rec.polls, MAX_ATTEMPTS,
        "each attempt asked the estado once"
    );
    let answers = Series::new(&rig.profile.emisor.numero, MENSAJE_HACIENDA_SERIES);
    assert!(rig.store.get(&answers, &clave).await.unwrap().is_none());
    // The good invoice went through; only it reached the ERP.
    assert_eq!(rig.log("inv-ok").await.state, RecordState::Done);
    assert_eq!(rig.erp.count(EntityKind::Invoice), 1);
    assert_eq!(rig.erp.fiscal_stamps().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mensaje_hacienda_for_another_clave_is_logged_and_never_applied() {
    // The mock changes the last digit of the clave (9, or 8 when it was 9).
    untrustworthy_mensaje("MH-OTRA-CLAVE", |clave| {
        let (head, last) = clave.split_at(clave.len() - 1);
        let other = format!("{head}{}", if last == "9" { "8" } else { "9" });
        format!("answers clave {other}")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mensaje_hacienda_whose_signature_does_not_verify_is_logged_and_never_applied() {
    untrustworthy_mensaje("MH-FIRMA-ROTA", |_| {
        "is not trustworthy: signature: ".to_owned()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consecutivo_counter_moved_back_by_a_restore_is_a_dead_letter_not_a_reused_number() {
    let rig = Rig::new().await;
    rig.run(vec![invoice("inv-1", "Uno"), invoice("inv-2", "Dos")])
        .await;
    assert_eq!(rig.store.last(&rig.fe()).await.unwrap(), 2);
    // A restored backup of the counter: it says 1 while number 2 is stored (and at Hacienda).
    sqlx::query("UPDATE hub_number_series SET last_number = 1 WHERE issuer = $1 AND series = $2")
        .bind(&rig.fe().issuer)
        .bind(&rig.fe().series)
        .execute(rig.store.pool())
        .await
        .unwrap();
    rig.run(vec![invoice("inv-3", "Tres")]).await;
    let log = rig.log("inv-3").await;
    assert_eq!(log.state, RecordState::Dead, "{log:#?}");
    assert_eq!(log.attempts, 1, "a conflict is not retried");
    every_attempt(
        &log,
        ErrorKind::Conflict,
        &["number 2 of series", "001-00002-01", "restored backup"],
    );
    // Nothing issued for it, nothing sent twice.
    assert!(rig.journal("inv-3").await.is_none());
    let posted = rig.mock.records();
    assert_eq!(posted.len(), 2);
    assert!(
        posted
            .values()
            .all(|r| r.posts == 1 && r.posts_after_202 == 0)
    );

    // The operator advances the counter to the last number used and requeues: a new number, nothing lost.
    rig.store.advance_to(&rig.fe(), 2).await.unwrap();
    assert!(rig.hub.store().requeue(log.id).await.unwrap());
    rig.hub.run_until_settled().await.unwrap();
    assert_eq!(rig.log("inv-3").await.state, RecordState::Done);
    let stamps = rig.erp.fiscal_stamps();
    let mut numbers: Vec<String> = stamps
        .iter()
        .map(|(_, _, s)| s.uuid[31..41].to_owned())
        .collect();
    numbers.sort();
    assert_eq!(numbers, ["0000000001", "0000000002", "0000000003"]);
    let posted = rig.mock.records();
    assert_eq!(posted.len(), 3);
    assert!(
        posted
            .values()
            .all(|r| r.posts == 1 && r.posts_after_202 == 0)
    );
}

/// Hacienda's record of an answer: its status key, and the consecutivo number of the MensajeReceptor.
fn hacienda(status_key: &str) -> RemoteRef {
    let mut r = RemoteRef::new("hacienda", status_key);
    r.number = Some("1".into());
    r
}

fn aceptado() -> Respuesta {
    Respuesta::aceptado(CondicionImpuesto::CreditoGeneral)
}

impl Rig {
    fn answers(&self, tipo: cr_einvoice::TipoDocumento) -> Series {
        CrStep::series(&self.profile, tipo)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_invoice_answered_through_the_queue_is_sent_once() {
    let rig = Rig::new().await;
    let (xml, clave) = supplier_fe();
    let op = answer_received(xml.clone(), &aceptado()).unwrap();
    rig.run(vec![op.clone()]).await;
    let record = format!("mr:{clave}");
    let log = rig.log(&record).await;
    assert_eq!(log.state, RecordState::Done, "{log:#?}");
    let status_key = format!("{clave}-00100002050000000001");
    assert_eq!(log.remote, Some(hacienda(&status_key)));
    let rec = &rig.mock.records()[&status_key];
    assert_eq!((rec.posts, rec.posts_after_202), (1, 0));
    // No ERP record: an answer is Hacienda's business only.
    assert_eq!(rig.erp.count(EntityKind::Invoice), 0);

    // Enqueued again: the journal answers the document once. Again with another answer: refused (an answer
    // is final), in the sync log, and nothing more is sent.
    rig.run(vec![op]).await;
    assert_eq!(rig.log(&record).await.state, RecordState::Done);
    rig.run(vec![
        answer_received(xml, &Respuesta::rechazado("otra vez")).unwrap(),
    ])
    .await;
    let log = rig.log(&record).await;
    assert_eq!(log.state, RecordState::Dead, "{log:#?}");
    let last = log
        .history
        .last()
        .and_then(|a| a.message.clone())
        .unwrap_or_default();
    assert!(
        last.contains("already answered") && last.contains("answer"),
        "{last}"
    );
    let posted = rig.mock.records();
    assert_eq!(posted.len(), 1, "{:?}", posted.keys());
    assert_eq!(
        (
            posted[&status_key].posts,
            posted[&status_key].posts_after_202
        ),
        (1, 0)
    );
    assert_eq!(
        rig.store
            .last(&rig.answers(cr_einvoice::TipoDocumento::AceptacionReceptor))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_invoice_edited_after_signing_is_a_dead_letter_and_nothing_is_sent() {
    let rig = Rig::new().await;
    let (xml, clave) = supplier_fe();
    let edited = xml.replacen("<Nombre>", "<Nombre>X", 1);
    assert_ne!(edited, xml);
    rig.run(vec![answer_received(edited, &aceptado()).unwrap()])
        .await;
    let record = format!("mr:{clave}");
    let log = rig.log(&record).await;
    assert_eq!(log.state, RecordState::Dead, "{log:#?}");
    assert_eq!(log.attempts, 1, "a verdict is not retried");
    every_attempt(
        &log,
        ErrorKind::Validation,
        &[&record, "[document]", "signature"],
    );
    assert!(rig.mock.records().is_empty());
    assert_eq!(
        rig.store
            .last(&rig.answers(cr_einvoice::TipoDocumento::AceptacionReceptor))
            .await
            .unwrap(),
        0
    );
    assert!(rig.journal(&record).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_invoice_with_a_non_hacienda_certificate_can_only_be_rejected() {
    // The tenant's receiver wants a Hacienda certificate (the default policy).
    let rig = Rig::with(Receiver::new(cr_einvoice::demo::RECEPTOR_CEDULA)).await;
    let (xml, clave) = supplier_fe();
    rig.run(vec![answer_received(xml.clone(), &aceptado()).unwrap()])
        .await;
    let record = format!("mr:{clave}");
    let log = rig.log(&record).await;
    assert_eq!(log.state, RecordState::Dead, "{log:#?}");
    assert_eq!(log.attempts, 1);
    every_attempt(
        &log,
        ErrorKind::Validation,
        &[&record, "[document]", "CR-RECV-CERT-ISSUER"],
    );
    assert!(rig.mock.records().is_empty());
    assert_eq!(
        rig.store
            .last(&rig.answers(cr_einvoice::TipoDocumento::AceptacionReceptor))
            .await
            .unwrap(),
        0,
        "no consecutivo taken"
    );

    // The operator answers it rechazado instead: the same record goes out once, as a tipo 07.
    rig.run(vec![
        answer_received(
            xml,
            &Respuesta::rechazado("certificado no emitido por Hacienda"),
        )
        .unwrap(),
    ])
    .await;
    let log = rig.log(&record).await;
    assert_eq!(log.state, RecordState::Done, "{log:#?}");
    let status_key = format!("{clave}-00100002070000000001");
    assert_eq!(log.remote, Some(hacienda(&status_key)));
    let posted = rig.mock.records();
    assert_eq!(posted.len(), 1, "{:?}", posted.keys());
    assert_eq!(
        (
            posted[&status_key].posts,
            posted[&status_key].posts_after_202
        ),
        (1, 0)
    );
}
