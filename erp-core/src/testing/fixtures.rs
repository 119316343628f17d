//! Record fixtures shared by the hub tests of every crate.

use rust_decimal::Decimal;

use crate::adapter::WriteOp;
use crate::model::{CreditNote, Customer, DocRef, Invoice, InvoiceLine, PartyRef, Payment};
use crate::money::Currency;
use crate::tax::{Tax, TaxRate};

/// One record family `n`: customer `c-{n}`, invoice `inv-{n}` (10 × 100 MXN + IVA 16 % = 1,160), a partial
/// payment `pay-{n}` of 500 and a credit note `cn-{n}` of 100 + IVA, dated 2026-03-01.
///
/// The records come in reverse dependency order (credit note, payment, invoice, customer), so a hub that
/// receives them must order them itself.
///
/// ```
/// use erp_hub_core::adapter::WriteOp;
/// let ops = erp_hub_core::testing::family(7);
/// assert!(matches!(&ops[3], WriteOp::UpsertCustomer(c) if c.external_ref == "c-7"));
/// ```
pub fn family(n: usize) -> Vec<WriteOp> {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
    let iva = || Tax::transferred("IVA", TaxRate::Percent(Decimal::from(16)));
    let c = format!("c-{n}");
    let inv = format!("inv-{n}");
    let invoice = Invoice::new(&inv, PartyRef::external(&c), date, Currency::MXN).with_line(
        InvoiceLine::new("Consultoría", Decimal::from(10), Decimal::from(100)).with_tax(iva()),
    );
    let pay = Payment::new(
        format!("pay-{n}"),
        PartyRef::external(&c),
        date,
        Currency::MXN,
        Decimal::from(500),
    )
    .apply_to(DocRef::external(&inv), Decimal::from(500));
    let cn = CreditNote::new(
        format!("cn-{n}"),
        PartyRef::external(&c),
        DocRef::external(&inv),
        date,
        Currency::MXN,
    )
    .with_line(InvoiceLine::new("Descuento", Decimal::from(1), Decimal::from(100)).with_tax(iva()));
    vec![
        WriteOp::CreateCreditNote(cn),
        WriteOp::RecordPayment(pay),
        WriteOp::CreateInvoice(invoice),
        WriteOp::UpsertCustomer(Customer::new(&c, format!("Cliente {n} SA"))),
    ]
}
