//! Sync into Xero: push a customer, an invoice (IVA 16 % plus an ISR 10 % withholding), a partial payment and a
//! credit note, then print the remote references. Runs offline against the in-process mock Xero
//! (`erp_xero::mock`, identity and Accounting API), so no credentials are needed.
//!
//! ```sh
//! cargo run -p examples --example sync_xero
//! ```
//!
//! Against a real organisation, build `XeroConfig::new(client_id, client_secret, redirect_uri)`, run the consent
//! flow (`XeroClient::authorization_request`, then `exchange_code`), pick a tenant from `connections`, and use an
//! `AccountMapping` built from `XeroAdapter::accounts` and `XeroAdapter::tax_rates`.

use std::sync::Arc;

use chrono::NaiveDate;
use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::http::InMemoryTokenStore;
use erp_hub_core::model::{
    CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef, Payment,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_xero::XeroClient;
use erp_xero::testing::MockXero;
use rust_decimal_macros::dec;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> BoxResult<()> {
    let mock = MockXero::start().await;
    let store = Arc::new(InMemoryTokenStore::new());
    mock.connect(&store, "demo-connection"); // what exchange_code() stores after consent
    let client = XeroClient::new(mock.config(), store)?;
    let tenants = client.connections("demo-connection").await?;
    let tenant = tenants.first().ok_or("no tenant")?;
    // The mock's chart of accounts: income 200, bank 090, IVA 16 % = OUTPUT, ISR withheld → account 825.
    let xero = client
        .adapter("demo-connection", &tenant.tenant_id)
        .with_mapping(MockXero::mapping());
    let org = xero.test_connection().await?;
    println!(
        "connected to {} (tenant {}, home currency {})",
        tenant.tenant_name.as_deref().unwrap_or("?"),
        org.id,
        org.home_currency.unwrap_or_default()
    );

    let date = NaiveDate::from_ymd_opt(2026, 1, 15).ok_or("bad date")?;
    let mut customer = Customer::new("cust-0001", "Comercializadora del Norte SA de CV");
    customer.email = Some("cxp@norte.example".into());
    let c = xero
        .upsert_customer(&customer, &IdempotencyKey::new("cust-0001-v1")?)
        .await?;
    println!("customer     {c}");

    let invoice = Invoice::new(
        "F-1042",
        PartyRef::resolved("cust-0001", &c.id),
        date,
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Consultoría", dec!(10), dec!(1250))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16))))
            .with_tax(Tax::withheld("ISR", TaxRate::Percent(dec!(10)))),
    );
    let total = invoice.breakdown()?.total.amount();
    let i = xero
        .create_invoice(&invoice, &IdempotencyKey::new("F-1042-create")?)
        .await?;
    println!(
        "invoice      {i} number {} total {total}",
        i.number.as_deref().unwrap_or("-")
    );

    let paid = dec!(5000);
    let payment = Payment::new(
        "PAY-77",
        PartyRef::resolved("cust-0001", &c.id),
        date,
        Currency::MXN,
        paid,
    )
    .apply_to(DocRef::resolved("F-1042", &i.id), paid);
    let p = xero
        .record_payment(&payment, &IdempotencyKey::new("PAY-77")?)
        .await?;
    println!("payment      {p}");

    let credit = CreditNote::new(
        "NC-7",
        PartyRef::resolved("cust-0001", &c.id),
        DocRef::resolved("F-1042", &i.id),
        date,
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Descuento por pronto pago", dec!(1), dec!(500))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    let n = xero
        .create_credit_note(&credit, &IdempotencyKey::new("NC-7")?)
        .await?;
    println!(
        "credit note  {n} number {}",
        n.number.as_deref().unwrap_or("-")
    );

    let balance = xero
        .get(EntityKind::Invoice, &i.id)
        .await?
        .balance
        .unwrap_or_default();
    println!("invoice balance after payment and credit: {balance:.2} MXN");
    Ok(())
}
