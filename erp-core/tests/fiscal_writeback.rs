//! `ErpAdapter::attach_fiscal_stamp` on MemoryErp: recorded, idempotent, a second UUID refused; through
//! `FiscalAdapter`, a document the authority rejected for good gets its rejected stamp written back too.

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

/// A step whose every invoice is rejected for good by the authority (as Costa Rica's `rechazado`): a
/// Validation error carrying the final stamp ([`Rejected::attach_to`]).
struct RejectingStep(erp_hub_core::fiscal::FiscalOrder);

const CLAVE: &str = "50601012600310123456700100001010000000001100000001";

fn rejected_stamp() -> FiscalStamp {
    FiscalStamp::new(
        "cr-4.4",
        FiscalDocumentKind::Invoice,
        CLAVE,
        "2026-12-01T10:00:00-06:00",
        "hacienda:rechazado",
        dec!(100),
        "<FacturaElectronica/>",
    )
}

#[async_trait::async_trait]
impl erp_hub_core::fiscal::FiscalStep for RejectingStep {
    async fn stamp(
        &self,
        _tenant: &str,
        op: &erp_hub_core::adapter::WriteOp,
    ) -> erp_hub_core::Result<Option<FiscalStamp>> {
        match op {
            erp_hub_core::adapter::WriteOp::CreateInvoice(inv) => {
                Err(erp_hub_core::fiscal::Rejected::attach_to(
                    Error::validation(vec![erp_hub_core::FieldError::new(
                        format!("{}: clave {CLAVE}", inv.external_ref),
                        "rechazado: -37 el total no corresponde a la suma",
                    )]),
                    rejected_stamp(),
                ))
            }
            _ => Ok(None),
        }
    }

    fn order(&self) -> erp_hub_core::fiscal::FiscalOrder {
        self.0
    }
}

/// Stamp first: a rejected document never reaches the ERP, however often it is re-queued (a new key each
/// time, as after a Validation dead letter); the error is that Validation dead letter with the authority's
/// detail. Post first: the ERP record exists, gets the rejected stamp, and the error keeps the key
/// (Transient, naming the ERP record), so a repeat replays the post: one record, one stamp.
#[tokio::test]
async fn a_rejected_document_is_written_back_only_where_it_was_posted() {
    use erp_hub_core::fiscal::{FiscalAdapter, FiscalOrder, Rejected};
    for order in [FiscalOrder::StampThenPost, FiscalOrder::PostThenStamp] {
        let erp = std::sync::Arc::new(MemoryErp::new());
        let fiscal =
            FiscalAdapter::new(erp.clone(), std::sync::Arc::new(RejectingStep(order)), "t1");
        fiscal
            .upsert_customer(&Customer::new("c-1", "Uno SA"), &key("c-1"))
            .await
            .unwrap();
        let inv = Invoice::new(
            "inv-1",
            PartyRef::external("c-1"),
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            Currency::CRC,
        )
        .with_line(InvoiceLine::new("x", dec!(1), dec!(100)));
        for attempt in 0..3 {
            let k = match order {
                FiscalOrder::StampThenPost => key(&format!("inv-1-generation-{attempt}")),
                _ => key("inv-1"),
            };
            let e = fiscal.create_invoice(&inv, &k).await.unwrap_err();
            assert_eq!(Rejected::find(&e), Some(&rejected_stamp()), "{order:?}");
            assert!(e.to_string().contains("-37"), "{order:?}: {e}");
            match order {
                FiscalOrder::StampThenPost => {
                    assert_eq!(e.kind(), ErrorKind::Validation, "{order:?}: {e}");
                }
                _ => {
                    assert_eq!(e.kind(), ErrorKind::Transient, "{order:?}: {e}");
                    let id = &erp.fiscal_stamps()[0].1;
                    assert!(
                        e.to_string().contains(id.as_str()) && e.to_string().contains(CLAVE),
                        "{order:?}: {e}"
                    );
                }
            }
        }
        let stamps = erp.fiscal_stamps();
        match order {
            FiscalOrder::StampThenPost => {
                assert_eq!(erp.count(EntityKind::Invoice), 0, "{order:?}");
                assert!(stamps.is_empty(), "{order:?}");
            }
            _ => {
                assert_eq!(erp.count(EntityKind::Invoice), 1, "{order:?}");
                assert_eq!(stamps.len(), 1, "{order:?}");
                assert_eq!(stamps[0].2, rejected_stamp(), "{order:?}");
            }
        }
    }
}
