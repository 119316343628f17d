//! Mexico through the hub, at small scale: ERP invoices, payments and credit notes become stamped CFDIs,
//! their UUIDs written back to the ERP.
//!
//! ```text
//! cargo run -p examples --example hub_mx -- --out DIR [--invoices N]
//! ```
//!
//! Two tenants push customers, invoices with mixed taxes (IVA 16/8/0/exento, IEPS, ISR and IVA withholdings),
//! partial and multi-invoice payments and credit notes through the hub (`erp_hub_core::hub`) into MemoryErp.
//! One SQLite file, `DIR/hub.db`, holds the hub's queue and the fiscal journal (`SqliteStore::stamp_journal`:
//! sealed documents, PAC attempts, stamped XML and UUIDs), so both are as durable as the queue. Each tenant's adapter is wrapped in `FiscalAdapter` with `cfdi::hub::CfdiStep`, which
//! stamps through in-process mock PACs that sign real TFDs (the mocks of `pac_failover`): tenant `norte`'s
//! primary Finkok loses its first answers (recovered from the same PAC), tenant `sur`'s primary is down (SW
//! Sapien stamps). MemoryErp loses some responses after applying a write. Every stamped XML is written to DIR;
//! the last line counts, from the PAC ledger, the journal and MemoryErp:
//! `invoices=… stamped=… pagos=… egresos=… double_stamps=0 lost=0 erp_uuid_missing=0 total_mismatch=0 tfd_invalid=0`.
//!
//! Not covered here (see the issue): cancellations, the global invoice, a process kill.

#[path = "../../cfdi/tests/pac_mock/mod.rs"]
mod pac_mock;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use cfdi::hub::{CfdiStep, FiscalProfile, MemoryDirectory};
use cfdi::pac::{Failover, FinkokClient, FinkokConfig, SwAuth, SwClient, SwConfig};
use chrono::{NaiveDate, TimeZone, Utc};
use erp_hub_core::adapter::{Entity, ErpAdapter, WriteOp};
use erp_hub_core::fiscal::{FiscalAdapter, FiscalDocumentKind, FiscalStamp, StampJournal};
use erp_hub_core::hub::{Hub, HubConfig, Scope, SqliteStore};
use erp_hub_core::model::{
    CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef, Payment, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::testing::{Fault, MemoryErp};
use pac_mock::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn finkok_at(url: &str) -> FinkokClient {
    FinkokClient::new(
        FinkokConfig::new(url, FINKOK_USER, FINKOK_PASSWORD)
            .with_pac_certificate(pac_csd().certificate().clone())
            .with_timeout(Duration::from_millis(500)),
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
        .with_timeout(Duration::from_millis(500)),
    )
    .expect("sw client")
}

fn profile(series: &str) -> FiscalProfile {
    serde_json::from_value(serde_json::json!({
        "emisor": {"rfc": "EKU9003173C9", "nombre": "ESCUELA KEMPER URGATE", "regimen_fiscal": "601",
                   "lugar_expedicion": "42501"},
        "csd": {"cer": "cfdi/tests/fixtures/csd/EKU9003173C9.cer",
                "key": "cfdi/tests/fixtures/csd/EKU9003173C9.key", "password_secret": "csd"},
        "series": {"invoice": format!("{series}F"), "credit_note": format!("{series}NC"),
                   "payment": format!("{series}P")},
        "default_clave_prod_serv": "01010101",
        "default_clave_unidad": "H87",
        "items": {"consulting": {"clave_prod_serv": "80101500", "clave_unidad": "E48"},
                  "snacks": {"clave_prod_serv": "50192100"}},
        "payment_methods": {"transfer": "03", "card": "04"}
    }))
    .expect("profile")
}

fn customer(ext: &str, rfc: &str, regimen: &str, cp: &str) -> Customer {
    let mut c = Customer::new(ext, format!("Cliente {ext}"));
    c.tax_ids.push(TaxId::MxRfc {
        rfc: rfc.into(),
        regimen_fiscal: Some(regimen.into()),
        postal_code: Some(cp.into()),
    });
    c
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).expect("date")
}

fn pct(p: Decimal) -> TaxRate {
    TaxRate::Percent(p)
}

/// Invoice `i`: one of five tax mixes; even ones are paid later (PPD).
fn invoice(ext: &str, cust: &str, i: usize) -> Invoice {
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
    let mut inv = Invoice::new(ext, PartyRef::external(cust), day(1), Currency::MXN)
        .with_line(line)
        .with_line(
            InvoiceLine::new("Libro de texto", dec!(2), dec!(150.50))
                .with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
        );
    if i.is_multiple_of(2) {
        inv.due_date = Some(day(31));
    }
    inv
}

fn payment(ext: &str, cust: &str, apps: &[(String, Decimal)]) -> Payment {
    let amount: Decimal = apps.iter().map(|(_, a)| *a).sum();
    let mut p = Payment::new(
        ext,
        PartyRef::external(cust),
        day(10),
        Currency::MXN,
        amount,
    );
    for (inv, a) in apps {
        p = p.apply_to(DocRef::external(inv), *a);
    }
    p.method = Some("transfer".into());
    p.reference = Some(format!("SPEI-{ext}"));
    p
}

struct Tenant {
    name: &'static str,
    erp: Arc<MemoryErp>,
    scope: Scope,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut out = PathBuf::from("hub_mx_out");
    let mut n_invoices = 20usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(args.next().expect("--out DIR")),
            "--invoices" => {
                n_invoices = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--invoices N")
            }
            other => panic!("unknown argument {other}"),
        }
    }
    std::fs::create_dir_all(&out).expect("output directory");

    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", Arc::clone(&ledger));
    let fk_server = start_finkok(&fk).await;
    let sw = SwMock::new("sw", Arc::clone(&ledger));
    let sw_server = start_sw(&sw).await;
    // norte: the primary's first answers are lost (recovered from it); sur: the primary is down.
    fk.hang_next.store(3, Ordering::SeqCst);
    let norte_pacs = Failover::new(Arc::new(finkok_at(&fk_server.uri())))
        .with_backup(Arc::new(sw_at(&sw_server.uri())));
    let sur_pacs = Failover::new(Arc::new(finkok_at(&closed_port_url())))
        .with_backup(Arc::new(sw_at(&sw_server.uri())));

    // A fresh database per run: the hub's queue and the fiscal journal in one file.
    let db = out.join("hub.db");
    for suffix in ["", "-wal", "-shm"] {
        let mut f = db.clone().into_os_string();
        f.push(suffix);
        let _ = std::fs::remove_file(f);
    }
    let store = Arc::new(SqliteStore::open(&db).await.expect("open the hub database"));
    let journal: Arc<dyn StampJournal> = Arc::new(store.stamp_journal());
    let tick = Arc::new(AtomicI64::new(0));
    let step = Arc::new(
        CfdiStep::new(journal.clone(), Arc::new(MemoryDirectory::new()))
            .with_tenant("norte", profile("N"), emisor_csd(), &norte_pacs)
            .with_tenant("sur", profile("S"), emisor_csd(), &sur_pacs)
            .with_recovery(3, Duration::from_millis(50))
            .with_clock(move || {
                let s = tick.fetch_add(1, Ordering::SeqCst);
                Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap() + chrono::Duration::seconds(s)
            }),
    );
    let hub = Hub::new(
        store.clone(),
        HubConfig::default()
            .with_workers(2)
            .with_backoff(Duration::from_millis(20), Duration::from_millis(200))
            .with_poll(Duration::from_millis(10)),
    );
    let mut tenants = Vec::new();
    for name in ["norte", "sur"] {
        let erp = Arc::new(MemoryErp::new());
        erp.inject(4, Fault::ApplyThenTimeout);
        let scope = Scope::new(name, "memory:1");
        hub.register(
            scope.clone(),
            Arc::new(FiscalAdapter::new(erp.clone(), step.clone(), name)),
        );
        tenants.push(Tenant { name, erp, scope });
    }

    // Phase 1: customers and invoices. Phase 2: first payments and credit notes. Phase 3: second payments
    // (their saldos depend on the first receipts).
    let mut invoices_total = 0;
    let mut phase2 = Vec::new();
    let mut phase3 = Vec::new();
    for t in &tenants {
        let customers = [
            customer(&format!("{}-c1", t.name), "URE180429TM6", "601", "86991"),
            customer(&format!("{}-c2", t.name), "XIA190128J61", "601", "76028"),
        ];
        let mut ops: Vec<WriteOp> = customers
            .iter()
            .cloned()
            .map(WriteOp::UpsertCustomer)
            .collect();
        let mut invs = Vec::new();
        for i in 0..n_invoices {
            let cust = &customers[i % 2].external_ref;
            let inv = invoice(&format!("{}-inv-{i}", t.name), cust, i);
            invs.push(inv.clone());
            ops.push(WriteOp::CreateInvoice(inv));
        }
        invoices_total += invs.len();
        hub.enqueue(&t.scope, ops).await.expect("enqueue");
        let mut p2 = Vec::new();
        let mut p3 = Vec::new();
        let total = |inv: &Invoice| inv.breakdown().expect("breakdown").total.amount();
        // PPD invoices (even): #0 in two parts; #2 and #4 together; the rest of them in one go.
        let ppd: Vec<&Invoice> = invs.iter().step_by(2).collect();
        for (k, inv) in ppd.iter().enumerate() {
            let cust = inv.customer.external_ref.clone();
            let t_inv = total(inv);
            match k {
                0 => {
                    let first = (t_inv * dec!(0.4)).round_dp_with_strategy(
                        2,
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                    );
                    p2.push(WriteOp::RecordPayment(payment(
                        &format!("{}-pay-{k}a", t.name),
                        &cust,
                        &[(inv.external_ref.clone(), first)],
                    )));
                    p3.push(WriteOp::RecordPayment(payment(
                        &format!("{}-pay-{k}b", t.name),
                        &cust,
                        &[(inv.external_ref.clone(), t_inv - first)],
                    )));
                }
                1 if ppd.len() > 2 && ppd[2].customer == inv.customer => {
                    p2.push(WriteOp::RecordPayment(payment(
                        &format!("{}-pay-{k}", t.name),
                        &cust,
                        &[
                            (inv.external_ref.clone(), t_inv),
                            (ppd[2].external_ref.clone(), total(ppd[2]) / dec!(2)),
                        ],
                    )));
                }
                2 => {}
                _ => p2.push(WriteOp::RecordPayment(payment(
                    &format!("{}-pay-{k}", t.name),
                    &cust,
                    &[(inv.external_ref.clone(), t_inv)],
                ))),
            }
        }
        // Credit notes on two PUE invoices.
        for inv in invs.iter().skip(1).step_by(2).take(2) {
            let cn = CreditNote::new(
                format!("{}-cn", inv.external_ref),
                inv.customer.clone(),
                DocRef::external(&inv.external_ref),
                day(12),
                Currency::MXN,
            )
            .with_line(
                InvoiceLine::new("Bonificación por pronto pago", dec!(1), dec!(50))
                    .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
            );
            p2.push(WriteOp::CreateCreditNote(cn));
        }
        phase2.push((t.scope.clone(), p2));
        phase3.push((t.scope.clone(), p3));
    }
    hub.run_until_settled().await.expect("phase 1");
    for (scope, ops) in phase2 {
        hub.enqueue(&scope, ops).await.expect("enqueue");
    }
    hub.run_until_settled().await.expect("phase 2");
    for (scope, ops) in phase3 {
        hub.enqueue(&scope, ops).await.expect("enqueue");
    }
    let status = hub.run_until_settled().await.expect("phase 3");
    for s in &status {
        println!(
            "scope {}: done {} dead {} backlog {}",
            s.scope.tenant,
            s.done,
            s.dead,
            s.backlog()
        );
    }

    // Count from the journal, the PAC ledger and MemoryErp.
    let mut counts = [0usize; 3];
    let mut journalled = Vec::new();
    let (mut erp_uuid_missing, mut total_mismatch, mut tfd_invalid) = (0, 0, 0);
    for t in &tenants {
        let dir = out.join(t.name);
        std::fs::create_dir_all(&dir).expect("tenant directory");
        let attached: Vec<(EntityKind, String, FiscalStamp)> = t.erp.fiscal_stamps();
        for (i, kind) in [
            FiscalDocumentKind::Invoice,
            FiscalDocumentKind::Payment,
            FiscalDocumentKind::CreditNote,
        ]
        .into_iter()
        .enumerate()
        {
            for s in journal.stamped(t.name, kind).await.expect("journal") {
                counts[i] += 1;
                let name = format!(
                    "{}-{}{}.xml",
                    kind.entity_kind(),
                    s.series.clone().unwrap_or_default(),
                    s.folio.clone().unwrap_or_default()
                );
                std::fs::write(dir.join(name), &s.xml).expect("write XML");
                let doc = cfdi::parse_str(&s.xml).expect("stamped XML parses");
                if cfdi::verify(&doc).is_err()
                    || cfdi::verify_timbre(&doc, pac_csd().certificate()).is_err()
                {
                    tfd_invalid += 1;
                }
                let Some((_, remote_id, _)) = attached
                    .iter()
                    .find(|(k, _, a)| *k == kind.entity_kind() && a.uuid == s.uuid)
                else {
                    erp_uuid_missing += 1;
                    continue;
                };
                if kind != FiscalDocumentKind::Payment {
                    let rec = t
                        .erp
                        .get(kind.entity_kind(), remote_id)
                        .await
                        .expect("ERP record");
                    let erp_total = match &rec.entity {
                        Entity::Invoice(inv) => inv.breakdown().map(|b| b.total.amount()),
                        Entity::CreditNote(cn) => cn.breakdown().map(|b| b.total.amount()),
                        _ => Ok(Decimal::ZERO),
                    }
                    .expect("ERP total");
                    if erp_total != s.total {
                        total_mismatch += 1;
                    }
                }
                journalled.push(s.uuid.clone());
            }
        }
    }
    let issued = ledger.issued();
    let lost = issued
        .iter()
        .filter(|i| !journalled.contains(&i.uuid))
        .count()
        + journalled
            .iter()
            .filter(|u| !issued.iter().any(|i| &i.uuid == *u))
            .count();
    println!(
        "pac calls: finkok stamp={} stamped={}, sw stamp={}",
        fk.stamp_calls.load(Ordering::SeqCst),
        fk.stamped_calls.load(Ordering::SeqCst),
        sw.stamp_calls.load(Ordering::SeqCst)
    );
    println!(
        "invoices={invoices_total} stamped={} pagos={} egresos={} double_stamps={} lost={lost} erp_uuid_missing={erp_uuid_missing} total_mismatch={total_mismatch} tfd_invalid={tfd_invalid}",
        counts[0],
        counts[1],
        counts[2],
        ledger.double_stamps()
    );
}
