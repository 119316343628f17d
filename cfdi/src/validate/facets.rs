//! XSD facets of the string attributes (length, minLength, maxLength, pattern, enumeration), from the table
//! `cfdi/tools/gen_facets.py` generates out of cfdv40.xsd and tdCFDI.xsd ([`FACETS`]). A value the schema
//! refuses is reported with code `CFDI-XSD` (PACs reject schema-invalid documents before any `CFDI40xxx` rule).

use std::sync::OnceLock;

use super::Ctx;
use super::facets_generated::FACETS;
use super::pattern::Pattern;

/// The code of a schema (facet) violation.
pub(crate) const CODE: &str = "CFDI-XSD";

/// Facets of one attribute.
#[derive(Debug)]
pub(crate) struct Facet {
    /// Element path from the root, e.g. `Comprobante/Emisor`.
    pub(crate) element: &'static str,
    /// Attribute name.
    pub(crate) attribute: &'static str,
    /// `xs:length`.
    pub(crate) length: Option<usize>,
    /// `xs:minLength`.
    pub(crate) min_length: Option<usize>,
    /// `xs:maxLength`.
    pub(crate) max_length: Option<usize>,
    /// `xs:pattern`.
    pub(crate) pattern: Option<&'static str>,
    /// `xs:enumeration` values (empty: no enumeration).
    pub(crate) enumeration: &'static [&'static str],
    /// `xs:whiteSpace`: how the value is normalized before the other facets apply.
    pub(crate) white_space: WhiteSpace,
}

/// The `xs:whiteSpace` facet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhiteSpace {
    /// Value as is.
    Preserve,
    /// Tab, CR and LF become spaces. (No cfdv40.xsd attribute uses it today; the generator can emit it.)
    #[cfg_attr(not(test), allow(dead_code))]
    Replace,
    /// As `Replace`, then runs of spaces become one and leading/trailing spaces go.
    Collapse,
}

impl WhiteSpace {
    fn normalize(self, v: &str) -> std::borrow::Cow<'_, str> {
        let ws = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
        match self {
            Self::Preserve => v.into(),
            Self::Replace if !v.contains(['\t', '\r', '\n']) => v.into(),
            Self::Replace => v.replace(['\t', '\r', '\n'], " ").into(),
            Self::Collapse => {
                let collapsed = v.split(ws).filter(|s| !s.is_empty()).collect::<Vec<_>>();
                if collapsed.len() == 1 && collapsed[0].len() == v.len() {
                    v.into()
                } else {
                    collapsed.join(" ").into()
                }
            }
        }
    }
}

/// Compiled patterns, one per [`FACETS`] row.
fn patterns() -> &'static [Option<Pattern>] {
    static P: OnceLock<Vec<Option<Pattern>>> = OnceLock::new();
    P.get_or_init(|| {
        FACETS
            .iter()
            .map(|f| f.pattern.and_then(Pattern::new))
            .collect()
    })
}

/// What is wrong with `value` for `f` (pattern index `i`), or `None`.
pub(crate) fn violation(i: usize, f: &Facet, value: &str) -> Option<String> {
    let value = f.white_space.normalize(value);
    let value = value.as_ref();
    // XSD lengths count characters
    let len = value.chars().count();
    if let Some(n) = f.length
        && len != n
    {
        return Some(format!("length {len}, the schema requires exactly {n}"));
    }
    if let Some(n) = f.max_length
        && len > n
    {
        return Some(format!("length {len} exceeds maxLength {n}"));
    }
    if let Some(n) = f.min_length
        && len < n
    {
        return Some(format!("length {len} is below minLength {n}"));
    }
    if !f.enumeration.is_empty() && !f.enumeration.contains(&value) {
        return Some(format!("not one of {}", f.enumeration.join(", ")));
    }
    if let Some(p) = f.pattern {
        // a pattern outside the supported subset is refused by the generator; never silently pass it
        let ok = patterns()
            .get(i)
            .and_then(Option::as_ref)
            .is_some_and(|c| c.matches(value));
        if !ok {
            return Some(format!("does not match the pattern {p}"));
        }
    }
    None
}

impl Ctx<'_> {
    /// Checks one attribute value against its generated facets (no-op if it has none).
    fn facet(&mut self, element: &str, attribute: &str, path: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        for (i, f) in FACETS.iter().enumerate() {
            if f.element == element
                && f.attribute == attribute
                && let Some(why) = violation(i, f, value)
            {
                self.error(
                    CODE,
                    format!("{path}/@{attribute}"),
                    format!("{attribute} = {value:?}: {why} (cfdv40.xsd)"),
                );
            }
        }
    }
}

/// Every attribute of the table, read from the model.
pub(super) fn check(ctx: &mut Ctx<'_>) {
    let c = ctx.c;
    let root = "Comprobante";
    ctx.facet(root, "Serie", "/Comprobante", c.serie.as_deref());
    ctx.facet(root, "Folio", "/Comprobante", c.folio.as_deref());
    // empty until sealed: documents are validated before sealing
    let no_cert = Some(c.no_certificado.as_str()).filter(|s| !s.is_empty());
    ctx.facet(root, "NoCertificado", "/Comprobante", no_cert);
    ctx.facet(
        root,
        "CondicionesDePago",
        "/Comprobante",
        c.condiciones_de_pago.as_deref(),
    );
    ctx.facet(
        root,
        "Confirmacion",
        "/Comprobante",
        c.confirmacion.as_deref(),
    );
    for (i, r) in c.cfdi_relacionados.iter().enumerate() {
        for (j, u) in r.uuids.iter().enumerate() {
            ctx.facet(
                "Comprobante/CfdiRelacionados/CfdiRelacionado",
                "UUID",
                &format!(
                    "/Comprobante/CfdiRelacionados[{}]/CfdiRelacionado[{}]",
                    i + 1,
                    j + 1
                ),
                Some(u),
            );
        }
    }
    let e = &c.emisor;
    let pe = "/Comprobante/Emisor";
    ctx.facet("Comprobante/Emisor", "Rfc", pe, Some(&e.rfc));
    ctx.facet("Comprobante/Emisor", "Nombre", pe, Some(&e.nombre));
    ctx.facet(
        "Comprobante/Emisor",
        "FacAtrAdquirente",
        pe,
        e.fac_atr_adquirente.as_deref(),
    );
    let r = &c.receptor;
    let pr = "/Comprobante/Receptor";
    ctx.facet("Comprobante/Receptor", "Rfc", pr, Some(&r.rfc));
    ctx.facet("Comprobante/Receptor", "Nombre", pr, Some(&r.nombre));
    ctx.facet(
        "Comprobante/Receptor",
        "DomicilioFiscalReceptor",
        pr,
        Some(&r.domicilio_fiscal_receptor),
    );
    ctx.facet(
        "Comprobante/Receptor",
        "NumRegIdTrib",
        pr,
        r.num_reg_id_trib.as_deref(),
    );
    const CO: &str = "Comprobante/Conceptos/Concepto";
    for (i, k) in c.conceptos.iter().enumerate() {
        let pk = format!("/Comprobante/Conceptos/Concepto[{}]", i + 1);
        ctx.facet(CO, "NoIdentificacion", &pk, k.no_identificacion.as_deref());
        ctx.facet(CO, "Unidad", &pk, k.unidad.as_deref());
        ctx.facet(CO, "Descripcion", &pk, Some(&k.descripcion));
        if let Some(t) = &k.a_cuenta_terceros {
            let pt = format!("{pk}/ACuentaTerceros");
            let el = "Comprobante/Conceptos/Concepto/ACuentaTerceros";
            ctx.facet(el, "RfcACuentaTerceros", &pt, Some(&t.rfc));
            ctx.facet(el, "NombreACuentaTerceros", &pt, Some(&t.nombre));
            ctx.facet(
                el,
                "DomicilioFiscalACuentaTerceros",
                &pt,
                Some(&t.domicilio_fiscal),
            );
        }
        for (j, n) in k.informacion_aduanera.iter().enumerate() {
            ctx.facet(
                "Comprobante/Conceptos/Concepto/InformacionAduanera",
                "NumeroPedimento",
                &format!("{pk}/InformacionAduanera[{}]", j + 1),
                Some(n),
            );
        }
        for (j, n) in k.cuenta_predial.iter().enumerate() {
            ctx.facet(
                "Comprobante/Conceptos/Concepto/CuentaPredial",
                "Numero",
                &format!("{pk}/CuentaPredial[{}]", j + 1),
                Some(n),
            );
        }
        for (j, p) in k.partes.iter().enumerate() {
            let pp = format!("{pk}/Parte[{}]", j + 1);
            let el = "Comprobante/Conceptos/Concepto/Parte";
            ctx.facet(el, "NoIdentificacion", &pp, p.no_identificacion.as_deref());
            ctx.facet(el, "Unidad", &pp, p.unidad.as_deref());
            ctx.facet(el, "Descripcion", &pp, Some(&p.descripcion));
            for (m, n) in p.informacion_aduanera.iter().enumerate() {
                ctx.facet(
                    "Comprobante/Conceptos/Concepto/Parte/InformacionAduanera",
                    "NumeroPedimento",
                    &format!("{pp}/InformacionAduanera[{}]", m + 1),
                    Some(n),
                );
            }
        }
    }
}

/// The `(element, attribute)` pairs [`check`] reads; a test compares them with [`FACETS`] so a regenerated
/// table with a new attribute fails until it is wired.
#[cfg(test)]
pub(crate) const WIRED: &[(&str, &str)] = &[
    ("Comprobante", "Serie"),
    ("Comprobante", "Folio"),
    ("Comprobante", "NoCertificado"),
    ("Comprobante", "CondicionesDePago"),
    ("Comprobante", "Confirmacion"),
    ("Comprobante/CfdiRelacionados/CfdiRelacionado", "UUID"),
    ("Comprobante/Emisor", "Rfc"),
    ("Comprobante/Emisor", "Nombre"),
    ("Comprobante/Emisor", "FacAtrAdquirente"),
    ("Comprobante/Receptor", "Rfc"),
    ("Comprobante/Receptor", "Nombre"),
    ("Comprobante/Receptor", "DomicilioFiscalReceptor"),
    ("Comprobante/Receptor", "NumRegIdTrib"),
    ("Comprobante/Conceptos/Concepto", "NoIdentificacion"),
    ("Comprobante/Conceptos/Concepto", "Unidad"),
    ("Comprobante/Conceptos/Concepto", "Descripcion"),
    (
        "Comprobante/Conceptos/Concepto/ACuentaTerceros",
        "RfcACuentaTerceros",
    ),
    (
        "Comprobante/Conceptos/Concepto/ACuentaTerceros",
        "NombreACuentaTerceros",
    ),
    (
        "Comprobante/Conceptos/Concepto/ACuentaTerceros",
        "DomicilioFiscalACuentaTerceros",
    ),
    (
        "Comprobante/Conceptos/Concepto/InformacionAduanera",
        "NumeroPedimento",
    ),
    ("Comprobante/Conceptos/Concepto/CuentaPredial", "Numero"),
    ("Comprobante/Conceptos/Concepto/Parte", "NoIdentificacion"),
    ("Comprobante/Conceptos/Concepto/Parte", "Unidad"),
    ("Comprobante/Conceptos/Concepto/Parte", "Descripcion"),
    (
        "Comprobante/Conceptos/Concepto/Parte/InformacionAduanera",
        "NumeroPedimento",
    ),
];

#[cfg(test)]
mod tests {
    use super::{FACETS, WIRED, WhiteSpace, patterns};

    #[test]
    fn white_space_normalization() {
        assert_eq!(WhiteSpace::Replace.normalize("a\tb\n"), "a b ");
        assert_eq!(WhiteSpace::Collapse.normalize("  a \t b  "), "a b");
        assert_eq!(WhiteSpace::Collapse.normalize("ab"), "ab");
        assert_eq!(WhiteSpace::Preserve.normalize(" a "), " a ");
    }

    #[test]
    fn every_generated_facet_is_wired_and_every_pattern_compiles() {
        let table: Vec<(&str, &str)> = FACETS.iter().map(|f| (f.element, f.attribute)).collect();
        assert_eq!(table, WIRED);
        for (f, p) in FACETS.iter().zip(patterns()) {
            assert_eq!(
                f.pattern.is_some(),
                p.is_some(),
                "{}/@{}",
                f.element,
                f.attribute
            );
        }
    }
}
