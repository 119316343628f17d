//! One mutation per validation rule: a valid document changed in one place must produce the
//! rule's code (and the writer must refuse it).

use chrono::{DateTime, Duration, FixedOffset};
use cr_einvoice::validate::{Rule, Severity};
use cr_einvoice::{
    Clave, CodigoSeguridad, Comprobante, Consecutivo, Error, ErrorKind, Identificacion,
    InformacionReferencia, MedioPago, OtroCargo, RespuestaReceptor, SchemaRevision, Situacion,
    TipoDocumento, TipoIdentificacion, demo,
};
use rust_decimal::Decimal;

fn fecha() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-03-15T10:30:00-06:00").unwrap_or_else(|e| panic!("{e}"))
}

fn doc(tipo: TipoDocumento, rev: SchemaRevision) -> Comprobante {
    demo::comprobante(tipo, rev, fecha(), 4).unwrap_or_else(|e| panic!("{e}"))
}

fn fe() -> Comprobante {
    doc(TipoDocumento::FacturaElectronica, SchemaRevision::V2024)
}

#[track_caller]
fn expect(d: &Comprobante, rule: Rule) {
    let report = d.validate();
    assert!(report.has(rule), "expected {} in {report}", rule.code());
    if report.has_errors() {
        match d.to_xml() {
            Err(Error::Invalid(r)) => assert_eq!(r, report),
            other => panic!("writer accepted an invalid document: {other:?}"),
        }
    }
}

fn recompute(mut d: Comprobante) -> Comprobante {
    d.compute_totals().unwrap_or_else(|e| panic!("{e}"));
    d
}

#[test]
fn baseline_documents_are_clean() {
    for rev in [SchemaRevision::V2024, SchemaRevision::V2026] {
        for tipo in TipoDocumento::COMPROBANTES {
            let r = doc(tipo, rev).validate();
            assert!(r.issues.is_empty(), "{tipo} {rev}: {r}");
        }
    }
}

#[test]
fn clave_rules() {
    // letters in the clave under 2024
    let mut d = fe();
    let consecutivo = *d.clave.consecutivo();
    let codigo: CodigoSeguridad = "AB12CD34".parse().unwrap_or_else(|e| panic!("{e}"));
    d.clave = Clave::new(
        Clave::fecha_de(&d.fecha_emision),
        "3101234567",
        consecutivo,
        Situacion::Normal,
        &codigo,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    expect(&d, Rule::ClaveRevision);
    d.revision = SchemaRevision::V2026;
    assert!(!d.validate().has(Rule::ClaveRevision));

    // date in the clave ≠ Costa Rica date of FechaEmision (same instant written in UTC at 04:30
    // of the next day is still fine)
    let mut d = fe();
    d.fecha_emision += Duration::days(1);
    expect(&d, Rule::ClaveFecha);
    let mut d = fe();
    d.fecha_emision =
        DateTime::parse_from_rfc3339("2026-03-16T04:30:00+00:00").unwrap_or_else(|e| panic!("{e}"));
    assert!(!d.validate().has(Rule::ClaveFecha));

    // cédula in the clave ≠ emisor
    let mut d = fe();
    d.emisor.identificacion = Some(Identificacion::new(
        TipoIdentificacion::CedulaJuridica,
        "3101234568",
    ));
    expect(&d, Rule::ClaveEmisor);

    // a mensaje receptor tipo in a comprobante
    let mut d = fe();
    let mr = Consecutivo::new(1, 1, TipoDocumento::AceptacionReceptor, 1)
        .unwrap_or_else(|e| panic!("{e}"));
    d.clave = Clave::new(
        Clave::fecha_de(&d.fecha_emision),
        "3101234567",
        mr,
        Situacion::Normal,
        &CodigoSeguridad::random(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    expect(&d, Rule::ConsecutivoTipo);
}

fn set_receptor_id(d: &mut Comprobante, id: Identificacion) {
    if let Some(r) = d.receptor.as_mut() {
        r.identificacion = Some(id);
    }
}

#[test]
fn identification_rules() {
    let mut d = fe();
    set_receptor_id(
        &mut d,
        Identificacion::new(TipoIdentificacion::CedulaFisica, "3109876543"),
    );
    expect(&d, Rule::Identificacion); // física = 9 digits
    let mut d = fe();
    set_receptor_id(
        &mut d,
        Identificacion::new(TipoIdentificacion::Dimex, "1234567890"),
    );
    expect(&d, Rule::Identificacion); // DIMEX = 11 or 12
    // alphanumeric numbers only from 2026
    let mut d = fe();
    set_receptor_id(
        &mut d,
        Identificacion::new(TipoIdentificacion::ExtranjeroNoDomiciliado, "X1234567"),
    );
    expect(&d, Rule::Identificacion);
    d.revision = SchemaRevision::V2026;
    assert!(!d.validate().has(Rule::Identificacion), "{}", d.validate());
}

#[test]
fn structure_rules() {
    let mut d = fe();
    d.receptor = None;
    expect(&d, Rule::Required);
    let mut d = fe();
    d.codigo_actividad_emisor = None;
    expect(&d, Rule::Required);
    let mut d = doc(TipoDocumento::TiqueteElectronico, SchemaRevision::V2024);
    d.codigo_actividad_receptor = Some("620100".into());
    expect(&d, Rule::NotAllowed);
    let mut d = doc(TipoDocumento::ReciboElectronicoPago, SchemaRevision::V2024);
    d.otros_cargos.push(OtroCargo::new("06", "x", Decimal::ONE));
    expect(&recompute(d), Rule::NotAllowed);
    let mut d = doc(TipoDocumento::NotaCreditoElectronica, SchemaRevision::V2024);
    d.referencias.clear();
    expect(&d, Rule::Count);
    let mut d = fe();
    d.emisor.nombre = "ABC".into();
    expect(&d, Rule::Length);
    let mut d = fe();
    d.lineas[0].detalle = "Servicio \u{1} raro".into();
    expect(&d, Rule::Characters);
    let mut d = fe();
    d.condicion_venta = "00".into();
    expect(&d, Rule::Code);
    let mut d = fe();
    d.lineas[0].impuestos[0].tarifa = Some(Decimal::new(4, 0)); // code 08 means 13 %
    expect(&recompute(d), Rule::Code);
    let mut d = fe();
    d.lineas[0].codigo_cabys = Some("123456789012".into());
    expect(&d, Rule::Cabys);
}

#[test]
fn amount_rules() {
    let mut d = fe();
    d.lineas[0].precio_unitario = Decimal::new(1_000_001, 6); // 1.000001
    let d = recompute(d);
    expect(&d, Rule::Decimals);
    assert!(matches!(d.to_xml(), Err(ref e) if e.kind() == ErrorKind::Validation));
    let mut d = fe();
    d.lineas[0].cantidad = Decimal::new(12_345, 4); // 4 decimals in Cantidad
    expect(&recompute(d), Rule::Decimals);
    let mut d = fe();
    d.lineas[0].precio_unitario = Decimal::new(-5, 0);
    expect(&recompute(d), Rule::Decimals);

    let mut d = fe();
    d.lineas[1].monto_total_linea += Decimal::new(1, 5);
    expect(&d, Rule::LineFormula);
    let mut d = fe();
    d.lineas[0].impuestos[0].monto += Decimal::new(1, 5);
    expect(&d, Rule::LineFormula);
    let mut d = fe();
    d.resumen.total_comprobante += Decimal::new(1, 5);
    expect(&d, Rule::TotalsFormula);
    let mut d = fe();
    d.resumen.total_serv_gravados = d.resumen.total_serv_gravados.map(|t| t + Decimal::ONE);
    expect(&d, Rule::TotalsFormula);
    let mut d = fe();
    if let Some(x) = d.resumen.desglose_impuestos.first_mut() {
        x.total += Decimal::ONE;
    }
    expect(&d, Rule::TotalsFormula);
}

#[test]
fn medio_pago_rules() {
    let mut d = fe();
    d.resumen.medios_pago = vec![MedioPago::new("01"); 5];
    expect(&recompute(d), Rule::Count);
    let mut d = fe();
    d.resumen.medios_pago = vec![MedioPago::new("01"), MedioPago::new("02")];
    expect(&recompute(d), Rule::MedioPago);
    let mut d = fe();
    let total = d.resumen.total_comprobante;
    let mut a = MedioPago::new("01");
    a.total = Some(Decimal::ONE);
    let mut b = MedioPago::new("02");
    b.total = Some(total);
    d.resumen.medios_pago = vec![a.clone(), b];
    expect(&d, Rule::MedioPago);
    let mut c = MedioPago::new("02");
    c.total = Some(total - Decimal::ONE);
    d.resumen.medios_pago = vec![a, c];
    assert!(!d.validate().has_errors(), "{}", d.validate());
}

fn with_reference(
    tipo: TipoDocumento,
    rev: SchemaRevision,
    tipo_doc: &str,
    codigo: &str,
) -> Comprobante {
    let mut d = doc(tipo, rev);
    d.referencias = vec![
        InformacionReferencia::new(tipo_doc, fecha())
            .with_numero("50615032600310123456700100001010000000041100000041")
            .with_codigo(codigo)
            .with_razon("Corrección"),
    ];
    d
}

#[test]
fn referencia_rules_depend_on_the_revision() {
    use SchemaRevision::{V2024, V2026};
    use TipoDocumento::{NotaCreditoElectronica as NC, ReciboElectronicoPago as REP};
    for codigo in ["13", "14", "15", "16"] {
        expect(&with_reference(NC, V2024, "01", codigo), Rule::Referencia);
        assert!(
            !with_reference(NC, V2026, "01", codigo)
                .validate()
                .has_errors()
        );
    }
    for tipo_doc in ["19", "20"] {
        expect(&with_reference(NC, V2024, tipo_doc, "01"), Rule::Referencia);
        assert!(
            !with_reference(NC, V2026, tipo_doc, "01")
                .validate()
                .has_errors()
        );
    }
    // 17 "pago a comprobante" only in REP under 2026
    expect(&with_reference(NC, V2026, "01", "17"), Rule::Referencia);
    expect(&with_reference(REP, V2024, "01", "17"), Rule::Referencia);
    assert!(
        !with_reference(REP, V2026, "01", "17")
            .validate()
            .has_errors()
    );
    expect(&with_reference(NC, V2026, "21", "01"), Rule::Referencia);
    expect(&with_reference(NC, V2026, "01", "18"), Rule::Referencia);
}

#[test]
fn older_revision_after_the_deadline_is_a_warning() {
    let late =
        DateTime::parse_from_rfc3339("2026-12-01T09:00:00-06:00").unwrap_or_else(|e| panic!("{e}"));
    let d = demo::comprobante(
        TipoDocumento::FacturaElectronica,
        SchemaRevision::V2024,
        late,
        2,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = d.validate();
    assert!(r.has(Rule::RevisionDate));
    assert!(
        r.issues.iter().all(|i| i.severity == Severity::Warning),
        "{r}"
    );
    assert!(d.to_xml().is_ok());
}

#[test]
fn mensaje_receptor_rules() {
    let mut m =
        demo::mensaje_receptor(SchemaRevision::V2024, fecha()).unwrap_or_else(|e| panic!("{e}"));
    assert!(m.validate().issues.is_empty(), "{}", m.validate());
    m.mensaje = RespuestaReceptor::Rechazado; // consecutivo is tipo 05 (aceptación)
    assert!(m.validate().has(Rule::ConsecutivoTipo));
    assert!(matches!(m.to_xml(), Err(Error::Invalid(_))));
    let mut m =
        demo::mensaje_receptor(SchemaRevision::V2024, fecha()).unwrap_or_else(|e| panic!("{e}"));
    m.numero_cedula_emisor = "3101234568".into();
    assert!(m.validate().has(Rule::ClaveEmisor));
    m.numero_cedula_emisor = "31012345AB".into();
    assert!(m.validate().has(Rule::Identificacion));
    let mut m =
        demo::mensaje_receptor(SchemaRevision::V2024, fecha()).unwrap_or_else(|e| panic!("{e}"));
    m.total_factura = Decimal::new(1, 6);
    assert!(m.validate().has(Rule::Decimals));
}

#[test]
fn rule_codes_are_unique() {
    let rules = [
        Rule::ClaveRevision,
        Rule::ClaveFecha,
        Rule::ClaveEmisor,
        Rule::ConsecutivoTipo,
        Rule::Identificacion,
        Rule::Required,
        Rule::NotAllowed,
        Rule::Count,
        Rule::Length,
        Rule::Characters,
        Rule::Code,
        Rule::Cabys,
        Rule::Decimals,
        Rule::LineFormula,
        Rule::TotalsFormula,
        Rule::MedioPago,
        Rule::Referencia,
        Rule::RevisionDate,
    ];
    let mut codes: Vec<&str> = rules.iter().map(|r| r.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), rules.len());
    assert!(codes.iter().all(|c| c.starts_with("CR-")));
}

#[test]
fn codes_99_and_credit_need_their_companion_fields() {
    let mut d = fe();
    d.condicion_venta = "99".into();
    expect(&d, Rule::Required);
    d.condicion_venta_otros = Some("Permuta de bienes".into());
    assert!(!d.validate().has_errors(), "{}", d.validate());

    let mut d = fe();
    d.condicion_venta = "02".into();
    expect(&d, Rule::Required);
    d.plazo_credito = Some(30);
    assert!(!d.validate().has_errors(), "{}", d.validate());

    let mut d = fe();
    d.resumen.medios_pago[0].tipo = Some("99".into());
    expect(&d, Rule::Required);

    let mut d = doc(TipoDocumento::NotaCreditoElectronica, SchemaRevision::V2024);
    d.referencias[0].codigo = Some("99".into());
    expect(&d, Rule::Required);
    d.referencias[0].codigo_otro = Some("Ajuste comercial".into());
    assert!(!d.validate().has_errors(), "{}", d.validate());

    let mut d = fe();
    d.lineas[0].impuestos[0].tarifa = None;
    expect(&d, Rule::Required);
}
