//! Clave and consecutivo: generation, parsing, round trips and rejection of bad input.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use cr_einvoice::{
    Clave, ClaveError, CodigoSeguridad, Consecutivo, SchemaRevision, Situacion, TipoDocumento,
};
use proptest::prelude::*;

fn tipo() -> impl Strategy<Value = TipoDocumento> {
    proptest::sample::select(TipoDocumento::ALL.to_vec())
}

fn situacion() -> impl Strategy<Value = Situacion> {
    prop_oneof![
        Just(Situacion::Normal),
        Just(Situacion::Contingencia),
        Just(Situacion::SinInternet)
    ]
}

proptest! {
    #[test]
    fn consecutivo_round_trips(s in 0u32..=999, t in 0u32..=99_999, tipo in tipo(), n in 1u64..=9_999_999_999) {
        let c = Consecutivo::new(s, t, tipo, n).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = c.to_string();
        prop_assert_eq!(text.len(), 20);
        prop_assert!(text.bytes().all(|b| b.is_ascii_digit()));
        prop_assert_eq!(&text[8..10], tipo.code());
        let back: Consecutivo = text.parse().map_err(|e: ClaveError| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, c);
    }

    #[test]
    fn clave_round_trips(
        days in 0i64..(365 * 90),
        cedula in "[0-9]{9,12}",
        s in 0u32..=999, t in 0u32..=99_999, tipo in tipo(), n in 1u64..=9_999_999_999,
        sit in situacion(),
        code in 0u32..100_000_000,
    ) {
        let fecha = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default() + chrono::Duration::days(days);
        let consecutivo = Consecutivo::new(s, t, tipo, n).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let codigo = CodigoSeguridad::from_number(code).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let clave = Clave::new(fecha, &cedula, consecutivo, sit, &codigo).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(clave.as_str().len(), 50);
        prop_assert!(clave.is_numeric());
        prop_assert!(clave.check_revision(SchemaRevision::V2024).is_ok());
        let back: Clave = clave.as_str().parse().map_err(|e: ClaveError| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.fecha(), fecha);
        prop_assert_eq!(back.emisor_sin_relleno(), cedula.trim_start_matches('0'));
        prop_assert_eq!(back.consecutivo(), &consecutivo);
        prop_assert_eq!(back.situacion(), sit);
        prop_assert_eq!(back.codigo_seguridad(), codigo.as_str());
        prop_assert_eq!(back, clave);
    }

    #[test]
    fn alphanumeric_cedula_is_2026_only(cedula in "[A-Z][A-Za-z0-9]{8,11}") {
        let fecha = NaiveDate::from_ymd_opt(2026, 11, 5).unwrap_or_default();
        let consecutivo = Consecutivo::new(1, 1, TipoDocumento::FacturaElectronica, 1).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let codigo: CodigoSeguridad = "AB12cd34".parse().map_err(|e: ClaveError| TestCaseError::fail(e.to_string()))?;
        let clave = Clave::new(fecha, &cedula, consecutivo, Situacion::Normal, &codigo).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Clave = clave.as_str().parse().map_err(|e: ClaveError| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.check_revision(SchemaRevision::V2024), Err(ClaveError::NotNumeric));
        prop_assert_eq!(back.check_revision(SchemaRevision::V2026), Ok(()));
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,60}") {
        let _ = s.parse::<Clave>();
        let _ = s.parse::<Consecutivo>();
        cr_einvoice::fuzzing::parse_clave(s.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
        cr_einvoice::fuzzing::parse_clave(&b);
    }
}

#[test]
fn consecutivo_ranges() {
    assert_eq!(
        Consecutivo::new(1000, 1, TipoDocumento::FacturaElectronica, 1),
        Err(ClaveError::Sucursal(1000))
    );
    assert_eq!(
        Consecutivo::new(1, 100_000, TipoDocumento::FacturaElectronica, 1),
        Err(ClaveError::Terminal(100_000))
    );
    assert_eq!(
        Consecutivo::new(1, 1, TipoDocumento::FacturaElectronica, 0),
        Err(ClaveError::Numero(0))
    );
    assert!(Consecutivo::new(1, 1, TipoDocumento::FacturaElectronica, 10_000_000_000).is_err());
    let last = Consecutivo::new(1, 1, TipoDocumento::FacturaElectronica, 9_999_999_999)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(last.next(), None);
    assert_eq!(
        "00100001110000000001".parse::<Consecutivo>(),
        Err(ClaveError::Tipo("11".into()))
    );
    assert!(matches!(
        "0010000101000000000".parse::<Consecutivo>(),
        Err(ClaveError::Length { found: 19, .. })
    ));
    assert!(matches!(
        "0010000101000000000x".parse::<Consecutivo>(),
        Err(ClaveError::Character { position: 20, .. })
    ));
}

#[test]
fn clave_date_is_costa_rica_local_date() {
    // 2026-03-16T04:30Z is still 15 March in Costa Rica (UTC-6)
    let utc: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 3, 16, 4, 30, 0)
        .single()
        .unwrap_or_default();
    assert_eq!(
        Clave::fecha_de(&utc),
        NaiveDate::from_ymd_opt(2026, 3, 15).unwrap_or_default()
    );
}

#[test]
fn random_security_code_is_numeric() {
    for _ in 0..100 {
        let c = CodigoSeguridad::random();
        assert_eq!(c.as_str().len(), 8);
        assert!(c.as_str().bytes().all(|b| b.is_ascii_digit()));
    }
}
