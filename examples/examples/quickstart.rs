//! Quick start: push a customer, an invoice with IVA 16 % and an ISR 10 % withholding, and a partial payment
//! into an ERP — here the in-memory `MemoryErp`, so it runs offline — and print the totals and remote refs.
//!
//! ```sh
//! cargo run -p examples --example quickstart
//! ```

use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::model::{
    Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef, Payment, TaxId,
};
use erp_hub_core::money::{Currency, Rounding};
use erp_hub_core::tax::{Tax, TaxKind, TaxRate};
use erp_hub_core::testing::MemoryErp;
use rust_decimal_macros::dec;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> BoxResult<()> {
    let erp: Box<dyn ErpAdapter> = Box::new(MemoryErp::new());
    let company = erp.test_connection().await?;
    println!(
        "connected to {} ({}), home currency {}",
        company.name,
        erp.provider(),
        company.home_currency.unwrap_or_default()
    );

    // 1. The customer, matched by our own reference on every later upsert.
    let mut customer = Customer::new("cust-0001", "Comercializadora del Norte SA de CV");
    customer.tax_ids.push(TaxId::MxRfc {
        rfc: "CNO010101AB1".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: Some("64000".into()),
    });
    customer.email = Some("cuentas@example.mx".into());
    customer.currency = Some(Currency::MXN);
    let customer_ref = erp
        .upsert_customer(&customer, &IdempotencyKey::new("cust-0001-upsert")?)
        .await?;
    println!("customer  {customer_ref}");

    // 2. An invoice: professional services with IVA 16 % transferred and ISR 10 % withheld.
    let iva = Tax::transferred("IVA", TaxRate::Percent(dec!(16)));
    let isr = Tax::withheld("ISR", TaxRate::Percent(dec!(10)));
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).ok_or("bad date")?;
    let mut invoice = Invoice::new(
        "inv-2026-0042",
        PartyRef::resolved("cust-0001", customer_ref.id.clone()),
        date,
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Consultoría contable, noviembre", dec!(12), dec!(1250.00))
            .with_tax(iva.clone())
            .with_tax(isr.clone()),
    )
    .with_line(
        InvoiceLine::new("Timbrado de nómina", dec!(35), dec!(18.50))
            .with_tax(iva)
            .with_tax(isr),
    );
    invoice.series = Some("A".into());
    invoice.number = Some("42".into());

    let totals = invoice.breakdown()?;
    println!("subtotal  {} {}", totals.subtotal.amount(), totals.currency);
    for g in &totals.groups {
        let kind = match g.kind {
            TaxKind::Transferred => "transferred",
            TaxKind::Withheld => "withheld",
            _ => "other",
        };
        let amount = g
            .amount
            .map(|m| m.amount().to_string())
            .unwrap_or_else(|| "exempt".into());
        println!("  {} {kind} on base {}: {amount}", g.code, g.base.amount());
    }
    println!("total     {} {}", totals.total.amount(), totals.currency);

    let invoice_ref = erp
        .create_invoice(&invoice, &IdempotencyKey::new("inv-2026-0042-create")?)
        .await?;
    println!(
        "invoice   {invoice_ref} number {}",
        invoice_ref.number.as_deref().unwrap_or("-")
    );

    // 3. A partial payment: 60 % of the total, by bank transfer.
    let paid = totals
        .total
        .checked_mul(dec!(0.60))?
        .round(Rounding::HalfUp)
        .amount();
    let mut payment = Payment::new(
        "pay-7781",
        PartyRef::resolved("cust-0001", customer_ref.id.clone()),
        date,
        Currency::MXN,
        paid,
    )
    .apply_to(
        DocRef::resolved("inv-2026-0042", invoice_ref.id.clone()),
        paid,
    );
    payment.method = Some("03".into()); // SAT c_FormaPago 03: transferencia electrónica
    let payment_ref = erp
        .record_payment(&payment, &IdempotencyKey::new("pay-7781-record")?)
        .await?;
    println!("payment   {payment_ref} amount {paid}");

    let after = erp.get(EntityKind::Invoice, &invoice_ref.id).await?;
    println!(
        "balance   {} MXN still open on {}",
        after.balance.unwrap_or_default(),
        after.remote
    );
    Ok(())
}
