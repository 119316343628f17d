//! `attach_fiscal_stamp`: the stamped XML as an attachment `<UUID>.xml`, idempotent, a second UUID refused;
//! through a `FiscalAdapter`, a stamped payment (which Xero cannot attach anything to) is still recorded.

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

/// A fiscal step that "stamps" every invoice and payment with a fixed UUID per kind.
struct FixedStep;

#[async_trait::async_trait]
impl erp_hub_core::fiscal::FiscalStep for FixedStep {
    async fn stamp(
        &self,
        _tenant: &str,
        op: &erp_hub_core::adapter::WriteOp,
    ) -> erp_hub_core::Result<Option<FiscalStamp>> {
        use erp_hub_core::adapter::WriteOp;
        Ok(match op {
            WriteOp::CreateInvoice(_) => Some(stamp(U1)),
            WriteOp::RecordPayment(_) => {
                let mut s = stamp(U2);
                s.kind = FiscalDocumentKind::Payment;
                Some(s)
            }
            _ => None,
        })
    }
}

/// Xero takes no attachments on payments (`attach_fiscal_stamp` answers Unsupported): through a
/// `FiscalAdapter` the stamped payment is still recorded (the stamp stays in the step's journal), not
/// failed after stamping; the invoice gets its XML as before.
#[tokio::test]
async fn a_stamped_payment_is_recorded_though_xero_cannot_attach_it() {
    use erp_hub_core::model::{DocRef, Payment};
    let env = common::env().await;
    let fiscal = erp_hub_core::fiscal::FiscalAdapter::new(
        std::sync::Arc::new(env.xero.clone()),
        std::sync::Arc::new(FixedStep),
        "acme",
    );
    let c = fiscal
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
    let r = fiscal.create_invoice(&inv, &key("inv-1")).await.unwrap();
    assert_eq!(attachments(&env, &r.id).len(), 1);
    let p = Payment::new(
        "pay-1",
        PartyRef::external("c-1"),
        NaiveDate::from_ymd_opt(2026, 1, 20).unwrap(),
        Currency::MXN,
        dec!(160),
    )
    .apply_to(DocRef::external("inv-1"), dec!(160));
    let pr = fiscal.record_payment(&p, &key("pay-1")).await.unwrap();
    assert_eq!(
        env.xero
            .get(EntityKind::Invoice, &r.id)
            .await
            .unwrap()
            .balance,
        Some(dec!(1000.00))
    );
    assert!(env.xero.get(EntityKind::Payment, &pr.id).await.is_ok());
    // A replay (the hub retrying after a lost answer) is the same payment, still no error.
    let again = fiscal.record_payment(&p, &key("pay-1")).await.unwrap();
    assert_eq!(again.id, pr.id);
}
