//! The receiving side with a supplier's v4.3 FE, NC and ND: the documents are written here as XML text,
//! checked with `xmllint --schema` against the vendored v4.3 XSDs (`tests/fixtures/xsd/xsd/v4.3/`), signed
//! with the crate's signer (v4.3 signature policy), then received: verified, validated (clave, line
//! formulas, totals) and answered with a v4.4 MensajeReceptor that passes our validation and the v4.4 XSD.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::DateTime;
use cr_einvoice::keystore::SigningKey;
use cr_einvoice::parse::v43;
use cr_einvoice::receive::{
    CondicionImpuesto, Finding, ReceivedDocument, Receiver, Respuesta, Version,
};
use cr_einvoice::xades::{self, SignOptions, SignaturePolicy};
use cr_einvoice::{
    Consecutivo, Decimal, Error, ErrorKind, FixedOffset, ParseError, SecretString, TipoDocumento,
    demo,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn xsd_dir() -> PathBuf {
    Path::new(FIXTURES).join("xsd/xsd")
}

fn key() -> SigningKey {
    let p12 = std::fs::read(format!("{FIXTURES}/receive/hacienda-emisor.p12")).unwrap();
    SigningKey::from_pkcs12(&p12, &SecretString::from("1234")).unwrap()
}

/// A date when suppliers still issued v4.3 (before 1 September 2025).
fn fecha() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-03-15T10:30:00-06:00").unwrap()
}

/// While the test certificates are valid (made on 2026-12-05 for ten years).
fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2027-06-01T09:00:00-06:00").unwrap()
}

fn receiver() -> Receiver {
    Receiver::new(demo::RECEPTOR_CEDULA)
        .with_codigo_actividad("620100")
        .accept_any_issuer()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// One line tax: (Codigo, CodigoTarifa, Tarifa, Monto, exoneration (PorcentajeExoneracion, MontoExoneracion)).
type Tax = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    Option<(&'static str, &'static str)>,
);

/// A line: CABYS, Cantidad, UnidadMedida, PrecioUnitario, discount, taxes, and its category (servicio?).
struct Line {
    cabys: &'static str,
    cantidad: &'static str,
    unidad: &'static str,
    precio: &'static str,
    descuento: Option<&'static str>,
    taxes: Vec<Tax>,
}

impl Line {
    fn monto_total(&self) -> Decimal {
        cr_einvoice::totals::round5(dec(self.cantidad) * dec(self.precio))
    }
    fn descuento(&self) -> Decimal {
        self.descuento.map_or(Decimal::ZERO, dec)
    }
    fn sub_total(&self) -> Decimal {
        self.monto_total() - self.descuento()
    }
    fn neto(&self) -> Decimal {
        self.taxes
            .iter()
            .map(|t| dec(t.3) - t.4.map_or(Decimal::ZERO, |e| dec(e.1)))
            .sum()
    }
    fn iva(&self) -> Decimal {
        self.taxes
            .iter()
            .filter(|t| t.0 == "01")
            .map(|t| dec(t.3) - t.4.map_or(Decimal::ZERO, |e| dec(e.1)))
            .sum()
    }
    fn servicio(&self) -> bool {
        self.unidad == "Sp"
    }
}

/// A service with a discount and 13 % IVA.
fn servicio() -> Line {
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
fn exonerada() -> Line {
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
fn exenta() -> Line {
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
struct Spec {
    tipo: TipoDocumento,
    lines: Vec<Line>,
    otros_cargos: Vec<&'static str>,
    clave_cedula: &'static str,
    receptor: &'static str,
    total_comprobante: Option<&'static str>,
}

impl Spec {
    fn new(tipo: TipoDocumento, lines: Vec<Line>) -> Self {
        Self {
            tipo,
            lines,
            otros_cargos: Vec::new(),
            clave_cedula: demo::EMISOR_CEDULA,
            receptor: demo::RECEPTOR_CEDULA,
            total_comprobante: None,
        }
    }
    fn root(&self) -> &'static str {
        match self.tipo {
            TipoDocumento::FacturaElectronica => "FacturaElectronica",
            TipoDocumento::NotaCreditoElectronica => "NotaCreditoElectronica",
            _ => "NotaDebitoElectronica",
        }
    }
    fn xsd(&self) -> PathBuf {
        xsd_dir().join(format!("v4.3/{}_V4.3.xsd", self.root()))
    }
    fn consecutivo(&self) -> String {
        format!("0010000{}{}0000000042", 1, self.tipo.code())
    }
    fn clave(&self) -> String {
        format!(
            "506{}{:0>12}{}1{}",
            fecha().format("%d%m%y"),
            self.clave_cedula,
            self.consecutivo(),
            "12345678"
        )
    }
    fn iva(&self) -> Decimal {
        self.lines.iter().map(Line::iva).sum()
    }
    fn total_impuesto(&self) -> Decimal {
        self.lines.iter().map(Line::neto).sum()
    }
    fn total_comprobante(&self) -> Decimal {
        let venta: Decimal = self.lines.iter().map(Line::sub_total).sum();
        let otros: Decimal = self.otros_cargos.iter().map(|c| dec(c)).sum();
        venta + self.total_impuesto() + otros
    }

    /// The v4.3 XML text, unsigned.
    fn xml(&self) -> String {
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

    fn signed(&self) -> Vec<u8> {
        sign(self.xml().as_bytes(), SignaturePolicy::V4_3)
    }
}

fn sign(xml: &[u8], policy: SignaturePolicy) -> Vec<u8> {
    xades::sign(
        xml,
        &key(),
        &SignOptions::new().signing_time(fecha()).policy(policy),
    )
    .unwrap()
}

/// Runs `xmllint --noout --nonet --schema`; returns its error lines.
fn xmllint(xml: &[u8], xsd: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(xsd)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("xmllint must be installed (scripts/test.sh installs it): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("failed to compile"),
        "schema did not compile: {stderr}"
    );
    let errors: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains("error"))
        .map(str::to_owned)
        .collect();
    assert_eq!(out.status.success(), errors.is_empty(), "{stderr}");
    errors
}

fn factura() -> Spec {
    let mut s = Spec::new(
        TipoDocumento::FacturaElectronica,
        vec![servicio(), exonerada(), exenta()],
    );
    s.otros_cargos = vec!["500"];
    s
}

fn nota(tipo: TipoDocumento) -> Spec {
    Spec::new(tipo, vec![servicio(), exenta()])
}

fn all() -> Vec<Spec> {
    vec![
        factura(),
        nota(TipoDocumento::NotaCreditoElectronica),
        nota(TipoDocumento::NotaDebitoElectronica),
    ]
}

#[test]
fn the_v43_fixtures_are_schema_valid_when_signed_and_only_miss_the_signature_unsigned() {
    for spec in all() {
        let signed = spec.signed();
        let errors = xmllint(&signed, &spec.xsd());
        assert!(errors.is_empty(), "{}: {errors:?}", spec.root());
        // The unsigned text fails only for the missing ds:Signature: the XSD is really applied.
        let errors = xmllint(spec.xml().as_bytes(), &spec.xsd());
        assert_eq!(errors.len(), 1, "{}: {errors:?}", spec.root());
        assert!(errors[0].contains("Signature"), "{errors:?}");
    }
}

#[test]
fn fe_nc_and_nd_v43_are_accepted_with_their_totals_and_iva_and_answered_in_v44() {
    let mr_xsd = xsd_dir().join("v4.4/MensajeReceptor_V4.4.xsd");
    for spec in all() {
        let what = spec.root();
        let received = receiver().check(&spec.signed(), now()).unwrap();
        assert_eq!(received.version(), Version::V43, "{what}");
        assert!(received.comprobante().is_none(), "{what}");
        assert!(
            matches!(received.document(), ReceivedDocument::V43(_)),
            "{what}"
        );
        assert!(received.is_acceptable(), "{what}: {}", received.summary());
        let doc = received.comprobante_v43().unwrap();
        assert_eq!(doc.tipo, spec.tipo, "{what}");
        assert_eq!(received.clave().as_str(), spec.clave(), "{what}");
        assert_eq!(doc.resumen.total_comprobante, spec.total_comprobante());
        assert_eq!(doc.resumen.total_impuesto, Some(spec.total_impuesto()));
        assert_eq!(received.iva(), spec.iva(), "{what}");
        assert!(
            received.iva() < spec.total_impuesto(),
            "the code-99 tax is not IVA"
        );
        assert_eq!(received.document().codigo_moneda(), Some("CRC"), "{what}");

        let respuesta = Respuesta::aceptado(CondicionImpuesto::CreditoGeneral);
        let consecutivo = Consecutivo::new(1, 1, respuesta.tipo_documento(), 7).unwrap();
        let msg = received.respond(&respuesta, consecutivo, now()).unwrap();
        assert_eq!(msg.clave.as_str(), spec.clave());
        assert_eq!(msg.numero_cedula_emisor, demo::EMISOR_CEDULA);
        assert_eq!(msg.total_factura, spec.total_comprobante());
        assert_eq!(msg.monto_total_impuesto, Some(spec.total_impuesto()));
        assert_eq!(msg.monto_total_impuesto_acreditar, Some(spec.iva()));
        assert_eq!(
            msg.monto_total_de_gasto_aplicable,
            Some(spec.total_impuesto() - spec.iva())
        );
        let report = msg.validate();
        assert!(!report.has_errors(), "{what}: {report}");
        let xml = msg.to_xml().unwrap();
        assert!(
            String::from_utf8_lossy(&xml).contains("xml-schemas/v4.4/mensajeReceptor"),
            "answered in v4.4"
        );
        let signed = xades::sign(&xml, &key(), &SignOptions::new().signing_time(now())).unwrap();
        let errors = xmllint(&signed, &mr_xsd);
        assert!(errors.is_empty(), "{what}: {errors:?}");
    }
}

#[test]
fn a_v43_document_edited_after_signing_is_a_signature_error() {
    let signed = String::from_utf8(factura().signed()).unwrap();
    let edited = signed.replacen("<TotalImpuesto>", "<TotalImpuesto>1", 1);
    assert_ne!(edited, signed);
    let err = receiver().check(edited.as_bytes(), now()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signature, "{err}");
    assert!(matches!(err, Error::Signature(_)), "{err}");
}

#[test]
fn v43_totals_that_do_not_add_up_make_it_unacceptable() {
    let mut spec = factura();
    spec.total_comprobante = Some("99999");
    let received = receiver().check(&spec.signed(), now()).unwrap();
    assert_eq!(received.version(), Version::V43);
    assert!(!received.is_acceptable());
    assert!(
        received
            .report()
            .errors()
            .any(|i| i.rule.code() == "CR-TOTALS-FORMULA" && i.path.ends_with("TotalComprobante")),
        "{}",
        received.report()
    );
    let r = Respuesta::aceptado(CondicionImpuesto::CreditoGeneral);
    let err = received
        .respond(
            &r,
            Consecutivo::new(1, 1, r.tipo_documento(), 8).unwrap(),
            now(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::NotAcceptable { .. }), "{err}");
    // A rejection is still possible.
    let r = Respuesta::rechazado(received.summary());
    let msg = received
        .respond(
            &r,
            Consecutivo::new(1, 1, r.tipo_documento(), 8).unwrap(),
            now(),
        )
        .unwrap();
    assert!(!msg.validate().has_errors());

    // A line whose MontoTotalLinea is off by one cent.
    let spec = factura();
    let good = spec.xml();
    let line = format!(
        "<MontoTotalLinea>{}</MontoTotalLinea>",
        spec.lines[0].sub_total() + spec.lines[0].neto()
    );
    let bad = good.replacen(
        &line,
        &format!(
            "<MontoTotalLinea>{}</MontoTotalLinea>",
            spec.lines[0].sub_total() + spec.lines[0].neto() + dec("0.01")
        ),
        1,
    );
    assert_ne!(bad, good);
    let received = receiver()
        .check(&sign(bad.as_bytes(), SignaturePolicy::V4_3), now())
        .unwrap();
    assert!(!received.is_acceptable());
    assert!(
        received
            .report()
            .errors()
            .any(|i| i.rule.code() == "CR-LINE-FORMULA"),
        "{}",
        received.report()
    );
}

#[test]
fn a_v43_clave_of_another_emisor_or_another_addressee_is_reported_as_for_v44() {
    let mut spec = factura();
    spec.clave_cedula = "3101999999";
    let received = receiver().check(&spec.signed(), now()).unwrap();
    assert!(!received.is_acceptable());
    assert!(
        received
            .report()
            .errors()
            .any(|i| i.rule.code() == "CR-CLAVE-EMISOR"),
        "{}",
        received.report()
    );
    assert!(received.summary().contains("CR-CLAVE-EMISOR"));

    let mut spec = factura();
    spec.receptor = "3101555555";
    let received = receiver().check(&spec.signed(), now()).unwrap();
    assert!(!received.is_acceptable());
    assert!(
        received.findings().iter().any(|f| matches!(
            f,
            Finding::NotForReceiver { receptor: Some(r), .. } if r == "3101555555"
        )),
        "{:?}",
        received.findings()
    );
}

#[test]
fn v43_documents_that_get_no_answer_or_do_not_fit_are_typed_errors() {
    // A v4.3 tiquete: verified, then refused as not receivable.
    let fe = factura().xml();
    let te = fe
        .replace("FacturaElectronica", "TiqueteElectronico")
        .replace("facturaElectronica", "tiqueteElectronico");
    let err = receiver()
        .check(&sign(te.as_bytes(), SignaturePolicy::V4_3), now())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotReceivable {
                tipo: TipoDocumento::TiqueteElectronico
            }
        ),
        "{err}"
    );

    // A v4.4 element in a v4.3 document is a parse error.
    let stray = fe.replacen(
        "<CodigoActividad>",
        "<ProveedorSistemas>3101234567</ProveedorSistemas><CodigoActividad>",
        1,
    );
    let err = receiver()
        .check(&sign(stray.as_bytes(), SignaturePolicy::V4_3), now())
        .unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err}");

    // Bounded input.
    let limits = cr_einvoice::Limits::default().with_max_input_bytes(1024);
    let err = v43::comprobante_with_limits(fe.as_bytes(), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Parse {
                reason: ParseError::TooLarge { .. },
                ..
            }
        ),
        "{err}"
    );
    // The same text parses under the default limits.
    assert!(v43::comprobante(fe.as_bytes()).is_ok());
}
