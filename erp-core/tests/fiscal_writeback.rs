//! `ErpAdapter::attach_fiscal_stamp` on MemoryErp: recorded, idempotent, a second UUID refused.

use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::fiscal::{FiscalDocumentKind, FiscalStamp};
use erp_hub_core::model::{Customer, EntityKind, Invoice, InvoiceLine, PartyRef, RemoteRef};
use erp_hub_core::money::Currency;
use erp_hub_core::testing::MemoryErp;
use erp_hub_core::{Error, ErrorKind};
use rust_decimal_macros::dec;

const U1: &str = "1E5A6E1B-9C1B-5319-BFED-123BD143A310";
const U2: &str = "F08A8B8C-26DB-5385-86AF-2A1D354C5CC3";

fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s).unwrap()
}

fn stamp(uuid: &str) -> FiscalStamp {
    FiscalStamp::new(
        "mx-cfdi-4.0",
        FiscalDocumentKind::Invoice,
        uuid,
        "2026-12-01T10:00:00",
        "finkok",
        dec!(116.00),
        "<cfdi:Comprobante/>",
    )
}

async fn invoice(erp: &MemoryErp) -> RemoteRef {
    erp.upsert_customer(&Customer::new("c-1", "Uno SA"), &key("c-1"))
        .await
        .unwrap();
    let inv = Invoice::new(
        "inv-1",
        PartyRef::external("c-1"),
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        Currency::MXN,
    )
    .with_line(InvoiceLine::new("x", dec!(1), dec!(100)));
    erp.create_invoice(&inv, &key("inv-1")).await.unwrap()
}

#[tokio::test]
async fn memory_erp_records_the_stamp_once() {
    let erp = MemoryErp::new();
    let r = invoice(&erp).await;
    let got = erp
        .attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(U1), &key("inv-1-stamp"))
        .await
        .unwrap();
    assert_eq!(got.id, r.id);
    assert_eq!(
        erp.fiscal_stamp(EntityKind::Invoice, &r.id).unwrap().uuid,
        U1
    );
    // Replayed with the same key, and re-sent with a new key: still one stamp.
    erp.attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(U1), &key("inv-1-stamp"))
        .await
        .unwrap();
    erp.attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(U1), &key("inv-1-stamp-2"))
        .await
        .unwrap();
    assert_eq!(erp.fiscal_stamps().len(), 1);
    // A second UUID on the same record is a conflict, never an overwrite.
    let e = erp
        .attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(U2), &key("inv-1-stamp-3"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert_eq!(
        erp.fiscal_stamp(EntityKind::Invoice, &r.id).unwrap().uuid,
        U1
    );
    // Unknown record.
    let e = erp
        .attach_fiscal_stamp(
            EntityKind::Invoice,
            &RemoteRef::new("memory", "nope"),
            &stamp(U1),
            &key("nope"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[tokio::test]
async fn applied_then_timeout_is_replayed_by_key() {
    let erp = MemoryErp::new();
    let r = invoice(&erp).await;
    erp.inject(1, erp_hub_core::testing::Fault::ApplyThenTimeout);
    let e = erp
        .attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(U1), &key("k"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Uncertain { .. }), "{e}");
    erp.attach_fiscal_stamp(EntityKind::Invoice, &r, &stamp(U1), &key("k"))
        .await
        .unwrap();
    assert_eq!(erp.fiscal_stamps().len(), 1);
}

/// An adapter that does not implement the operation answers Unsupported.
struct Bare;

#[async_trait::async_trait]
impl ErpAdapter for Bare {
    fn provider(&self) -> &'static str {
        "bare"
    }
    fn capabilities(&self) -> erp_hub_core::adapter::Capabilities {
        erp_hub_core::adapter::Capabilities::none()
    }
    async fn test_connection(&self) -> erp_hub_core::Result<erp_hub_core::adapter::CompanyInfo> {
        Err(Error::unsupported("x"))
    }
    async fn upsert_customer(
        &self,
        _: &Customer,
        _: &IdempotencyKey,
    ) -> erp_hub_core::Result<RemoteRef> {
        Err(Error::unsupported("x"))
    }
    async fn upsert_item(
        &self,
        _: &erp_hub_core::model::Item,
        _: &IdempotencyKey,
    ) -> erp_hub_core::Result<RemoteRef> {
        Err(Error::unsupported("x"))
    }
    async fn create_invoice(
        &self,
        _: &Invoice,
        _: &IdempotencyKey,
    ) -> erp_hub_core::Result<RemoteRef> {
        Err(Error::unsupported("x"))
    }
    async fn void_invoice(
        &self,
        _: &RemoteRef,
        _: &IdempotencyKey,
    ) -> erp_hub_core::Result<RemoteRef> {
        Err(Error::unsupported("x"))
    }
    async fn record_payment(
        &self,
        _: &erp_hub_core::model::Payment,
        _: &IdempotencyKey,
    ) -> erp_hub_core::Result<RemoteRef> {
        Err(Error::unsupported("x"))
    }
    async fn create_credit_note(
        &self,
        _: &erp_hub_core::model::CreditNote,
        _: &IdempotencyKey,
    ) -> erp_hub_core::Result<RemoteRef> {
        Err(Error::unsupported("x"))
    }
    async fn get(
        &self,
        _: EntityKind,
        _: &str,
    ) -> erp_hub_core::Result<erp_hub_core::adapter::RemoteRecord> {
        Err(Error::unsupported("x"))
    }
    async fn list_changed_since(
        &self,
        _: &[EntityKind],
        _: Option<&erp_hub_core::adapter::ChangeCursor>,
    ) -> erp_hub_core::Result<erp_hub_core::adapter::ChangePage> {
        Err(Error::unsupported("x"))
    }
}

#[tokio::test]
async fn default_is_unsupported() {
    let e = Bare
        .attach_fiscal_stamp(
            EntityKind::Invoice,
            &RemoteRef::new("bare", "1"),
            &stamp(U1),
            &key("k"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}
