//! The generated catalogs agree with the vendored `cfdi/data/catCFDI.xsd` (re-read here with quick-xml, so a
//! stale or hand-edited generated file fails), and the hand-written relation tables behave as documented.

use std::collections::{BTreeMap, BTreeSet};

use cfdi::catalog::{
    Catalog, Persona, TaxRole, moneda_decimals, regimen_persona, tasa_o_cuota_allowed,
    uso_cfdi_allows_regimen, uso_cfdi_persona,
};
use quick_xml::Reader;
use quick_xml::events::Event;
use rust_decimal::Decimal;

/// simpleType name -> enumeration values, straight from the vendored XSD.
fn xsd_enumerations() -> BTreeMap<String, BTreeSet<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/catCFDI.xsd");
    let text = std::fs::read_to_string(path).expect("vendored catCFDI.xsd");
    let mut reader = Reader::from_str(&text);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event().expect("well-formed xsd") {
            Event::Start(e) | Event::Empty(e) => {
                let attr = |name: &str| {
                    e.attributes()
                        .filter_map(Result::ok)
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| a.value.to_string())
                };
                match e.name().as_ref() {
                    "xs:simpleType" => current = attr("name"),
                    "xs:enumeration" => {
                        if let (Some(t), Some(v)) = (&current, attr("value")) {
                            out.entry(t.clone()).or_default().insert(v);
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[test]
fn every_catalog_equals_the_xsd_enumeration() {
    let xsd = xsd_enumerations();
    for cat in Catalog::ALL {
        let expected = xsd
            .get(cat.name())
            .unwrap_or_else(|| panic!("{} missing from xsd", cat.name()));
        let ours: BTreeSet<String> = cat.codes().collect();
        assert_eq!(&ours, expected, "{}", cat.name());
        assert_eq!(cat.len(), expected.len(), "{}", cat.name());
        assert!(!cat.is_empty());
        for code in expected {
            assert!(cat.contains(code), "{} should contain {code}", cat.name());
        }
    }
}

#[test]
fn sizes_of_the_big_catalogs() {
    assert_eq!(Catalog::ClaveProdServ.len(), 52_747);
    // 95,777 enumerations in the xsd, of which "00000" is listed 29 times.
    assert_eq!(Catalog::CodigoPostal.len(), 95_749);
}

#[test]
fn non_members_are_rejected() {
    for (cat, code) in [
        (Catalog::FormaPago, "07"),
        (Catalog::FormaPago, "1"),
        (Catalog::FormaPago, ""),
        (Catalog::MetodoPago, "pue"),
        (Catalog::Moneda, "MX"),
        (Catalog::TipoDeComprobante, "X"),
        (Catalog::Exportacion, "05"),
        (Catalog::Impuesto, "004"),
        (Catalog::TipoFactor, "tasa"),
        (Catalog::ObjetoImp, "09"),
        (Catalog::Periodicidad, "06"),
        (Catalog::Meses, "19"),
        (Catalog::RegimenFiscal, "602"),
        (Catalog::UsoCfdi, "G04"),
        (Catalog::TipoRelacion, "10"),
        (Catalog::Pais, "XYZ"),
        (Catalog::ClaveUnidad, "h87"),
        (Catalog::ClaveProdServ, "99999999"),
        (Catalog::ClaveProdServ, "0101010"),
        (Catalog::ClaveProdServ, "010101011"),
        (Catalog::ClaveProdServ, "+1010101"),
        (Catalog::ClaveProdServ, "８4111506"),
        (Catalog::CodigoPostal, "19000"),
        (Catalog::CodigoPostal, "1000"),
        (Catalog::CodigoPostal, "100000"),
        (Catalog::CodigoPostal, "-1000"),
    ] {
        assert!(
            !cat.contains(code),
            "{} must not contain {code:?}",
            cat.name()
        );
    }
    for (cat, code) in [
        (Catalog::ClaveProdServ, "01010101"),
        (Catalog::ClaveProdServ, "84111506"),
        (Catalog::ClaveProdServ, "95141904"),
        (Catalog::CodigoPostal, "01003"),
        (Catalog::CodigoPostal, "99999"),
        (Catalog::ClaveUnidad, "H87"),
        (Catalog::ClaveUnidad, "ACT"),
        (Catalog::ClaveUnidad, "E48"),
    ] {
        assert!(cat.contains(code), "{} must contain {code:?}", cat.name());
    }
}

#[test]
fn moneda_decimals_follow_iso_4217() {
    assert_eq!(moneda_decimals("MXN"), Some(2));
    assert_eq!(moneda_decimals("USD"), Some(2));
    assert_eq!(moneda_decimals("JPY"), Some(0));
    assert_eq!(moneda_decimals("CLF"), Some(4));
    assert_eq!(moneda_decimals("KWD"), Some(3));
    assert_eq!(moneda_decimals("XXX"), None);
    assert_eq!(moneda_decimals("XAU"), None);
    assert_eq!(moneda_decimals("ABC"), None);
}

#[test]
fn tasa_o_cuota_table() {
    let t = |s: &str| s.parse::<Decimal>().expect("decimal");
    use TaxRole::{Retencion, Traslado};
    assert!(tasa_o_cuota_allowed("002", "Tasa", t("0.160000"), Traslado));
    assert!(tasa_o_cuota_allowed("002", "Tasa", t("0.16"), Traslado));
    assert!(tasa_o_cuota_allowed("002", "Tasa", t("0.080000"), Traslado));
    assert!(tasa_o_cuota_allowed("002", "Tasa", t("0.000000"), Traslado));
    assert!(!tasa_o_cuota_allowed(
        "002",
        "Tasa",
        t("0.100000"),
        Traslado
    ));
    assert!(tasa_o_cuota_allowed(
        "002",
        "Tasa",
        t("0.106667"),
        Retencion
    ));
    assert!(!tasa_o_cuota_allowed(
        "002",
        "Tasa",
        t("0.160001"),
        Retencion
    ));
    assert!(!tasa_o_cuota_allowed(
        "002",
        "Cuota",
        t("0.160000"),
        Traslado
    ));
    assert!(tasa_o_cuota_allowed(
        "001",
        "Tasa",
        t("0.100000"),
        Retencion
    ));
    assert!(!tasa_o_cuota_allowed(
        "001",
        "Tasa",
        t("0.100000"),
        Traslado
    ));
    assert!(!tasa_o_cuota_allowed(
        "001",
        "Tasa",
        t("0.350001"),
        Retencion
    ));
    assert!(tasa_o_cuota_allowed(
        "003",
        "Tasa",
        t("0.265000"),
        Retencion
    ));
    assert!(!tasa_o_cuota_allowed(
        "003",
        "Tasa",
        t("0.030000"),
        Retencion
    ));
    assert!(tasa_o_cuota_allowed(
        "003",
        "Cuota",
        t("59.144900"),
        Traslado
    ));
    assert!(!tasa_o_cuota_allowed(
        "003",
        "Cuota",
        t("59.144901"),
        Traslado
    ));
    assert!(!tasa_o_cuota_allowed("003", "Cuota", t("-1"), Traslado));
    assert!(!tasa_o_cuota_allowed(
        "002",
        "Tasa",
        t("0.1600001"),
        Traslado
    ));
    assert!(!tasa_o_cuota_allowed("002", "Tasa", Decimal::MAX, Traslado));
}

#[test]
fn persona_and_uso_relations() {
    assert_eq!(Persona::of_rfc("EKU9003173C9"), Some(Persona::Moral));
    assert_eq!(Persona::of_rfc("XAXX010101000"), Some(Persona::Fisica));
    assert_eq!(Persona::of_rfc("H&E951128469"), Some(Persona::Moral));
    assert_eq!(Persona::of_rfc("ABC"), None);
    assert_eq!(regimen_persona("601", Persona::Moral), Some(true));
    assert_eq!(regimen_persona("601", Persona::Fisica), Some(false));
    assert_eq!(regimen_persona("626", Persona::Fisica), Some(true));
    assert_eq!(regimen_persona("630", Persona::Fisica), Some(true));
    assert_eq!(regimen_persona("628", Persona::Fisica), Some(false));
    assert_eq!(regimen_persona("999", Persona::Fisica), None);
    assert_eq!(uso_cfdi_allows_regimen("S01", "630"), None);
    assert_eq!(uso_cfdi_persona("D01", Persona::Moral), Some(false));
    assert_eq!(uso_cfdi_persona("G03", Persona::Moral), Some(true));
    assert_eq!(uso_cfdi_allows_regimen("G03", "601"), Some(true));
    assert_eq!(uso_cfdi_allows_regimen("G03", "616"), Some(false));
    assert_eq!(uso_cfdi_allows_regimen("S01", "616"), Some(true));
    assert_eq!(uso_cfdi_allows_regimen("CN01", "601"), Some(false));
    assert_eq!(uso_cfdi_allows_regimen("P01", "601"), None);
    // The uso table covers every c_UsoCFDI code of the xsd except P01 (CFDI 3.3 "Por definir").
    for uso in Catalog::UsoCfdi.codes() {
        assert_eq!(
            uso_cfdi_allows_regimen(&uso, "616").is_some(),
            uso != "P01",
            "{uso}"
        );
        assert_eq!(
            uso_cfdi_persona(&uso, Persona::Fisica).is_some(),
            uso != "P01"
        );
    }
}

/// The committed generated files are byte-identical to what the committed generator writes (python3 is one of
/// the tools `scripts/test.sh` installs).
#[test]
fn generated_files_are_up_to_date() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = std::process::Command::new("python3")
        .arg("cfdi/tools/gen_catalogs.py")
        .arg("--check")
        .current_dir(root)
        .output()
        .expect("python3 runs (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "stale generated catalog files; run `python3 cfdi/tools/gen_catalogs.py`:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The committed facet table is what `cfdi/tools/gen_facets.py` writes from the vendored cfdv40.xsd / tdCFDI.xsd.
#[test]
fn generated_facets_are_up_to_date() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = std::process::Command::new("python3")
        .arg("cfdi/tools/gen_facets.py")
        .arg("--check")
        .current_dir(root)
        .output()
        .expect("python3 runs (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "stale facet table; run `python3 cfdi/tools/gen_facets.py`:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
