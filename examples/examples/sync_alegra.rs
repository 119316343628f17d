//! Sync into Alegra (Mexico): push a customer with RFC, two items, an invoice (IVA 16 %), a partial payment and a
//! credit note, stamp the invoice through Alegra's own CFDI stamping, then print the remote references and the
//! UUID. Runs offline against the in-process mock Alegra (`erp_alegra::testing::MockAlegra`), so no credentials
//! are needed.
//!
//! ```sh
//! cargo run -p examples --example sync_alegra
//! ```
//!
//! Against a real company, build `AlegraConfig::new(email, token)` (token from Configuración → Integraciones →
//! API), an `AccountMapping` whose `tax_codes` hold Alegra tax ids (see `AlegraAdapter::taxes`) and whose
//! `payment_account` is a bank account id, and `AlegraAdapter::new(AlegraClient::new(config)?)`.

use chrono::NaiveDate;
use erp_alegra::testing::MockAlegra;
use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::model::{
    Address, AddressKind, CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, Item,
    ItemKind, PartyRef, Payment, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use rust_decimal_macros::dec;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> BoxResult<()> {
    let mock = MockAlegra::start().await;
    let alegra = mock.adapter()?;
    let company = alegra.test_connection().await?;
    println!(
        "company: {} ({}, {}, RFC {})",
        company.name,
        company.country.as_deref().unwrap_or("?"),
        company.home_currency.as_deref().unwrap_or("?"),
        company.tax_id.as_deref().unwrap_or("?")
    );

    let date = NaiveDate::from_ymd_opt(2026, 1, 15).ok_or("date")?;
    let key = |k: &str| IdempotencyKey::new(k);
    let iva16 = || Tax::transferred("IVA", TaxRate::Percent(dec!(16)));

    let mut customer = Customer::new("cust-acme", "Acme Tours SA de CV");
    customer.email = Some("billing@acme.example".into());
    customer.tax_ids.push(TaxId::MxRfc {
        rfc: "AAA010101AAA".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: Some("06600".into()),
    });
    let mut address = Address::new(AddressKind::Billing);
    address.lines = vec!["Av. Reforma 1".into()];
    address.city = Some("Ciudad de México".into());
    address.country = Some("MX".into());
    customer.addresses.push(address);
    customer.passthrough = serde_json::json!({"cfdiUse": "G03"});
    let cust = alegra
        .upsert_customer(&customer, &key("cust-acme-v1")?)
        .await?;
    println!("customer     {cust}");

    let mut tour = Item::new("item-tour", "TOUR", "Tour guiado", ItemKind::Service);
    tour.unit_price = Some(dec!(1000));
    tour.unit = Some("E48".into());
    tour.passthrough = serde_json::json!({"productKey": "90121500"});
    let mut guide = Item::new("item-guide", "GUIDE", "Guía impresa", ItemKind::Product);
    guide.unit_price = Some(dec!(250));
    guide.unit = Some("H87".into());
    guide.passthrough = serde_json::json!({"productKey": "55101500"});
    for item in [&tour, &guide] {
        let r = alegra
            .upsert_item(item, &key(&format!("{}-v1", item.external_ref))?)
            .await?;
        println!("item         {r}  ({})", item.name);
    }

    let party = PartyRef::resolved("cust-acme", cust.id.clone());
    let invoice = Invoice::new("inv-1001", party.clone(), date, Currency::MXN)
        .with_line(
            InvoiceLine::new("Tour guiado", dec!(2), dec!(1000))
                .with_item("item-tour")
                .with_tax(iva16()),
        )
        .with_line(
            InvoiceLine::new("Guía impresa", dec!(1), dec!(250))
                .with_item("item-guide")
                .with_tax(iva16()),
        );
    let inv = alegra
        .create_invoice(&invoice, &key("inv-1001-create")?)
        .await?;
    println!(
        "invoice      {inv}  folio {}",
        inv.number.as_deref().unwrap_or("?")
    );

    let doc = DocRef::resolved("inv-1001", inv.id.clone());
    let payment = Payment::new("pay-1001-1", party.clone(), date, Currency::MXN, dec!(1000))
        .apply_to(doc.clone(), dec!(1000));
    let pay = alegra.record_payment(&payment, &key("pay-1001-1")?).await?;
    println!("payment      {pay}  (partial: 1000.00)");

    let credit = CreditNote::new("cn-1001", party, doc, date, Currency::MXN).with_line(
        InvoiceLine::new("Guía impresa devuelta", dec!(1), dec!(250))
            .with_item("item-guide")
            .with_tax(iva16()),
    );
    let cn = alegra.create_credit_note(&credit, &key("cn-1001")?).await?;
    println!(
        "credit note  {cn}  folio {}",
        cn.number.as_deref().unwrap_or("?")
    );

    let stamp = alegra.stamp_invoice(&inv.id).await?;
    println!(
        "stamped      invoice {} folio {} UUID {}",
        stamp.remote_id,
        stamp.number.as_deref().unwrap_or("?"),
        stamp.uuid
    );
    let again = alegra.stamp_invoice(&inv.id).await?;
    println!(
        "re-stamp     UUID {} (already stamped: {}, stamp calls sent: {})",
        again.uuid,
        again.already_stamped,
        mock.stamp_calls()
    );

    let rec = alegra.get(EntityKind::Invoice, &inv.id).await?;
    println!(
        "balance      {} MXN (2,610.00 − 1,000.00 − 290.00)",
        rec.balance.ok_or("no balance")?
    );
    Ok(())
}
