//! The request-body validator itself: it must reject what Xero's schemas reject, or the checks in the other
//! tests would prove nothing.

mod common;

use serde_json::json;

#[test]
fn operations_resolve_to_their_request_schemas() {
    let spec = common::spec::spec();
    assert_eq!(
        spec.schema_for("PUT", "/Contacts"),
        Some("#/components/schemas/Contacts")
    );
    assert_eq!(
        spec.schema_for("POST", "/Contacts/abc"),
        Some("#/components/schemas/Contacts")
    );
    assert_eq!(
        spec.schema_for("PUT", "/Payments"),
        Some("#/components/schemas/Payments")
    );
    assert_eq!(
        spec.schema_for("PUT", "/CreditNotes/abc/Allocations"),
        Some("#/components/schemas/Allocations")
    );
    assert_eq!(
        spec.schema_for("PUT", "/BatchPayments"),
        Some("#/components/schemas/BatchPayments")
    );
    assert_eq!(spec.schema_for("PUT", "/Nope"), None);
}

#[test]
fn validator_accepts_spec_shapes_and_rejects_wrong_ones() {
    let spec = common::spec::spec();
    let good =
        json!({"Contacts": [{"Name": "Acme", "ContactNumber": "c-1", "EmailAddress": "a@b.c"}]});
    spec.validate("#/components/schemas/Contacts", &good)
        .unwrap();
    // Invented field (strict mode).
    let bad = json!({"Contacts": [{"Name": "Acme", "ContactNumbr": "c-1"}]});
    assert!(
        spec.validate("#/components/schemas/Contacts", &bad)
            .is_err()
    );
    // Too long (maxLength 50).
    let bad = json!({"Contacts": [{"Name": "Acme", "ContactNumber": "x".repeat(51)}]});
    assert!(
        spec.validate("#/components/schemas/Contacts", &bad)
            .is_err()
    );
    // Amount as a string instead of a number.
    let bad = json!({"Payments": [{"Invoice": {"InvoiceID": "00000000-0000-4000-8000-000000000001"},
                                   "Account": {"Code": "090"}, "Date": "2026-01-15", "Amount": "10.00"}]});
    assert!(
        spec.validate("#/components/schemas/Payments", &bad)
            .is_err()
    );
    // Wrong enum.
    let bad = json!({"Invoices": [{"Type": "SALE", "LineAmountTypes": "Exclusive"}]});
    assert!(
        spec.validate("#/components/schemas/Invoices", &bad)
            .is_err()
    );
    let bad = json!({"Invoices": [{"Type": "ACCREC", "LineAmountTypes": "Excl"}]});
    assert!(
        spec.validate("#/components/schemas/Invoices", &bad)
            .is_err()
    );
    // Allocation requires Amount, Invoice and Date.
    let bad = json!({"Allocations": [{"Amount": 1.0, "Invoice": {"InvoiceID": "x"}}]});
    assert!(
        spec.validate("#/components/schemas/Allocations", &bad)
            .is_err()
    );
    // Item requires Code.
    let bad = json!({"Items": [{"Name": "Widget"}]});
    assert!(spec.validate("#/components/schemas/Items", &bad).is_err());
    // Batch payments: the shape the adapter sends validates; a batch has no CurrencyRate (why the adapter
    // refuses an exchange rate on a payment over several invoices), and amounts are numbers.
    let batch = |extra: serde_json::Value, amount: serde_json::Value| {
        let mut b = json!({"Account": {"Code": "090"}, "Date": "2026-01-15", "Reference": "p-1",
            "Details": "SPEI 0042",
            "Payments": [{"Invoice": {"InvoiceID": "00000000-0000-4000-8000-000000000001"},
                          "Amount": amount, "Reference": "p-1"}]});
        if let (Some(b), Some(extra)) = (b.as_object_mut(), extra.as_object()) {
            b.extend(extra.clone());
        }
        json!({ "BatchPayments": [b] })
    };
    let pointer = "#/components/schemas/BatchPayments";
    spec.validate(pointer, &batch(json!({}), json!(10.5)))
        .unwrap();
    assert!(
        spec.validate(pointer, &batch(json!({"CurrencyRate": 17.5}), json!(10.5)))
            .is_err()
    );
    assert!(
        spec.validate(pointer, &batch(json!({}), json!("10.50")))
            .is_err()
    );
}
