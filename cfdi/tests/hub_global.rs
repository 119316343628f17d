//! Global invoice (feature `hub`): a period's walk-in sales → one CFDI to the public with InformacionGlobal,
//! one Concepto per sale (01010101 / ACT / NoIdentificacion), total equal to the sum of the sales to the cent.

mod pac_mock;

use std::collections::BTreeMap;

use cfdi::hub::{FiscalError, FiscalProfile, GlobalPeriod, GlobalSale, map_global_invoice};
use chrono::NaiveDate;
use erp_hub_core::model::{Customer, Invoice, InvoiceLine, Item, PartyRef, TaxId};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const FECHA: &str = "2026-12-02T09:00:00";

fn profile(regimen: &str) -> FiscalProfile {
    serde_json::from_value(serde_json::json!({
        "emisor": {"rfc": "EKU9003173C9", "nombre": "ESCUELA KEMPER URGATE", "regimen_fiscal": regimen,
                   "lugar_expedicion": "42501"},
        "csd": {"cer": "tests/fixtures/csd/EKU9003173C9.cer", "key": "tests/fixtures/csd/EKU9003173C9.key",
                "password_secret": "csd"},
        "series": {"invoice": "G"},
        "items": {"beer": {"clave_prod_serv": "50202201"}},
    }))
    .unwrap()
}

fn mostrador() -> Customer {
    let mut c = Customer::new("mostrador", "Mostrador");
    c.tax_ids.push(TaxId::MxRfc {
        rfc: "XAXX010101000".into(),
        regimen_fiscal: None,
        postal_code: None,
    });
    c
}

fn named() -> Customer {
    let mut c = Customer::new("c-1", "Universidad Robotica Española");
    c.tax_ids.push(TaxId::MxRfc {
        rfc: "URE180429TM6".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: Some("86991".into()),
    });
    c
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

fn pct(p: Decimal) -> TaxRate {
    TaxRate::Percent(p)
}

fn sale(ext: &str, d: u32, lines: Vec<InvoiceLine>) -> Invoice {
    let mut inv = Invoice::new(ext, PartyRef::external("mostrador"), day(d), Currency::MXN);
    for l in lines {
        inv = inv.with_line(l);
    }
    inv
}

/// Three tickets: IVA 16; IVA 16 + exento (two tax sets); IEPS + IVA with a discount.
fn tickets(d: u32) -> Vec<Invoice> {
    let mut t3 = InvoiceLine::new("Cerveza", dec!(6), dec!(21.37))
        .with_item("beer")
        .with_tax(Tax::transferred("IEPS", pct(dec!(26.5))))
        .with_tax(Tax::transferred("IVA", pct(dec!(16))));
    t3.discount = Some(erp_hub_core::tax::Discount::Percent(dec!(5)));
    let mut t1 = sale(
        "tk-1",
        d,
        vec![
            InvoiceLine::new("Cuaderno", dec!(3), dec!(45.90))
                .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
        ],
    );
    t1.number = Some("T-0001".into());
    vec![
        t1,
        sale(
            "tk-2",
            d,
            vec![
                InvoiceLine::new("Pluma", dec!(2), dec!(12.49))
                    .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
                InvoiceLine::new("Libro", dec!(1), dec!(350))
                    .with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
                InvoiceLine::new("Goma", dec!(4), dec!(3.10))
                    .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
            ],
        ),
        sale("tk-3", d, vec![t3]),
    ]
}

fn sales<'a>(invs: &'a [Invoice], c: &'a Customer) -> Vec<GlobalSale<'a>> {
    invs.iter().map(|i| GlobalSale::new(i, c)).collect()
}

fn items() -> BTreeMap<String, Item> {
    BTreeMap::new()
}

#[test]
fn daily_global_invoice_follows_the_sat_guide_and_matches_the_sales_to_the_cent() {
    let invs = tickets(1);
    let c = mostrador();
    let mut doc = map_global_invoice(
        &profile("601"),
        GlobalPeriod::Daily(day(1)),
        &sales(&invs, &c),
        &items(),
        "GL-20261201",
        "01",
        FECHA,
    )
    .unwrap();
    let g = doc.informacion_global.as_ref().unwrap();
    assert_eq!(
        (g.periodicidad.as_str(), g.meses.as_str(), g.anio.as_str()),
        ("01", "12", "2026")
    );
    let r = &doc.receptor;
    assert_eq!(
        (
            r.rfc.as_str(),
            r.nombre.as_str(),
            r.regimen_fiscal_receptor.as_str(),
            r.uso_cfdi.as_str(),
            r.domicilio_fiscal_receptor.as_str()
        ),
        ("XAXX010101000", "PUBLICO EN GENERAL", "616", "S01", "42501")
    );
    assert_eq!(doc.lugar_expedicion, "42501");
    assert_eq!(doc.metodo_pago.as_deref(), Some("PUE"));
    assert_eq!(doc.serie.as_deref(), Some("G"));
    // tk-2 has two tax sets (IVA 16, exento): two conceptos with its reference.
    let refs: Vec<_> = doc
        .conceptos
        .iter()
        .map(|k| k.no_identificacion.clone().unwrap())
        .collect();
    assert_eq!(refs, ["T-0001", "tk-2", "tk-2", "tk-3"]);
    for k in &doc.conceptos {
        assert_eq!(
            (k.clave_prod_serv.as_str(), k.clave_unidad.as_str()),
            ("01010101", "ACT")
        );
        assert_eq!(k.cantidad, Decimal::ONE);
        assert_eq!(k.descripcion, "Venta");
    }
    // tk-2's IVA 16 concepto carries both taxed lines (2 × 12.49 + 4 × 3.10).
    assert_eq!(doc.conceptos[1].importe, dec!(37.38));
    assert_eq!(doc.conceptos[3].descuento, Some(dec!(6.41)));
    let sum: Decimal = invs
        .iter()
        .map(|i| i.breakdown().unwrap().total.amount())
        .sum();
    assert_eq!(doc.total, sum);
    // Sealed, it validates without errors.
    pac_mock::emisor_csd().seal(&mut doc).unwrap();
    let errors: Vec<_> = cfdi::validate::validate(&doc)
        .into_iter()
        .filter(|f| f.severity == cfdi::validate::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let xml = cfdi::to_xml(&doc);
    assert!(xml.contains("Periodicidad=\"01\""), "{xml}");
}

#[test]
fn periods_give_sat_periodicidad_meses_and_anio() {
    let ig = |p: GlobalPeriod| {
        let g = p.informacion_global().unwrap();
        (g.periodicidad, g.meses, g.anio)
    };
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(ig(GlobalPeriod::Daily(day(31))), s("01", "12", "2026"));
    assert_eq!(
        ig(GlobalPeriod::Weekly(
            NaiveDate::from_ymd_opt(2027, 1, 2).unwrap()
        )),
        s("02", "01", "2027")
    );
    assert_eq!(
        ig(GlobalPeriod::Fortnightly {
            year: 2026,
            month: 2,
            first_half: false
        }),
        s("03", "02", "2026")
    );
    assert_eq!(
        ig(GlobalPeriod::Monthly {
            year: 2026,
            month: 11
        }),
        s("04", "11", "2026")
    );
    for (first, meses) in [
        (1, "13"),
        (3, "14"),
        (5, "15"),
        (7, "16"),
        (9, "17"),
        (11, "18"),
    ] {
        assert_eq!(
            ig(GlobalPeriod::Bimonthly {
                year: 2026,
                first_month: first
            }),
            s("05", meses, "2026")
        );
    }
    assert!(
        GlobalPeriod::Bimonthly {
            year: 2026,
            first_month: 2
        }
        .days()
        .is_none()
    );
    assert_eq!(
        GlobalPeriod::Fortnightly {
            year: 2026,
            month: 2,
            first_half: false
        }
        .days(),
        Some((
            NaiveDate::from_ymd_opt(2026, 2, 16).unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        ))
    );
}

#[test]
fn monthly_global_invoice_covers_the_month_and_bimonthly_needs_regimen_621() {
    let mut invs = tickets(1);
    invs.extend(tickets(30).into_iter().map(|mut i| {
        i.external_ref = format!("{}-b", i.external_ref);
        i.number = None;
        i
    }));
    let c = mostrador();
    let month = GlobalPeriod::Monthly {
        year: 2026,
        month: 12,
    };
    let doc = map_global_invoice(
        &profile("601"),
        month,
        &sales(&invs, &c),
        &items(),
        "GL-202612",
        "01",
        "2027-01-02T09:00:00",
    )
    .unwrap();
    assert_eq!(doc.informacion_global.as_ref().unwrap().meses, "12");
    assert_eq!(doc.conceptos.len(), 8);
    let bim = GlobalPeriod::Bimonthly {
        year: 2026,
        first_month: 11,
    };
    let e = map_global_invoice(
        &profile("601"),
        bim,
        &sales(&invs, &c),
        &items(),
        "GL-B6",
        "01",
        FECHA,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            FiscalError::Field {
                field: "period",
                ..
            }
        ),
        "{e}"
    );
    let doc = map_global_invoice(
        &profile("621"),
        bim,
        &sales(&invs, &c),
        &items(),
        "GL-B6",
        "01",
        FECHA,
    )
    .unwrap();
    assert_eq!(doc.informacion_global.as_ref().unwrap().meses, "18");
}

#[test]
fn bad_sales_are_typed_errors_naming_the_sale() {
    let c = mostrador();
    let day1 = GlobalPeriod::Daily(day(1));
    let go = |invs: &[Invoice], cust: &Customer| {
        map_global_invoice(
            &profile("601"),
            day1,
            &sales(invs, cust),
            &items(),
            "GL-1",
            "01",
            FECHA,
        )
        .unwrap_err()
    };
    // A sale of another day.
    let mut invs = tickets(1);
    invs[2].issue_date = day(2);
    match go(&invs, &c) {
        FiscalError::Field { record, field, .. } => {
            assert_eq!((record.as_str(), field), ("tk-3", "issue_date"))
        }
        e => panic!("{e}"),
    }
    // A customer with a real RFC.
    match go(&tickets(1), &named()) {
        FiscalError::Customer { record, field, .. } => {
            assert_eq!((record.as_str(), field), ("tk-1", "tax_ids.mx_rfc.rfc"))
        }
        e => panic!("{e}"),
    }
    // Another currency.
    let mut invs = tickets(1);
    invs[1].currency = Currency::USD;
    invs[1].exchange_rate = Some(dec!(17.5));
    match go(&invs, &c) {
        FiscalError::Field { record, field, .. } => {
            assert_eq!((record.as_str(), field), ("tk-2", "currency"))
        }
        e => panic!("{e}"),
    }
    // Two sales with one reference.
    let mut invs = tickets(1);
    invs[1].number = Some("T-0001".into());
    assert!(matches!(
        go(&invs, &c),
        FiscalError::Field {
            field: "number",
            ..
        }
    ));
    // No sales.
    assert!(matches!(
        go(&[], &c),
        FiscalError::Field { field: "sales", .. }
    ));
}

#[test]
fn a_sale_whose_lines_cannot_share_one_concepto_is_a_total_mismatch() {
    // Two lines of 0.03 at IVA 16: the ERP rounds each line's IVA (0.00 + 0.00); one concepto of 0.06 has
    // IVA 0.0096 → 0.01. The CFDI cannot reproduce the sale: a typed error, nothing to stamp.
    let invs = vec![sale(
        "tk-odd",
        1,
        vec![
            InvoiceLine::new("Dulce", dec!(1), dec!(0.03))
                .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
            InvoiceLine::new("Dulce", dec!(1), dec!(0.03))
                .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
        ],
    )];
    let erp = invs[0].breakdown().unwrap().total.amount();
    let e = map_global_invoice(
        &profile("601"),
        GlobalPeriod::Daily(day(1)),
        &sales(&invs, &mostrador()),
        &items(),
        "GL-1",
        "01",
        FECHA,
    );
    match e {
        Err(FiscalError::TotalMismatch {
            record,
            erp: e,
            cfdi,
            ..
        }) => {
            assert_eq!(record, "tk-odd");
            assert_eq!(e, erp);
            assert_ne!(cfdi, erp);
        }
        other => panic!("expected a total mismatch, got {other:?} (ERP total {erp})"),
    }
}
