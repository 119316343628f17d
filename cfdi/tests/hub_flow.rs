//! The fiscal step inside the hub: `FiscalAdapter` (erp-hub-core) around MemoryErp with `CfdiStep`, the PAC
//! mocks signing real TFDs, lost ERP responses and a primary PAC that times out. Counted from the PAC ledger,
//! MemoryErp and the hub's sync log: one UUID per document, every ERP record carries its stamp, the bad record
//! is dead-lettered with a typed error naming record and field, nothing stamped for it.

mod pac_mock;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cfdi::hub::{CfdiStep, FiscalProfile, MemoryDirectory};
use cfdi::pac::{Failover, FinkokClient, FinkokConfig, SwAuth, SwClient, SwConfig};
use chrono::{NaiveDate, TimeZone, Utc};
use erp_hub_core::adapter::WriteOp;
use erp_hub_core::fiscal::{FiscalAdapter, FiscalOrder, FiscalStep as _, MemoryStampJournal};
use erp_hub_core::hub::{Hub, HubConfig, MemoryStore, RecordState, Scope};
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
        .with_timeout(Duration::from_millis(500)),
    )
    .unwrap()
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

fn customer(ext: &str, cp: Option<&str>) -> Customer {
    let mut c = Customer::new(ext, format!("Cliente {ext}"));
    c.tax_ids.push(TaxId::MxRfc {
        rfc: "URE180429TM6".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: cp.map(Into::into),
    });
    c
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

fn invoice(ext: &str, cust: &str, amount: Decimal, ppd: bool) -> Invoice {
    let mut inv = Invoice::new(ext, PartyRef::external(cust), day(1), Currency::MXN).with_line(
        InvoiceLine::new("Servicio", dec!(1), amount)
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16))))
            .with_tax(Tax::withheld("ISR", TaxRate::Percent(dec!(10)))),
    );
    inv.number = Some(ext.to_uppercase());
    if ppd {
        inv.due_date = Some(day(31));
    }
    inv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_stamps_each_document_once_and_writes_the_uuid_back() {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    let sw = SwMock::new("sw", ledger.clone());
    let backup = start_sw(&sw).await;
    let pacs = Failover::new(Arc::new(finkok_at(&primary.uri())))
        .with_backup(Arc::new(sw_at(&backup.uri())));
    let journal = Arc::new(MemoryStampJournal::new());
    let tick = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let step = Arc::new(
        CfdiStep::new(journal.clone(), Arc::new(MemoryDirectory::new()))
            .with_tenant("acme", profile(), emisor_csd(), &pacs)
            .with_recovery(3, Duration::from_millis(50))
            // Time moves: a document built again would get another Fecha, Sello and UUID.
            .with_clock(move || {
                let n = tick.fetch_add(1, Ordering::SeqCst);
                Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap() + chrono::Duration::seconds(n)
            }),
    );
    let erp = Arc::new(MemoryErp::new());
    // Lost responses after the ERP applied the write, and the primary PAC's answers lost twice.
    erp.inject(5, Fault::ApplyThenTimeout);
    fk.hang_next.store(2, Ordering::SeqCst);

    let hub = Hub::new(
        Arc::new(MemoryStore::new()),
        HubConfig::default()
            .with_workers(2)
            .with_backoff(Duration::from_millis(20), Duration::from_millis(200))
            .with_poll(Duration::from_millis(10)),
    );
    let scope = Scope::new("acme", "memory:1");
    hub.register(
        scope.clone(),
        Arc::new(FiscalAdapter::new(erp.clone(), step.clone(), "acme")),
    );
    let mut ops = vec![
        WriteOp::UpsertCustomer(customer("c-1", Some("86991"))),
        WriteOp::UpsertCustomer(customer("c-bad", None)),
    ];
    let n = 6;
    for i in 0..n {
        ops.push(WriteOp::CreateInvoice(invoice(
            &format!("inv-{i}"),
            "c-1",
            Decimal::from(1000 + i * 37),
            i % 2 == 0,
        )));
    }
    ops.push(WriteOp::CreateInvoice(invoice(
        "inv-bad",
        "c-bad",
        dec!(500),
        false,
    )));
    hub.enqueue(&scope, ops).await.unwrap();
    hub.run_until_settled().await.unwrap();
    // Then payments (two partial ones of inv-0, one of inv-2 and inv-4 together) and a credit note.
    let inv0_total = dec!(1060.00);
    let mut later = Vec::new();
    for (ext, apps) in [
        ("pay-1", vec![("inv-0", dec!(400))]),
        (
            "pay-2",
            vec![("inv-0", inv0_total - dec!(400)), ("inv-2", dec!(100))],
        ),
    ] {
        let amount: Decimal = apps.iter().map(|(_, a)| *a).sum();
        let mut p = Payment::new(
            ext,
            PartyRef::external("c-1"),
            day(5),
            Currency::MXN,
            amount,
        );
        for (inv, a) in apps {
            p = p.apply_to(DocRef::external(inv), a);
        }
        p.method = Some("transfer".into());
        later.push(WriteOp::RecordPayment(p));
    }
    later.push(WriteOp::CreateCreditNote(
        CreditNote::new(
            "cn-1",
            PartyRef::external("c-1"),
            DocRef::external("inv-1"),
            day(6),
            Currency::MXN,
        )
        .with_line(
            InvoiceLine::new("Bonificación", dec!(1), dec!(100))
                .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
        ),
    ));
    // pay-1 before pay-2: the saldo chain needs the first receipt.
    hub.enqueue(&scope, vec![later.remove(0)]).await.unwrap();
    hub.run_until_settled().await.unwrap();
    hub.enqueue(&scope, later).await.unwrap();
    let status = hub.run_until_settled().await.unwrap();

    // One UUID per document; every document stamped; nothing for the bad one.
    let docs = n as usize + 3; // invoices + 2 receipts + 1 egreso
    assert_eq!(ledger.double_stamps(), 0);
    assert_eq!(ledger.issued().len(), docs, "{:?}", status);
    assert!(
        fk.stamped_calls.load(Ordering::SeqCst) >= 1,
        "the lost primary answers were recovered with `stamped`"
    );
    // Every ERP record of a stamped document carries its UUID (written back through the adapter).
    let stamps = erp.fiscal_stamps();
    assert_eq!(stamps.len(), docs);
    let mut uuids: Vec<&str> = stamps.iter().map(|(_, _, s)| s.uuid.as_str()).collect();
    uuids.sort_unstable();
    uuids.dedup();
    assert_eq!(uuids.len(), docs);
    for (_, _, s) in &stamps {
        assert!(ledger.by_uuid(&s.uuid).is_some(), "a UUID the PACs issued");
    }
    assert_eq!(
        erp.count(EntityKind::Invoice),
        n as usize,
        "the bad invoice never posted"
    );
    // The saldo chain of inv-0 across the two receipts.
    let rep2 = stamps
        .iter()
        .find(|(k, _, s)| *k == EntityKind::Payment && s.folio.as_deref() == Some("pay-2"))
        .map(|(_, _, s)| cfdi::parse_str(&s.xml).unwrap())
        .unwrap();
    let d = &rep2.pagos().unwrap().pagos[0].doctos_relacionados[0];
    assert_eq!(d.num_parcialidad, "2");
    assert_eq!(d.imp_saldo_ant, inv0_total - dec!(400));
    assert_eq!(d.imp_saldo_insoluto, dec!(0.00));

    // The bad record: dead letter, typed error naming record and field, in the sync log.
    let log = hub
        .store()
        .find(&scope, EntityKind::Invoice, "inv-bad")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(log.state, RecordState::Dead);
    let err = log.last_error.unwrap();
    assert_eq!(err.kind, erp_hub_core::ErrorKind::Validation);
    assert!(
        err.message.contains("inv-bad") && err.message.contains("postal_code"),
        "{}",
        err.message
    );
    assert_eq!(status[0].dead, 1);
}

/// `FiscalOrder::PostThenStamp`: the ERP invoice is posted, then stamped. A stamping refusal after the post
/// (a customer without postal code) must not be reported as "nothing applied" (a verdict kind, whose
/// re-queue sends the post again under a new key: a second ERP invoice, or a Duplicate dead letter): the
/// sync log says the ERP record exists and names the field; after the input is fixed a re-queue replays the
/// post under the same key and resumes at stamping: one ERP invoice per record, each with its UUID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_then_stamp_resumes_at_stamping_after_a_refusal() {
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    let pacs = Failover::new(Arc::new(finkok_at(&primary.uri())));
    let journal = Arc::new(MemoryStampJournal::new());
    let step = Arc::new(
        CfdiStep::new(journal.clone(), Arc::new(MemoryDirectory::new()))
            .with_tenant("acme", profile(), emisor_csd(), &pacs)
            .with_order(FiscalOrder::PostThenStamp)
            .with_clock(|| Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap()),
    );
    let erp = Arc::new(MemoryErp::new());
    let hub = Hub::new(
        Arc::new(MemoryStore::new()),
        HubConfig::default()
            .with_workers(1)
            .with_max_attempts(2)
            .with_backoff(Duration::from_millis(5), Duration::from_millis(20))
            .with_poll(Duration::from_millis(5)),
    );
    let scope = Scope::new("acme", "memory:1");
    hub.register(
        scope.clone(),
        Arc::new(FiscalAdapter::new(erp.clone(), step.clone(), "acme")),
    );
    hub.enqueue(
        &scope,
        vec![
            WriteOp::UpsertCustomer(customer("c-1", Some("86991"))),
            WriteOp::UpsertCustomer(customer("c-bad", None)),
            WriteOp::CreateInvoice(invoice("inv-1", "c-1", dec!(1000), false)),
            WriteOp::CreateInvoice(invoice("inv-bad", "c-bad", dec!(500), false)),
        ],
    )
    .await
    .unwrap();
    hub.run_until_settled().await.unwrap();

    let find = |ext: &'static str| {
        let hub = &hub;
        let scope = &scope;
        async move {
            hub.store()
                .find(scope, EntityKind::Invoice, ext)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let good = find("inv-1").await;
    assert_eq!(good.state, RecordState::Done);
    let bad = find("inv-bad").await;
    assert_eq!(bad.state, RecordState::Dead);
    let err = bad.last_error.clone().unwrap();
    assert_ne!(
        err.kind,
        erp_hub_core::ErrorKind::Validation,
        "the ERP invoice exists: not a 'nothing applied' verdict"
    );
    assert!(
        err.message.contains("inv-bad")
            && err.message.contains("postal_code")
            && err.message.contains("posted to memory"),
        "{}",
        err.message
    );
    assert_eq!(erp.count(EntityKind::Invoice), 2, "both posted");
    assert_eq!(ledger.issued().len(), 1, "only inv-1 stamped");

    // The operator fixes the customer and re-queues the invoice.
    step.stamp(
        "acme",
        &WriteOp::UpsertCustomer(customer("c-bad", Some("86991"))),
    )
    .await
    .unwrap();
    assert!(hub.store().requeue(bad.id).await.unwrap());
    hub.run_until_settled().await.unwrap();
    let bad = find("inv-bad").await;
    assert_eq!(bad.state, RecordState::Done, "{:?}", bad.last_error);
    assert_eq!(erp.count(EntityKind::Invoice), 2, "no second ERP invoice");
    let remote = bad.remote.unwrap();
    let stamp = erp
        .fiscal_stamp(EntityKind::Invoice, &remote.id)
        .expect("the UUID written back");
    assert!(ledger.by_uuid(&stamp.uuid).is_some());
    assert_eq!(ledger.issued().len(), 2);
    assert_eq!(ledger.double_stamps(), 0);
    assert_eq!(erp.fiscal_stamps().len(), 2);
}

/// Bad input through the hub: an item without ClaveProdServ (tenant without a default), a USD invoice
/// without exchange rate, a customer without régimen fiscal, and a tenant whose CSD has expired. Each is a
/// typed error in the sync log naming the record and the field; the PAC saw no request, nothing was
/// journalled or posted; each record is dead-lettered and can be re-queued (nothing lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_typed_dead_letter_naming_record_and_field() {
    use erp_hub_core::fiscal::{FiscalKey, StampJournal as _};
    let ledger = Ledger::new();
    let fk = FinkokMock::new("finkok", ledger.clone());
    let primary = start_finkok(&fk).await;
    let pacs = Failover::new(Arc::new(finkok_at(&primary.uri())));
    let mut strict = profile();
    strict.default_clave_prod_serv = None;
    let expired = cfdi::Csd::from_bytes(
        include_bytes!("fixtures/csd/EKU9003173C9_2019.cer"),
        include_bytes!("fixtures/csd/EKU9003173C9_2019.key"),
        &cfdi::SecretString::from(PASSWORD),
    )
    .unwrap();
    let journal = Arc::new(MemoryStampJournal::new());
    let step = Arc::new(
        CfdiStep::new(journal.clone(), Arc::new(MemoryDirectory::new()))
            .with_tenant("acme", profile(), emisor_csd(), &pacs)
            .with_tenant("strict", strict, emisor_csd(), &pacs)
            .with_tenant("old", profile(), expired, &pacs)
            .with_clock(|| Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap()),
    );
    let erp = Arc::new(MemoryErp::new());
    let hub = Hub::new(
        Arc::new(MemoryStore::new()),
        HubConfig::default()
            .with_workers(1)
            .with_max_attempts(2)
            .with_backoff(Duration::from_millis(5), Duration::from_millis(20))
            .with_poll(Duration::from_millis(5)),
    );
    let mut no_regimen = customer("c-noreg", Some("86991"));
    no_regimen.tax_ids = vec![TaxId::MxRfc {
        rfc: "URE180429TM6".into(),
        regimen_fiscal: None,
        postal_code: Some("86991".into()),
    }];
    let mut usd = invoice("inv-usd", "c-1", dec!(100), false);
    usd.currency = Currency::USD;
    let mut unmapped = invoice("inv-unmapped", "c-s", dec!(100), false);
    unmapped.lines[0].item = Some("i-unknown".into());
    // (tenant, customers, the bad invoice, the field path and the error kind the sync log shows)
    let cases = [
        (
            "acme",
            vec![customer("c-1", Some("86991"))],
            usd,
            "inv-usd: exchange_rate",
            erp_hub_core::ErrorKind::Validation,
        ),
        (
            "strict",
            vec![customer("c-s", Some("86991"))],
            unmapped,
            "inv-unmapped: lines[0].item",
            erp_hub_core::ErrorKind::Validation,
        ),
        (
            "acme",
            vec![no_regimen],
            invoice("inv-noreg", "c-noreg", dec!(100), false),
            "inv-noreg: customer.tax_ids.mx_rfc.regimen_fiscal",
            erp_hub_core::ErrorKind::Validation,
        ),
        (
            "old",
            vec![customer("c-o", Some("86991"))],
            invoice("inv-old", "c-o", dec!(100), false),
            "inv-old: csd.cer: the CSD",
            erp_hub_core::ErrorKind::Config,
        ),
    ];
    for tenant in ["acme", "strict", "old"] {
        hub.register(
            Scope::new(tenant, "memory:1"),
            Arc::new(FiscalAdapter::new(erp.clone(), step.clone(), tenant)),
        );
    }
    for (tenant, customers, inv, ..) in &cases {
        let mut ops: Vec<WriteOp> = customers
            .iter()
            .cloned()
            .map(WriteOp::UpsertCustomer)
            .collect();
        ops.push(WriteOp::CreateInvoice(inv.clone()));
        hub.enqueue(&Scope::new(*tenant, "memory:1"), ops)
            .await
            .unwrap();
    }
    hub.run_until_settled().await.unwrap();

    for (tenant, _, inv, field, kind) in &cases {
        let scope = Scope::new(*tenant, "memory:1");
        let log = hub
            .store()
            .find(&scope, EntityKind::Invoice, &inv.external_ref)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(log.state, RecordState::Dead, "{}", inv.external_ref);
        let err = log.last_error.clone().unwrap();
        assert_eq!(err.kind, *kind, "{}: {}", inv.external_ref, err.message);
        assert!(err.message.contains(field), "{field}: {}", err.message);
        let key = FiscalKey::new(*tenant, EntityKind::Invoice, &inv.external_ref);
        assert!(
            journal.get(&key).await.unwrap().is_none(),
            "nothing journalled"
        );
        // Nothing lost: the dead letter is re-queued (and, the input unchanged, fails the same way).
        assert!(hub.store().requeue(log.id).await.unwrap());
    }
    let expired_log = hub
        .store()
        .find(
            &Scope::new("old", "memory:1"),
            EntityKind::Invoice,
            "inv-old",
        )
        .await
        .unwrap()
        .unwrap();
    let message = expired_log.last_error.unwrap().message;
    assert!(message.contains("expired on 2023"), "{message}");
    hub.run_until_settled().await.unwrap();
    assert_eq!(
        fk.stamp_calls.load(Ordering::SeqCst),
        0,
        "the PAC saw nothing"
    );
    assert!(ledger.issued().is_empty());
    assert_eq!(erp.count(EntityKind::Invoice), 0, "nothing posted");
    assert!(erp.fiscal_stamps().is_empty());
}
