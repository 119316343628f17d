//! The adapter's wire types against the Alegra samples in `tests/fixtures/` (see its README for provenance):
//! observed responses parse, and the request bodies the adapter sends use the field names of the documented
//! request samples and of the observed responses.

use std::collections::BTreeSet;

use erp_alegra::testing::MockAlegra;
use erp_alegra::wire::{AlegraInvoice, Contact, Page};
use erp_alegra::{AlegraError, mapping};
use erp_hub_core::adapter::{ErpAdapter, IdempotencyKey};
use erp_hub_core::model::{Customer, DocRef, Invoice, InvoiceLine, PartyRef, Payment, TaxId};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use rust_decimal_macros::dec;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().filter(|k| !k.starts_with('_')).cloned().collect())
        .unwrap_or_default()
}

#[test]
fn observed_invoice_response_parses_with_string_ids_and_amounts() {
    let raw = fixture("invoice_get_response_alegra-cli.json");
    let inv: AlegraInvoice = serde_json::from_value(raw.clone()).expect("parse");
    assert_eq!(inv.client.as_ref().unwrap().id.as_str(), "12");
    assert_eq!(inv.balance.unwrap().0, dec!(19928.00));
    assert_eq!(inv.items[0].price.0, dec!(16746.218487));
    let rec = mapping::invoice_record(&inv, raw, Currency::COP).expect("map");
    assert_eq!(rec.remote.number.as_deref(), Some("FE341"));
    assert_eq!(rec.balance, Some(dec!(19928)));
    assert!(!rec.voided);
}

#[test]
fn error_sample_maps_to_code_and_message() {
    let body = serde_json::to_vec(&fixture("error_response.json")).unwrap();
    let e = AlegraError::parse(400, &body);
    assert_eq!(e.code, Some(2006));
    assert_eq!(e.message, "El cliente es obligatorio");
}

#[test]
fn contact_sample_parses_and_our_contact_uses_its_field_names() {
    let sample = fixture("contact_create_request_mx.json");
    let c: Contact = serde_json::from_value(sample.clone()).expect("parse");
    assert_eq!(c.cfdi_use.as_deref(), Some("G03"));
    let mut ours = Customer::new("c1", "Acme Tours SA de CV");
    ours.email = Some("billing@acme.example".into());
    ours.tax_ids.push(TaxId::MxRfc {
        rfc: "AAA010101AAA".into(),
        regimen_fiscal: Some("GENERAL_LAW_MORAL_PERSON".into()),
        postal_code: Some("06600".into()),
    });
    ours.passthrough = serde_json::json!({"cfdiUse": "G03"});
    let body = serde_json::to_value(mapping::contact_of(&ours).unwrap()).unwrap();
    let mut body = body;
    body["cfdiUse"] = "G03".into();
    let observed = fixture("response_field_names_alegra-cli.json");
    let known: BTreeSet<String> = observed["fields"]["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    for k in keys(&body) {
        assert!(
            keys(&sample).contains(&k) || known.contains(&k),
            "unknown contact field {k}"
        );
    }
}

#[tokio::test]
async fn request_bodies_use_the_sample_field_names() {
    let mock = MockAlegra::start().await;
    let alegra = mock.adapter().unwrap();
    let key = |k: &str| IdempotencyKey::new(k).unwrap();
    let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
    let c = alegra
        .upsert_customer(&Customer::new("c1", "Acme"), &key("c1"))
        .await
        .unwrap();
    let inv = Invoice::new("i1", PartyRef::resolved("c1", &c.id), date, Currency::MXN).with_line(
        InvoiceLine::new("Tour", dec!(1), dec!(1000))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16)))),
    );
    let i = alegra.create_invoice(&inv, &key("i1")).await.unwrap();
    let p = Payment::new(
        "p1",
        PartyRef::resolved("c1", &c.id),
        date,
        Currency::MXN,
        dec!(100),
    )
    .apply_to(DocRef::resolved("i1", &i.id), dec!(100));
    alegra.record_payment(&p, &key("p1")).await.unwrap();
    let requests = mock.requests();
    let sent = |path: &str| {
        requests
            .iter()
            .find(|r| r.method == "POST" && r.path == path)
            .and_then(|r| r.body.clone())
            .expect("request")
    };
    let observed = fixture("response_field_names_alegra-cli.json");
    for (path, sample, coll) in [
        ("/invoices", "invoice_create_request.json", "invoices"),
        ("/payments", "payment_create_request.json", "payments"),
    ] {
        let body = sent(path);
        let sample = fixture(sample);
        let known: BTreeSet<String> = observed["fields"][coll]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        for k in keys(&body) {
            assert!(
                keys(&sample).contains(&k) || known.contains(&k),
                "{path}: unknown field {k}"
            );
        }
        // Every field of the documented sample is sent, except the invoice's `cfdiUse`: the contact's default
        // applies unless the invoice's passthrough sets it.
        for k in keys(&sample).into_iter().filter(|k| k != "cfdiUse") {
            assert!(body.get(&k).is_some(), "{path}: sample field {k} not sent");
        }
    }
    // Paging as in list_query_params.json.
    let q = fixture("list_query_params.json");
    let list = requests
        .iter()
        .find(|r| r.method == "GET" && r.path == "/invoices")
        .expect("list");
    for k in keys(&q) {
        let want = q[&k].to_string();
        let got = list
            .query
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone());
        if k == "start" {
            assert!(got.is_some());
        } else {
            assert_eq!(got.as_deref(), Some(want.trim_matches('"')), "{k}");
        }
    }
    let _: Page<Value> =
        serde_json::from_value(serde_json::json!({"metadata": {"total": 1}, "data": []})).unwrap();
}
