//! `attach_fiscal_stamp`: PrivateNote marker plus the stamped XML as an Attachable, idempotent.

mod common;

use chrono::NaiveDate;
use erp_hub_core::fiscal::{FiscalDocumentKind, FiscalStamp};
use erp_hub_core::model::{Customer, EntityKind, Invoice, InvoiceLine, PartyRef};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::{ErpAdapter, ErrorKind, IdempotencyKey};
use erp_quickbooks::TaxMode;
use rust_decimal_macros::dec;

const U1: &str = "1E5A6E1B-9C1B-5319-BFED-123BD143A310";
const U2: &str = "F08A8B8C-26DB-5385-86AF-2A1D354C5CC3";

fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s).unwrap()
}

/// Costa Rican claves (50 digits) stand where a CFDI has its UUID.
const C1: &str = "50601012600310123456700100001010000000001100000001";
const C2: &str = "50601012600310123456700100001010000000002100000002";

fn stamp(uuid: &str) -> FiscalStamp {
    FiscalStamp::new(
        "mx-cfdi-4.0",
        FiscalDocumentKind::Invoice,
        uuid,
        "2026-01-15T10:00:00",
        "finkok",
        dec!(116.00),
        format!("<cfdi:Comprobante Total=\"116.00\"><tfd UUID=\"{uuid}\"/></cfdi:Comprobante>"),
    )
}

#[tokio::test]
async fn stamp_goes_to_private_note_and_attachable_once() {
    attach_once_then_refuse_another(U1, U2).await;
}

#[tokio::test]
async fn costa_rican_clave_goes_to_private_note_once() {
    attach_once_then_refuse_another(C1, C2).await;
}

async fn attach_once_then_refuse_another(first: &str, second: &str) {
    let (qbo, mock, _s) = common::adapter(TaxMode::Global).await;
    let c = qbo
        .upsert_customer(&Customer::new("c-1", "Uno SA"), &key("c-1"))
        .await
        .unwrap();
    let inv = Invoice::new(
        "inv-1",
        PartyRef::resolved("c-1", c.id),
        NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Consultoría", dec!(1), dec!(100))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    let r = qbo.create_invoice(&inv, &key("inv-1")).await.unwrap();
    let before = mock.record("Invoice", &r.id).unwrap();
    let old_note = before["PrivateNote"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let got = qbo
        .attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(first), &key("stamp-1"))
        .await
        .unwrap();
    assert_eq!(got.id, r.id);
    let after = mock.record("Invoice", &r.id).unwrap();
    let note = after["PrivateNote"].as_str().unwrap();
    assert!(note.starts_with(&old_note), "keeps the note: {note}");
    assert_eq!(FiscalStamp::find_marker(note), Some(first));
    assert_eq!(mock.count("Attachable"), 1);
    let upload = mock.requests().into_iter().find(|q| q.path == "upload");
    assert_eq!(upload.expect("an upload").status, 200);
    let att = (1..1000)
        .find_map(|i| mock.record("Attachable", &i.to_string()))
        .expect("the Attachable");
    assert_eq!(att["FileName"], format!("{first}.xml"));
    assert_eq!(att["AttachableRef"][0]["EntityRef"]["value"], r.id.as_str());
    assert!(att["MockContent"].as_str().unwrap().contains(first));

    // Replayed (same key) and re-sent (new key): nothing new.
    let writes = mock.writes_applied();
    for k in ["stamp-1", "stamp-1-again"] {
        qbo.attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(first), &key(k))
            .await
            .unwrap();
    }
    assert_eq!(mock.writes_applied(), writes);
    assert_eq!(mock.count("Attachable"), 1);

    // Another UUID on the same invoice is refused.
    let e = qbo
        .attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(second), &key("stamp-2"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(mock.violations().is_empty(), "{:?}", mock.violations());
}
