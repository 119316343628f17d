//! Every document the builder produces is checked by the reference tools:
//! `xmllint --schema` with the vendored SAT XSDs, `xsltproc` with SAT's cadena XSLT (must equal our
//! native cadena byte for byte) and `openssl dgst -sha256 -verify` on the seal. Also our own
//! verify() and the crate's validate() (no error-level findings).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cfdi::build::{
    ComprobanteBuilder, ConceptoInput, DoctoInput, IEPS, ISR, IVA, PagoBuilder, PagosBuilder,
};
use cfdi::model::{
    CfdiRelacionados, Complemento, Emisor, InformacionGlobal, Receptor, TimbreFiscalDigital,
};
use cfdi::{Comprobante, Csd, SecretString};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dst = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).expect("copy");
        }
    }
}

/// Temporary copy of the SAT schema/XSLT tree with the crate's vendored catCFDI.xsd in place.
fn sat_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let t = tempfile::tempdir().expect("tempdir");
        copy_dir(&manifest().join("tests/fixtures/sat"), t.path());
        std::fs::copy(
            manifest().join("data/catCFDI.xsd"),
            t.path()
                .join("www.sat.gob.mx/sitio_internet/cfd/catalogos/catCFDI.xsd"),
        )
        .expect("catCFDI.xsd");
        t
    })
    .path()
}

fn csd() -> &'static Csd {
    static CSD: OnceLock<Csd> = OnceLock::new();
    CSD.get_or_init(|| {
        let dir = manifest().join("tests/fixtures/csd");
        let pw = std::fs::read_to_string(dir.join("password.txt")).expect("password");
        Csd::from_files(
            dir.join("EKU9003173C9.cer"),
            dir.join("EKU9003173C9.key"),
            &SecretString::from(pw),
        )
        .expect("csd")
    })
}

fn run(cmd: &mut Command) -> (bool, String, Vec<u8>) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.stdout,
    )
}

/// Seals `doc`, writes it and checks it with xmllint, xsltproc, openssl, verify and validate.
fn check(name: &str, doc: Comprobante) -> Comprobante {
    check_with(name, doc, true)
}

fn check_with(name: &str, mut doc: Comprobante, schema: bool) -> Comprobante {
    csd()
        .seal(&mut doc)
        .unwrap_or_else(|e| panic!("{name}: seal: {e}"));
    let xml = cfdi::to_xml(&doc);
    let work = tempfile::tempdir().expect("tempdir");
    let file = work.path().join(format!("{name}.xml"));
    std::fs::write(&file, &xml).expect("write xml");

    if schema {
        let (ok, err, _) = run(Command::new("xmllint")
            .args(["--noout", "--nonet", "--schema"])
            .arg(sat_dir().join("cfdi40-with-complements.xsd"))
            .arg(&file));
        assert!(ok, "{name}: xmllint rejects the document:\n{err}");
    }

    let xslt = sat_dir()
        .join("www.sat.gob.mx/sitio_internet/cfd/4/cadenaoriginal_4_0/cadenaoriginal_4_0.xslt");
    let (ok, err, out) = run(Command::new("xsltproc").arg(&xslt).arg(&file));
    assert!(ok, "{name}: xsltproc failed: {err}");
    let cadena = cfdi::cadena_original(&doc).expect("cadena");
    assert_eq!(
        String::from_utf8_lossy(&out),
        cadena,
        "{name}: cadena differs from xsltproc"
    );

    let pubkey = work.path().join("pub.pem");
    let cer = manifest().join("tests/fixtures/csd/EKU9003173C9.cer");
    let (ok, err, out) = run(Command::new("openssl")
        .args(["x509", "-inform", "DER", "-pubkey", "-noout", "-in"])
        .arg(&cer));
    assert!(ok, "{err}");
    std::fs::write(&pubkey, out).expect("pub");
    use base64::Engine as _;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(&doc.sello)
        .expect("b64");
    std::fs::write(work.path().join("sig.bin"), sig).expect("sig");
    std::fs::write(work.path().join("cadena.txt"), &cadena).expect("cadena");
    let (ok, err, out) = run(Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&pubkey)
        .arg("-signature")
        .arg(work.path().join("sig.bin"))
        .arg(work.path().join("cadena.txt")));
    assert!(
        ok && String::from_utf8_lossy(&out).contains("Verified OK"),
        "{name}: openssl: {err}"
    );

    let parsed = cfdi::parse(xml.as_bytes()).expect("parse our output");
    assert_eq!(parsed, doc, "{name}: parse(write(doc)) != doc");
    cfdi::verify(&parsed).unwrap_or_else(|e| panic!("{name}: verify: {e}"));
    let errors: Vec<_> = cfdi::validate::validate(&parsed)
        .into_iter()
        .filter(|f| f.severity == cfdi::validate::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{name}: validate() errors: {errors:#?}");
    parsed
}

const FECHA: &str = "2026-11-20T10:00:00";

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

fn simple(i: usize) -> ConceptoInput {
    ConceptoInput::new(
        "01010101",
        "H87",
        format!("Artículo {i} & <algo>"),
        Decimal::from(1 + i % 7),
        Decimal::new(12_345 + i as i64 * 101, 2),
    )
    .no_identificacion(format!("SKU-{i}"))
    .iva(dec!(0.16))
}

#[test]
fn ingreso_one_concepto() {
    let doc = ComprobanteBuilder::ingreso(FECHA, "42501")
        .serie("A")
        .folio("1")
        .forma_pago("01")
        .metodo_pago("PUE")
        .emisor(emisor())
        .receptor(receptor())
        .concepto(
            ConceptoInput::new("01010101", "H87", "Pieza", dec!(3), dec!(10.50)).iva(dec!(0.16)),
        )
        .build()
        .expect("build");
    let doc = check("ingreso-1", doc);
    assert_eq!(doc.sub_total, dec!(31.50));
    assert_eq!(doc.total.to_string(), "36.54");
    let t = &doc.impuestos.as_ref().expect("impuestos").traslados[0];
    assert_eq!(t.tasa_o_cuota.expect("tasa").to_string(), "0.160000");
}

#[test]
fn ingreso_ten_conceptos_mixed_taxes_foreign_currency() {
    let conceptos = vec![
        simple(0).descuento(dec!(10)),
        ConceptoInput::new("50202306", "H87", "Refresco", dec!(12), dec!(15.3333))
            .ieps(dec!(0.08))
            .iva(dec!(0.16)),
        ConceptoInput::new("50101716", "KGM", "Tortilla", dec!(2.5), dec!(22)).iva(dec!(0)),
        ConceptoInput::new("86121500", "E48", "Colegiatura", dec!(1), dec!(3500)).iva_exento(),
        ConceptoInput::new("80111600", "E48", "Honorarios", dec!(1), dec!(1000))
            .iva(dec!(0.16))
            .retencion(ISR, dec!(0.10))
            .retencion(IVA, dec!(0.106667)),
        ConceptoInput::new("01010101", "H87", "Sin objeto", dec!(1), dec!(5)).objeto_imp("01"),
        ConceptoInput::new("01010101", "H87", "No obligado", dec!(2), dec!(7.77)).objeto_imp("03"),
        ConceptoInput::new("01010101", "H87", "IVA frontera", dec!(3), dec!(33.333333))
            .iva(dec!(0.08)),
        ConceptoInput::new("50202306", "LTR", "IEPS 26.5", dec!(1.5), dec!(99.99))
            .ieps(dec!(0.265))
            .iva(dec!(0.16))
            .descuento(dec!(0.005)),
        simple(9)
            .cuenta_predial("1234567890")
            .informacion_aduanera("23  47  3807  3001234"),
    ];
    assert_eq!(conceptos.len(), 10);
    let doc = ComprobanteBuilder::ingreso(FECHA, "42501")
        .forma_pago("03")
        .metodo_pago("PUE")
        .moneda("USD", Some(dec!(17.2345)))
        .emisor(emisor())
        .receptor(receptor())
        .conceptos(conceptos)
        .build()
        .expect("build");
    let doc = check("ingreso-10", doc);
    let imp = doc.impuestos.as_ref().expect("impuestos");
    // Retenciones grouped by Impuesto, traslados by (Impuesto, TipoFactor, TasaOCuota).
    assert_eq!(imp.retenciones.len(), 2);
    assert!(
        imp.traslados
            .iter()
            .any(|t| t.tipo_factor == "Exento" && t.importe.is_none())
    );
    assert!(imp.traslados.iter().any(|t| t.impuesto == IEPS));
    assert_eq!(doc.descuento.expect("descuento").scale(), 2);
}

#[test]
fn egreso_with_relations() {
    for tipo_relacion in ["01", "03", "07"] {
        let doc = ComprobanteBuilder::egreso(FECHA, "42501")
            .forma_pago("15")
            .metodo_pago("PUE")
            .emisor(emisor())
            .receptor(Receptor::new(
                "URE180429TM6",
                "UNIVERSIDAD ROBOTICA ESPAÑOLA",
                "86991",
                "601",
                "G02",
            ))
            .relacionados(CfdiRelacionados::new(
                tipo_relacion,
                [
                    "5FB2822E-396D-4725-8521-CDC4BDD20CCF",
                    "6FB2822E-396D-4725-8521-CDC4BDD20CCF",
                ],
            ))
            .concepto(
                ConceptoInput::new("84111506", "ACT", "Nota de crédito", dec!(1), dec!(100))
                    .iva(dec!(0.16)),
            )
            .build()
            .expect("build");
        check(&format!("egreso-{tipo_relacion}"), doc);
    }
}

#[test]
fn traslado_tipo_t() {
    let doc = ComprobanteBuilder::traslado(FECHA, "42501")
        .emisor(emisor())
        .receptor(Receptor::new(
            "EKU9003173C9",
            "ESCUELA KEMPER URGATE",
            "42501",
            "601",
            "S01",
        ))
        .concepto(ConceptoInput::new(
            "01010101",
            "H87",
            "Mercancía",
            dec!(10),
            dec!(0),
        ))
        .build()
        .expect("build");
    let doc = check("traslado", doc);
    assert_eq!(doc.moneda, "XXX");
    assert_eq!(doc.total, Decimal::ZERO);
}

#[test]
fn global_invoice() {
    let doc = ComprobanteBuilder::ingreso(FECHA, "42501")
        .forma_pago("01")
        .metodo_pago("PUE")
        .informacion_global(InformacionGlobal::new("01", "11", "2026"))
        .emisor(emisor())
        .receptor(Receptor::publico_en_general("42501"))
        .concepto(
            ConceptoInput::new("01010101", "ACT", "Venta", dec!(1), dec!(1234.56)).iva(dec!(0.16)),
        )
        .concepto(
            ConceptoInput::new("01010101", "ACT", "Venta", dec!(1), dec!(99.01)).iva(dec!(0.16)),
        )
        .build()
        .expect("build");
    check("global", doc);
}

/// Stamps `doc` with a made-up TFD (the fixtures hold no PAC certificate; the UUID is what the
/// Pagos builder needs).
fn stamp(doc: &mut Comprobante, uuid: &str) {
    let mut t = TimbreFiscalDigital::default();
    t.version = "1.1".into();
    t.uuid = uuid.into();
    t.fecha_timbrado = FECHA.into();
    t.rfc_prov_certif = "SPR190613I52".into();
    t.sello_cfd = doc.sello.clone();
    t.no_certificado_sat = "30001000000500003456".into();
    t.sello_sat = "AAAA".into();
    doc.complemento = Some(vec![Complemento::Timbre(Box::new(t))]);
}

#[test]
fn pagos_partial_payments_from_stamped_invoices() {
    let mut invoice = ComprobanteBuilder::ingreso(FECHA, "42501")
        .forma_pago("99")
        .metodo_pago("PPD")
        .emisor(emisor())
        .receptor(receptor())
        .concepto(
            ConceptoInput::new("01010101", "H87", "Servicio", dec!(1), dec!(1000)).iva(dec!(0.16)),
        )
        .concepto(
            ConceptoInput::new("80111600", "E48", "Honorarios", dec!(1), dec!(500))
                .iva(dec!(0.16))
                .retencion(ISR, dec!(0.10)),
        )
        .build()
        .expect("invoice");
    let invoice_checked = check("pagos-invoice", invoice.clone());
    invoice = invoice_checked;
    stamp(&mut invoice, "0E8A4FD2-3A7B-4C3A-9C62-5E2E2C7B6A11");
    let mut usd = ComprobanteBuilder::ingreso(FECHA, "42501")
        .forma_pago("99")
        .metodo_pago("PPD")
        .moneda("USD", Some(dec!(18.5)))
        .emisor(emisor())
        .receptor(receptor())
        .concepto(
            ConceptoInput::new("01010101", "H87", "Licencia", dec!(2), dec!(100)).iva_exento(),
        )
        .build()
        .expect("usd invoice");
    csd().seal(&mut usd).expect("seal");
    stamp(&mut usd, "1E8A4FD2-3A7B-4C3A-9C62-5E2E2C7B6A12");

    let total = invoice.total;
    let first = dec!(700);
    let p1 = PagosBuilder::new(FECHA, "42501")
        .emisor(emisor())
        .receptor(receptor())
        .pago(
            PagoBuilder::new("2026-11-18T12:00:00", "03", "MXN", None)
                .docto(DoctoInput::from_invoice(&invoice, 1, total, first).expect("docto")),
        )
        .build()
        .expect("pago 1");
    let p1 = check("pago-1", p1);
    let d = &p1.pagos().expect("pagos").pagos[0].doctos_relacionados[0];
    assert_eq!(d.imp_saldo_insoluto, total - first);
    assert_eq!(d.num_parcialidad, "1");

    // Second installment pays the rest, plus the USD invoice paid in MXN.
    let p2 = PagosBuilder::new(FECHA, "42501")
        .emisor(emisor())
        .receptor(receptor())
        .pago(
            PagoBuilder::new("2026-11-19T12:00:00", "03", "MXN", None)
                .num_operacion("SPEI-123")
                .docto(
                    DoctoInput::from_invoice(&invoice, 2, total - first, total - first)
                        .expect("docto"),
                ),
        )
        .pago(
            PagoBuilder::new("2026-11-19T13:00:00", "03", "USD", Some(dec!(18.5)))
                .docto(DoctoInput::from_invoice(&usd, 1, usd.total, usd.total).expect("docto")),
        )
        .build()
        .expect("pago 2");
    let p2 = check("pago-2", p2);
    let pagos = p2.pagos().expect("pagos");
    assert_eq!(
        pagos.pagos[0].doctos_relacionados[0].imp_saldo_insoluto,
        dec!(0.00)
    );
    assert!(pagos.totales.total_traslados_base_iva_exento.is_some());
}

#[test]
fn ten_thousand_conceptos() {
    let doc = ComprobanteBuilder::ingreso(FECHA, "42501")
        .forma_pago("01")
        .metodo_pago("PUE")
        .emisor(emisor())
        .receptor(receptor())
        .conceptos((0..10_000).map(simple))
        .build()
        .expect("build");
    let doc = check("ingreso-10000", doc);
    assert_eq!(doc.conceptos.len(), 10_000);
}

#[test]
fn out_of_range_amounts_are_build_errors_not_panics() {
    let huge = Decimal::MAX;
    for (q, v) in [
        (huge, huge),
        (dec!(1), huge),
        (dec!(1000000000000), dec!(1000000000000)),
    ] {
        let e = ComprobanteBuilder::ingreso(FECHA, "42501")
            .forma_pago("01")
            .metodo_pago("PUE")
            .emisor(emisor())
            .receptor(receptor())
            .concepto(ConceptoInput::new("01010101", "H87", "x", q, v).iva(dec!(0.16)))
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), cfdi::ErrorKind::Build, "{e}");
    }
    let e = ComprobanteBuilder::ingreso(FECHA, "42501")
        .emisor(emisor())
        .receptor(receptor())
        .concepto(ConceptoInput::new("01010101", "H87", "x", dec!(1), dec!(1)).iva(huge))
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), cfdi::ErrorKind::Build, "{e}");
}

/// Impuestos locales and leyendas fiscales are kept as raw XML and their cadena fields follow
/// SAT's implocal.xslt / leyendasFisc.xslt (their XSDs are not vendored, so no xmllint here).
#[test]
fn implocal_and_leyendas_complements_match_xsltproc() {
    let mut doc = ComprobanteBuilder::ingreso(FECHA, "42501")
        .forma_pago("01")
        .metodo_pago("PUE")
        .emisor(emisor())
        .receptor(receptor())
        .concepto(
            ConceptoInput::new("01010101", "H87", "Servicio", dec!(1), dec!(1000)).iva(dec!(0.16)),
        )
        .build()
        .expect("build");
    let implocal = cfdi::model::RawXml::new(
        "<implocal:ImpuestosLocales xmlns:implocal=\"http://www.sat.gob.mx/implocal\" version=\"1.0\" \
         TotaldeRetenciones=\"20.00\" TotaldeTraslados=\"30.00\">\
         <implocal:TrasladosLocales ImpLocTrasladado=\"ISH\" TasadeTraslado=\"3.00\" Importe=\"30.00\"/>\
         <implocal:RetencionesLocales ImpLocRetenido=\"Cedular   estatal\" TasadeRetencion=\"2.00\" Importe=\"20.00\"/>\
         </implocal:ImpuestosLocales>",
    )
    .expect("implocal");
    let leyendas = cfdi::model::RawXml::new(
        "<leyendasFisc:LeyendasFiscales xmlns:leyendasFisc=\"http://www.sat.gob.mx/leyendasFiscales\" version=\"1.0\">\
         <leyendasFisc:Leyenda textoLeyenda=\"Efectos fiscales &amp; pago\"/>\
         <leyendasFisc:Leyenda disposicionFiscal=\"RESDERAUTH\" norma=\"Art. 2\" textoLeyenda=\"Otra\"/>\
         </leyendasFisc:LeyendasFiscales>",
    )
    .expect("leyendas");
    doc.complemento = Some(vec![
        Complemento::Other(implocal),
        Complemento::Other(leyendas),
    ]);
    let doc = check_with("implocal-leyendas", doc, false);
    let cadena = cfdi::cadena_original(&doc).expect("cadena");
    // Retenciones before traslados (XSLT order), whitespace collapsed.
    assert!(cadena.ends_with("|1.0|20.00|30.00|Cedular estatal|2.00|20.00|ISH|3.00|30.00|1.0|Efectos fiscales & pago|RESDERAUTH|Art. 2|Otra||"), "{cadena}");
}
