//! Supplier v4.3 FE / NC / ND for the receiving-side tests, written as XML text (schema-valid against the
//! vendored v4.3 XSDs, checked in `tests/receive_v43.rs`) and signed with the crate's signer.
#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;

use chrono::DateTime;
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::parse::v43;
use cr_einvoice::xades::{self, SignOptions, SignaturePolicy};
use cr_einvoice::{Decimal, FixedOffset, SecretString, TipoDocumento, demo};
use std::path::{Path, PathBuf};

pub fn xsd_dir() -> PathBuf {
    Path::new(FIXTURES).join("xsd/xsd")
}

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

pub fn key() -> SigningKey {
    let p12 = std::fs::read(format!("{FIXTURES}/receive/hacienda-emisor.p12")).unwrap();
    SigningKey::from_pkcs12(&p12, &SecretString::from("1234")).unwrap()
}

/// A date when suppliers still issued v4.3 (before 1 September 2025).
pub fn fecha() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-03-15T10:30:00-06:00").unwrap()
}

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// One line tax: (Codigo, CodigoTarifa, Tarifa, Monto, exoneration (PorcentajeExoneracion, MontoExoneracion)).
pub type Tax = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    Option<(&'static str, &'static str)>,
);

/// A line: CABYS, Cantidad, UnidadMedida, PrecioUnitario, discount, taxes, and its category (servicio?).
pub struct Line {
    pub cabys: &'static str,
    pub cantidad: &'static str,
    pub unidad: &'static str,
    pub precio: &'static str,
    pub descuento: Option<&'static str>,
    pub taxes: Vec<Tax>,
}

impl Line {
    pub fn monto_total(&self) -> Decimal {
        cr_einvoice::totals::round5(dec(self.cantidad) * dec(self.precio))
    }
    pub fn descuento(&self) -> Decimal {
        self.descuento.map_or(Decimal::ZERO, dec)
    }
    pub fn sub_total(&self) -> Decimal {
        self.monto_total() - self.descuento()
    }
    pub fn neto(&self) -> Decimal {
        self.taxes
            .iter()
            .map(|t| dec(t.3) - t.4.map_or(Decimal::ZERO, |e| dec(e.1)))
            .sum()
    }
    pub fn iva(&self) -> Decimal {
        self.taxes
            .iter()
            .filter(|t| t.0 == "01")
            .map(|t| dec(t.3) - t.4.map_or(Decimal::ZERO, |e| dec(e.1)))
            .sum()
    }
    pub fn servicio(&self) -> bool {
        self.unidad == "Sp"
    }
}

/// A service with a discount and 13 % IVA.
pub fn servicio() -> Line {
    Line {
        cabys: "8314100000000",
        cantidad: "2",
        unidad: "Sp",
        precio: "5000",
        descuento: Some("1000"),
        taxes: vec![("01", Some("08"), Some("13"), "1170", None)],
    }
}

/// Goods with 13 % IVA, half of it exonerated.
pub fn exonerada() -> Line {
    Line {
        cabys: "4321000000000",
        cantidad: "1",
        unidad: "Unid",
        precio: "20000",
        descuento: None,
        taxes: vec![("01", Some("08"), Some("13"), "2600", Some(("50", "1300")))],
    }
}

/// Exempt goods with a 3-decimal quantity and another tax (code 99, not IVA).
pub fn exenta() -> Line {
    Line {
        cabys: "2391000000000",
        cantidad: "1.5",
        unidad: "kg",
        precio: "1000.50",
        descuento: None,
        taxes: vec![("99", None, None, "100", None)],
    }
}

/// What to write: the document type, its lines, other charges, and edits for the bad cases.
pub struct Spec {
    pub tipo: TipoDocumento,
    pub lines: Vec<Line>,
    pub otros_cargos: Vec<&'static str>,
    pub clave_cedula: &'static str,
    pub receptor: &'static str,
    pub total_comprobante: Option<&'static str>,
}

impl Spec {
    pub fn new(tipo: TipoDocumento, lines: Vec<Line>) -> Self {
        Self {
            tipo,
            lines,
            otros_cargos: Vec::new(),
            clave_cedula: demo::EMISOR_CEDULA,
            receptor: demo::RECEPTOR_CEDULA,
            total_comprobante: None,
        }
    }
    pub fn root(&self) -> &'static str {
        match self.tipo {
            TipoDocumento::FacturaElectronica => "FacturaElectronica",
            TipoDocumento::NotaCreditoElectronica => "NotaCreditoElectronica",
            _ => "NotaDebitoElectronica",
        }
    }
    pub fn xsd(&self) -> PathBuf {
        xsd_dir().join(format!("v4.3/{}_V4.3.xsd", self.root()))
    }
    pub fn consecutivo(&self) -> String {
        format!("0010000{}{}0000000042", 1, self.tipo.code())
    }
    pub fn clave(&self) -> String {
        format!(
            "506{}{:0>12}{}1{}",
            fecha().format("%d%m%y"),
            self.clave_cedula,
            self.consecutivo(),
            "12345678"
        )
    }
    pub fn iva(&self) -> Decimal {
        self.lines.iter().map(Line::iva).sum()
    }
    pub fn total_impuesto(&self) -> Decimal {
        self.lines.iter().map(Line::neto).sum()
    }
    pub fn total_comprobante(&self) -> Decimal {
        let venta: Decimal = self.lines.iter().map(Line::sub_total).sum();
        let otros: Decimal = self.otros_cargos.iter().map(|c| dec(c)).sum();
        venta + self.total_impuesto() + otros
    }

    /// The v4.3 XML text, unsigned.
    pub fn xml(&self) -> String {
        let ns = v43::namespace(self.tipo).unwrap();
        let mut x = String::new();
        let fecha_emision = fecha().to_rfc3339();
        write!(
            x,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="{ns}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<Clave>{clave}</Clave>
<CodigoActividad>721001</CodigoActividad>
<NumeroConsecutivo>{consecutivo}</NumeroConsecutivo>
<FechaEmision>{fecha_emision}</FechaEmision>
<Emisor><Nombre>Proveedor de Prueba S.A.</Nombre><Identificacion><Tipo>02</Tipo><Numero>{emisor}</Numero></Identificacion><NombreComercial>Proveedor</NombreComercial><Ubicacion><Provincia>1</Provincia><Canton>01</Canton><Distrito>01</Distrito><OtrasSenas>Avenida 2</OtrasSenas></Ubicacion><Telefono><CodigoPais>506</CodigoPais><NumTelefono>22223333</NumTelefono></Telefono><CorreoElectronico>ventas@proveedor.example</CorreoElectronico></Emisor>
<Receptor><Nombre>Cliente de Prueba S.A.</Nombre><Identificacion><Tipo>02</Tipo><Numero>{receptor}</Numero></Identificacion><CorreoElectronico>compras@cliente.example</CorreoElectronico></Receptor>
<CondicionVenta>02</CondicionVenta><PlazoCredito>30</PlazoCredito><MedioPago>04</MedioPago>
<DetalleServicio>"#,
            root = self.root(),
            clave = self.clave(),
            consecutivo = self.consecutivo(),
            emisor = demo::EMISOR_CEDULA,
            receptor = self.receptor,
        )
        .unwrap();
        let [mut sg, mut se, mut sx, mut mg, mut me, mut mx] = [Decimal::ZERO; 6];
        for (i, l) in self.lines.iter().enumerate() {
            write!(
                x,
                "<LineaDetalle><NumeroLinea>{}</NumeroLinea><Codigo>{}</Codigo><CodigoComercial><Tipo>04</Tipo><Codigo>L{}</Codigo></CodigoComercial><Cantidad>{}</Cantidad><UnidadMedida>{}</UnidadMedida><Detalle>Linea {}</Detalle><PrecioUnitario>{}</PrecioUnitario><MontoTotal>{}</MontoTotal>",
                i + 1,
                l.cabys,
                i + 1,
                l.cantidad,
                l.unidad,
                i + 1,
                l.precio,
                l.monto_total()
            )
            .unwrap();
            if let Some(d) = l.descuento {
                write!(x, "<Descuento><MontoDescuento>{d}</MontoDescuento><NaturalezaDescuento>Cliente frecuente</NaturalezaDescuento></Descuento>").unwrap();
            }
            write!(x, "<SubTotal>{}</SubTotal>", l.sub_total()).unwrap();
            for (codigo, tarifa_code, tarifa, monto, exon) in &l.taxes {
                write!(x, "<Impuesto><Codigo>{codigo}</Codigo>").unwrap();
                if let Some(t) = tarifa_code {
                    write!(x, "<CodigoTarifa>{t}</CodigoTarifa>").unwrap();
                }
                if let Some(t) = tarifa {
                    write!(x, "<Tarifa>{t}</Tarifa>").unwrap();
                }
                write!(x, "<Monto>{monto}</Monto>").unwrap();
                if let Some((pct, m)) = exon {
                    write!(x, "<Exoneracion><TipoDocumento>01</TipoDocumento><NumeroDocumento>AL-00012345-25</NumeroDocumento><NombreInstitucion>Ministerio de Hacienda</NombreInstitucion><FechaEmision>2025-01-10T08:00:00-06:00</FechaEmision><PorcentajeExoneracion>{pct}</PorcentajeExoneracion><MontoExoneracion>{m}</MontoExoneracion></Exoneracion>").unwrap();
                }
                x.push_str("</Impuesto>");
            }
            if !l.taxes.is_empty() {
                write!(x, "<ImpuestoNeto>{}</ImpuestoNeto>", l.neto()).unwrap();
            }
            write!(
                x,
                "<MontoTotalLinea>{}</MontoTotalLinea></LineaDetalle>",
                l.sub_total() + l.neto()
            )
            .unwrap();
            // categories: taxed (IVA), exonerated part of the IVA, exempt (no IVA)
            let total = l.monto_total();
            let (gravado, exonerado) = match l.taxes.iter().find(|t| t.0 == "01") {
                None => (Decimal::ZERO, Decimal::ZERO),
                Some(t) => {
                    let share =
                        t.4.map_or(Decimal::ZERO, |e| dec(e.0) / Decimal::ONE_HUNDRED);
                    (total - total * share, total * share)
                }
            };
            let exento = total - gravado - exonerado;
            let (g, e, xo) = if l.servicio() {
                (&mut sg, &mut se, &mut sx)
            } else {
                (&mut mg, &mut me, &mut mx)
            };
            *g += gravado;
            *e += exento;
            *xo += exonerado;
        }
        x.push_str("</DetalleServicio>\n");
        for c in &self.otros_cargos {
            write!(x, "<OtrosCargos><TipoDocumento>06</TipoDocumento><Detalle>Servicio 10%</Detalle><Porcentaje>10</Porcentaje><MontoCargo>{c}</MontoCargo></OtrosCargos>").unwrap();
        }
        let venta: Decimal = self.lines.iter().map(Line::monto_total).sum();
        let desc: Decimal = self.lines.iter().map(Line::descuento).sum();
        let otros: Decimal = self.otros_cargos.iter().map(|c| dec(c)).sum();
        write!(
            x,
            "<ResumenFactura><CodigoTipoMoneda><CodigoMoneda>CRC</CodigoMoneda><TipoCambio>1</TipoCambio></CodigoTipoMoneda><TotalServGravados>{sg}</TotalServGravados><TotalServExentos>{se}</TotalServExentos><TotalServExonerado>{sx}</TotalServExonerado><TotalMercanciasGravadas>{mg}</TotalMercanciasGravadas><TotalMercanciasExentas>{me}</TotalMercanciasExentas><TotalMercExonerada>{mx}</TotalMercExonerada><TotalGravado>{}</TotalGravado><TotalExento>{}</TotalExento><TotalExonerado>{}</TotalExonerado><TotalVenta>{venta}</TotalVenta><TotalDescuentos>{desc}</TotalDescuentos><TotalVentaNeta>{}</TotalVentaNeta><TotalImpuesto>{}</TotalImpuesto>",
            sg + mg,
            se + me,
            sx + mx,
            venta - desc,
            self.total_impuesto(),
        )
        .unwrap();
        if !self.otros_cargos.is_empty() {
            write!(x, "<TotalOtrosCargos>{otros}</TotalOtrosCargos>").unwrap();
        }
        let total = self
            .total_comprobante
            .map_or_else(|| self.total_comprobante().to_string(), str::to_owned);
        writeln!(
            x,
            "<TotalComprobante>{total}</TotalComprobante></ResumenFactura>"
        )
        .unwrap();
        if self.tipo != TipoDocumento::FacturaElectronica {
            let original = format!(
                "506{}{:0>12}00100001010000000041{}",
                fecha().format("%d%m%y"),
                demo::EMISOR_CEDULA,
                "112345678"
            );
            writeln!(x, "<InformacionReferencia><TipoDoc>01</TipoDoc><Numero>{original}</Numero><FechaEmision>{fecha_emision}</FechaEmision><Codigo>{}</Codigo><Razon>Ajuste de precio</Razon></InformacionReferencia>",
                if self.tipo == TipoDocumento::NotaCreditoElectronica { "03" } else { "02" }).unwrap();
        }
        writeln!(x, "</{}>", self.root()).unwrap();
        x
    }

    pub fn signed(&self) -> Vec<u8> {
        sign(self.xml().as_bytes(), SignaturePolicy::V4_3)
    }
}

pub fn sign(xml: &[u8], policy: SignaturePolicy) -> Vec<u8> {
    xades::sign(
        xml,
        &key(),
        &SignOptions::new().signing_time(fecha()).policy(policy),
    )
    .unwrap()
}

pub fn factura() -> Spec {
    let mut s = Spec::new(
        TipoDocumento::FacturaElectronica,
        vec![servicio(), exonerada(), exenta()],
    );
    s.otros_cargos = vec!["500"];
    s
}

pub fn nota(tipo: TipoDocumento) -> Spec {
    Spec::new(tipo, vec![servicio(), exenta()])
}

pub fn all() -> Vec<Spec> {
    vec![
        factura(),
        nota(TipoDocumento::NotaCreditoElectronica),
        nota(TipoDocumento::NotaDebitoElectronica),
    ]
}
