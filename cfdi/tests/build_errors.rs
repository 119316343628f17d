//! Builder errors are structured: each names the field, where it is (concepto, pago, paid
//! document) and the rule it breaks, so callers can match on them instead of parsing messages.

use cfdi::build::{ComprobanteBuilder, ConceptoInput, DoctoInput, PagoBuilder, PagosBuilder};
use cfdi::model::{Complemento, Emisor, Receptor, TimbreFiscalDigital};
use cfdi::{BuildPlace, BuildRule, Comprobante, Error, ErrorKind};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const FECHA: &str = "2025-06-01T12:00:00";
const UUID: &str = "5FB2822E-396D-4725-8521-CDC4BDD20CCF";

fn emisor() -> Emisor {
    Emisor::new("EKU9003173C9", "ESCUELA KEMPER URGATE", "601")
}

fn receptor() -> Receptor {
    Receptor::new(
        "URE180429TM6",
        "UNIVERSIDAD ROBOTICA ESPAÑOLA",
        "86991",
        "601",
        "G03",
    )
}

fn concepto(cantidad: Decimal, valor: Decimal) -> ConceptoInput {
    ConceptoInput::new("01010101", "H87", "Artículo", cantidad, valor)
}

fn ingreso() -> ComprobanteBuilder {
    ComprobanteBuilder::ingreso(FECHA, "42501")
        .forma_pago("01")
        .metodo_pago("PUE")
        .emisor(emisor())
        .receptor(receptor())
}

/// The parts of an [`Error::Build`]; panics on any other error.
#[track_caller]
fn parts(
    r: Result<Comprobante, Error>,
) -> (&'static str, Option<BuildPlace>, Option<String>, BuildRule) {
    match r {
        Err(Error::Build {
            field,
            place,
            value,
            rule,
        }) => (field, place, value, rule),
        other => panic!("expected a build error, got {other:?}"),
    }
}

#[test]
fn concepto_errors_name_the_concepto_field_and_rule() {
    let ok = || concepto(dec!(1), dec!(10)).iva(dec!(0.16));
    let r = ingreso()
        .concepto(ok())
        .concepto(concepto(dec!(0), dec!(10)).iva(dec!(0.16)))
        .build();
    assert_eq!(
        parts(r),
        (
            "Cantidad",
            Some(BuildPlace::Concepto(2)),
            Some("0".into()),
            BuildRule::NotPositive
        )
    );

    let r = ingreso()
        .concepto(concepto(dec!(1.1234567), dec!(10)).iva(dec!(0.16)))
        .build();
    let (field, place, _, rule) = parts(r);
    assert_eq!(
        (field, place, rule),
        (
            "Cantidad",
            Some(BuildPlace::Concepto(1)),
            BuildRule::TooManyDecimals { max: 6 }
        )
    );

    let r = ingreso()
        .concepto(concepto(dec!(1), dec!(-1)).iva(dec!(0.16)))
        .build();
    let (field, place, value, rule) = parts(r);
    assert_eq!(
        (field, place, value.as_deref()),
        ("ValorUnitario", Some(BuildPlace::Concepto(1)), Some("-1"))
    );
    assert!(matches!(rule, BuildRule::OutOfRange { min, .. } if min.is_zero()));

    let r = ingreso()
        .concepto(
            concepto(dec!(1), dec!(10))
                .descuento(dec!(11))
                .iva(dec!(0.16)),
        )
        .build();
    let (field, _, _, rule) = parts(r);
    assert_eq!(
        (field, rule),
        (
            "Descuento",
            BuildRule::OutOfRange {
                min: Decimal::ZERO,
                max: dec!(10.00)
            }
        )
    );

    let r = ingreso()
        .concepto(concepto(dec!(1), dec!(10)).objeto_imp("01").iva(dec!(0.16)))
        .build();
    let (field, _, _, rule) = parts(r);
    assert_eq!(
        (field, rule),
        (
            "Impuestos",
            BuildRule::NotAllowedWhen {
                field: "ObjetoImp",
                value: "01".into()
            }
        )
    );

    let r = ingreso()
        .concepto(concepto(dec!(1), dec!(10)).objeto_imp("02"))
        .build();
    let (field, _, _, rule) = parts(r);
    assert_eq!(
        (field, rule),
        (
            "Impuestos",
            BuildRule::RequiredWhen {
                field: "ObjetoImp",
                value: "02".into()
            }
        )
    );

    let r = ComprobanteBuilder::traslado(FECHA, "42501")
        .emisor(emisor())
        .receptor(receptor())
        .concepto(ok())
        .build();
    let (field, _, _, rule) = parts(r);
    assert_eq!(
        (field, rule),
        (
            "Impuestos",
            BuildRule::NotAllowedWhen {
                field: "TipoDeComprobante",
                value: "T".into()
            }
        )
    );

    let r = ingreso()
        .concepto(concepto(dec!(1), dec!(10)).iva(dec!(0.1600001)))
        .build();
    let (field, place, _, rule) = parts(r);
    assert_eq!(
        (field, place, rule),
        (
            "TasaOCuota",
            Some(BuildPlace::Concepto(1)),
            BuildRule::TooManyDecimals { max: 6 }
        )
    );
}

#[test]
fn comprobante_errors_have_no_place() {
    let r = ingreso().build();
    assert_eq!(parts(r), ("Concepto", None, None, BuildRule::Required));

    let r = ingreso()
        .moneda("USD", None)
        .concepto(concepto(dec!(1), dec!(10)).iva(dec!(0.16)))
        .build();
    assert_eq!(
        parts(r),
        (
            "TipoCambio",
            None,
            None,
            BuildRule::RequiredWhen {
                field: "Moneda",
                value: "USD".into()
            }
        )
    );

    let r = ingreso()
        .moneda("ZZZ", Some(dec!(17.5)))
        .concepto(concepto(dec!(1), dec!(10)).iva(dec!(0.16)))
        .build();
    assert_eq!(
        parts(r),
        (
            "Moneda",
            None,
            Some("ZZZ".into()),
            BuildRule::UnknownCurrency
        )
    );
}

#[test]
fn display_is_built_from_the_parts() {
    let e = ingreso()
        .concepto(concepto(dec!(1), dec!(10)))
        .concepto(concepto(dec!(0), dec!(10)))
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Build);
    assert_eq!(
        e.to_string(),
        "cannot build the CFDI: concepto 2: Cantidad \"0\": must be greater than zero"
    );
}

fn stamped_invoice() -> Comprobante {
    let mut doc = ComprobanteBuilder::ingreso(FECHA, "42501")
        .forma_pago("99")
        .metodo_pago("PPD")
        .emisor(emisor())
        .receptor(receptor())
        .concepto(concepto(dec!(1), dec!(1000)).iva(dec!(0.16)))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut t = TimbreFiscalDigital::default();
    t.uuid = UUID.into();
    doc.complemento = Some(vec![Complemento::Timbre(Box::new(t))]);
    doc
}

#[test]
fn pago_errors_name_the_pago_or_paid_document() {
    let invoice = stamped_invoice();

    let unstamped = ingreso()
        .concepto(concepto(dec!(1), dec!(10)).iva(dec!(0.16)))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let r =
        DoctoInput::from_invoice(&unstamped, 1, dec!(1160), dec!(100)).map(|_| unstamped.clone());
    assert_eq!(
        parts(r),
        ("TimbreFiscalDigital", None, None, BuildRule::Required)
    );

    let r = DoctoInput::from_invoice(&invoice, 1, dec!(1160), dec!(2000)).map(|_| invoice.clone());
    assert_eq!(
        parts(r),
        (
            "ImpPagado",
            Some(BuildPlace::DoctoRelacionado(UUID.into())),
            Some("2000".into()),
            BuildRule::OutOfRange {
                min: Decimal::ZERO,
                max: dec!(1160)
            }
        )
    );

    let r = DoctoInput::from_invoice(&invoice, 0, dec!(1160), dec!(100)).map(|_| invoice.clone());
    assert_eq!(parts(r).0, "NumParcialidad");

    let docto = || {
        DoctoInput::from_invoice(&invoice, 1, dec!(1160), dec!(1160))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let pagos = || {
        PagosBuilder::new(FECHA, "42501")
            .emisor(emisor())
            .receptor(receptor())
    };
    let mxn = || PagoBuilder::new(FECHA, "03", "MXN", None);

    assert_eq!(
        parts(pagos().build()),
        ("Pago", None, None, BuildRule::Required)
    );
    let r = pagos().pago(mxn().docto(docto())).pago(mxn()).build();
    assert_eq!(
        parts(r),
        (
            "DoctoRelacionado",
            Some(BuildPlace::Pago(2)),
            None,
            BuildRule::Required
        )
    );
    let r = pagos()
        .pago(PagoBuilder::new(FECHA, "03", "USD", None).docto(docto()))
        .build();
    assert_eq!(
        parts(r),
        (
            "TipoCambioP",
            Some(BuildPlace::Pago(1)),
            None,
            BuildRule::RequiredWhen {
                field: "MonedaP",
                value: "USD".into()
            }
        )
    );
    // A USD payment of an MXN invoice needs EquivalenciaDR; the error names the paid document.
    let r = pagos()
        .pago(PagoBuilder::new(FECHA, "03", "USD", Some(dec!(17.5))).docto(docto()))
        .build();
    assert_eq!(
        parts(r),
        (
            "EquivalenciaDR",
            Some(BuildPlace::DoctoRelacionado(UUID.into())),
            None,
            BuildRule::RequiredWhen {
                field: "MonedaDR",
                value: "MXN".into()
            }
        )
    );
}
