//! The XSD facets generated from the vendored v4.4 schemas (`cr-einvoice/tools/gen_facets.py` →
//! `src/validate/facets_generated.rs`): a value the schema refuses is a validate error with the
//! field's path, the demo documents stay clean, the committed table is what the generator makes
//! today, and the generator stops on a construct it does not support.

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, FixedOffset};
use cr_einvoice::validate::{Report, Rule};
use cr_einvoice::{Comprobante, SchemaRevision, TipoDocumento, demo};

fn fecha() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-03-15T10:30:00-06:00").unwrap_or_else(|e| panic!("{e}"))
}

fn fe(rev: SchemaRevision) -> Comprobante {
    demo::comprobante(TipoDocumento::FacturaElectronica, rev, fecha(), 3)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The one error of `r`, which must have `rule` at `path`.
#[track_caller]
fn only_error(r: &Report, rule: Rule, path: &str) {
    let errors: Vec<_> = r.errors().collect();
    assert_eq!(errors.len(), 1, "{r}");
    assert_eq!(errors[0].rule, rule, "{r}");
    assert_eq!(errors[0].path, path, "{r}");
}

#[test]
fn demo_documents_of_every_type_and_revision_are_clean() {
    for rev in [SchemaRevision::V2024, SchemaRevision::V2026] {
        for tipo in TipoDocumento::COMPROBANTES {
            let d = demo::comprobante(tipo, rev, fecha(), 6).unwrap_or_else(|e| panic!("{e}"));
            let r = d.validate();
            assert!(r.issues.is_empty(), "{tipo} {rev}: {r}");
        }
        let m = demo::mensaje_receptor(rev, fecha()).unwrap_or_else(|e| panic!("{e}"));
        assert!(m.validate().issues.is_empty(), "MR {rev}");
    }
}

#[test]
fn over_long_nombre_comercial_is_a_length_error() {
    for rev in [SchemaRevision::V2024, SchemaRevision::V2026] {
        let mut d = fe(rev);
        d.emisor.nombre_comercial = Some("N".repeat(80));
        assert!(d.validate().issues.is_empty(), "80 characters are allowed");
        d.emisor.nombre_comercial = Some("N".repeat(81));
        let r = d.validate();
        only_error(&r, Rule::Length, "Emisor/NombreComercial");
        assert_eq!(
            r.errors().next().map(|i| i.rule.code()),
            Some("CR-TEXT-LENGTH")
        );
        assert!(r.to_string().contains("maxLength 80"), "{r}");
        assert!(d.to_xml().is_err(), "the writer refuses it");
        d.emisor.nombre_comercial = Some("NC".into());
        only_error(&d.validate(), Rule::Length, "Emisor/NombreComercial");
    }
}

#[test]
fn correo_and_identificacion_facets() {
    let mut d = fe(SchemaRevision::V2024);
    // CorreoElectronico is maxLength 160 in both revisions (no pattern in the v4.4 XSDs)
    d.emisor.correos = vec![format!("{}@demo.example", "a".repeat(150))];
    only_error(&d.validate(), Rule::Length, "Emisor/CorreoElectronico[1]");
    // 2024: Identificacion/Numero has pattern \d{9,20}
    let mut d = fe(SchemaRevision::V2024);
    if let Some(r) = d.receptor.as_mut()
        && let Some(id) = r.identificacion.as_mut()
    {
        id.numero = "31O1000001".into();
    }
    let r = d.validate();
    assert!(r.has_errors(), "{r}");
    assert!(
        r.errors()
            .all(|i| i.path == "Receptor/Identificacion/Numero"),
        "{r}"
    );
}

#[test]
fn values_outside_an_enumeration_are_code_errors() {
    let mut d = fe(SchemaRevision::V2026);
    d.lineas[1].unidad_medida = "Kgs".into();
    let r = d.validate();
    only_error(
        &r,
        Rule::Code,
        "DetalleServicio/LineaDetalle[2]/UnidadMedida",
    );
    assert_eq!(r.errors().next().map(|i| i.rule.code()), Some("CR-CODE"));

    let mut d = fe(SchemaRevision::V2024);
    d.resumen.codigo_moneda = "ABC".into(); // three capitals, but no ISO 4217 code in the list
    only_error(
        &d.validate(),
        Rule::Code,
        "ResumenFactura/CodigoTipoMoneda/CodigoMoneda",
    );
}

/// The crate directory (the generator's paths are relative to it).
fn krate() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_facets_are_what_the_generator_makes() {
    let out = Command::new("python3")
        .arg("tools/gen_facets.py")
        .arg("--check")
        .current_dir(krate())
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `code` with the generator imported as `g`; returns (success, stderr).
fn generator(code: &str) -> (bool, String) {
    let script = format!("import sys; sys.path.insert(0, 'tools'); import gen_facets as g\n{code}");
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(krate())
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_generator_stops_on_unsupported_constructs() {
    let (ok, _) = generator("g.check_pattern(r'\\d{9,20}', 'here')");
    assert!(ok, "a supported pattern");
    for bad in [r"\p{L}+", r"[a-z-[aeiou]]", "a{2}{3}", r"\w"] {
        let (ok, err) = generator(&format!("g.check_pattern(r'{bad}', 'X/Y')"));
        assert!(
            !ok && err.contains("X/Y") && err.contains("unsupported pattern"),
            "{bad}: {err}"
        );
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (what, body) in [
        (
            "list",
            r#"<xs:element name="A"><xs:simpleType><xs:list itemType="xs:string"/></xs:simpleType></xs:element>"#,
        ),
        (
            "xs:assertion",
            r#"<xs:element name="A"><xs:simpleType><xs:restriction base="xs:string"><xs:assertion test="true()"/></xs:restriction></xs:simpleType></xs:element>"#,
        ),
        (
            "unknown simple type",
            r#"<xs:element name="A" type="NoSuchType"/>"#,
        ),
        (
            "xs:all",
            r#"<xs:element name="A"><xs:complexType><xs:all/></xs:complexType></xs:element>"#,
        ),
    ] {
        let xsd = format!(
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="R"><xs:complexType><xs:sequence>{body}</xs:sequence></xs:complexType></xs:element></xs:schema>"#
        );
        let path = dir.path().join("t.xsd");
        std::fs::write(&path, xsd).unwrap_or_else(|e| panic!("{e}"));
        let (ok, err) = generator(&format!("g.Schema(r'{}', 'T.xsd').run()", path.display()));
        assert!(
            !ok && err.contains("T.xsd") && err.contains('A'),
            "{what}: {err}"
        );
    }
}
