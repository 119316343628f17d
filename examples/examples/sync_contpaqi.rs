//! Sync into CONTPAQi Comercial: push a customer, two items, an invoice (IVA 16 % plus an ISR 10 % withholding),
//! a partial payment and a credit note, stamp the invoice through CONTPAQi's own PAC, then print the remote
//! references and the UUID. Runs offline against the in-process reference bridge
//! (`erp_contpaqi::testing::MockContpaqi`: the bridge contract over real HTTP, the SDK simulated in memory).
//!
//! ```sh
//! cargo run -p examples --example sync_contpaqi
//! ```
//!
//! Against a real company, run an agent implementing `erp-contpaqi/bridge/openapi.yaml` on the CONTPAQi machine
//! (see `erp-contpaqi/bridge/WINDOWS_AGENT.md`) and build `ContpaqiConfig::new(agent_url, api_key)`, with the
//! company's conceptos and series in `Conceptos`.

use chrono::NaiveDate;
use erp_contpaqi::ContpaqiAdapter;
use erp_contpaqi::testing::MockContpaqi;
use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::model::{
    CreditNote, Customer, DocRef, EntityKind, Invoice, InvoiceLine, Item, ItemKind, PartyRef,
    Payment, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use rust_decimal_macros::dec;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn key(k: &str) -> BoxResult<IdempotencyKey> {
    Ok(IdempotencyKey::new(k)?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> BoxResult<()> {
    let bridge = MockContpaqi::start().await;
    let contpaqi = ContpaqiAdapter::new(bridge.config())?.with_mapping(MockContpaqi::mapping());
    let company = contpaqi.test_connection().await?;
    println!("company {} ({})", company.name, company.id);

    let date = NaiveDate::from_ymd_opt(2026, 3, 2).ok_or("date")?;
    let iva16 = || Tax::transferred("IVA", TaxRate::Percent(dec!(16)));

    let mut customer = Customer::new("CLI-ACME", "ACME Servicios SA de CV");
    customer.tax_ids.push(TaxId::MxRfc {
        rfc: "ASE010101AB1".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: Some("64000".into()),
    });
    let cust = contpaqi
        .upsert_customer(&customer, &key("cli-acme")?)
        .await?;
    println!("customer {} (version {:?})", cust.id, cust.version);

    let consulting = Item::new(
        "CONSULT-H",
        "CONSULT-H",
        "Consultoría por hora",
        ItemKind::Service,
    );
    let licence = Item::new(
        "LIC-ANUAL",
        "LIC-ANUAL",
        "Licencia anual",
        ItemKind::Product,
    );
    for item in [&consulting, &licence] {
        let r = contpaqi
            .upsert_item(item, &key(&format!("item-{}", item.external_ref))?)
            .await?;
        println!("item {}", r.id);
    }

    let party = PartyRef::resolved("CLI-ACME", cust.id.clone());
    let invoice = Invoice::new("INV-2026-001", party.clone(), date, Currency::MXN)
        .with_line(
            InvoiceLine::new("Consultoría marzo", dec!(10), dec!(1250))
                .with_item("CONSULT-H")
                .with_tax(iva16())
                .with_tax(Tax::withheld("ISR", TaxRate::Percent(dec!(10)))),
        )
        .with_line(
            InvoiceLine::new("Licencia", dec!(1), dec!(3000))
                .with_item("LIC-ANUAL")
                .with_tax(iva16()),
        );
    let total = invoice.breakdown()?.total.amount();
    let inv = contpaqi
        .create_invoice(&invoice, &key("inv-2026-001")?)
        .await?;
    println!("invoice {} folio {:?} total {total}", inv.id, inv.number);

    let doc = DocRef::resolved("INV-2026-001", inv.id.clone());
    let payment = Payment::new(
        "PAY-2026-001",
        party.clone(),
        date,
        Currency::MXN,
        dec!(5000),
    )
    .apply_to(doc.clone(), dec!(5000));
    let pay = contpaqi
        .record_payment(&payment, &key("pay-2026-001")?)
        .await?;
    println!("payment {}", pay.id);

    let credit = CreditNote::new("CN-2026-001", party, doc, date, Currency::MXN).with_line(
        InvoiceLine::new("Descuento por pronto pago", dec!(1), dec!(500))
            .with_item("CONSULT-H")
            .with_tax(iva16()),
    );
    let cn = contpaqi
        .create_credit_note(&credit, &key("cn-2026-001")?)
        .await?;
    println!("credit note {}", cn.id);

    let stamp = contpaqi
        .timbrar(&inv, &key("inv-2026-001-timbrar")?)
        .await?;
    println!("uuid {}", stamp.uuid);
    let again = contpaqi
        .timbrar(&inv, &key("inv-2026-001-timbrar")?)
        .await?;
    println!(
        "uuid again {} (already stamped: {}, stamps made: {})",
        again.uuid,
        again.already_stamped,
        bridge.stamps()
    );

    let read = contpaqi.get(EntityKind::Invoice, &inv.id).await?;
    println!(
        "balance {} (total {total} - payment 5000 - credit 580)",
        read.balance.unwrap_or_default()
    );
    Ok(())
}
