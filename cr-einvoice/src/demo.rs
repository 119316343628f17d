//! Illustrative documents with made-up taxpayer data, for examples, tests and benchmarks.
//!
//! Every document returned here has its totals computed and passes [`crate::validate`]; none has
//! ever been sent to Hacienda.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;

use crate::clave::{Clave, CodigoSeguridad, Consecutivo, Situacion};
use crate::model::{
    Comprobante, Descuento, Exoneracion, Identificacion, Impuesto, InformacionReferencia,
    LineaDetalle, MedioPago, MensajeReceptor, Parte, RespuestaReceptor, TipoIdentificacion,
    Ubicacion,
};
use crate::revision::SchemaRevision;
use crate::tipo::TipoDocumento;
use crate::{Error, codes};

/// Cédula jurídica of the demo issuer.
pub const EMISOR_CEDULA: &str = "3101234567";
/// Cédula jurídica of the demo customer.
pub const RECEPTOR_CEDULA: &str = "3109876543";

fn empresa(nombre: &str, cedula: &str, correo: &str) -> Parte {
    Parte::new(nombre)
        .with_identificacion(Identificacion::new(
            TipoIdentificacion::CedulaJuridica,
            cedula,
        ))
        .with_ubicacion(Ubicacion::new(1, 1, 1, "100 m norte del parque central"))
        .with_correo(correo)
}

/// A clave for the demo issuer: sucursal 1, terminal 1, the given tipo and número.
pub fn clave(
    tipo: TipoDocumento,
    numero: u64,
    fecha: &DateTime<FixedOffset>,
    cedula: &str,
) -> Result<Clave, Error> {
    let consecutivo = Consecutivo::new(1, 1, tipo, numero)?;
    let codigo = CodigoSeguridad::from_number(u32::try_from(numero % 100_000_000).unwrap_or(0))?;
    Ok(Clave::new(
        Clave::fecha_de(fecha),
        cedula,
        consecutivo,
        Situacion::Normal,
        &codigo,
    )?)
}

fn linea(tipo: TipoDocumento, i: usize) -> LineaDetalle {
    let k = Decimal::from(u64::try_from(i).unwrap_or(0));
    let servicio = i.is_multiple_of(2);
    let mut l = LineaDetalle::new(
        if servicio {
            "8314100000000"
        } else {
            "4399100000000"
        },
        Decimal::new(2000, 3) + k,
        if servicio { "Sp" } else { "Unid" },
        if servicio {
            format!("Consultoría en TI, etapa {}", i + 1)
        } else {
            format!("Repuesto número {}", i + 1)
        },
        Decimal::new(1_234_567, 2) + k,
    )
    .with_impuesto(Impuesto::iva(codes::TARIFA_GENERAL_13, Decimal::new(13, 0)));
    match tipo {
        TipoDocumento::FacturaElectronicaExportacion => {
            l.impuestos = vec![Impuesto::iva("01", Decimal::ZERO)];
        }
        TipoDocumento::ReciboElectronicoPago => {
            l.codigo_cabys = None;
            l.cantidad = Decimal::ZERO;
            l.unidad_medida = String::new();
            l.precio_unitario = Decimal::ZERO;
            l.monto_total = Decimal::new(5_650_000, 2) + k;
            l.detalle = format!("Abono {} a la factura a crédito", i + 1);
        }
        _ => {}
    }
    if i % 3 == 1 && tipo != TipoDocumento::ReciboElectronicoPago {
        l.descuentos.push(
            Descuento::new(Decimal::new(100_000, 2), "07").with_naturaleza("Descuento por volumen"),
        );
    }
    if i % 4 == 3
        && !matches!(
            tipo,
            TipoDocumento::FacturaElectronicaExportacion | TipoDocumento::ReciboElectronicoPago
        )
        && let Some(iva) = l.impuestos.first_mut()
    {
        let fecha = DateTime::parse_from_rfc3339("2025-01-15T08:00:00-06:00").unwrap_or_default();
        iva.exoneracion = Some(
            Exoneracion::new("03", "AL-00012345-24", "01", fecha, Decimal::new(13, 0))
                .with_articulo(5, None),
        );
    }
    if i % 5 == 4 && tipo != TipoDocumento::FacturaElectronicaExportacion {
        l.impuestos = vec![Impuesto::iva(codes::TARIFA_EXENTA, Decimal::ZERO)];
    }
    l
}

/// A complete, valid document of type `tipo` with `lineas` lines (≥ 1) at `fecha`, following
/// schema `revision` (which may differ from the one in force at `fecha`, to test both).
pub fn comprobante(
    tipo: TipoDocumento,
    revision: SchemaRevision,
    fecha: DateTime<FixedOffset>,
    lineas: usize,
) -> Result<Comprobante, Error> {
    use TipoDocumento as T;
    let emisor = empresa(
        "Empresa Demo Sociedad Anónima",
        EMISOR_CEDULA,
        "facturacion@demo.example",
    );
    let receptor = empresa(
        "Cliente Demo S.R.L.",
        RECEPTOR_CEDULA,
        "compras@cliente.example",
    );
    // In a FEC the buyer issues the document: the clave carries the buyer's cédula.
    let (emisor, receptor, issuer) = match tipo {
        T::FacturaElectronicaCompra => {
            let proveedor = Parte::new("Proveedor del Exterior LLC")
                .with_identificacion(Identificacion::new(
                    TipoIdentificacion::ExtranjeroNoDomiciliado,
                    "987654321012",
                ))
                .with_otras_senas_extranjero("1200 Main Street, Springfield, USA");
            let comprador = empresa(
                "Empresa Demo Sociedad Anónima",
                EMISOR_CEDULA,
                "compras@demo.example",
            );
            (proveedor, Some(comprador), EMISOR_CEDULA)
        }
        T::FacturaElectronicaExportacion => {
            let cliente = Parte::new("Importadora Extranjera GmbH")
                .with_otras_senas_extranjero("Hauptstraße 1, 10115 Berlin")
                .with_correo("einkauf@importadora.example");
            (emisor, Some(cliente), EMISOR_CEDULA)
        }
        T::TiqueteElectronico => (emisor, None, EMISOR_CEDULA),
        T::ReciboElectronicoPago => {
            let mut e = emisor;
            e.ubicacion = None;
            let mut r = receptor;
            r.ubicacion = None;
            (e, Some(r), EMISOR_CEDULA)
        }
        _ => (emisor, Some(receptor), EMISOR_CEDULA),
    };
    let own = clave(tipo, 1, &fecha, issuer)?;
    let mut doc = Comprobante::new(own, fecha, EMISOR_CEDULA, emisor, receptor);
    doc.revision = revision;
    doc.codigo_actividad_emisor = Some("620100".to_owned());
    match tipo {
        T::FacturaElectronicaCompra => {
            doc.codigo_actividad_emisor = None;
            doc.codigo_actividad_receptor = Some("620100".to_owned());
        }
        T::ReciboElectronicoPago => {
            doc.codigo_actividad_emisor = None;
            doc.condicion_venta = "11".to_owned();
        }
        _ => {}
    }
    doc.lineas = (0..lineas.max(1)).map(|i| linea(tipo, i)).collect();
    let medio = if tipo == T::ReciboElectronicoPago {
        codes::MEDIO_PAGO_TRANSFERENCIA
    } else {
        codes::MEDIO_PAGO_EFECTIVO
    };
    doc.resumen.medios_pago.push(MedioPago::new(medio));
    let fe_ref = clave(T::FacturaElectronica, 41, &fecha, EMISOR_CEDULA)?;
    let referencia = |codigo: &str, otro: Option<&str>| {
        let mut r = InformacionReferencia::new("01", fecha)
            .with_numero(fe_ref.to_string())
            .with_codigo(codigo)
            .with_razon("Referencia de demostración");
        r.codigo_otro = otro.map(str::to_owned);
        r
    };
    match tipo {
        T::NotaCreditoElectronica => doc.referencias.push(referencia("01", None)),
        T::NotaDebitoElectronica => doc.referencias.push(referencia("02", None)),
        T::FacturaElectronicaCompra => {
            let mut r = referencia("04", None);
            r.tipo_doc = "14".to_owned();
            r.numero = None;
            doc.referencias.push(r);
        }
        T::ReciboElectronicoPago => {
            if revision == SchemaRevision::V2026 {
                doc.referencias
                    .push(referencia(codes::CODIGO_REFERENCIA_PAGO, None));
            } else {
                doc.referencias
                    .push(referencia("99", Some("Pago de factura a crédito")));
            }
        }
        _ => {}
    }
    doc.compute_totals()?;
    Ok(doc)
}

/// A mensaje receptor accepting the demo FE.
pub fn mensaje_receptor(
    revision: SchemaRevision,
    fecha: DateTime<FixedOffset>,
) -> Result<MensajeReceptor, Error> {
    let fe = comprobante(TipoDocumento::FacturaElectronica, revision, fecha, 2)?;
    let mut m = MensajeReceptor::new(
        fe.clave.clone(),
        EMISOR_CEDULA,
        fecha,
        RespuestaReceptor::Aceptado,
        fe.resumen.total_comprobante,
        RECEPTOR_CEDULA,
        Consecutivo::new(1, 1, TipoDocumento::AceptacionReceptor, 1)?,
    );
    m.revision = revision;
    m.detalle_mensaje = Some("Aceptado".to_owned());
    m.monto_total_impuesto = fe.resumen.total_impuesto;
    m.codigo_actividad = Some("620100".to_owned());
    m.condicion_impuesto = Some("01".to_owned());
    m.monto_total_impuesto_acreditar = fe.resumen.total_impuesto;
    Ok(m)
}
