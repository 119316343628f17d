//! The XSD-derived body checker itself: it accepts the documented samples and rejects wrong bodies.

mod common;

use serde_json::json;

#[test]
fn documented_samples_pass() {
    let s = common::schema();
    for (entity, file) in [
        ("Customer", "customer_create_request.json"),
        ("Invoice", "invoice_create_request_us.json"),
        ("Invoice", "invoice_create_request_global_mx.json"),
        ("Invoice", "invoice_sparse_update_request.json"),
        ("Payment", "payment_create_request.json"),
        ("CreditMemo", "creditmemo_create_request.json"),
    ] {
        let problems = s.check_body(entity, &common::sample(file));
        assert!(problems.is_empty(), "{file}: {problems:?}");
    }
}

#[test]
fn wrong_bodies_fail() {
    let s = common::schema();
    let unknown = s.check_body(
        "Customer",
        &json!({"DisplayName": "A", "DisplayNam": "typo"}),
    );
    assert!(
        unknown.iter().any(|p| p.contains("DisplayNam")),
        "{unknown:?}"
    );
    let missing = s.check_body("Customer", &json!({"CompanyName": "A"}));
    assert!(
        missing.iter().any(|p| p.contains("DisplayName")),
        "{missing:?}"
    );
    let string_amount = s.check_body(
        "Payment",
        &json!({"CustomerRef": {"value": "1"}, "TotalAmt": "10.00"}),
    );
    assert!(
        string_amount.iter().any(|p| p.contains("TotalAmt")),
        "{string_amount:?}"
    );
    let nested = s.check_body(
        "Invoice",
        &json!({"CustomerRef": {"value": "1"}, "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 1,
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "TaxCode": {"value": "TAX"}}}]}),
    );
    assert!(nested.iter().any(|p| p.contains("TaxCode")), "{nested:?}");
    let not_list = s.check_body(
        "Customer",
        &json!({"DisplayName": "A", "BillAddr": [{"City": "X"}]}),
    );
    assert!(
        not_list.iter().any(|p| p.contains("not repeatable")),
        "{not_list:?}"
    );
    let bad_date = s.check_body(
        "Invoice",
        &json!({"CustomerRef": {"value": "1"}, "TxnDate": "15/01/2026", "Line": []}),
    );
    assert!(
        bad_date.iter().any(|p| p.contains("TxnDate")),
        "{bad_date:?}"
    );
    let update = s.check_body(
        "Customer",
        &json!({"Id": "1", "sparse": true, "DisplayName": "A"}),
    );
    assert!(update.iter().any(|p| p.contains("SyncToken")), "{update:?}");
}
