//! erp_hub_core::model → CFDI (feature `hub`): totals to the cent, PUE/PPD, egreso relations, Pagos 2.0
//! saldos (property test over random partial payment sequences), typed errors naming record and field.

use std::collections::BTreeMap;

use cfdi::Comprobante;
use cfdi::hub::{
    FiscalError, FiscalProfile, PaidInvoice, map_credit_note, map_invoice, map_payment,
};
use cfdi::model::{Complemento, TimbreFiscalDigital};
use chrono::NaiveDate;
use erp_hub_core::model::{
    CreditNote, Customer, DocRef, Invoice, InvoiceLine, Item, ItemKind, PartyRef, Payment, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxRate};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const FECHA: &str = "2026-12-01T10:00:00";

fn profile() -> FiscalProfile {
    serde_json::from_value(serde_json::json!({
        "emisor": {"rfc": "EKU9003173C9", "nombre": "ESCUELA KEMPER URGATE", "regimen_fiscal": "601",
                   "lugar_expedicion": "42501"},
        "csd": {"cer": "tests/fixtures/csd/EKU9003173C9.cer", "key": "tests/fixtures/csd/EKU9003173C9.key",
                "password_secret": "csd"},
        "series": {"invoice": "F", "credit_note": "NC", "payment": "P"},
        "items": {
            "svc": {"clave_prod_serv": "81111500", "clave_unidad": "E48"},
            "beer": {"clave_prod_serv": "50202201"}
        },
        "units": {"piece": "H87"},
        "payment_methods": {"transfer": "03"}
    }))
    .unwrap()
}

fn items() -> BTreeMap<String, Item> {
    let mut beer = Item::new("beer", "BEER-1", "Cerveza", ItemKind::Product);
    beer.unit = Some("piece".into());
    let svc = Item::new("svc", "SVC-1", "Consultoría", ItemKind::Service);
    BTreeMap::from([("beer".into(), beer), ("svc".into(), svc)])
}

fn customer() -> Customer {
    let mut c = Customer::new("c-1", "Universidad Robotica Española");
    c.tax_ids.push(TaxId::MxRfc {
        rfc: "URE180429TM6".into(),
        regimen_fiscal: Some("601".into()),
        postal_code: Some("86991".into()),
    });
    c
}

fn date(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

fn pct(p: Decimal) -> TaxRate {
    TaxRate::Percent(p)
}

/// Mixed taxes: IVA 16 / 8 / 0 / exento, IEPS, ISR and IVA withholdings.
fn mixed_invoice() -> Invoice {
    Invoice::new("inv-1", PartyRef::external("c-1"), date(1), Currency::MXN)
        .with_line(
            InvoiceLine::new("Consultoría", dec!(3), dec!(1234.57))
                .with_item("svc")
                .with_tax(Tax::transferred("IVA", pct(dec!(16))))
                .with_tax(Tax::withheld("ISR", pct(dec!(10))))
                .with_tax(Tax::withheld("IVA", pct(dec!(10.6667)))),
        )
        .with_line(
            InvoiceLine::new("Cerveza", dec!(12), dec!(17.99))
                .with_item("beer")
                .with_tax(Tax::transferred("IEPS", pct(dec!(26.5))))
                .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
        )
        .with_line(
            InvoiceLine::new("Frontera", dec!(2.5), dec!(99.999))
                .with_item("svc")
                .with_tax(Tax::transferred("IVA", pct(dec!(8)))),
        )
        .with_line(
            InvoiceLine::new("Libro", dec!(1), dec!(350))
                .with_item("svc")
                .with_tax(Tax::transferred("IVA", TaxRate::Zero)),
        )
        .with_line(
            InvoiceLine::new("Colegiatura", dec!(1), dec!(5000))
                .with_item("svc")
                .with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
        )
}

fn stamped(mut c: Comprobante, uuid: &str) -> Comprobante {
    let mut t = TimbreFiscalDigital::default();
    t.version = "1.1".into();
    t.uuid = uuid.into();
    c.complemento = Some(vec![Complemento::Timbre(Box::new(t))]);
    c
}

#[test]
fn invoice_with_mixed_taxes_matches_the_erp_total_to_the_cent() {
    let inv = mixed_invoice();
    let c = map_invoice(&profile(), &inv, &customer(), &items(), FECHA).unwrap();
    let erp = inv.breakdown().unwrap();
    assert_eq!(c.total, erp.total.amount());
    assert_eq!(c.sub_total, erp.subtotal.amount());
    assert_eq!(c.tipo_de_comprobante, "I");
    assert_eq!(c.metodo_pago.as_deref(), Some("PUE"));
    assert_eq!(c.forma_pago.as_deref(), Some("03"));
    assert_eq!(c.serie.as_deref(), Some("F"));
    assert_eq!(c.folio.as_deref(), Some("inv-1"));
    assert_eq!(c.receptor.rfc, "URE180429TM6");
    assert_eq!(c.conceptos[0].clave_prod_serv, "81111500");
    assert_eq!(c.conceptos[0].clave_unidad, "E48");
    assert_eq!(
        c.conceptos[1].clave_unidad, "H87",
        "unit mapped from the item's unit"
    );
    assert_eq!(c.conceptos[1].no_identificacion.as_deref(), Some("BEER-1"));
    let imp = c.impuestos.as_ref().unwrap();
    assert_eq!(imp.retenciones.len(), 2);
    assert!(imp.traslados.iter().any(|t| t.tipo_factor == "Exento"));
    assert!(
        imp.traslados
            .iter()
            .any(|t| t.tasa_o_cuota == Some(dec!(0.080000)))
    );
    // Sanity: the comprobante validates (amount rules, catalogs).
    let errors: Vec<_> = cfdi::validate::validate(&c)
        .into_iter()
        .filter(|f| f.severity == cfdi::validate::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn due_date_makes_it_ppd_with_forma_99() {
    let mut inv = mixed_invoice();
    inv.due_date = Some(date(31));
    let c = map_invoice(&profile(), &inv, &customer(), &items(), FECHA).unwrap();
    assert_eq!(c.metodo_pago.as_deref(), Some("PPD"));
    assert_eq!(c.forma_pago.as_deref(), Some("99"));
}

#[test]
fn publico_en_general_gets_informacion_global() {
    let mut c = Customer::new("c-pg", "Mostrador");
    c.tax_ids.push(TaxId::MxRfc {
        rfc: "XAXX010101000".into(),
        regimen_fiscal: None,
        postal_code: None,
    });
    let mut inv = mixed_invoice();
    inv.customer = PartyRef::external("c-pg");
    let doc = map_invoice(&profile(), &inv, &c, &items(), FECHA).unwrap();
    let g = doc.informacion_global.as_ref().unwrap();
    assert_eq!((g.meses.as_str(), g.anio.as_str()), ("12", "2026"));
    assert_eq!(doc.receptor.uso_cfdi, "S01");
}

#[test]
fn bad_input_is_a_typed_error_naming_record_and_field() {
    let p = profile();
    let inv = mixed_invoice();
    // Customer without régimen / CP / RFC.
    for (tax, field) in [
        (
            TaxId::MxRfc {
                rfc: "URE180429TM6".into(),
                regimen_fiscal: None,
                postal_code: Some("86991".into()),
            },
            "tax_ids.mx_rfc.regimen_fiscal",
        ),
        (
            TaxId::MxRfc {
                rfc: "URE180429TM6".into(),
                regimen_fiscal: Some("601".into()),
                postal_code: None,
            },
            "tax_ids.mx_rfc.postal_code",
        ),
    ] {
        let mut c = Customer::new("c-1", "X");
        c.tax_ids.push(tax);
        let e = map_invoice(&p, &inv, &c, &items(), FECHA).unwrap_err();
        assert!(
            matches!(&e, FiscalError::Customer { record, field: f, .. } if record == "inv-1" && *f == field),
            "{e}"
        );
        let core: erp_hub_core::Error = e.into();
        assert_eq!(core.kind(), erp_hub_core::ErrorKind::Validation);
        assert!(core.to_string().contains("inv-1"), "{core}");
    }
    let e = map_invoice(&p, &inv, &Customer::new("c-1", "X"), &items(), FECHA).unwrap_err();
    assert!(
        matches!(
            e,
            FiscalError::Customer {
                field: "tax_ids.mx_rfc",
                ..
            }
        ),
        "{e}"
    );
    // Item without ClaveProdServ mapping (and no default).
    let inv2 = mixed_invoice().with_line(
        InvoiceLine::new("Otro", dec!(1), dec!(10))
            .with_item("unknown-item")
            .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
    );
    let e = map_invoice(&p, &inv2, &customer(), &items(), FECHA).unwrap_err();
    assert!(
        matches!(&e, FiscalError::Unmapped { record, line: 5, field: "item", catalog: "c_ClaveProdServ", .. } if record == "inv-1"),
        "{e}"
    );
    // Currency without TipoCambio.
    let mut usd = mixed_invoice();
    usd.currency = Currency::USD;
    let e = map_invoice(&p, &usd, &customer(), &items(), FECHA).unwrap_err();
    assert!(
        matches!(
            e,
            FiscalError::Field {
                field: "exchange_rate",
                ..
            }
        ),
        "{e}"
    );
    usd.exchange_rate = Some(dec!(17.2345));
    let c = map_invoice(&p, &usd, &customer(), &items(), FECHA).unwrap();
    assert_eq!(c.tipo_cambio, Some(dec!(17.2345)));
    // A compound tax base (IVA over IEPS) has no CFDI form: refused before anything is built.
    let compound = Invoice::new("inv-9", PartyRef::external("c-1"), date(1), Currency::MXN)
        .with_line(
            InvoiceLine::new("Tabaco", dec!(1), dec!(100))
                .with_item("beer")
                .with_tax(Tax::transferred("IEPS", pct(dec!(160))))
                .with_tax(Tax::transferred("IVA", pct(dec!(16))).with_base_including("IEPS")),
        );
    let e = map_invoice(&p, &compound, &customer(), &items(), FECHA).unwrap_err();
    assert!(
        matches!(e, FiscalError::Unmapped { field: "taxes", .. }),
        "{e}"
    );
}

#[test]
fn a_total_the_cfdi_cannot_reproduce_is_refused_before_stamping() {
    // IEPS per unit (a cuota per litre): the ERP charges quantity × cuota, the CFDI builder's Cuota applies to
    // the concepto's Base (its amount). The totals part, so the mapping refuses instead of stamping a CFDI
    // whose Total differs from the ERP invoice.
    let inv = Invoice::new(
        "inv-fuel",
        PartyRef::external("c-1"),
        date(1),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Diesel", dec!(10), dec!(20))
            .with_item("svc")
            .with_tax(Tax::transferred(
                "IEPS",
                TaxRate::PerUnit(erp_hub_core::money::Money::new(dec!(6.4555), Currency::MXN)),
            )),
    );
    let e = map_invoice(&profile(), &inv, &customer(), &items(), FECHA).unwrap_err();
    match &e {
        FiscalError::TotalMismatch {
            record,
            field,
            erp,
            cfdi,
        } => {
            assert_eq!((record.as_str(), *field), ("inv-fuel", "Total"));
            assert_eq!(*erp, inv.breakdown().unwrap().total.amount());
            assert_ne!(erp, cfdi);
        }
        other => panic!("{other}"),
    }
    let core: erp_hub_core::Error = e.into();
    assert_eq!(core.kind(), erp_hub_core::ErrorKind::Validation);
    // Tax-inclusive prices are backed out to a 6-decimal ValorUnitario and still match to the cent.
    for cents in [99, 143, 1999, 25_001] {
        let mut inv = Invoice::new(
            "inv-incl",
            PartyRef::external("c-1"),
            date(1),
            Currency::MXN,
        )
        .with_line(
            InvoiceLine::new("Helado", dec!(7), Decimal::new(cents, 2))
                .with_item("svc")
                .with_tax(Tax::transferred("IEPS", pct(dec!(8))))
                .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
        );
        inv.price_mode = erp_hub_core::tax::PriceMode::Inclusive;
        let c = map_invoice(&profile(), &inv, &customer(), &items(), FECHA).unwrap();
        assert_eq!(c.total, inv.breakdown().unwrap().total.amount());
    }
}

#[test]
fn credit_note_is_an_egreso_related_01_to_the_invoice() {
    let cn = CreditNote::new(
        "cn-1",
        PartyRef::external("c-1"),
        DocRef::external("inv-1"),
        date(2),
        Currency::MXN,
    )
    .with_line(
        InvoiceLine::new("Descuento", dec!(1), dec!(100))
            .with_item("svc")
            .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
    );
    let uuid = "1E5A6E1B-9C1B-5319-BFED-123BD143A310";
    let c = map_credit_note(&profile(), &cn, &customer(), &items(), uuid, FECHA).unwrap();
    assert_eq!(c.tipo_de_comprobante, "E");
    assert_eq!(c.total, dec!(116.00));
    assert_eq!(c.cfdi_relacionados.len(), 1);
    assert_eq!(c.cfdi_relacionados[0].tipo_relacion, "01");
    assert_eq!(c.cfdi_relacionados[0].uuids, vec![uuid.to_string()]);
    assert_eq!(c.receptor.uso_cfdi, "G02");
    assert_eq!(c.serie.as_deref(), Some("NC"));
}

fn ppd_invoice(ext: &str, amount: Decimal, currency: Currency, rate: Option<Decimal>) -> Invoice {
    let mut inv = Invoice::new(ext, PartyRef::external("c-1"), date(1), currency).with_line(
        InvoiceLine::new("Servicio", dec!(1), amount)
            .with_item("svc")
            .with_tax(Tax::transferred("IVA", pct(dec!(16)))),
    );
    inv.due_date = Some(date(31));
    inv.exchange_rate = rate;
    inv
}

fn payment(ext: &str, currency: Currency, rate: Option<Decimal>) -> Payment {
    let mut p = Payment::new(
        ext,
        PartyRef::external("c-1"),
        date(5),
        currency,
        Decimal::ZERO,
    );
    p.method = Some("transfer".into());
    p.exchange_rate = rate;
    p
}

#[test]
fn multi_invoice_payment_with_equivalencia() {
    let p = profile();
    let a = stamped(
        map_invoice(
            &p,
            &ppd_invoice("inv-a", dec!(1000), Currency::MXN, None),
            &customer(),
            &items(),
            FECHA,
        )
        .unwrap(),
        "AAAAAAAA-0000-4000-8000-000000000001",
    );
    let b = stamped(
        map_invoice(
            &p,
            &ppd_invoice("inv-b", dec!(100), Currency::USD, Some(dec!(17.50))),
            &customer(),
            &items(),
            FECHA,
        )
        .unwrap(),
        "AAAAAAAA-0000-4000-8000-000000000002",
    );
    // 1160 MXN invoice A gets 500 MXN; 116 USD invoice B (issued at 17.50 MXN/USD) gets 1015 MXN, which
    // settled 56.00 USD on the payment's day (18.125 MXN/USD): EquivalenciaDR = 56 / 1015 USD per MXN.
    let mut pay = payment("pay-1", Currency::MXN, None)
        .apply_to(DocRef::external("inv-a"), dec!(500))
        .apply_to_foreign(DocRef::external("inv-b"), dec!(1015), dec!(56));
    pay.amount = dec!(1515);
    let paid = [
        PaidInvoice::new("inv-a", &a, &[]),
        PaidInvoice::new("inv-b", &b, &[]),
    ];
    let rep = map_payment(&p, &pay, &customer(), &paid, FECHA)
        .unwrap()
        .unwrap();
    assert_eq!(rep.tipo_de_comprobante, "P");
    let pagos = rep.pagos().unwrap();
    let pago = &pagos.pagos[0];
    assert_eq!(pago.monto, dec!(1515.00));
    assert_eq!(pago.doctos_relacionados.len(), 2);
    let dr_b = &pago.doctos_relacionados[1];
    assert_eq!(dr_b.moneda_dr, "USD");
    assert_eq!(dr_b.equivalencia_dr, Some(dec!(0.0551724138)));
    assert_eq!(dr_b.imp_pagado, dec!(56.00));
    assert_eq!(dr_b.imp_saldo_insoluto, dec!(60.00));
    let errors: Vec<_> = cfdi::validate::validate(&rep)
        .into_iter()
        .filter(|f| f.severity == cfdi::validate::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");

    // Without the amount settled in USD the receipt is refused: the invoice's own rate (of its issue date) is
    // not the payment's.
    let mut guess =
        payment("pay-3", Currency::MXN, None).apply_to(DocRef::external("inv-b"), dec!(1015));
    guess.amount = dec!(1015);
    let paid_b = [PaidInvoice::new("inv-b", &b, &[])];
    match map_payment(&p, &guess, &customer(), &paid_b, FECHA) {
        Err(FiscalError::Field {
            record,
            field,
            problem,
        }) => {
            assert_eq!(
                (record.as_str(), field),
                ("pay-3", "applications.invoice_amount")
            );
            assert!(
                problem.contains("inv-b") && problem.contains("USD"),
                "{problem}"
            );
        }
        other => panic!("{other:?}"),
    }
    // A USD payment of a peso invoice needs no settled amount: EquivalenciaDR is its TipoCambioP.
    let mut usd = payment("pay-4", Currency::USD, Some(dec!(18.125)))
        .apply_to(DocRef::external("inv-a"), dec!(20));
    usd.amount = dec!(20);
    let paid_a = [PaidInvoice::new("inv-a", &a, &[])];
    let rep = map_payment(&p, &usd, &customer(), &paid_a, FECHA)
        .unwrap()
        .unwrap();
    let dr_a = &rep.pagos().unwrap().pagos[0].doctos_relacionados[0];
    assert_eq!(dr_a.equivalencia_dr, Some(dec!(18.125)));
    assert_eq!(dr_a.imp_pagado, dec!(362.50));
    // A payment touching only PUE invoices needs no receipt.
    let pue = stamped(
        map_invoice(&p, &mixed_invoice(), &customer(), &items(), FECHA).unwrap(),
        "AAAAAAAA-0000-4000-8000-000000000003",
    );
    let mut only_pue =
        payment("pay-2", Currency::MXN, None).apply_to(DocRef::external("inv-1"), dec!(10));
    only_pue.amount = dec!(10);
    let paid = [PaidInvoice::new("inv-1", &pue, &[])];
    assert!(
        map_payment(&p, &only_pue, &customer(), &paid, FECHA)
            .unwrap()
            .is_none()
    );
    // An invoice without a stamp is named.
    let e = map_payment(&p, &only_pue, &customer(), &[], FECHA).unwrap_err();
    assert!(
        matches!(&e, FiscalError::NotStamped { field, reference, .. } if field == "applications[0].invoice" && reference == "inv-1"),
        "{e}"
    );
    // Without a payment method there is no FormaDePagoP.
    let mut no_method = pay.clone();
    no_method.method = None;
    let paid = [
        PaidInvoice::new("inv-a", &a, &[]),
        PaidInvoice::new("inv-b", &b, &[]),
    ];
    let e = map_payment(&p, &no_method, &customer(), &paid, FECHA).unwrap_err();
    assert!(
        matches!(
            e,
            FiscalError::Field {
                field: "method",
                ..
            }
        ),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random partial payment sequences of one PPD invoice: NumParcialidad counts 1..n, ImpSaldoAnt(n) =
    /// ImpSaldoInsoluto(n−1), the first ImpSaldoAnt is the invoice total and the last insoluto is 0.
    #[test]
    fn pagos_saldos_chain(net_cents in 100i64..10_000_000, weights in prop::collection::vec(1u32..100, 1..8)) {
        let p = profile();
        let inv = ppd_invoice("inv-p", Decimal::new(net_cents, 2), Currency::MXN, None);
        let doc = stamped(
            map_invoice(&p, &inv, &customer(), &items(), FECHA).unwrap(),
            "BBBBBBBB-0000-4000-8000-000000000001",
        );
        let total = doc.total;
        // Split the total into len(weights) positive cent amounts.
        let mut scaled = total * dec!(100);
        scaled.rescale(0);
        let total_cents = i64::try_from(scaled.mantissa()).unwrap();
        let wsum: i64 = weights.iter().map(|w| i64::from(*w)).sum();
        let n = weights.len().min(total_cents as usize);
        let mut parts: Vec<i64> = weights[..n].iter().map(|w| (total_cents * i64::from(*w) / wsum).max(1)).collect();
        let assigned: i64 = parts.iter().sum();
        let last = parts.len() - 1;
        parts[last] += total_cents - assigned;
        prop_assume!(parts.iter().all(|c| *c > 0));
        let mut receipts: Vec<Comprobante> = Vec::new();
        let mut previous_insoluto = total;
        for (i, cents) in parts.iter().enumerate() {
            let amount = Decimal::new(*cents, 2);
            let mut pay = payment(&format!("pay-{i}"), Currency::MXN, None)
                .apply_to(DocRef::external("inv-p"), amount);
            pay.amount = amount;
            let rep = {
                let paid = [PaidInvoice::new("inv-p", &doc, &receipts)];
                map_payment(&p, &pay, &customer(), &paid, FECHA).unwrap().unwrap()
            };
            let dr = rep.pagos().unwrap().pagos[0].doctos_relacionados[0].clone();
            prop_assert_eq!(dr.num_parcialidad, (i + 1).to_string());
            prop_assert_eq!(dr.imp_saldo_ant, previous_insoluto);
            prop_assert_eq!(dr.imp_saldo_insoluto, dr.imp_saldo_ant - dr.imp_pagado);
            previous_insoluto = dr.imp_saldo_insoluto;
            // Receipts come back from the journal in any order.
            receipts.insert(0, rep);
        }
        prop_assert_eq!(previous_insoluto, Decimal::ZERO);
        // Paying more than what is left is refused.
        let mut over = payment("pay-over", Currency::MXN, None).apply_to(DocRef::external("inv-p"), dec!(0.01));
        over.amount = dec!(0.01);
        let paid = [PaidInvoice::new("inv-p", &doc, &receipts)];
        prop_assert!(map_payment(&p, &over, &customer(), &paid, FECHA).is_err());
    }
}
