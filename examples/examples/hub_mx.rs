//! Mexico through the hub: ERP invoices, payments and credit notes become stamped CFDIs, their UUIDs written
//! back to the ERP, across PAC failover, cancellations, a global invoice and a process kill.
//!
//! ```text
//! cargo run -p examples --example hub_mx -- --out DIR [--invoices 200]
//! ```
//!
//! Three tenants push customers, invoices with mixed taxes (IVA 16/8/0/exento, IEPS, ISR and IVA
//! withholdings; one invoice in USD paid in MXN, with EquivalenciaDR), partial and multi-invoice payments
//! (Pagos 2.0), credit notes, a reissue and two voids
//! through the hub (SQLite store and durable SQLite `StampJournal`) into MemoryErp. Each tenant's adapter is
//! wrapped in `FiscalAdapter` with `cfdi::hub::CfdiStep`, which stamps through in-process mock PACs that sign
//! real TFDs (the mocks of `pac_failover`) and reads cancellation status from a mock SAT ConsultaCFDIService:
//!
//! * `norte`: the primary Finkok loses its first answers (recovered from the same PAC, never re-stamped
//!   elsewhere); its last four invoices are walk-in sales to XAXX010101000, covered by one **global invoice**
//!   (InformacionGlobal, one Concepto per sale) whose UUID is attached to each sale;
//! * `sur`: the primary is down before the kill (SW Sapien stamps), answers again during the restart's
//!   recovery (documents the child had sent to it with no known outcome are recovered from it: a PAC that may
//!   hold a stamp is never skipped) and is down again afterwards; one invoice is reissued (CfdiRelacionados 04)
//!   and the original voided: cancellation motivo 01 with the substitute's UUID, "en proceso" (acceptance
//!   required, shown in the sync log) then "Cancelado con aceptación";
//! * `centro`: the primary works until the restart's recovery, then is down (failover for the rest of the run); one
//!   invoice is voided: motivo 02, "Cancelado sin aceptación".
//!
//! **Kill/restart.** After the customers are synced, the invoices are enqueued and a child process (this
//! program with `--child`) runs the hub on the same SQLite file, with the ERP unreachable from it: it stamps
//! and journals, and is SIGKILLed mid-run (some documents stamped, some sent with no known outcome). The
//! parent then restarts the hub on that file with the ERP reachable: every journalled UUID is reused (pending
//! ones recovered from the PAC that had them), nothing is stamped twice.
//!
//! The last line counts from MemoryErp, the journal and the mocks' ledger, never from the hub's counters:
//! `invoices=… stamped=… pagos=… egresos=… cancelled=… double_stamps=0 lost=0 erp_uuid_missing=0
//! total_mismatch=0 tfd_invalid=0`. Cancellation requests and their SAT follow-up are journalled in the same
//! SQLite file as the stamps (`StampJournal::record_cancellation`).

#[path = "../../cfdi/tests/pac_mock/mod.rs"]
mod pac_mock;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use cfdi::hub::{CfdiStep, FiscalProfile, GlobalPeriod, GlobalSale, MemoryDirectory};
use cfdi::pac::{
    Failover, FinkokClient, FinkokConfig, SatStatusClient, SwAuth, SwCancelCsd, SwClient, SwConfig,
};
use chrono::{NaiveDate, TimeZone, Utc};
use erp_hub_core::adapter::{Entity, ErpAdapter, IdempotencyKey, WriteOp};
use erp_hub_core::fiscal::{
    FiscalAdapter, FiscalDocumentKind, FiscalKey, FiscalStamp, JournalEntry, StampJournal,
};
use erp_hub_core::hub::{Hub, HubConfig, HubStore, Scope, SqliteStore};
use erp_hub_core::model::{
    CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef, Payment, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::testing::{Fault, MemoryErp};
use pac_mock::*;
use rust_decimal::{Decimal, RoundingStrategy};
use rust_decimal_macros::dec;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const TENANTS: [&str; 3] = ["norte", "sur", "centro"];
const WALK_IN: usize = 4;

fn finkok_at(url: &str) -> FinkokClient {
    FinkokClient::new(
        FinkokConfig::new(url, FINKOK_USER, FINKOK_PASSWORD)
            .with_pac_certificate(pac_csd().certificate().clone())
            .with_timeout(Duration::from_millis(500)),
    )
    .expect("finkok client")
}

fn sw_at(url: &str, sat: &str) -> SwClient {
    let cer = std::fs::read("cfdi/tests/fixtures/csd/EKU9003173C9.cer").expect("CSD .cer");
    let key = std::fs::read("cfdi/tests/fixtures/csd/EKU9003173C9.key").expect("CSD .key");
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
        .with_cancel_csd(SwCancelCsd::new(&cer, &key, PASSWORD))
        .with_sat_status_url(sat)
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

fn customers(t: &str) -> Vec<Customer> {
    vec![
        customer(&format!("{t}-c1"), "URE180429TM6", "601", "86991"),
        customer(&format!("{t}-c2"), "XIA190128J61", "601", "76028"),
        customer(
            &format!("{t}-mostrador"),
            cfdi::hub::RFC_PUBLICO_EN_GENERAL,
            "616",
            "42501",
        ),
    ]
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).expect("date")
}

fn pct(p: Decimal) -> TaxRate {
    TaxRate::Percent(p)
}

/// Invoice `i` of tenant `t`: one of five tax mixes plus an exempt line; even ones are paid later (PPD).
fn invoice(t: &str, i: usize) -> Invoice {
    let cust = format!("{t}-c{}", 1 + i % 2);
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
    let mut inv = Invoice::new(
        format!("{t}-inv-{i}"),
        PartyRef::external(cust),
        day(1),
        Currency::MXN,
    )
    .with_line(line)
    .with_line(
        InvoiceLine::new("Libro de texto", dec!(2), dec!(150.50))
            .with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
    );
    if i.is_multiple_of(2) {
        inv.due_date = Some(day(31));
    }
    // One dollar invoice (issued at 17.50 MXN/USD), paid in pesos at the payment's rate: EquivalenciaDR.
    if t == "centro" && i == 4 {
        inv.currency = Currency::USD;
        inv.exchange_rate = Some(USD_AT_ISSUE);
    }
    inv
}

/// MXN per USD when `centro`'s dollar invoice was issued, and when it was paid.
const USD_AT_ISSUE: Decimal = dec!(17.50);
const USD_AT_PAYMENT: Decimal = dec!(18.10);

/// Walk-in sale `k` of tenant `t` (left for the global invoice).
fn walk_in(t: &str, k: usize) -> Invoice {
    let mut inv = Invoice::new(
        format!("{t}-ticket-{k}"),
        PartyRef::external(format!("{t}-mostrador")),
        day(1),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Cuaderno", Decimal::from(1 + k), dec!(45.90))
            .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
    );
    if k % 2 == 1 {
        inv = inv.with_line(
            InvoiceLine::new("Libro", dec!(1), dec!(350))
                .with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
        );
    }
    inv.number = Some(format!("T-{k:04}"));
    inv.passthrough = serde_json::json!({"cfdi": {"global": true}});
    inv
}

/// The invoices of each tenant: `n` in all, split over the tenants; `norte`'s last four are walk-in sales.
fn plan(n: usize) -> Vec<(&'static str, Vec<Invoice>)> {
    TENANTS
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let mut count = n / 3 + usize::from(k < n % 3);
            // sur's reissue is one of its invoices.
            if *t == "sur" {
                count -= 1;
            }
            let mut invs = Vec::new();
            for i in 0..count {
                if *t == "norte" && i >= count - WALK_IN {
                    invs.push(walk_in(t, i + WALK_IN - count));
                } else {
                    invs.push(invoice(t, i));
                }
            }
            (*t, invs)
        })
        .collect()
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

fn scope(t: &str) -> Scope {
    Scope::new(t, "memory:1")
}

fn config(name: &str) -> HubConfig {
    HubConfig::default()
        .with_name(name)
        .with_workers(2)
        .with_max_attempts(10_000)
        .with_lease(Duration::from_millis(1500), Duration::from_millis(300))
        .with_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .with_poll(Duration::from_millis(10))
}

/// Which part of the run a [`CfdiStep`] is built for: the PACs that are up differ.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the kill (the child, and the parent's customer phase).
    Before,
    /// The restart's recovery: sur's primary answers again, so the documents that were on their way to it when
    /// the child was killed (sent, outcome unknown) are recovered from it; a PAC that may hold a stamp is
    /// never skipped, and while it cannot be asked such a document stays pending.
    Recovery,
    /// After the recovery: sur's and centro's primaries are down.
    After,
}

/// Where the PAC mocks listen (`down`: a closed port).
struct Urls {
    finkok: String,
    sw: String,
    sat: String,
    down: String,
}

fn pacs(t: &str, u: &Urls, phase: Phase) -> Failover {
    let primary = match (t, phase) {
        ("norte", _) | ("centro" | "sur", Phase::Recovery) | ("centro", Phase::Before) => {
            finkok_at(&u.finkok)
        }
        _ => finkok_at(&u.down),
    };
    Failover::new(Arc::new(primary)).with_backup(Arc::new(sw_at(&u.sw, &u.sat)))
}

fn step(journal: Arc<dyn StampJournal>, u: &Urls, phase: Phase) -> CfdiStep {
    let tick = Arc::new(AtomicI64::new(0));
    let mut step = CfdiStep::new(journal, Arc::new(MemoryDirectory::new()))
        .with_recovery(3, Duration::from_millis(50))
        .with_cancel_poll(Duration::from_millis(20), Duration::from_millis(100))
        .with_sat_status(SatStatusClient::new(&u.sat).expect("SAT status client"))
        .with_clock(move || {
            let s = tick.fetch_add(1, Ordering::SeqCst) % 20_000;
            Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap() + chrono::Duration::seconds(s)
        });
    for (i, t) in TENANTS.iter().enumerate() {
        let series = ["N", "S", "C"][i];
        step = step.with_tenant(*t, profile(series), emisor_csd(), &pacs(t, u, phase));
    }
    step
}

/// The child: runs the hub on `db` with the ERP unreachable (every write fails before applying), so it only
/// stamps and journals; the parent SIGKILLs it.
async fn child(args: &[String]) -> BoxResult<()> {
    let [db, finkok, sw, sat, down] = args else {
        return Err(format!("bad child arguments {args:?}").into());
    };
    let u = Urls {
        finkok: finkok.clone(),
        sw: sw.clone(),
        sat: sat.clone(),
        down: down.clone(),
    };
    let store = SqliteStore::open(db).await?;
    let journal: Arc<dyn StampJournal> = Arc::new(store.stamp_journal());
    let step = Arc::new(step(journal, &u, Phase::Before));
    for t in TENANTS {
        for c in customers(t) {
            step.stamp_document(t, &WriteOp::UpsertCustomer(c)).await?;
        }
    }
    let hub = Hub::new(Arc::new(store), config("child"));
    for t in TENANTS {
        let erp = Arc::new(MemoryErp::new());
        erp.inject(
            1_000_000,
            Fault::error(|| erp_hub_core::Error::transient("ERP unreachable from this process")),
        );
        hub.register(scope(t), Arc::new(FiscalAdapter::new(erp, step.clone(), t)));
    }
    hub.run_until_settled().await?;
    Ok(())
}

/// Runs the hub until settled, or fails after two minutes showing what is still waiting and why.
async fn settle(hub: &Hub) -> BoxResult<Vec<erp_hub_core::hub::ScopeStatus>> {
    match tokio::time::timeout(Duration::from_secs(120), hub.run_until_settled()).await {
        Ok(r) => Ok(r?),
        Err(_) => {
            let waiting = hub
                .store()
                .records(&erp_hub_core::hub::RecordFilter::all())
                .await?;
            for r in waiting
                .iter()
                .filter(|r| r.state != erp_hub_core::hub::RecordState::Done)
                .take(5)
            {
                eprintln!(
                    "still {}: {} {} {:?}",
                    r.state, r.scope.tenant, r.external_ref, r.last_error
                );
            }
            Err("the hub did not settle within 120 s".into())
        }
    }
}

async fn stamped_count(journal: &dyn StampJournal) -> BoxResult<usize> {
    let mut n = 0;
    for t in TENANTS {
        n += journal.stamped(t, FiscalDocumentKind::Invoice).await?.len();
    }
    Ok(n)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]).await;
    }
    let mut out = PathBuf::from("hub_mx_out");
    let mut n_invoices = 200usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(it.next().ok_or("--out DIR")?),
            "--invoices" => n_invoices = it.next().ok_or("--invoices N")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if n_invoices < 3 * 12 {
        return Err("--invoices must be at least 36 (12 per tenant)".into());
    }
    std::fs::create_dir_all(&out)?;
    let started = Instant::now();

    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", Arc::clone(&ledger));
    let fk_server = start_finkok(&fk).await;
    let sw = SwMock::new("sw", Arc::clone(&ledger));
    let sw_server = start_sw(&sw).await;
    let sat = SatMock::new(Arc::clone(&ledger));
    let sat_server = start_sat(&sat).await;
    let u = Urls {
        finkok: fk_server.uri(),
        sw: sw_server.uri(),
        sat: sat_server.uri(),
        down: closed_port_url(),
    };
    // norte's primary loses its first answers (after stamping): recovered from it, never re-stamped.
    fk.hang_next.store(3, Ordering::SeqCst);

    let dir = tempfile::tempdir()?;
    let db = dir.path().join("hub.db");
    let erps: HashMap<&str, Arc<MemoryErp>> = TENANTS
        .iter()
        .map(|t| (*t, Arc::new(MemoryErp::new())))
        .collect();
    for e in erps.values() {
        e.inject(6, Fault::ApplyThenTimeout);
    }
    let plan = plan(n_invoices);

    // Phase 0 (this process): the customers.
    {
        let store = Arc::new(SqliteStore::open(&db).await?);
        let journal = Arc::new(store.stamp_journal());
        let step = Arc::new(step(journal, &u, Phase::Before));
        let hub = Hub::new(store, config("parent-0"));
        for t in TENANTS {
            let erp: Arc<dyn ErpAdapter> = erps[t].clone();
            hub.register(scope(t), Arc::new(FiscalAdapter::new(erp, step.clone(), t)));
            hub.enqueue(
                &scope(t),
                customers(t)
                    .into_iter()
                    .map(WriteOp::UpsertCustomer)
                    .collect(),
            )
            .await?;
        }
        hub.run_until_settled().await?;
        for (t, invs) in &plan {
            hub.enqueue(
                &scope(t),
                invs.iter().cloned().map(WriteOp::CreateInvoice).collect(),
            )
            .await?;
        }
    }

    // Phase 1: a child process stamps the invoices and is SIGKILLed mid-run.
    let to_stamp = n_invoices - WALK_IN - 1;
    let me = std::env::current_exe()?;
    let mut c = std::process::Command::new(&me)
        .arg("--child")
        .arg(&db)
        .args([&u.finkok, &u.sw, &u.sat, &u.down])
        .spawn()?;
    let watch = SqliteStore::open(&db).await?.stamp_journal();
    let kill_at = to_stamp * 2 / 5;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_millis(25)).await;
        if stamped_count(&watch).await? >= kill_at || Instant::now() > deadline {
            break;
        }
        if let Some(status) = c.try_wait()? {
            return Err(format!("the child ended before the kill: {status}").into());
        }
    }
    c.kill()?; // SIGKILL
    c.wait()?;
    let at_kill = stamped_count(&watch).await?;
    let mut pending = 0;
    for (t, invs) in &plan {
        for inv in invs {
            let key = FiscalKey::new(*t, EntityKind::Invoice, inv.external_ref.as_str());
            if let Some(JournalEntry::Pending { .. }) = watch.get(&key).await? {
                pending += 1;
            }
        }
    }
    println!(
        "killed the child process after {at_kill} of {to_stamp} invoices stamped, {pending} sealed and \
         pending ({} ms)",
        started.elapsed().as_millis()
    );
    drop(watch);

    // Restart: this process, same SQLite file, the ERP reachable; centro's primary PAC is down from now on.
    let store = Arc::new(SqliteStore::open(&db).await?);
    let journal = Arc::new(store.stamp_journal());
    let journal_dyn: Arc<dyn StampJournal> = journal.clone();
    let hub_with = |name: &str, step: &Arc<CfdiStep>| {
        let hub = Hub::new(store.clone(), config(name));
        for t in TENANTS {
            let erp: Arc<dyn ErpAdapter> = erps[t].clone();
            hub.register(scope(t), Arc::new(FiscalAdapter::new(erp, step.clone(), t)));
        }
        hub
    };
    let step1 = Arc::new(step(journal_dyn.clone(), &u, Phase::Recovery));
    for t in TENANTS {
        for c in customers(t) {
            step1.stamp_document(t, &WriteOp::UpsertCustomer(c)).await?;
        }
    }
    // The leases of the killed child's claims run out before anyone takes them over.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    settle(&hub_with("parent-1", &step1)).await?;
    // From here on centro's and sur's primary PACs are down (after their pending documents were recovered from
    // them: a PAC that may hold a stamp is never skipped).
    let step = Arc::new(step(journal_dyn, &u, Phase::After));
    for t in TENANTS {
        for c in customers(t) {
            step.stamp_document(t, &WriteOp::UpsertCustomer(c)).await?;
        }
    }
    let hub = hub_with("parent-2", &step);

    // The global invoice of norte's walk-in sales, its UUID attached to each sale.
    let norte_sales: Vec<Invoice> = plan[0]
        .1
        .iter()
        .filter(|i| i.external_ref.contains("-ticket-"))
        .cloned()
        .collect();
    let mostrador = customers("norte").remove(2);
    let sales: Vec<GlobalSale<'_>> = norte_sales
        .iter()
        .map(|i| GlobalSale::new(i, &mostrador))
        .collect();
    let global = step
        .stamp_global(
            "norte",
            "GLOBAL-20261201",
            GlobalPeriod::Daily(day(1)),
            &sales,
            "01",
        )
        .await?;
    for s in &norte_sales {
        let rec = store
            .find(&scope("norte"), EntityKind::Invoice, &s.external_ref)
            .await?
            .and_then(|r| r.remote)
            .ok_or("walk-in sale not in the ERP")?;
        erps["norte"]
            .attach_fiscal_stamp(
                EntityKind::Invoice,
                &rec,
                &global,
                &IdempotencyKey::new(format!("stamp-{}-{}", global.uuid, s.external_ref))?,
            )
            .await?;
    }

    // Phase 2: first payments, credit notes, sur's reissue. Phase 3: second payments, the two voids.
    let mut phase2: Vec<(Scope, Vec<WriteOp>)> = Vec::new();
    let mut phase3: Vec<(Scope, Vec<WriteOp>)> = Vec::new();
    let total = |inv: &Invoice| inv.breakdown().map(|b| b.total.amount());
    for (t, invs) in &plan {
        let (mut p2, mut p3) = (Vec::new(), Vec::new());
        let ppd: Vec<&Invoice> = invs
            .iter()
            .filter(|i| i.due_date.is_some() && !i.external_ref.contains("-ticket-"))
            .collect();
        for (k, inv) in ppd.iter().enumerate() {
            let cust = inv.customer.external_ref.clone();
            let t_inv = total(inv)?;
            match k {
                // Two installments.
                0 => {
                    let first = (t_inv * dec!(0.4))
                        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
                    p2.push(WriteOp::RecordPayment(payment(
                        &format!("{t}-pay-0a"),
                        &cust,
                        &[(inv.external_ref.clone(), first)],
                    )));
                    p3.push(WriteOp::RecordPayment(payment(
                        &format!("{t}-pay-0b"),
                        &cust,
                        &[(inv.external_ref.clone(), t_inv - first)],
                    )));
                }
                // One payment for #1 in full and half of #3 (same customer); #3's rest later.
                1 if ppd.len() > 3 && ppd[3].customer == inv.customer => {
                    let other = ppd[3];
                    let half = (total(other)? / dec!(2))
                        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
                    p2.push(WriteOp::RecordPayment(payment(
                        &format!("{t}-pay-1"),
                        &cust,
                        &[
                            (inv.external_ref.clone(), t_inv),
                            (other.external_ref.clone(), half),
                        ],
                    )));
                    p3.push(WriteOp::RecordPayment(payment(
                        &format!("{t}-pay-3b"),
                        &cust,
                        &[(other.external_ref.clone(), total(other)? - half)],
                    )));
                }
                3 if ppd.len() > 3 && ppd[1].customer == inv.customer => {}
                // The dollar invoice, paid in full in pesos at the payment's rate.
                _ if inv.currency != Currency::MXN => {
                    let pesos = (t_inv * USD_AT_PAYMENT)
                        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
                    let mut p = payment(&format!("{t}-pay-{k}"), &cust, &[]);
                    p.amount = pesos;
                    p = p.apply_to_foreign(DocRef::external(&inv.external_ref), pesos, t_inv);
                    p2.push(WriteOp::RecordPayment(p));
                }
                _ => p2.push(WriteOp::RecordPayment(payment(
                    &format!("{t}-pay-{k}"),
                    &cust,
                    &[(inv.external_ref.clone(), t_inv)],
                ))),
            }
        }
        // Credit notes on PUE invoices #1 and #3.
        for i in [1, 3] {
            let inv = &invs[i];
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
        if *t == "sur" {
            let mut reissue = invoice(t, 5);
            reissue.external_ref = format!("{t}-inv-5r");
            reissue.passthrough = serde_json::json!({"cfdi": {"sustituye": format!("{t}-inv-5")}});
            p2.push(WriteOp::CreateInvoice(reissue));
        }
        phase2.push((scope(t), p2));
        phase3.push((scope(t), p3));
    }
    for (s, ops) in phase2 {
        hub.enqueue(&s, ops).await?;
    }
    settle(&hub).await?;
    for (t, ext, script) in [
        (
            "sur",
            "sur-inv-5",
            // Four status reads "en proceso": the sync log shows that state even when, on a loaded
            // machine, a worker's lease runs out mid-attempt and the attempt's outcome is fenced off.
            vec![
                ("Vigente", "Cancelable con aceptación", "En proceso"),
                ("Vigente", "Cancelable con aceptación", "En proceso"),
                ("Vigente", "Cancelable con aceptación", "En proceso"),
                ("Vigente", "Cancelable con aceptación", "En proceso"),
                (
                    "Cancelado",
                    "Cancelable con aceptación",
                    "Cancelado con aceptación",
                ),
            ],
        ),
        (
            "centro",
            "centro-inv-7",
            vec![(
                "Cancelado",
                "Cancelable sin aceptación",
                "Cancelado sin aceptación",
            )],
        ),
    ] {
        let Some(JournalEntry::Stamped(s)) = journal
            .get(&FiscalKey::new(t, EntityKind::Invoice, ext))
            .await?
        else {
            return Err(format!("{ext} is not stamped").into());
        };
        sat.script(&s.uuid, &script);
        let remote = store
            .find(&scope(t), EntityKind::Invoice, ext)
            .await?
            .and_then(|r| r.remote)
            .ok_or("voided invoice not in the ERP")?;
        let current = erps[t].get(EntityKind::Invoice, &remote.id).await?.remote;
        phase3
            .iter_mut()
            .find(|(s, _)| s.tenant == t)
            .ok_or("scope")?
            .1
            .push(WriteOp::VoidInvoice(current));
    }
    for (s, ops) in phase3 {
        hub.enqueue(&s, ops).await?;
    }
    let status = settle(&hub).await?;
    for s in &status {
        println!(
            "scope {}: done {} dead {} backlog {}",
            s.scope.tenant,
            s.done,
            s.dead,
            s.backlog()
        );
    }
    // What the operator saw while sur's cancellation awaited the receptor.
    if let Some(r) = store
        .find(
            &scope("sur"),
            EntityKind::Invoice,
            &format!(
                "void:{}",
                store
                    .find(&scope("sur"), EntityKind::Invoice, "sur-inv-5")
                    .await?
                    .and_then(|r| r.remote)
                    .map(|r| r.id)
                    .unwrap_or_default()
            ),
        )
        .await?
        && let Some(log) = store.record(r.id).await?
    {
        for a in &log.history {
            if let Some(m) = &a.message {
                println!("sync log sur void attempt {}: {m}", a.attempt);
            }
        }
    }

    let line = verify(&out, &erps, journal.as_ref(), &ledger, &plan).await?;
    println!(
        "pac calls: finkok stamp={} stamped={}, sw stamp={}; {:.1} s",
        fk.stamp_calls.load(Ordering::SeqCst),
        fk.stamped_calls.load(Ordering::SeqCst),
        sw.stamp_calls.load(Ordering::SeqCst),
        started.elapsed().as_secs_f32()
    );
    println!("{line}");
    Ok(())
}

/// Counts from MemoryErp, the journal and the mocks' ledger; writes every stamped XML to `out/<tenant>/`.
async fn verify(
    out: &Path,
    erps: &HashMap<&str, Arc<MemoryErp>>,
    journal: &dyn StampJournal,
    ledger: &Ledger,
    plan: &[(&str, Vec<Invoice>)],
) -> BoxResult<String> {
    let mut counts = [0usize; 3];
    let mut journalled = Vec::new();
    let (mut erp_invoices, mut cancelled) = (0, 0);
    let (mut erp_uuid_missing, mut total_mismatch, mut tfd_invalid) = (0, 0, 0);
    for t in TENANTS {
        let erp = &erps[t];
        erp_invoices += erp.count(EntityKind::Invoice);
        let dir = out.join(t);
        std::fs::create_dir_all(&dir)?;
        let attached = erp.fiscal_stamps();
        for (i, kind) in [
            FiscalDocumentKind::Invoice,
            FiscalDocumentKind::Payment,
            FiscalDocumentKind::CreditNote,
        ]
        .into_iter()
        .enumerate()
        {
            for s in journal.stamped(t, kind).await? {
                counts[i] += 1;
                let name = format!(
                    "{}-{}{}.xml",
                    kind.entity_kind(),
                    s.series.clone().unwrap_or_default(),
                    s.folio.clone().unwrap_or_default()
                );
                std::fs::write(dir.join(name), &s.xml)?;
                let doc = cfdi::parse_str(&s.xml)?;
                if cfdi::verify(&doc).is_err()
                    || cfdi::verify_timbre(&doc, pac_csd().certificate()).is_err()
                {
                    tfd_invalid += 1;
                }
                journalled.push(s.uuid.clone());
                let mine: Vec<&(EntityKind, String, FiscalStamp)> = attached
                    .iter()
                    .filter(|(k, _, a)| *k == kind.entity_kind() && a.uuid == s.uuid)
                    .collect();
                if mine.is_empty() {
                    erp_uuid_missing += 1;
                    continue;
                }
                if kind == FiscalDocumentKind::Payment {
                    continue;
                }
                // The CFDI total equals the ERP record's total (the global one: the sum of its sales).
                let mut erp_total = Decimal::ZERO;
                for (_, remote_id, _) in &mine {
                    let rec = erp.get(kind.entity_kind(), remote_id).await?;
                    erp_total += match &rec.entity {
                        Entity::Invoice(inv) => inv.breakdown()?.total.amount(),
                        Entity::CreditNote(cn) => cn.breakdown()?.total.amount(),
                        _ => Decimal::ZERO,
                    };
                }
                if erp_total != s.total {
                    total_mismatch += 1;
                }
            }
        }
        // Every walk-in sale carries a stamp (the global invoice's UUID); cancelled = recorded as cancelled in
        // the journal and voided in the ERP.
        let mut by_ext: HashMap<String, (bool, bool)> = HashMap::new();
        for (k, id, _) in attached
            .iter()
            .filter(|(k, _, _)| *k == EntityKind::Invoice)
        {
            let rec = erp.get(*k, id).await?;
            if let Entity::Invoice(inv) = &rec.entity {
                by_ext.insert(inv.external_ref.clone(), (true, rec.voided));
            }
        }
        for inv in plan
            .iter()
            .filter(|(pt, _)| *pt == t)
            .flat_map(|(_, v)| v)
            .filter(|i| i.external_ref.contains("-ticket-"))
        {
            if !by_ext.contains_key(&inv.external_ref) {
                erp_uuid_missing += 1;
            }
        }
        for (ext, (_, voided)) in &by_ext {
            let key = FiscalKey::new(t, EntityKind::Invoice, ext.as_str());
            if let Some(c) = journal.cancellation(&key).await?
                && c.state.is_cancelled()
                && *voided
            {
                cancelled += 1;
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
    Ok(format!(
        "invoices={erp_invoices} stamped={} pagos={} egresos={} cancelled={cancelled} double_stamps={} lost={lost} erp_uuid_missing={erp_uuid_missing} total_mismatch={total_mismatch} tfd_invalid={tfd_invalid}",
        counts[0],
        counts[1],
        counts[2],
        ledger.double_stamps()
    ))
}
