//! CfdiStep (feature `hub`) against the in-process PAC mocks that sign real TFDs: one UUID per document
//! across retries, a crash after the send and PAC failover; bad input stamps nothing; write-back to MemoryErp.

mod pac_mock;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cfdi::hub::{CfdiStep, FiscalProfile, MemoryDirectory, map_invoice};
use cfdi::pac::{Failover, FinkokClient, FinkokConfig, PacError, SwAuth, SwClient, SwConfig};
use chrono::{NaiveDate, TimeZone, Utc};
use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey, WriteOp};
use erp_hub_core::fiscal::{
    FiscalDocumentKind, FiscalKey, FiscalStep, JournalEntry, MemoryStampJournal, StampJournal,
};
use erp_hub_core::model::{
    CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef, Payment, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::testing::MemoryErp;
use erp_hub_core::{ErrorKind, Result};
use pac_mock::*;
use rust_decimal_macros::dec;
use wiremock::{Mock, MockServer, ResponseTemplate};

const T: &str = "acme";

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

async fn untouchable() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    server
}

fn profile() -> FiscalProfile {
    serde_json::from_value(serde_json::json!({
        "emisor": {"rfc": "EKU9003173C9", "nombre": "ESCUELA KEMPER URGATE", "regimen_fiscal": "601",
                   "lugar_expedicion": "42501"},
        "csd": {"cer": "unused.cer", "key": "unused.key", "password_secret": "csd"},
        "series": {"invoice": "F", "credit_note": "NC", "payment": "P"},
        "default_clave_prod_serv": "81111500",
        "default_clave_unidad": "E48",
        "payment_methods": {"transfer": "03"}
    }))
    .unwrap()
}

fn step(journal: Arc<MemoryStampJournal>, pacs: &Failover, csd: cfdi::Csd) -> CfdiStep {
    CfdiStep::new(journal, Arc::new(MemoryDirectory::new()))
        .with_tenant(T, profile(), csd, pacs)
        .with_recovery(2, Duration::from_millis(20))
        // 2026-12-01 16:00 UTC = 10:00 in central Mexico: inside the test CSD's validity.
        .with_clock(|| Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap())
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
    let mut inv = Invoice::new(
        ext,
        PartyRef::external("c-1"),
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Consultoría", dec!(1), dec!(1000))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    inv.due_date = NaiveDate::from_ymd_opt(2026, 12, 31);
    inv
}

fn payment(ext: &str, amount: rust_decimal::Decimal) -> Payment {
    let mut p = Payment::new(
        ext,
        PartyRef::external("c-1"),
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
        Currency::MXN,
        amount,
    )
    .apply_to(DocRef::external("inv-1"), amount);
    p.method = Some("transfer".into());
    p
}

#[tokio::test]
async fn documents_are_stamped_once_and_written_back() -> Result<()> {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    let backup = untouchable().await;
    let pacs = Failover::new(Arc::new(finkok_at(&primary.uri())))
        .with_backup(Arc::new(sw_at(&backup.uri())));
    let journal = Arc::new(MemoryStampJournal::new());
    let step = step(journal.clone(), &pacs, emisor_csd());

    assert!(
        step.stamp(T, &WriteOp::UpsertCustomer(customer()))
            .await?
            .is_none()
    );
    let inv = step
        .stamp(T, &WriteOp::CreateInvoice(invoice("inv-1")))
        .await?
        .expect("an invoice stamp");
    assert_eq!(inv.kind, FiscalDocumentKind::Invoice);
    assert_eq!(inv.total, dec!(1160.00));
    assert_eq!(inv.series.as_deref(), Some("F"));
    let calls = fk.stamp_calls.load(Ordering::SeqCst);
    // A retry (same op) returns the journalled stamp without a PAC call.
    let again = step
        .stamp(T, &WriteOp::CreateInvoice(invoice("inv-1")))
        .await?
        .unwrap();
    assert_eq!(again.uuid, inv.uuid);
    assert_eq!(fk.stamp_calls.load(Ordering::SeqCst), calls);
    // The stamped XML verifies (Sello and SelloSAT with the mock PAC's certificate).
    let doc = cfdi::parse_str(&inv.xml).unwrap();
    cfdi::verify(&doc).unwrap();
    cfdi::verify_timbre(&doc, pac_csd().certificate()).unwrap();

    // Two partial payments: the saldos chain through the journal.
    let p1 = step
        .stamp(T, &WriteOp::RecordPayment(payment("pay-1", dec!(400))))
        .await?
        .unwrap();
    let p2 = step
        .stamp(T, &WriteOp::RecordPayment(payment("pay-2", dec!(760))))
        .await?
        .unwrap();
    let d1 =
        cfdi::parse_str(&p1.xml).unwrap().pagos().unwrap().pagos[0].doctos_relacionados[0].clone();
    let d2 =
        cfdi::parse_str(&p2.xml).unwrap().pagos().unwrap().pagos[0].doctos_relacionados[0].clone();
    assert_eq!(d1.id_documento, inv.uuid);
    assert_eq!(
        (d1.num_parcialidad.as_str(), d1.imp_saldo_ant),
        ("1", dec!(1160.00))
    );
    assert_eq!(
        (d2.num_parcialidad.as_str(), d2.imp_saldo_ant),
        ("2", d1.imp_saldo_insoluto)
    );
    assert_eq!(d2.imp_saldo_insoluto, dec!(0.00));

    // A credit note relates to the invoice's UUID.
    let cn = CreditNote::new(
        "cn-1",
        PartyRef::external("c-1"),
        DocRef::external("inv-1"),
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Bonificación", dec!(1), dec!(10))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    let e = step
        .stamp(T, &WriteOp::CreateCreditNote(cn.clone()))
        .await?
        .unwrap();
    let egreso = cfdi::parse_str(&e.xml).unwrap();
    assert_eq!(egreso.cfdi_relacionados[0].uuids, vec![inv.uuid.clone()]);

    assert_eq!(ledger.issued().len(), 4);
    assert_eq!(ledger.double_stamps(), 0);
    backup.verify().await;

    // Write-back: the stamp lands on the ERP invoice, idempotently.
    let erp = MemoryErp::new();
    let key = |s: &str| IdempotencyKey::new(s).unwrap();
    erp.upsert_customer(&customer(), &key("c-1")).await?;
    let remote = erp.create_invoice(&invoice("inv-1"), &key("inv-1")).await?;
    for _ in 0..2 {
        erp.attach_fiscal_stamp(
            EntityKind::Invoice,
            &remote,
            &inv,
            &key(&format!("stamp-{}", inv.uuid)),
        )
        .await?;
    }
    assert_eq!(
        erp.fiscal_stamp(EntityKind::Invoice, &remote.id)
            .unwrap()
            .uuid,
        inv.uuid
    );
    assert_eq!(erp.fiscal_stamps().len(), 1);
    Ok(())
}

/// The process died after sending the invoice to the primary (which stamped it): the journal holds the
/// sealed document and "sending to finkok". The retry recovers the same UUID from the primary, never the
/// backup.
#[tokio::test]
async fn a_crash_after_the_send_recovers_the_same_uuid() -> Result<()> {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    let backup = untouchable().await;
    let pacs = Failover::new(Arc::new(finkok_at(&primary.uri())))
        .with_backup(Arc::new(sw_at(&backup.uri())));
    let journal = Arc::new(MemoryStampJournal::new());
    let step = step(journal.clone(), &pacs, emisor_csd());
    step.stamp(T, &WriteOp::UpsertCustomer(customer())).await?;

    let mut doc = map_invoice(
        &profile(),
        &invoice("inv-1"),
        &customer(),
        &Default::default(),
        "2026-12-01T09:00:00",
    )
    .unwrap();
    emisor_csd().seal(&mut doc).unwrap();
    let sealed = cfdi::to_xml(&doc);
    let key = FiscalKey::new(T, EntityKind::Invoice, "inv-1");
    journal.begin(&key, &sealed).await?;
    journal.sending(&key, "finkok").await?;
    let (issued, _) = ledger.stamp("finkok", &fk.signer, &sealed).unwrap();

    let s = step
        .stamp(T, &WriteOp::CreateInvoice(invoice("inv-1")))
        .await?
        .unwrap();
    assert_eq!(s.uuid, issued.uuid);
    assert_eq!(
        fk.stamp_calls.load(Ordering::SeqCst),
        0,
        "recovered, not re-stamped"
    );
    assert_eq!(ledger.issued().len(), 1);
    assert!(matches!(
        journal.get(&key).await?,
        Some(JournalEntry::Stamped(_))
    ));
    backup.verify().await;
    Ok(())
}

/// Same crash, but now the primary is unreachable: the outcome stays uncertain, the backup is never asked,
/// the document stays pending; once the primary is back the retry gets the UUID it issued.
#[tokio::test]
async fn a_crash_after_the_send_with_the_primary_down_never_fails_over() -> Result<()> {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    let sw = SwMock::new("sw", ledger.clone());
    let backup = start_sw(&sw).await;
    let down = Failover::new(Arc::new(finkok_at(&closed_port_url())))
        .with_backup(Arc::new(sw_at(&backup.uri())));
    let journal = Arc::new(MemoryStampJournal::new());
    let s_down = step(journal.clone(), &down, emisor_csd());
    s_down
        .stamp(T, &WriteOp::UpsertCustomer(customer()))
        .await?;

    let mut doc = map_invoice(
        &profile(),
        &invoice("inv-1"),
        &customer(),
        &Default::default(),
        "2026-12-01T09:00:00",
    )
    .unwrap();
    emisor_csd().seal(&mut doc).unwrap();
    let sealed = cfdi::to_xml(&doc);
    let key = FiscalKey::new(T, EntityKind::Invoice, "inv-1");
    journal.begin(&key, &sealed).await?;
    journal.sending(&key, "finkok").await?;
    let (issued, _) = ledger.stamp("finkok", &fk.signer, &sealed).unwrap();

    for _ in 0..2 {
        let e = s_down
            .stamp(T, &WriteOp::CreateInvoice(invoice("inv-1")))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Uncertain, "{e}");
    }
    assert_eq!(sw.stamp_calls.load(Ordering::SeqCst), 0, "never the backup");
    assert!(matches!(
        journal.get(&key).await?,
        Some(JournalEntry::Pending { .. })
    ));

    let up = Failover::new(Arc::new(finkok_at(&primary.uri())))
        .with_backup(Arc::new(sw_at(&backup.uri())));
    let s_up = step(journal.clone(), &up, emisor_csd());
    s_up.stamp(T, &WriteOp::UpsertCustomer(customer())).await?;
    let s = s_up
        .stamp(T, &WriteOp::CreateInvoice(invoice("inv-1")))
        .await?
        .unwrap();
    assert_eq!(s.uuid, issued.uuid);
    assert_eq!(ledger.double_stamps(), 0);
    assert_eq!(ledger.issued().len(), 1);
    Ok(())
}

#[tokio::test]
async fn primary_unreachable_backup_stamps() -> Result<()> {
    let ledger = Ledger::new();
    let sw = SwMock::new("sw", ledger.clone());
    let backup = start_sw(&sw).await;
    let pacs = Failover::new(Arc::new(finkok_at(&closed_port_url())))
        .with_backup(Arc::new(sw_at(&backup.uri())));
    let journal = Arc::new(MemoryStampJournal::new());
    let step = step(journal.clone(), &pacs, emisor_csd());
    step.stamp(T, &WriteOp::UpsertCustomer(customer())).await?;
    let s = step
        .stamp(T, &WriteOp::CreateInvoice(invoice("inv-1")))
        .await?
        .unwrap();
    assert_eq!(s.certifier, "sw");
    assert_eq!(ledger.issued().len(), 1);
    Ok(())
}

#[tokio::test]
async fn bad_input_and_an_expired_csd_stamp_nothing() -> Result<()> {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    let pacs = Failover::new(Arc::new(finkok_at(&primary.uri())));
    let journal = Arc::new(MemoryStampJournal::new());
    let step = step(journal.clone(), &pacs, emisor_csd());
    let mut no_cp = customer();
    no_cp.tax_ids = vec![TaxId::MxRfc {
        rfc: "URE180429TM6".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: None,
    }];
    step.stamp(T, &WriteOp::UpsertCustomer(no_cp)).await?;
    let e = step
        .stamp(T, &WriteOp::CreateInvoice(invoice("inv-7")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    match &e {
        erp_hub_core::Error::Validation { errors, .. } => {
            assert_eq!(
                errors[0].field,
                "inv-7: customer.tax_ids.mx_rfc.postal_code"
            );
            assert_eq!(errors[0].code.as_deref(), Some("customer_fiscal_data"));
        }
        other => panic!("{other}"),
    }
    // A credit note of an invoice that was never stamped.
    let cn = CreditNote::new(
        "cn-9",
        PartyRef::external("c-1"),
        DocRef::external("inv-7"),
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        Currency::MXN,
    )
    .with_line(InvoiceLine::new("x", dec!(1), dec!(1)));
    step.stamp(T, &WriteOp::UpsertCustomer(customer())).await?;
    let e = step
        .stamp(T, &WriteOp::CreateCreditNote(cn))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert!(e.to_string().contains("inv-7"), "{e}");

    // Expired CSD: refused before sealing.
    let expired = cfdi::Csd::from_bytes(
        include_bytes!("fixtures/csd/EKU9003173C9_2019.cer"),
        include_bytes!("fixtures/csd/EKU9003173C9_2019.key"),
        &cfdi::SecretString::from(PASSWORD),
    )
    .unwrap();
    let old = self::step(journal.clone(), &pacs, expired);
    old.stamp(T, &WriteOp::UpsertCustomer(customer())).await?;
    let e = old
        .stamp(T, &WriteOp::CreateInvoice(invoice("inv-8")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("inv-8"), "{e}");

    assert!(ledger.issued().is_empty(), "nothing stamped");
    assert_eq!(fk.stamp_calls.load(Ordering::SeqCst), 0);
    for ext in ["inv-7", "inv-8"] {
        let key = FiscalKey::new(T, EntityKind::Invoice, ext);
        assert!(journal.get(&key).await?.is_none(), "nothing journalled");
    }
    Ok(())
}

/// An in-process PAC that reads the journal the moment a request reaches it: the exactly-once rule is that
/// the journal durably says "may be at this PAC" before any request goes to it.
struct ObservingPac {
    name: &'static str,
    journal: Arc<dyn StampJournal>,
    key: FiscalKey,
    /// Stamps (signing a real TFD) when set; answers "unreachable" (definitely not stamped) otherwise.
    ledger: Option<Arc<Ledger>>,
    signer: cfdi::Csd,
    seen: std::sync::Mutex<Vec<(String, Option<JournalEntry>)>>,
}

#[async_trait::async_trait]
impl cfdi::pac::Pac for ObservingPac {
    fn name(&self) -> &str {
        self.name
    }

    async fn stamp(&self, sealed_xml: &str) -> std::result::Result<cfdi::pac::Stamped, PacError> {
        let entry = self.journal.get(&self.key).await.ok().flatten();
        self.seen
            .lock()
            .unwrap()
            .push((sealed_xml.to_owned(), entry));
        let Some(ledger) = &self.ledger else {
            return Err(PacError::Unavailable {
                pac: self.name.into(),
                message: "connection refused".into(),
            });
        };
        let (issued, previously) =
            ledger
                .stamp(self.name, &self.signer, sealed_xml)
                .map_err(|message| PacError::Rejected {
                    pac: self.name.into(),
                    code: "301".into(),
                    message,
                })?;
        cfdi::pac::Stamped::verified(
            self.name,
            sealed_xml,
            issued.xml,
            Some(self.signer.certificate()),
            previously,
        )
    }

    async fn recover(
        &self,
        _sealed_xml: &str,
    ) -> std::result::Result<Option<cfdi::pac::Stamped>, PacError> {
        Ok(None)
    }

    async fn cancel(
        &self,
        _request: &cfdi::pac::CancelRequest,
    ) -> std::result::Result<cfdi::pac::CancelResult, PacError> {
        Err(PacError::Config {
            message: "not in this test".into(),
        })
    }

    async fn sat_status(
        &self,
        _identity: &cfdi::pac::CfdiIdentity,
    ) -> std::result::Result<cfdi::pac::SatStatus, PacError> {
        Err(PacError::Config {
            message: "not in this test".into(),
        })
    }
}

/// Every request finds its PAC journalled first, on the memory journal (`begin_sending`'s default: `begin`
/// then `sending`) and on the hub's SQLite journal (one transaction): the first PAC of a new document
/// (`begin_sending`) and the backup after a definite refusal (`not_stamped`, then `sending`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_finds_its_pac_journalled_first() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let store = erp_hub_core::hub::SqliteStore::open(dir.path().join("hub.db")).await?;
    let journals: [Arc<dyn StampJournal>; 2] = [
        Arc::new(MemoryStampJournal::new()),
        Arc::new(store.stamp_journal()),
    ];
    for journal in journals {
        let key = FiscalKey::new(T, EntityKind::Invoice, "inv-1");
        let ledger = Ledger::new();
        let observing = |name, ledger| {
            Arc::new(ObservingPac {
                name,
                journal: journal.clone(),
                key: key.clone(),
                ledger,
                signer: pac_csd(),
                seen: Default::default(),
            })
        };
        let primary = observing("primary", None);
        let backup = observing("backup", Some(ledger.clone()));
        let pacs = Failover::new(primary.clone()).with_backup(backup.clone());
        let step = CfdiStep::new(journal.clone(), Arc::new(MemoryDirectory::new()))
            .with_tenant(T, profile(), emisor_csd(), &pacs)
            .with_recovery(1, Duration::from_millis(1))
            .with_clock(|| Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap());
        step.stamp(T, &WriteOp::UpsertCustomer(customer())).await?;
        let s = step
            .stamp(T, &WriteOp::CreateInvoice(invoice("inv-1")))
            .await?
            .unwrap();
        assert_eq!(s.certifier, "backup");

        let attempts = |pac: &ObservingPac| -> Vec<(String, bool)> {
            let seen = pac.seen.lock().unwrap();
            assert!(!seen.is_empty(), "{} got no request", pac.name);
            let mut all = Vec::new();
            for (sent, entry) in seen.iter() {
                match entry {
                    Some(JournalEntry::Pending { sealed, attempts }) => {
                        assert_eq!(sealed, sent, "{} got other bytes than journalled", pac.name);
                        all = attempts
                            .iter()
                            .map(|a| (a.certifier.clone(), a.definitely_not_stamped))
                            .collect();
                    }
                    other => panic!("{}: a request with the journal at {other:?}", pac.name),
                }
            }
            all
        };
        assert_eq!(attempts(&primary), vec![("primary".to_owned(), false)]);
        assert_eq!(
            attempts(&backup),
            vec![("primary".to_owned(), true), ("backup".to_owned(), false)]
        );
        assert!(matches!(
            journal.get(&key).await?,
            Some(JournalEntry::Stamped(j)) if j.uuid == s.uuid
        ));
        assert_eq!(ledger.issued().len(), 1);
    }
    Ok(())
}

/// An in-process PAC that stamps (a real TFD, in the ledger) but, while `lose` is set, loses its answer: the
/// caller sees an uncertain outcome and cannot recover the stamp yet.
struct LosingPac {
    ledger: Arc<Ledger>,
    signer: cfdi::Csd,
    lose: std::sync::atomic::AtomicBool,
    stamp_calls: std::sync::atomic::AtomicUsize,
}

impl LosingPac {
    fn lost(&self) -> PacError {
        PacError::Uncertain {
            pac: "losing".into(),
            message: "timed out after sending".into(),
        }
    }

    fn stamped(&self, sealed_xml: &str) -> std::result::Result<cfdi::pac::Stamped, PacError> {
        let (issued, previously) = self
            .ledger
            .stamp("losing", &self.signer, sealed_xml)
            .map_err(|message| PacError::Rejected {
                pac: "losing".into(),
                code: "301".into(),
                message,
            })?;
        cfdi::pac::Stamped::verified(
            "losing",
            sealed_xml,
            issued.xml,
            Some(self.signer.certificate()),
            previously,
        )
    }
}

#[async_trait::async_trait]
impl cfdi::pac::Pac for LosingPac {
    fn name(&self) -> &str {
        "losing"
    }

    async fn stamp(&self, sealed_xml: &str) -> std::result::Result<cfdi::pac::Stamped, PacError> {
        self.stamp_calls.fetch_add(1, Ordering::SeqCst);
        let s = self.stamped(sealed_xml)?;
        if self.lose.load(Ordering::SeqCst) {
            return Err(self.lost());
        }
        Ok(s)
    }

    async fn recover(
        &self,
        sealed_xml: &str,
    ) -> std::result::Result<Option<cfdi::pac::Stamped>, PacError> {
        if self.lose.load(Ordering::SeqCst) {
            return Err(self.lost());
        }
        let doc = cfdi::parse_str(sealed_xml).map_err(|e| PacError::Config {
            message: e.to_string(),
        })?;
        match self.ledger.find("losing", &doc.sello) {
            Some(_) => self.stamped(sealed_xml).map(Some),
            None => Ok(None),
        }
    }

    async fn cancel(
        &self,
        _request: &cfdi::pac::CancelRequest,
    ) -> std::result::Result<cfdi::pac::CancelResult, PacError> {
        Err(PacError::Config {
            message: "not in this test".into(),
        })
    }

    async fn sat_status(
        &self,
        _identity: &cfdi::pac::CfdiIdentity,
    ) -> std::result::Result<cfdi::pac::SatStatus, PacError> {
        Err(PacError::Config {
            message: "not in this test".into(),
        })
    }
}

fn pay_docto(s: &erp_hub_core::fiscal::FiscalStamp) -> cfdi::model::DoctoRelacionado {
    cfdi::parse_str(&s.xml).unwrap().pagos().unwrap().pagos[0].doctos_relacionados[0].clone()
}

/// The first receipt of an invoice is stamped at the PAC but its answer is lost (pending, uncertain): a
/// second payment of the same invoice must not be built from the stamped receipts alone (it would repeat
/// NumParcialidad 1 and the full ImpSaldoAnt). It waits ("retry later", naming the pending receipt) without
/// reaching the PAC or the journal; a payment of another invoice is not held up; once the first receipt is
/// recovered the second chains from it. On the memory and the SQLite journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_waits_for_a_pending_receipt_of_the_same_invoice() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let store = erp_hub_core::hub::SqliteStore::open(dir.path().join("hub.db")).await?;
    let journals: [Arc<dyn StampJournal>; 2] = [
        Arc::new(MemoryStampJournal::new()),
        Arc::new(store.stamp_journal()),
    ];
    for journal in journals {
        let ledger = Ledger::new();
        let pac = Arc::new(LosingPac {
            ledger: ledger.clone(),
            signer: pac_csd(),
            lose: false.into(),
            stamp_calls: 0.into(),
        });
        let pacs = Failover::new(pac.clone());
        let step = CfdiStep::new(journal.clone(), Arc::new(MemoryDirectory::new()))
            .with_tenant(T, profile(), emisor_csd(), &pacs)
            .with_recovery(1, Duration::from_millis(1))
            .with_payment_wait(Duration::from_secs(7))
            .with_clock(|| Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap());
        step.stamp(T, &WriteOp::UpsertCustomer(customer())).await?;
        let inv = step
            .stamp(T, &WriteOp::CreateInvoice(invoice("inv-1")))
            .await?
            .unwrap();
        step.stamp(T, &WriteOp::CreateInvoice(invoice("inv-2")))
            .await?
            .unwrap();

        pac.lose.store(true, Ordering::SeqCst);
        let e = step
            .stamp(T, &WriteOp::RecordPayment(payment("pay-1", dec!(400))))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Uncertain, "{e}");
        let calls = pac.stamp_calls.load(Ordering::SeqCst);

        let e = step
            .stamp(T, &WriteOp::RecordPayment(payment("pay-2", dec!(760))))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
        assert_eq!(e.retry_hint(), Some(Duration::from_secs(7)), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("pay-2") && msg.contains("pay-1") && msg.contains(&inv.uuid),
            "{msg}"
        );
        assert_eq!(pac.stamp_calls.load(Ordering::SeqCst), calls, "no PAC call");
        let key2 = FiscalKey::new(T, EntityKind::Payment, "pay-2");
        assert!(journal.get(&key2).await?.is_none(), "nothing journalled");

        // Another invoice's payment goes through while pay-1 is pending.
        pac.lose.store(false, Ordering::SeqCst);
        let mut other = payment("pay-3", dec!(100));
        other.applications[0].invoice = DocRef::external("inv-2");
        let s3 = step
            .stamp(T, &WriteOp::RecordPayment(other))
            .await?
            .unwrap();
        assert_eq!(pay_docto(&s3).num_parcialidad, "1");

        // pay-1 recovered (the PAC's earlier stamp), then pay-2 chains from it.
        let s1 = step
            .stamp(T, &WriteOp::RecordPayment(payment("pay-1", dec!(400))))
            .await?
            .unwrap();
        let s2 = step
            .stamp(T, &WriteOp::RecordPayment(payment("pay-2", dec!(760))))
            .await?
            .unwrap();
        let (d1, d2) = (pay_docto(&s1), pay_docto(&s2));
        assert_eq!(
            (d1.num_parcialidad.as_str(), d1.imp_saldo_ant),
            ("1", dec!(1160.00))
        );
        assert_eq!(
            (d2.num_parcialidad.as_str(), d2.imp_saldo_ant),
            ("2", d1.imp_saldo_insoluto)
        );
        assert_eq!(d2.imp_saldo_insoluto, dec!(0.00));
        assert_eq!(ledger.double_stamps(), 0);
    }
    Ok(())
}
