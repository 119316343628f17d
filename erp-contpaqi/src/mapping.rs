//! erp-hub's model ⇄ CONTPAQi: job payloads from our records, records back from CONTPAQi's.
//!
//! - **Where our `external_ref` lives.** Clientes and productos: it *is* the código (`CCODIGOCLIENTE`,
//!   `CCODIGOPRODUCTO`, at most 30 characters), so an upsert finds the record by it. Documents: in
//!   `CTEXTOEXTRA1` (`referencia`, at most 50 characters); their remote id is `concepto/serie/folio`.
//! - **Taxes.** Each line's taxes are keyed with [`AccountMapping::tax_key`] and looked up in
//!   `mapping.tax_codes`; the value names the movimiento slot of each tax, in the same order, joined with `+`:
//!   `impuesto1` (IVA), `impuesto2` (IEPS), `impuesto3`, `retencion1` (IVA withheld), `retencion2` (ISR
//!   withheld), or `exento` (IVA-exempt line). E.g. `IVA16 → impuesto1`, `IVA16+RET-ISR10 →
//!   impuesto1+retencion2`, `IEPS8+IVA16 → impuesto2+impuesto1`, `NONE → NONE`. The amounts sent are those
//!   erp-hub computed (per-line rounding), set on the movimiento with `fSetDatoMovimiento`, so CONTPAQi's
//!   totals equal ours.
//! - **Items on lines.** A line's item external reference is the producto código; a line without an item uses
//!   [`Conceptos::producto_generico`](crate::config::Conceptos::producto_generico).

use erp_hub_core::adapter::Entity;
use erp_hub_core::http::wire::Amount;
use erp_hub_core::model::{
    AccountMapping, CreditNote, Customer, DocRef, Invoice, InvoiceLine, Item, ItemKind, PartyRef,
    Payment, TaxId,
};
use erp_hub_core::money::Currency;
use erp_hub_core::tax::{Tax, TaxBreakdown, TaxKind, TaxRate};
use erp_hub_core::{Error, Result};
use rust_decimal::Decimal;

use crate::config::Conceptos;
use crate::wire::{
    AltaDocumento, Aplicacion, Cliente, DocKey, Documento, Movimiento, PagoNuevo, Producto, Saldar,
    TipoCliente, TipoProducto, UpsertCliente, UpsertProducto,
};

/// Longest código (SDK `kLongCodigo`).
pub const MAX_CODIGO: usize = 30;
/// Longest `referencia` (`CTEXTOEXTRA1`).
pub const MAX_REFERENCIA: usize = 50;

/// A movimiento tax slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Slot {
    /// `CIMPUESTO1` (IVA).
    Impuesto1,
    /// `CIMPUESTO2` (IEPS).
    Impuesto2,
    /// `CIMPUESTO3`.
    Impuesto3,
    /// `CRETENCION1` (IVA withheld).
    Retencion1,
    /// `CRETENCION2` (ISR withheld).
    Retencion2,
    /// IVA-exempt line (no amount).
    Exento,
}

impl Slot {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "impuesto1" => Self::Impuesto1,
            "impuesto2" => Self::Impuesto2,
            "impuesto3" => Self::Impuesto3,
            "retencion1" => Self::Retencion1,
            "retencion2" => Self::Retencion2,
            "exento" => Self::Exento,
            _ => return None,
        })
    }

    fn is_withholding(self) -> bool {
        matches!(self, Self::Retencion1 | Self::Retencion2)
    }
}

/// The slots mapped for a line's taxes, one per tax, in order.
///
/// # Errors
/// [`Error::Config`] naming the key when it is unmapped, its value is not the slot grammar, has another
/// number of slots than taxes, or puts a withheld tax in an `impuesto` slot (or the reverse).
pub fn slots(mapping: &AccountMapping, taxes: &[Tax]) -> Result<Vec<Slot>> {
    let key = AccountMapping::tax_key(taxes);
    let value = mapping.tax_code(&key)?;
    if taxes.is_empty() {
        return Ok(Vec::new());
    }
    let bad = |why: &str| {
        Error::config(format!(
            "CONTPAQi tax_codes[{key}] = {value:?}: {why} (expected one of impuesto1, impuesto2, impuesto3, \
             retencion1, retencion2, exento per tax, joined with +)"
        ))
    };
    let parsed: Vec<Slot> = value
        .split('+')
        .map(|s| Slot::parse(s).ok_or_else(|| bad(&format!("unknown slot {s:?}"))))
        .collect::<Result<_>>()?;
    if parsed.len() != taxes.len() {
        return Err(bad(&format!(
            "{} slots for {} taxes",
            parsed.len(),
            taxes.len()
        )));
    }
    for (slot, tax) in parsed.iter().zip(taxes) {
        if slot.is_withholding() != (tax.kind == TaxKind::Withheld) {
            return Err(bad(&format!("slot {slot:?} does not fit tax {}", tax.code)));
        }
    }
    Ok(parsed)
}

/// Checks a código.
///
/// # Errors
/// [`Error::Validation`] naming `field` when it is empty, longer than [`MAX_CODIGO`] or not printable.
pub fn codigo(value: &str, field: &str) -> Result<String> {
    if value.is_empty() || value.chars().count() > MAX_CODIGO || value.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            field,
            format!("a CONTPAQi código is 1..={MAX_CODIGO} printable characters, got {value:?}"),
        ));
    }
    Ok(value.to_owned())
}

fn referencia(value: &str) -> Result<String> {
    if value.is_empty() || value.chars().count() > MAX_REFERENCIA {
        return Err(Error::invalid(
            "external_ref",
            format!(
                "CONTPAQi keeps it in CTEXTOEXTRA1: 1..={MAX_REFERENCIA} characters, got {value:?}"
            ),
        ));
    }
    Ok(value.to_owned())
}

/// `value` when it has at most `max` characters, else a `Validation` error naming `field` (CONTPAQi's
/// fixed-width fields would cut it).
fn limited(value: &str, max: usize, field: &str) -> Result<String> {
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("CONTPAQi keeps at most {max} characters here, got {value:?}"),
        ));
    }
    Ok(value.to_owned())
}

/// A phone number as CONTPAQi stores it (`CTELEFONO1`, 15 characters): spaces, dashes, dots and parentheses
/// dropped.
fn telefono(value: &str) -> Result<String> {
    let compact: String = value
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    limited(&compact, 15, "phone")
}

fn passthrough_str(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// The `upsert_cliente` payload of a customer: RFC, régimen fiscal and fiscal zip code from its
/// [`TaxId::MxRfc`] (zip code falling back to the first address), `uso_cfdi` from `passthrough.uso_cfdi`.
///
/// # Errors
/// [`Error::Validation`] for an external reference that is not a valid código.
pub fn cliente(c: &Customer) -> Result<UpsertCliente> {
    let (regimen, cp) = c
        .tax_ids
        .iter()
        .find_map(|t| match t {
            TaxId::MxRfc {
                regimen_fiscal,
                postal_code,
                ..
            } => Some((regimen_fiscal.clone(), postal_code.clone())),
            _ => None,
        })
        .unwrap_or_default();
    Ok(UpsertCliente {
        codigo: codigo(&c.external_ref, "external_ref")?,
        tipo: TipoCliente::Cliente,
        razon_social: limited(&c.legal_name, 60, "legal_name")?,
        rfc: c.rfc().map(|r| limited(r, 20, "tax_ids")).transpose()?,
        email: c
            .email
            .as_deref()
            .map(|e| limited(e, 60, "email"))
            .transpose()?,
        telefono: c.phone.as_deref().map(telefono).transpose()?,
        codigo_postal: cp.or_else(|| c.addresses.iter().find_map(|a| a.postal_code.clone())),
        regimen_fiscal: regimen.or_else(|| passthrough_str(&c.passthrough, "regimen_fiscal")),
        uso_cfdi: passthrough_str(&c.passthrough, "uso_cfdi"),
        moneda: c.currency.map(|m| m.code().to_owned()),
        expected_timestamp: c.remote.as_ref().and_then(|r| r.version.clone()),
    })
}

/// The `upsert_producto` payload of an item (`clave_sat` from `passthrough.clave_sat`).
///
/// # Errors
/// [`Error::Validation`] for an external reference that is not a valid código.
pub fn producto(i: &Item) -> Result<UpsertProducto> {
    Ok(UpsertProducto {
        codigo: codigo(&i.external_ref, "external_ref")?,
        nombre: limited(&i.name, 60, "name")?,
        tipo: match i.kind {
            ItemKind::Service => TipoProducto::Servicio,
            _ => TipoProducto::Producto,
        },
        descripcion: i.description.clone(),
        precio: i.unit_price.map(Amount),
        clave_sat: passthrough_str(&i.passthrough, "clave_sat"),
        unidad: i.unit.clone(),
    })
}

fn movimientos(
    lines: &[InvoiceLine],
    breakdown: &TaxBreakdown,
    mapping: &AccountMapping,
    conceptos: &Conceptos,
) -> Result<Vec<Movimiento>> {
    let mut out = Vec::with_capacity(lines.len());
    for (i, (line, b)) in lines.iter().zip(&breakdown.lines).enumerate() {
        let producto = match &line.item {
            Some(item) => codigo(item, &format!("lines[{i}].item"))?,
            None => conceptos.producto_generico.clone(),
        };
        let mut m = Movimiento {
            producto,
            unidades: Amount(line.quantity),
            precio: Amount(line.unit_price),
            descuento: (!b.discount.amount().is_zero()).then_some(Amount(b.discount.amount())),
            neto: Amount(b.net.amount()),
            observaciones: Some(line.description.chars().take(255).collect()),
            ..Movimiento::default()
        };
        for ((slot, tax), computed) in slots(mapping, &line.taxes)?
            .into_iter()
            .zip(&line.taxes)
            .zip(&b.taxes)
        {
            let amount = computed
                .amount
                .as_ref()
                .map_or(Decimal::ZERO, |a| a.amount());
            let rate = match &tax.rate {
                TaxRate::Percent(p) => Some(Amount(*p)),
                TaxRate::Zero => Some(Amount(Decimal::ZERO)),
                _ => None,
            };
            let (amt, pct) = match slot {
                Slot::Impuesto1 => (&mut m.impuesto1, &mut m.porcentaje_impuesto1),
                Slot::Impuesto2 => (&mut m.impuesto2, &mut m.porcentaje_impuesto2),
                Slot::Impuesto3 => (&mut m.impuesto3, &mut m.porcentaje_impuesto3),
                Slot::Retencion1 => (&mut m.retencion1, &mut m.porcentaje_retencion1),
                Slot::Retencion2 => (&mut m.retencion2, &mut m.porcentaje_retencion2),
                Slot::Exento => {
                    m.exento = true;
                    continue;
                }
            };
            if amt.is_some() {
                return Err(Error::config(format!(
                    "CONTPAQi tax_codes[{}] puts two taxes in slot {slot:?}",
                    AccountMapping::tax_key(&line.taxes)
                )));
            }
            *amt = Some(Amount(amount));
            *pct = rate;
        }
        out.push(m);
    }
    Ok(out)
}

fn party_codigo(p: &PartyRef) -> Result<String> {
    codigo(
        p.remote_id.as_deref().unwrap_or(&p.external_ref),
        "customer",
    )
}

fn folio_of(number: Option<&str>, field: &str) -> Result<Option<i64>> {
    number
        .map(|n| {
            n.parse::<i64>().ok().filter(|f| *f > 0).ok_or_else(|| {
                Error::invalid(
                    field,
                    format!("a CONTPAQi folio is a positive integer, got {n:?}"),
                )
            })
        })
        .transpose()
}

/// The `alta_documento` payload of an invoice (concepto and serie from `conceptos`, unless the invoice
/// names its series; its number, when given, is the folio).
///
/// # Errors
/// `Validation` for bad references, folio or lines; `Config` for unmapped tax keys.
pub fn factura(
    inv: &Invoice,
    mapping: &AccountMapping,
    conceptos: &Conceptos,
) -> Result<AltaDocumento> {
    let breakdown = inv.breakdown()?;
    Ok(AltaDocumento {
        concepto: conceptos.factura.clone(),
        serie: inv
            .series
            .clone()
            .unwrap_or_else(|| conceptos.serie_factura.clone()),
        folio: folio_of(inv.number.as_deref(), "number")?,
        fecha: inv.issue_date,
        vencimiento: inv.due_date,
        cliente: party_codigo(&inv.customer)?,
        moneda: inv.currency.code().to_owned(),
        tipo_cambio: inv.exchange_rate.map(Amount),
        referencia: referencia(&inv.external_ref)?,
        observaciones: inv.memo.clone(),
        movimientos: movimientos(&inv.lines, &breakdown, mapping, conceptos)?,
        relacionado: None,
    })
}

/// The document key a [`DocRef`] points at (its remote id).
///
/// # Errors
/// `Validation` naming `field` when the reference is unresolved or not `concepto/serie/folio`.
pub fn doc_key(d: &DocRef, field: &str) -> Result<DocKey> {
    let id = d.remote_id.as_deref().ok_or_else(|| {
        Error::invalid(
            field,
            format!(
                "{} has no CONTPAQi id yet (create it first)",
                d.external_ref
            ),
        )
    })?;
    DocKey::parse(id).ok_or_else(|| {
        Error::invalid(
            field,
            format!("{id:?} is not a CONTPAQi concepto/serie/folio"),
        )
    })
}

/// The `alta_documento` payload of a credit note (nota de crédito related to its invoice).
///
/// # Errors
/// As [`factura`]; `Validation` when the invoice is unresolved.
pub fn nota_credito(
    cn: &CreditNote,
    mapping: &AccountMapping,
    conceptos: &Conceptos,
) -> Result<AltaDocumento> {
    let breakdown = cn.breakdown()?;
    Ok(AltaDocumento {
        concepto: conceptos.nota_credito.clone(),
        serie: conceptos.serie_nota_credito.clone(),
        folio: folio_of(cn.number.as_deref(), "number")?,
        fecha: cn.issue_date,
        vencimiento: None,
        cliente: party_codigo(&cn.customer)?,
        moneda: cn.currency.code().to_owned(),
        tipo_cambio: cn.exchange_rate.map(Amount),
        referencia: referencia(&cn.external_ref)?,
        observaciones: cn.reason.clone(),
        movimientos: movimientos(&cn.lines, &breakdown, mapping, conceptos)?,
        relacionado: Some(doc_key(&cn.invoice, "invoice")?),
    })
}

/// The `saldar` payload of a payment: a new pago document applied to each invoice.
///
/// # Errors
/// `Validation` for bad references or a payment without applications.
pub fn pago(p: &Payment, conceptos: &Conceptos) -> Result<Saldar> {
    if p.applications.is_empty() {
        return Err(Error::invalid(
            "applications",
            "a CONTPAQi pago is applied to at least one document",
        ));
    }
    let aplicaciones = p
        .applications
        .iter()
        .enumerate()
        .map(|(i, a)| {
            Ok(Aplicacion::new(
                doc_key(&a.invoice, &format!("applications[{i}].invoice"))?,
                Amount(a.amount),
            ))
        })
        .collect::<Result<_>>()?;
    Ok(Saldar {
        pago: Some(PagoNuevo {
            concepto: conceptos.pago.clone(),
            serie: conceptos.serie_pago.clone(),
            fecha: p.date,
            cliente: party_codigo(&p.customer)?,
            moneda: p.currency.code().to_owned(),
            tipo_cambio: p.exchange_rate.map(Amount),
            total: Amount(p.amount),
            referencia: referencia(&p.external_ref)?,
            forma_pago: p.method.clone(),
        }),
        abono: None,
        aplicaciones,
    })
}

/// A customer read back.
pub fn customer_from(c: &Cliente) -> Customer {
    let mut out = Customer::new(c.codigo.clone(), c.razon_social.clone());
    out.email = c.email.clone();
    out.phone = c.telefono.clone();
    out.currency = c.moneda.as_deref().and_then(|m| m.parse().ok());
    out
}

/// An item read back.
pub fn item_from(p: &Producto) -> Item {
    let kind = match p.tipo {
        TipoProducto::Servicio => ItemKind::Service,
        _ => ItemKind::Product,
    };
    let mut out = Item::new(p.codigo.clone(), p.codigo.clone(), p.nombre.clone(), kind);
    out.description = p.descripcion.clone();
    out.unit_price = p.precio.map(|a| a.0);
    out.unit = p.unidad.clone();
    out
}

fn taxes_of(m: &Movimiento) -> Vec<Tax> {
    let pct = |p: Option<Amount>| TaxRate::Percent(p.map_or(Decimal::ZERO, |a| a.0));
    let mut taxes = Vec::new();
    if m.impuesto2.is_some() {
        taxes.push(Tax::transferred("IEPS", pct(m.porcentaje_impuesto2)));
    }
    if m.exento {
        taxes.push(Tax::transferred("IVA", TaxRate::Exempt));
    } else if m.impuesto1.is_some() {
        let iva = Tax::transferred("IVA", pct(m.porcentaje_impuesto1));
        taxes.push(if m.impuesto2.is_some() {
            iva.with_base_including("IEPS")
        } else {
            iva
        });
    }
    if m.retencion1.is_some() {
        taxes.push(Tax::withheld("IVA", pct(m.porcentaje_retencion1)));
    }
    if m.retencion2.is_some() {
        taxes.push(Tax::withheld("ISR", pct(m.porcentaje_retencion2)));
    }
    taxes
}

fn lines_of(d: &Documento, conceptos: &Conceptos) -> Vec<InvoiceLine> {
    d.movimientos
        .iter()
        .map(|m| {
            let mut line = InvoiceLine::new(
                m.observaciones
                    .clone()
                    .unwrap_or_else(|| m.producto.clone()),
                m.unidades.0,
                m.precio.0,
            );
            if m.producto != conceptos.producto_generico {
                line = line.with_item(m.producto.clone());
            }
            line.taxes = taxes_of(m);
            line
        })
        .collect()
}

/// A document read back as the entity its concepto stands for (factura → invoice, nota de crédito → credit
/// note, pago → payment).
///
/// # Errors
/// `Validation` for an unknown currency; `Unsupported` for a concepto erp-hub does not write.
pub fn entity_from(d: &Documento, conceptos: &Conceptos) -> Result<Entity> {
    let currency: Currency = d
        .moneda
        .parse()
        .map_err(|_| Error::invalid("moneda", format!("unknown currency {:?}", d.moneda)))?;
    let party = PartyRef::resolved(d.cliente.clone(), d.cliente.clone());
    let key = d.key();
    if d.concepto == conceptos.factura {
        let mut inv = Invoice::new(d.referencia.clone(), party, d.fecha, currency);
        inv.series = Some(d.serie.clone());
        inv.number = Some(d.folio.to_string());
        inv.exchange_rate = d.tipo_cambio.map(|a| a.0);
        inv.lines = lines_of(d, conceptos);
        Ok(Entity::Invoice(inv))
    } else if d.concepto == conceptos.nota_credito {
        let target = d
            .aplicaciones
            .first()
            .map(|a| a.documento.remote_id())
            .unwrap_or_default();
        let mut cn = CreditNote::new(
            d.referencia.clone(),
            party,
            DocRef::resolved(target.clone(), target),
            d.fecha,
            currency,
        );
        cn.number = Some(d.folio.to_string());
        cn.lines = lines_of(d, conceptos);
        Ok(Entity::CreditNote(cn))
    } else if d.concepto == conceptos.pago {
        let mut p = Payment::new(d.referencia.clone(), party, d.fecha, currency, d.total.0);
        for a in &d.aplicaciones {
            let id = a.documento.remote_id();
            p = p.apply_to(DocRef::resolved(id.clone(), id), a.importe.0);
        }
        p.reference = Some(key.remote_id());
        Ok(Entity::Payment(p))
    } else {
        Err(Error::unsupported(format!(
            "reading CONTPAQi concepto {} (not one of the configured factura/nota de crédito/pago)",
            d.concepto
        )))
    }
}
