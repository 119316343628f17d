//! The model ⇄ CONTPAQi mapping on its own: the tax slot grammar, field limits, document keys.

use erp_contpaqi::mapping::{self, Slot};
use erp_contpaqi::wire::DocKey;
use erp_contpaqi::{AccountMapping, Conceptos};
use erp_hub_core::model::{Customer, Invoice, InvoiceLine, PartyRef};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use erp_hub_core::{Error, ErrorKind};
use rust_decimal_macros::dec;

fn iva16() -> Tax {
    Tax::transferred("IVA", TaxRate::Percent(dec!(16)))
}

fn isr10() -> Tax {
    Tax::withheld("ISR", TaxRate::Percent(dec!(10)))
}

fn mapping(pairs: &[(&str, &str)]) -> AccountMapping {
    let mut m = AccountMapping::new("contpaqi");
    for (k, v) in pairs {
        m.tax_codes.insert((*k).into(), (*v).into());
    }
    m
}

#[test]
fn slots_follow_the_tax_key_in_order_and_refuse_misfits() {
    let m = mapping(&[
        ("IVA16+RET-ISR10", "impuesto1+retencion2"),
        ("IVA16", "retencion1"),
        ("RET-ISR10", "impuesto1+retencion2"),
    ]);
    assert_eq!(
        mapping::slots(&m, &[iva16(), isr10()]).expect("mapped"),
        vec![Slot::Impuesto1, Slot::Retencion2]
    );
    for (taxes, needle) in [
        (vec![iva16()], "does not fit"),
        (vec![isr10()], "2 slots for 1 taxes"),
        (
            vec![Tax::transferred("IEPS", TaxRate::Percent(dec!(8)))],
            "IEPS8",
        ),
    ] {
        let err = mapping::slots(&m, &taxes).expect_err("misfit");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[test]
fn invoice_amounts_are_erp_hubs_and_the_codigo_and_reference_limits_hold() {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).expect("date");
    let m = mapping(&[("IVA16+RET-ISR10", "impuesto1+retencion2")]);
    let inv = Invoice::new(
        "INV-1",
        PartyRef::resolved("CLI-1", "CLI-1"),
        date,
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Consultoría", dec!(3), dec!(333.33))
            .with_tax(iva16())
            .with_tax(isr10()),
    );
    let alta = mapping::factura(&inv, &m, &Conceptos::default()).expect("alta");
    let mov = &alta.movimientos[0];
    assert_eq!(mov.neto.0, dec!(999.99));
    assert_eq!(mov.impuesto1.map(|a| a.0), Some(dec!(160.00)));
    assert_eq!(mov.retencion2.map(|a| a.0), Some(dec!(100.00)));
    assert_eq!(mov.porcentaje_impuesto1.map(|a| a.0), Some(dec!(16)));
    assert_eq!(
        (alta.concepto.as_str(), alta.serie.as_str(), alta.folio),
        ("4", "F", None)
    );
    let total = inv.breakdown().expect("breakdown").total.amount();
    assert_eq!(mov.neto.0 + dec!(160.00) - dec!(100.00), total);

    let mut long = inv.clone();
    long.external_ref = "x".repeat(51);
    match mapping::factura(&long, &m, &Conceptos::default()) {
        Err(Error::Validation { errors, .. }) => assert_eq!(errors[0].field, "external_ref"),
        other => panic!("expected Validation, got {other:?}"),
    }
    let mut bad_folio = inv;
    bad_folio.number = Some("F-12".into());
    let err = mapping::factura(&bad_folio, &m, &Conceptos::default()).expect_err("folio");
    assert!(err.to_string().contains("number"), "{err}");

    let c = Customer::new("c".repeat(31), "Cliente SA");
    match mapping::cliente(&c) {
        Err(Error::Validation { errors, .. }) => assert_eq!(errors[0].field, "external_ref"),
        other => panic!("expected Validation, got {other:?}"),
    }
    let mut c = Customer::new("CLI-1", "Cliente SA");
    c.phone = Some("+52 (55) 1234-5678".into());
    assert_eq!(
        mapping::cliente(&c).expect("ok").telefono.as_deref(),
        Some("+525512345678")
    );
    c.phone = Some("+52 55 1234 5678 ext 12345".into());
    assert!(mapping::cliente(&c).is_err());
}

#[test]
fn document_keys_round_trip_and_reject_garbage() {
    let k = DocKey::new("4", "", 12);
    assert_eq!(k.remote_id(), "4//12");
    assert_eq!(DocKey::parse("4//12"), Some(k));
    assert_eq!(
        DocKey::parse("NOTA/CR/NC/3").map(|k| k.concepto),
        Some("NOTA/CR".into())
    );
    for bad in [
        "",
        "4/F",
        "4/F/0",
        "4/F/-1",
        "/F/1",
        "4/F/x",
        "4/F/99999999999999999999",
    ] {
        assert_eq!(DocKey::parse(bad), None, "{bad}");
    }
}
