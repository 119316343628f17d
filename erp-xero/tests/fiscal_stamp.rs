//! `attach_fiscal_stamp`: the stamped XML as an attachment `<UUID>.xml`, idempotent, a second UUID refused.

mod common;

use chrono::NaiveDate;
use erp_hub_core::ErrorKind;
use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::fiscal::{FiscalDocumentKind, FiscalStamp};
use erp_hub_core::model::{Customer, EntityKind, Invoice, InvoiceLine, PartyRef, RemoteRef};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use rust_decimal_macros::dec;

const U1: &str = "1E5A6E1B-9C1B-5319-BFED-123BD143A310";
const U2: &str = "F08A8B8C-26DB-5385-86AF-2A1D354C5CC3";

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

fn stamp(uuid: &str) -> FiscalStamp {
    FiscalStamp::new(
        "mx-cfdi-4.0",
        FiscalDocumentKind::Invoice,
        uuid,
        "2026-01-15T10:00:00",
        "finkok",
        dec!(1160.00),
        format!("<cfdi:Comprobante Total=\"1160.00\"><tfd UUID=\"{uuid}\"/></cfdi:Comprobante>"),
    )
}

fn attachments(env: &common::Env, id: &str) -> Vec<serde_json::Value> {
    env.mock
        .records("Invoices")
        .into_iter()
        .find(|i| i["InvoiceID"] == id)
        .and_then(|i| i["MockAttachments"].as_array().cloned())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_xml_is_attached_once() {
    let env = common::env().await;
    let x = &env.xero;
    let c = x
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
        InvoiceLine::new("Service", dec!(2), dec!(500))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    let r = x.create_invoice(&inv, &key("inv-1")).await.unwrap();
    let got = x
        .attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(U1), &key("stamp-1"))
        .await
        .unwrap();
    assert_eq!(got.id, r.id);
    let a = attachments(&env, &r.id);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["FileName"], format!("{U1}.xml"));
    assert_eq!(a[0]["MimeType"], "application/xml");
    assert!(a[0]["Content"].as_str().unwrap().contains(U1));
    // Reference still holds our external reference (reconciliation looks it up).
    let stored = env
        .mock
        .records("Invoices")
        .into_iter()
        .find(|i| i["InvoiceID"] == r.id.as_str())
        .unwrap();
    assert_eq!(stored["Reference"], "inv-1");

    let puts = || {
        env.mock
            .requests()
            .iter()
            .filter(|q| q.method == "PUT" && q.path.contains("/Attachments/"))
            .count()
    };
    assert_eq!(puts(), 1);
    for k in ["stamp-1", "stamp-1-again"] {
        x.attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(U1), &key(k))
            .await
            .unwrap();
    }
    assert_eq!(puts(), 1, "nothing uploaded again");
    assert_eq!(attachments(&env, &r.id).len(), 1);

    let e = x
        .attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(U2), &key("stamp-2"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    let e = x
        .attach_fiscal_stamp(
            EntityKind::Payment,
            &RemoteRef::new("xero", "p"),
            &stamp(U1),
            &key("stamp-p"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

/// A Costa Rican clave (50 digits) stands where a CFDI has its UUID: attached once, a second clave refused.
#[tokio::test]
async fn a_second_costa_rican_clave_is_refused() {
    const C1: &str = "50601012600310123456700100001010000000001100000001";
    const C2: &str = "50601012600310123456700100001010000000002100000002";
    let env = common::env().await;
    let x = &env.xero;
    let c = x
        .upsert_customer(&Customer::new("c-1", "Uno SA"), &key("c-1"))
        .await
        .unwrap();
    let inv = Invoice::new(
        "inv-1",
        PartyRef::resolved("c-1", c.id),
        NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
        Currency::CRC,
    )
    .with_line(InvoiceLine::new("Service", dec!(2), dec!(500)));
    let r = x.create_invoice(&inv, &key("inv-1")).await.unwrap();
    for k in ["stamp-1", "stamp-1-again"] {
        x.attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(C1), &key(k))
            .await
            .unwrap();
    }
    let a = attachments(&env, &r.id);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["FileName"], format!("{C1}.xml"));
    let e = x
        .attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(C2), &key("stamp-2"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert_eq!(attachments(&env, &r.id).len(), 1);
}
