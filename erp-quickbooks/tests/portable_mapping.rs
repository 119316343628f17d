//! One invoice, one mapping file, two providers: the tax keys come from erp-hub-core's
//! `AccountMapping::tax_key` in both adapters, so the same file (one section per provider, the same keys) maps
//! transferred, withheld, exempt and compound taxes through QuickBooks and Xero alike.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use erp_hub_core::http::InMemoryTokenStore;
use erp_hub_core::model::{AccountMapping, Customer, EntityKind, Invoice, InvoiceLine, PartyRef};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::{ErpAdapter, IdempotencyKey};
use erp_quickbooks::TaxMode;
use erp_xero::XeroClient;
use erp_xero::testing::MockXero;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn mappings() -> BTreeMap<String, AccountMapping> {
    let text = std::fs::read_to_string(common::fixtures().join("portable_mapping.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn invoice(customer: PartyRef) -> Invoice {
    let iva16 = || Tax::transferred("IVA", TaxRate::Percent(dec!(16)));
    let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
    Invoice::new("port-inv", customer, date, Currency::MXN)
        .with_line(
            InvoiceLine::new("Consultoría", Decimal::from(10), dec!(1250))
                .with_tax(iva16())
                .with_tax(Tax::withheld("ISR", TaxRate::Percent(dec!(10)))),
        )
        .with_line(
            InvoiceLine::new("Libro", Decimal::from(2), dec!(399.90))
                .with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
        )
        .with_line(
            InvoiceLine::new("Refresco", Decimal::from(24), dec!(18.50))
                .with_tax(Tax::transferred("IEPS", TaxRate::Percent(dec!(8))))
                .with_tax(iva16().with_base_including("IEPS")),
        )
}

async fn run(erp: &dyn ErpAdapter) -> (Decimal, Option<Decimal>) {
    let key = |k: &str| IdempotencyKey::new(k).unwrap();
    let c = erp
        .upsert_customer(
            &Customer::new("port-cust", "Portable SA"),
            &key("port-cust"),
        )
        .await
        .unwrap();
    let inv = invoice(PartyRef::resolved("port-cust", c.id));
    let total = inv.breakdown().unwrap().total.amount();
    let r = erp.create_invoice(&inv, &key("port-inv")).await.unwrap();
    let balance = erp.get(EntityKind::Invoice, &r.id).await.unwrap().balance;
    (total, balance)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_mapping_file_maps_the_same_invoice_through_quickbooks_and_xero() {
    let mut file = mappings();
    let qbo_map = file.remove("quickbooks").unwrap();
    let xero_map = file.remove("xero").unwrap();
    // The same keys for every provider: that is what makes the file portable.
    assert_eq!(
        qbo_map.tax_codes.keys().collect::<Vec<_>>(),
        xero_map.tax_codes.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        qbo_map.tax_accounts.keys().collect::<Vec<_>>(),
        xero_map.tax_accounts.keys().collect::<Vec<_>>()
    );

    let (qbo, qmock, _store) = common::adapter(TaxMode::Global).await;
    let qbo = qbo.with_mapping(qbo_map);
    let (q_total, q_balance) = run(&qbo).await;
    assert_eq!(q_balance, Some(q_total));
    let sent = qmock
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path == "invoice")
        .unwrap()
        .body;
    let codes: Vec<&str> = sent["Line"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["SalesItemLineDetail"]["TaxCodeRef"]["value"].as_str())
        .collect();
    assert_eq!(codes, ["5", "6", "5"], "{sent}");

    let xmock = MockXero::start().await;
    let store = Arc::new(InMemoryTokenStore::new());
    xmock.connect(&store, "c");
    let client = XeroClient::new(xmock.config(), store).unwrap();
    let xero = client
        .adapter("c", xmock.tenant_id())
        .with_mapping(xero_map);
    let (x_total, x_balance) = run(&xero).await;
    assert_eq!(x_total, q_total);
    assert_eq!(x_balance, Some(x_total));
    let inv = xmock.records("Invoices").pop().unwrap();
    let lines = inv["LineItems"].as_array().unwrap();
    let types: Vec<&str> = lines.iter().filter_map(|l| l["TaxType"].as_str()).collect();
    // Three document lines and the withheld ISR as a negative line on the RET-ISR10 account.
    assert_eq!(types, ["OUTPUT", "EXEMPTOUTPUT", "TAX001", "NONE"], "{inv}");
    assert_eq!(lines[3]["AccountCode"], "825");
}
