//! Code lists of the v4.4 schemas used by the models, the totals engine and validation.

/// `Impuesto/Codigo` 01: IVA.
pub const IMPUESTO_IVA: &str = "01";
/// `Impuesto/Codigo` 07: IVA (cálculo especial).
pub const IMPUESTO_IVA_CALCULO_ESPECIAL: &str = "07";
/// `Impuesto/Codigo` 08: IVA régimen de bienes usados (factor).
pub const IMPUESTO_IVA_BIENES_USADOS: &str = "08";
/// Tax codes that are part of `BaseImponible` (selectivo de consumo, bebidas alcohólicas,
/// bebidas envasadas/jabones, cemento).
pub const IMPUESTOS_EN_BASE_IMPONIBLE: [&str; 4] = ["02", "04", "05", "12"];
/// Every `Impuesto/Codigo`.
pub const IMPUESTO_CODIGOS: [&str; 10] =
    ["01", "02", "03", "04", "05", "06", "07", "08", "12", "99"];

/// `CodigoTarifaIVA` 08: tarifa general 13 %.
pub const TARIFA_GENERAL_13: &str = "08";
/// `CodigoTarifaIVA` 10: tarifa exenta.
pub const TARIFA_EXENTA: &str = "10";
/// Every `CodigoTarifaIVA`.
pub const CODIGOS_TARIFA_IVA: [&str; 11] = [
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11",
];

/// The IVA rate in percent of a `CodigoTarifaIVA` (`10` exenta → 0), `None` for unknown codes.
pub fn tarifa_iva(codigo: &str) -> Option<rust_decimal::Decimal> {
    let (mantissa, scale) = match codigo {
        "01" | "05" | "10" | "11" => (0, 0),
        "02" => (1, 0),
        "03" => (2, 0),
        "04" | "06" => (4, 0),
        "07" => (8, 0),
        "08" => (13, 0),
        "09" => (5, 1),
        _ => return None,
    };
    Some(rust_decimal::Decimal::new(mantissa, scale))
}

/// `CondicionVenta` 01: contado.
pub const CONDICION_CONTADO: &str = "01";
/// `CondicionVenta` 02: crédito.
pub const CONDICION_CREDITO: &str = "02";
/// `CondicionVenta` values allowed outside REP.
pub const CONDICIONES_VENTA: [&str; 14] = [
    "01", "02", "03", "04", "05", "06", "07", "08", "10", "12", "13", "14", "15", "99",
];
/// `CondicionVenta` values allowed in REP.
pub const CONDICIONES_VENTA_REP: [&str; 2] = ["09", "11"];

/// `TipoMedioPago` values.
pub const MEDIOS_PAGO: [&str; 8] = ["01", "02", "03", "04", "05", "06", "07", "99"];
/// `TipoMedioPago` 01: efectivo.
pub const MEDIO_PAGO_EFECTIVO: &str = "01";
/// `TipoMedioPago` 04: transferencia.
pub const MEDIO_PAGO_TRANSFERENCIA: &str = "04";

/// `TipoDocIR` values of the 2024 schemas.
pub const TIPOS_DOC_REFERENCIA_2024: [&str; 19] = [
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16",
    "17", "18", "99",
];
/// `TipoDocIR` values added by the 2026 revision (19 FEE, 20 REP).
pub const TIPOS_DOC_REFERENCIA_2026: [&str; 2] = ["19", "20"];
/// `Codigo` (referencia) values of the 2024 schemas.
pub const CODIGOS_REFERENCIA_2024: [&str; 12] = [
    "01", "02", "04", "05", "06", "07", "08", "09", "10", "11", "12", "99",
];
/// `Codigo` (referencia) values added by the 2026 revision for every document.
pub const CODIGOS_REFERENCIA_2026: [&str; 4] = ["13", "14", "15", "16"];
/// `TipoDocIR` 10 "Comprobante electrónico rechazado por el Ministerio de Hacienda".
pub const TIPO_DOC_REFERENCIA_RECHAZADO: &str = "10";
/// `Codigo` (referencia) 16 "Sustituye comprobante electrónico rechazado" (2026 revision).
pub const CODIGO_REFERENCIA_SUSTITUYE_RECHAZADO: &str = "16";
/// `Codigo` (referencia) 17 "pago a comprobante electrónico": 2026 revision, REP only.
pub const CODIGO_REFERENCIA_PAGO: &str = "17";

/// `Descuento/CodigoDescuento` values.
pub const CODIGOS_DESCUENTO: [&str; 10] =
    ["01", "02", "03", "04", "05", "06", "07", "08", "09", "99"];
/// `TipoDocumentoEX1` values.
pub const TIPOS_EXONERACION: [&str; 12] = [
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "99",
];
/// `NombreInstitucion` values.
pub const INSTITUCIONES_EXONERACION: [&str; 13] = [
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "99",
];
/// `TipoDocumentoOC` values.
pub const TIPOS_OTROS_CARGOS: [&str; 11] = [
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "99",
];
/// `CodigoComercial/Tipo` values.
pub const TIPOS_CODIGO_COMERCIAL: [&str; 5] = ["01", "02", "03", "04", "99"];
/// `TipoTransaccion` values.
pub const TIPOS_TRANSACCION: [&str; 13] = [
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13",
];
/// `CondicionImpuesto` values of the mensaje receptor.
pub const CONDICIONES_IMPUESTO: [&str; 5] = ["01", "02", "03", "04", "05"];

/// Units of measure that denote services (`Sp` servicios profesionales, `Spe` servicios
/// personales, `St` servicios técnicos, `Os` otro tipo de servicio, `Al` alquiler de uso
/// habitacional, `Alc` alquiler comercial, `Cm` comisiones, `I` intereses). Used by
/// [`crate::totals::es_servicio`] when a line has no CABYS code.
pub const UNIDADES_SERVICIO: [&str; 8] = ["Sp", "Spe", "St", "Os", "Al", "Alc", "Cm", "I"];
