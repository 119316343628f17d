//! `cargo bench -p sat-cfdi --bench hub_step`: invoices per second through the hub's fiscal step
//! (`cfdi::hub::CfdiStep`: map the ERP invoice, build, seal with the CSD, journal, stamp, journal), with the
//! hub's SQLite store as the journal (`SqliteStore::stamp_journal`, `synchronous=FULL`, a file in a temp dir)
//! and an in-process PAC (no HTTP):
//!
//! * `zero_latency`: the step's own cost. PAC `free` answers at once with a TimbreFiscalDigital it does not
//!   sign (no RSA on the PAC side, so only our work is measured; the step still runs the same checks of the
//!   answer as the real clients, without the `SelloSAT` verification); PAC `signing` is the mock PAC of the
//!   tests and of `hub_mx` (`tests/pac_mock`'s ledger: verifies our `Sello`, signs a real TFD with the PAC's
//!   test CSD) and the step verifies its `SelloSAT`, so its RSA work shares the 2 cores with ours. Journal
//!   `memory` (`MemoryStampJournal`) for comparison: the difference is the SQLite journal's cost.
//! * `pac_300ms`: the signing PAC answering after 300 ms, at 1, 4 and 16 invoices in flight: throughput
//!   scales with the configured concurrency.
//!
//! Each iteration stamps a batch of new invoices (the counter shows invoices/s). Figures: cfdi/README.md.

#[path = "../tests/pac_mock/mod.rs"]
mod pac_mock;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use cfdi::Certificate;
use cfdi::Csd;
use cfdi::hub::{CfdiStep, Directory, FiscalProfile, MemoryDirectory};
use cfdi::model::{Complemento, NS_TFD, SCHEMA_TFD, TimbreFiscalDigital};
use cfdi::pac::{
    CancelRequest, CancelResult, CfdiIdentity, Failover, Pac, PacError, SatStatus, Stamped,
};
use divan::Bencher;
use divan::counter::ItemsCount;
use erp_hub_core::adapter::WriteOp;
use erp_hub_core::fiscal::{MemoryStampJournal, StampJournal};
use erp_hub_core::hub::SqliteStore;
use erp_hub_core::model::{Customer, Invoice, InvoiceLine, PartyRef, TaxId};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn main() {
    divan::main();
}

/// How the in-process PAC answers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// An unsigned TFD, no RSA work (the step's own cost is what is measured).
    Free,
    /// A real TFD signed by the PAC's test CSD (`tests/pac_mock` ledger), verified by the step.
    Signing,
}

struct InProcessPac {
    mode: Mode,
    latency: Duration,
    ledger: Arc<pac_mock::Ledger>,
    signer: Csd,
    certificate: Certificate,
    seq: AtomicU64,
}

impl InProcessPac {
    fn new(mode: Mode, latency: Duration) -> Self {
        let signer = pac_mock::pac_csd();
        Self {
            mode,
            latency,
            ledger: pac_mock::Ledger::new(),
            certificate: signer.certificate().clone(),
            signer,
            seq: AtomicU64::new(0),
        }
    }

    fn free_stamp(&self, sealed_xml: &str) -> Result<Stamped, PacError> {
        let mut doc = cfdi::parse_str(sealed_xml)?;
        let n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut t = TimbreFiscalDigital::default();
        t.version = "1.1".into();
        t.uuid = format!("{:08X}-0000-4000-8000-{n:012X}", n >> 16);
        t.fecha_timbrado = "2026-12-01T16:00:00".into();
        t.rfc_prov_certif = "SPR190613I52".into();
        t.sello_cfd = doc.sello.clone();
        t.no_certificado_sat = self.certificate.no_certificado().into();
        t.sello_sat = "bm90LXNpZ25lZA==".into();
        t.schema_location = Some(format!("{NS_TFD} {SCHEMA_TFD}"));
        doc.complemento
            .get_or_insert_with(Vec::new)
            .push(Complemento::Timbre(Box::new(t)));
        Stamped::verified("bench", sealed_xml, cfdi::to_xml(&doc), None, false)
    }
}

#[async_trait]
impl Pac for InProcessPac {
    fn name(&self) -> &str {
        "bench"
    }

    async fn stamp(&self, sealed_xml: &str) -> Result<Stamped, PacError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        match self.mode {
            Mode::Free => self.free_stamp(sealed_xml),
            Mode::Signing => {
                let (issued, previously) = self
                    .ledger
                    .stamp("bench", &self.signer, sealed_xml)
                    .map_err(|message| PacError::Rejected {
                        pac: "bench".into(),
                        code: "301".into(),
                        message,
                    })?;
                Stamped::verified(
                    "bench",
                    sealed_xml,
                    issued.xml,
                    Some(&self.certificate),
                    previously,
                )
            }
        }
    }

    async fn recover(&self, _sealed_xml: &str) -> Result<Option<Stamped>, PacError> {
        // Every stamp call answers: nothing is ever pending at this PAC.
        Ok(None)
    }

    async fn cancel(&self, _request: &CancelRequest) -> Result<CancelResult, PacError> {
        Err(PacError::Config {
            message: "the bench PAC does not cancel".into(),
        })
    }

    async fn sat_status(&self, _identity: &CfdiIdentity) -> Result<SatStatus, PacError> {
        Err(PacError::Config {
            message: "the bench PAC has no SAT status".into(),
        })
    }
}

fn profile() -> FiscalProfile {
    serde_json::from_value(serde_json::json!({
        "emisor": {"rfc": "EKU9003173C9", "nombre": "ESCUELA KEMPER URGATE", "regimen_fiscal": "601",
                   "lugar_expedicion": "42501"},
        "csd": {"cer": "unused.cer", "key": "unused.key", "password_secret": "csd"},
        "series": {"invoice": "F", "credit_note": "NC", "payment": "P"},
        "default_clave_prod_serv": "01010101",
        "default_clave_unidad": "H87",
        "items": {"consulting": {"clave_prod_serv": "80101500", "clave_unidad": "E48"},
                  "snacks": {"clave_prod_serv": "50192100"}},
        "payment_methods": {"transfer": "03", "card": "04"}
    }))
    .expect("profile")
}

/// An invoice like `hub_mx`'s: two lines, one of five tax mixes, an exempt line.
fn invoice(n: u64) -> Invoice {
    let i = usize::try_from(n % 1000).unwrap_or(0);
    let pct = TaxRate::Percent;
    let base = Decimal::from(500 + (i * 137) % 900) + Decimal::new((i * 37 % 100) as i64, 2);
    let line = InvoiceLine::new("Servicio profesional", Decimal::from(1 + i % 3), base);
    let line = match i % 5 {
        0 => line
            .with_item("consulting")
            .with_tax(Tax::transferred("IVA", pct(dec!(16))))
            .with_tax(Tax::withheld("ISR", pct(dec!(10))))
            .with_tax(Tax::withheld("IVA", pct(dec!(10.6667)))),
        1 => line.with_tax(Tax::transferred("IVA", pct(dec!(8)))),
        2 => line.with_tax(Tax::transferred("IVA", TaxRate::Zero)),
        3 => line
            .with_item("snacks")
            .with_tax(Tax::transferred("IEPS", pct(dec!(8))))
            .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
        _ => line.with_tax(Tax::transferred("IVA", pct(dec!(16)))),
    };
    let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
    Invoice::new(
        format!("inv-{n}"),
        PartyRef::external("c1"),
        date,
        Currency::MXN,
    )
    .with_line(line)
    .with_line(
        InvoiceLine::new("Libro de texto", dec!(2), dec!(150.50))
            .with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
    )
}

struct Setup {
    rt: tokio::runtime::Runtime,
    step: Arc<CfdiStep>,
    next: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

fn setup(journal: &str, mode: Mode, latency: Duration) -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let journal: Arc<dyn StampJournal> = match journal {
        "sqlite" => rt.block_on(async {
            let store = SqliteStore::open(dir.path().join("hub.db"))
                .await
                .expect("open the SQLite store");
            Arc::new(store.stamp_journal())
        }),
        _ => Arc::new(MemoryStampJournal::new()),
    };
    let directory = Arc::new(MemoryDirectory::new());
    rt.block_on(async {
        let mut c = Customer::new("c1", "UNIVERSIDAD ROBOTICA ESPAÑOLA");
        c.tax_ids.push(TaxId::MxRfc {
            rfc: "URE180429TM6".into(),
            regimen_fiscal: Some("601".into()),
            postal_code: Some("86991".into()),
        });
        directory.put_customer("t1", &c).await.expect("customer");
    });
    let pacs = Failover::new(Arc::new(InProcessPac::new(mode, latency)));
    let step = CfdiStep::new(journal, directory).with_tenant(
        "t1",
        profile(),
        pac_mock::emisor_csd(),
        &pacs,
    );
    Setup {
        rt,
        step: Arc::new(step),
        next: Arc::new(AtomicU64::new(0)),
        _dir: dir,
    }
}

/// Stamps `batch` new invoices, `concurrency` at a time.
fn run_batch(s: &Setup, batch: u64, concurrency: u64) {
    let end = s.next.load(Ordering::SeqCst) + batch;
    s.rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let step = s.step.clone();
            let next = s.next.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= end {
                        break;
                    }
                    let stamp = step
                        .stamp_document("t1", &WriteOp::CreateInvoice(invoice(n)))
                        .await
                        .expect("stamped")
                        .expect("an invoice has a stamp");
                    divan::black_box(stamp);
                }
            }));
        }
        for t in tasks {
            t.await.expect("worker");
        }
    });
    // Workers overshoot the counter by one each: start the next batch after them.
    s.next.store(end, Ordering::SeqCst);
}

const BATCH: u64 = 200;

/// The step's own cost: PAC at 0 latency, `concurrency` invoices in flight (2 cores).
#[divan::bench(
    args = [
        ("sqlite", "free", 1),
        ("sqlite", "free", 4),
        ("sqlite", "free", 16),
        ("memory", "free", 4),
        ("memory", "free", 16),
        ("sqlite", "signing", 16),
    ],
    sample_count = 10,
    sample_size = 1
)]
fn zero_latency(bencher: Bencher, (journal, pac, concurrency): (&str, &str, u64)) {
    let mode = if pac == "signing" {
        Mode::Signing
    } else {
        Mode::Free
    };
    let s = setup(journal, mode, Duration::ZERO);
    run_batch(&s, 20, concurrency); // warm-up: connections, caches
    bencher
        .counter(ItemsCount::new(BATCH))
        .bench_local(|| run_batch(&s, BATCH, concurrency));
}

/// A PAC answering after 300 ms (signing mock), SQLite journal: throughput vs invoices in flight.
#[divan::bench(args = [1, 4, 16], sample_count = 2, sample_size = 1)]
fn pac_300ms(bencher: Bencher, concurrency: u64) {
    let s = setup("sqlite", Mode::Signing, Duration::from_millis(300));
    bencher
        .counter(ItemsCount::new(16u64))
        .bench_local(|| run_batch(&s, 16, concurrency));
}

/// The journal alone (SQLite): what the step does for one new invoice (`get`, `begin_sending`, `complete`:
/// two durable commits), one invoice at a time.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn journal_only(bencher: Bencher) {
    use erp_hub_core::fiscal::{FiscalDocumentKind, FiscalKey, FiscalStamp};
    use erp_hub_core::model::EntityKind;
    let s = setup("sqlite", Mode::Free, Duration::ZERO);
    let journal = s.step.journal().clone();
    let xml = "x".repeat(6000);
    bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
        s.rt.block_on(async {
            for _ in 0..BATCH {
                let n = s.next.fetch_add(1, Ordering::SeqCst);
                let key = FiscalKey::new("t1", EntityKind::Invoice, format!("j-{n}"));
                journal.get(&key).await.expect("get");
                let begun = journal
                    .begin_sending(&key, &xml, "bench")
                    .await
                    .expect("begin_sending");
                assert!(begun.is_none(), "a new key is begun by this call");
                let stamp = FiscalStamp::new(
                    "mx-cfdi-4.0",
                    FiscalDocumentKind::Invoice,
                    format!("{:08X}-0000-4000-8000-{n:012X}", n >> 16),
                    "2026-12-01T16:00:00",
                    "bench",
                    Decimal::ONE,
                    xml.clone(),
                );
                journal.complete(&key, &stamp).await.expect("complete");
            }
        });
    });
}
