//! Pushes a customer, an invoice, a payment and a credit note to QuickBooks Online México (Global tax mode) and
//! prints the remote references.
//!
//! Runs offline: it starts `erp_quickbooks::testing::MockQuickBooks`, a stateful in-process QuickBooks mock, and
//! points the adapter at it. For a real company use `Environment::Sandbox` or `Environment::Production`, your
//! app's client id and secret, the realm id from the OAuth callback and a durable `TokenStore`.
//!
//! ```text
//! cargo run -p examples --example sync_quickbooks
//! ```

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use erp_hub_core::http::{InMemoryTokenStore, TokenSet};
use erp_hub_core::model::{
    AccountMapping, CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, PartyRef,
    Payment, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::{ErpAdapter, IdempotencyKey};
use erp_quickbooks::testing::{INITIAL_ACCESS_TOKEN, INITIAL_REFRESH_TOKEN, MockQuickBooks};
use erp_quickbooks::{QuickBooksAdapter, QuickBooksConfig, TaxMode};
use rust_decimal_macros::dec;

const REALM: &str = "9130357992221046";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockQuickBooks::start(REALM).await;

    // Tokens from your OAuth flow (see erp_quickbooks::auth); refreshed and rotated automatically.
    let store = Arc::new(InMemoryTokenStore::new());
    store.insert(
        REALM,
        TokenSet::new(INITIAL_ACCESS_TOKEN)
            .with_refresh_token(INITIAL_REFRESH_TOKEN)
            .with_expires_at(Utc::now() + chrono::Duration::minutes(55)),
    );

    // Our accounts and tax codes → the company's (ids from `QuickBooksAdapter::accounts()` / `tax_codes()`).
    let mut mapping = AccountMapping::new("quickbooks");
    mapping.income_account = Some("79".into());
    mapping.payment_account = Some("35".into());
    mapping.tax_codes.insert("IVA16".into(), "5".into());
    mapping.tax_codes.insert("IVA-EXEMPT".into(), "6".into());

    let config = QuickBooksConfig::new(
        mock.environment(),
        REALM,
        "my-client-id",
        "my-client-secret",
    )?
    .with_tax_mode(TaxMode::Global);
    let qbo = QuickBooksAdapter::new(config, store)?.with_mapping(mapping);

    let company = qbo.test_connection().await?;
    println!("connected to {} ({:?})", company.name, company.country);

    let date = NaiveDate::from_ymd_opt(2026, 1, 15).ok_or("date")?;
    let key = |k: &str| IdempotencyKey::new(k);

    let mut customer = Customer::new("cust-42", "Viajes del Sol S.A. de C.V.");
    customer.email = Some("cxp@viajesdelsol.example".into());
    customer.tax_ids.push(TaxId::MxRfc {
        rfc: "VSO990101AB1".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: Some("06600".into()),
    });
    let c = qbo
        .upsert_customer(&customer, &key("cust-42-upsert")?)
        .await?;
    println!("customer     {c}");

    let party = PartyRef::resolved("cust-42", c.id.clone());
    let invoice = Invoice::new("inv-1001", party.clone(), date, Currency::MXN)
        .with_line(
            InvoiceLine::new("Tour guiado (por persona)", dec!(4), dec!(850))
                .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
        )
        .with_line(
            InvoiceLine::new("Guía impresa", dec!(1), dec!(299))
                .with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
        );
    let total = invoice.breakdown()?.total.amount();
    let inv = qbo
        .create_invoice(&invoice, &key("inv-1001-create")?)
        .await?;
    println!("invoice      {inv} (total {total} MXN)");

    let doc = DocRef::resolved("inv-1001", inv.id.clone());
    let payment = Payment::new("pay-7", party.clone(), date, Currency::MXN, dec!(2000))
        .apply_to(doc.clone(), dec!(2000));
    let p = qbo.record_payment(&payment, &key("pay-7")?).await?;
    println!("payment      {p} (partial: 2000 MXN)");

    let credit = CreditNote::new("cn-3", party, doc, date, Currency::MXN).with_line(
        InvoiceLine::new("Cancelación de un lugar", dec!(1), dec!(850))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    let cn = qbo.create_credit_note(&credit, &key("cn-3")?).await?;
    println!("credit note  {cn}");

    let balance = qbo.get(EntityKind::Invoice, &inv.id).await?.balance;
    println!(
        "invoice {} open balance: {} MXN",
        inv.id,
        balance.unwrap_or_default()
    );
    Ok(())
}
