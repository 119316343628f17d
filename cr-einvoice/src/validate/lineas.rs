//! `DetalleServicio/LineaDetalle`: fields, taxes, exoneraciones, surtido and the line formulas.

use rust_decimal::Decimal;

use super::{At, Rule, V, plus};
use crate::codes;
use crate::model::{LineaDetalle, LineaDetalleSurtido};
use crate::totals::round5;

impl V<'_> {
    fn surtido(&mut self, p: &str, c: &LineaDetalleSurtido) {
        let fee = !self.s.base_imponible;
        if c.codigo_cabys.len() != 13 || !c.codigo_cabys.bytes().all(|b| b.is_ascii_digit()) {
            self.r.err(
                Rule::Cabys,
                At(p, "CodigoCABYSSurtido"),
                format!("{:?} must be 13 digits", c.codigo_cabys),
            );
        }
        self.count(
            At(p, "CodigoComercialSurtido"),
            c.codigos_comerciales.len(),
            0,
            5,
        );
        for k in &c.codigos_comerciales {
            self.code(
                At(p, "CodigoComercialSurtido/TipoSurtido"),
                &k.tipo,
                &codes::TIPOS_CODIGO_COMERCIAL,
            );
            self.chars(At(p, "CodigoComercialSurtido/CodigoSurtido"), &k.codigo);
        }
        self.dec(At(p, "CantidadSurtido"), c.cantidad, 16, 3);
        self.chars(At(p, "UnidadMedidaSurtido"), &c.unidad_medida);
        self.opt_chars(
            At(p, "UnidadMedidaComercialSurtido"),
            c.unidad_medida_comercial.as_deref(),
        );
        self.chars(At(p, "DetalleSurtido"), &c.detalle);
        self.money(At(p, "PrecioUnitarioSurtido"), c.precio_unitario);
        self.money(At(p, "MontoTotalSurtido"), c.monto_total);
        self.count(At(p, "DescuentoSurtido"), c.descuentos.len(), 0, 5);
        let mut desc = Decimal::ZERO;
        for d in &c.descuentos {
            self.money(At(p, "DescuentoSurtido/MontoDescuentoSurtido"), d.monto);
            self.code(
                At(p, "DescuentoSurtido/CodigoDescuentoSurtido"),
                &d.codigo,
                &codes::CODIGOS_DESCUENTO,
            );
            self.opt_chars(
                At(p, "DescuentoSurtido/DescuentoSurtidoOtros"),
                d.codigo_otro.as_deref(),
            );
            self.not_allowed(
                At(p, "DescuentoSurtido/NaturalezaDescuento"),
                d.naturaleza.is_some(),
            );
            desc = plus(desc, d.monto);
        }
        self.money(At(p, "SubTotalSurtido"), c.sub_total);
        self.not_allowed(
            At(p, "IVACobradoFabricaSurtido"),
            fee && c.iva_cobrado_fabrica.is_some(),
        );
        if let Some(v) = &c.iva_cobrado_fabrica {
            self.code(At(p, "IVACobradoFabricaSurtido"), v, &["01", "02"]);
        }
        self.money(At(p, "BaseImponibleSurtido"), c.base_imponible);
        self.count(At(p, "ImpuestoSurtido"), c.impuestos.len(), 1, 1000);
        for imp in &c.impuestos {
            self.code(
                At(p, "ImpuestoSurtido/CodigoImpuestoSurtido"),
                &imp.codigo,
                &codes::IMPUESTO_CODIGOS,
            );
            if let Some(t) = &imp.codigo_tarifa_iva {
                self.code(
                    At(p, "ImpuestoSurtido/CodigoTarifaIVASurtido"),
                    t,
                    &codes::CODIGOS_TARIFA_IVA,
                );
            }
            if let Some(t) = imp.tarifa {
                self.dec(At(p, "ImpuestoSurtido/TarifaSurtido"), t, 4, 2);
            }
            self.not_allowed(
                At(p, "ImpuestoSurtido"),
                imp.factor_calculo_iva.is_some()
                    || imp.monto_exportacion.is_some()
                    || imp.exoneracion.is_some(),
            );
            self.not_allowed(
                At(p, "ImpuestoSurtido/DatosImpuestoEspecificoSurtido"),
                fee && imp.datos_impuesto_especifico.is_some(),
            );
            self.money(At(p, "ImpuestoSurtido/MontoImpuestoSurtido"), imp.monto);
        }
        let expected = c.cantidad.checked_mul(c.precio_unitario).map(round5);
        if expected.is_some_and(|e| e != c.monto_total) {
            self.r.err(
                Rule::LineFormula,
                At(p, "MontoTotalSurtido"),
                format!("expected {expected:?}, found {}", c.monto_total),
            );
        }
        if c.monto_total.checked_sub(desc) != Some(c.sub_total) {
            self.r.err(
                Rule::LineFormula,
                At(p, "SubTotalSurtido"),
                "MontoTotalSurtido − descuentos expected",
            );
        }
    }

    pub(super) fn linea(&mut self, i: usize, l: &LineaDetalle) {
        let s = self.s;
        let p = format!("DetalleServicio/LineaDetalle[{}]", i + 1);
        if usize::try_from(l.numero_linea).ok() != Some(i + 1) {
            self.r.err(
                Rule::LineFormula,
                format!("{p}/NumeroLinea"),
                format!("expected {}, found {}", i + 1, l.numero_linea),
            );
        }
        self.chars(At(&p, "Detalle"), &l.detalle);
        self.not_allowed(
            At(&p, "PartidaArancelaria"),
            !s.partida_arancelaria && l.partida_arancelaria.is_some(),
        );
        self.occ(At(&p, "CodigoCABYS"), s.cabys, l.codigo_cabys.is_some());
        if let Some(c) = &l.codigo_cabys
            && (c.len() != 13 || !c.bytes().all(|b| b.is_ascii_digit()))
        {
            self.r.err(
                Rule::Cabys,
                format!("{p}/CodigoCABYS"),
                format!("{c:?} must be 13 digits"),
            );
        }
        let rep = s.rep_line;
        self.not_allowed(
            At(&p, "CodigoComercial"),
            rep && !l.codigos_comerciales.is_empty(),
        );
        self.count(At(&p, "CodigoComercial"), l.codigos_comerciales.len(), 0, 5);
        for c in &l.codigos_comerciales {
            self.code(
                At(&p, "CodigoComercial/Tipo"),
                &c.tipo,
                &codes::TIPOS_CODIGO_COMERCIAL,
            );
            self.chars(At(&p, "CodigoComercial/Codigo"), &c.codigo);
        }
        if let Some(c) = l.codigo_cabys.as_deref().and_then(|c| c.chars().next())
            && c.is_ascii_digit()
            && !rep
        {
            // see the module documentation: the source is silent on which one prevails
            let by_cabys = c >= '5';
            let by_unit = codes::UNIDADES_SERVICIO.contains(&l.unidad_medida.as_str());
            if by_cabys != by_unit {
                let (a, b) = if by_cabys {
                    ("servicio", "goods")
                } else {
                    ("mercancía", "services")
                };
                self.r.warn(
                    Rule::ServicioMercancia,
                    format!("{p}/UnidadMedida"),
                    format!(
                        "CodigoCABYS makes the line a {a} but UnidadMedida {:?} is a unit of {b}; \
                         the totals follow CABYS",
                        l.unidad_medida
                    ),
                );
            }
        }
        if !rep {
            self.dec(At(&p, "Cantidad"), l.cantidad, 16, 3);
            self.chars(At(&p, "UnidadMedida"), &l.unidad_medida);
            self.money(At(&p, "PrecioUnitario"), l.precio_unitario);
        }
        self.not_allowed(
            At(&p, "TipoTransaccion"),
            !s.tipo_transaccion && l.tipo_transaccion.is_some(),
        );
        if let Some(t) = &l.tipo_transaccion {
            self.code(At(&p, "TipoTransaccion"), t, &codes::TIPOS_TRANSACCION);
        }
        self.not_allowed(
            At(&p, "UnidadMedidaComercial"),
            rep && l.unidad_medida_comercial.is_some(),
        );
        self.opt_chars(
            At(&p, "UnidadMedidaComercial"),
            l.unidad_medida_comercial.as_deref(),
        );
        self.not_allowed(
            At(&p, "NumeroVINoSerie"),
            rep && !l.numeros_vin_serie.is_empty(),
        );
        for n in &l.numeros_vin_serie {
            self.chars(At(&p, "NumeroVINoSerie"), n);
        }
        self.not_allowed(
            At(&p, "RegistroMedicamento"),
            rep && l.registro_medicamento.is_some(),
        );
        self.not_allowed(
            At(&p, "FormaFarmaceutica"),
            rep && l.forma_farmaceutica.is_some(),
        );
        self.opt_chars(
            At(&p, "RegistroMedicamento"),
            l.registro_medicamento.as_deref(),
        );
        self.opt_chars(At(&p, "FormaFarmaceutica"), l.forma_farmaceutica.as_deref());
        self.not_allowed(
            At(&p, "DetalleSurtido"),
            !s.surtido && !l.surtido.is_empty(),
        );
        self.count(
            At(&p, "DetalleSurtido/LineaDetalleSurtido"),
            l.surtido.len(),
            0,
            20,
        );
        for (k, c) in l.surtido.iter().enumerate() {
            self.surtido(
                &format!("{p}/DetalleSurtido/LineaDetalleSurtido[{}]", k + 1),
                c,
            );
        }
        self.money(At(&p, "MontoTotal"), l.monto_total);
        self.not_allowed(At(&p, "Descuento"), rep && !l.descuentos.is_empty());
        self.count(At(&p, "Descuento"), l.descuentos.len(), 0, 5);
        let mut desc = Decimal::ZERO;
        for d in &l.descuentos {
            self.money(At(&p, "Descuento/MontoDescuento"), d.monto);
            self.code(
                At(&p, "Descuento/CodigoDescuento"),
                &d.codigo,
                &codes::CODIGOS_DESCUENTO,
            );
            self.opt_chars(
                At(&p, "Descuento/CodigoDescuentoOTRO"),
                d.codigo_otro.as_deref(),
            );
            self.otro(
                At(&p, "Descuento/CodigoDescuentoOTRO"),
                Some(&d.codigo),
                d.codigo_otro.as_deref(),
            );
            self.opt_chars(
                At(&p, "Descuento/NaturalezaDescuento"),
                d.naturaleza.as_deref(),
            );
            desc = desc.checked_add(d.monto).unwrap_or(Decimal::MAX);
        }
        self.money(At(&p, "SubTotal"), l.sub_total);
        self.not_allowed(
            At(&p, "IVACobradoFabrica"),
            !s.iva_cobrado_fabrica && l.iva_cobrado_fabrica.is_some(),
        );
        if let Some(v) = &l.iva_cobrado_fabrica {
            self.code(At(&p, "IVACobradoFabrica"), v, &["01", "02"]);
        }
        if s.base_imponible {
            self.money(At(&p, "BaseImponible"), l.base_imponible);
        }
        self.count(At(&p, "Impuesto"), l.impuestos.len(), s.impuestos_min, 1000);
        let mut montos = Decimal::ZERO;
        let mut exon = Decimal::ZERO;
        for (j, imp) in l.impuestos.iter().enumerate() {
            let ip = format!("{p}/Impuesto[{}]", j + 1);
            self.code(At(&ip, "Codigo"), &imp.codigo, &codes::IMPUESTO_CODIGOS);
            self.opt_chars(
                At(&ip, "CodigoImpuestoOTRO"),
                imp.codigo_impuesto_otro.as_deref(),
            );
            self.otro(
                At(&ip, "CodigoImpuestoOTRO"),
                Some(&imp.codigo),
                imp.codigo_impuesto_otro.as_deref(),
            );
            if imp.codigo == codes::IMPUESTO_IVA && imp.tarifa.is_none() {
                self.r
                    .err(Rule::Required, At(&ip, "Tarifa"), "IVA requires Tarifa");
            }
            if let Some(c) = &imp.codigo_tarifa_iva {
                self.code(At(&ip, "CodigoTarifaIVA"), c, &codes::CODIGOS_TARIFA_IVA);
                if let (Some(expected), Some(t)) = (codes::tarifa_iva(c), imp.tarifa)
                    && expected != t
                    && c != codes::TARIFA_EXENTA
                {
                    self.r.err(
                        Rule::Code,
                        format!("{ip}/Tarifa"),
                        format!("CodigoTarifaIVA {c} means {expected} %, found {t}"),
                    );
                }
            } else if imp.codigo == codes::IMPUESTO_IVA {
                self.r.err(
                    Rule::Required,
                    format!("{ip}/CodigoTarifaIVA"),
                    "IVA requires CodigoTarifaIVA",
                );
            }
            if let Some(t) = imp.tarifa {
                self.dec(At(&ip, "Tarifa"), t, 4, 2);
            }
            if let Some(f) = imp.factor_calculo_iva {
                self.dec(At(&ip, "FactorCalculoIVA"), f, 5, 4);
            }
            self.not_allowed(
                At(&ip, "DatosImpuestoEspecifico"),
                !s.datos_impuesto_especifico && imp.datos_impuesto_especifico.is_some(),
            );
            if let Some(d) = &imp.datos_impuesto_especifico {
                self.dec(
                    At(&ip, "DatosImpuestoEspecifico/CantidadUnidadMedida"),
                    d.cantidad_unidad_medida,
                    7,
                    2,
                );
                for x in [d.porcentaje, d.proporcion, d.volumen_unidad_consumo]
                    .into_iter()
                    .flatten()
                {
                    self.dec(At(&ip, "DatosImpuestoEspecifico"), x, 7, 2);
                }
                self.money(
                    At(&ip, "DatosImpuestoEspecifico/ImpuestoUnidad"),
                    d.impuesto_unidad,
                );
            }
            self.money(At(&ip, "Monto"), imp.monto);
            self.not_allowed(
                At(&ip, "MontoExportacion"),
                !s.monto_exportacion && imp.monto_exportacion.is_some(),
            );
            self.opt_money(At(&ip, "MontoExportacion"), imp.monto_exportacion);
            self.not_allowed(
                At(&ip, "Exoneracion"),
                !s.exoneracion && imp.exoneracion.is_some(),
            );
            if let Some(e) = &imp.exoneracion {
                let ep = format!("{ip}/Exoneracion");
                self.code(
                    At(&ep, "TipoDocumentoEX1"),
                    &e.tipo_documento,
                    &codes::TIPOS_EXONERACION,
                );
                self.opt_chars(
                    At(&ep, "TipoDocumentoOTRO"),
                    e.tipo_documento_otro.as_deref(),
                );
                self.otro(
                    At(&ep, "TipoDocumentoOTRO"),
                    Some(&e.tipo_documento),
                    e.tipo_documento_otro.as_deref(),
                );
                self.chars(At(&ep, "NumeroDocumento"), &e.numero_documento);
                self.code(
                    At(&ep, "NombreInstitucion"),
                    &e.nombre_institucion,
                    &codes::INSTITUCIONES_EXONERACION,
                );
                self.opt_chars(
                    At(&ep, "NombreInstitucionOtros"),
                    e.nombre_institucion_otros.as_deref(),
                );
                self.otro(
                    At(&ep, "NombreInstitucionOtros"),
                    Some(&e.nombre_institucion),
                    e.nombre_institucion_otros.as_deref(),
                );
                if e.articulo.is_some_and(|a| a > 999_999) || e.inciso.is_some_and(|a| a > 999_999)
                {
                    self.r.err(
                        Rule::Decimals,
                        &ep,
                        "Articulo / Inciso have at most 6 digits",
                    );
                }
                self.dec(At(&ep, "TarifaExonerada"), e.tarifa_exonerada, 4, 2);
                self.money(At(&ep, "MontoExoneracion"), e.monto);
                if e.monto > imp.monto {
                    self.r.err(
                        Rule::LineFormula,
                        format!("{ep}/MontoExoneracion"),
                        "exceeds the tax amount",
                    );
                }
                exon = exon.checked_add(e.monto).unwrap_or(Decimal::MAX);
            }
            montos = montos.checked_add(imp.monto).unwrap_or(Decimal::MAX);
        }
        self.occ(
            At(&p, "ImpuestoAsumidoEmisorFabrica"),
            s.asumido,
            l.impuesto_asumido_emisor_fabrica.is_some(),
        );
        self.opt_money(
            At(&p, "ImpuestoAsumidoEmisorFabrica"),
            l.impuesto_asumido_emisor_fabrica,
        );
        if s.impuesto_neto {
            self.money(At(&p, "ImpuestoNeto"), l.impuesto_neto);
        }
        self.money(At(&p, "MontoTotalLinea"), l.monto_total_linea);

        // formulas
        let mut f = |name: &str, expected: Option<Decimal>, found: Decimal| {
            if let Some(e) = expected
                && e != found
            {
                self.r.err(
                    Rule::LineFormula,
                    format!("{p}/{name}"),
                    format!("expected {e}, found {found}"),
                );
            }
        };
        if !rep {
            f(
                "MontoTotal",
                l.cantidad.checked_mul(l.precio_unitario).map(round5),
                l.monto_total,
            );
        }
        f("SubTotal", l.monto_total.checked_sub(desc), l.sub_total);
        let asumido = l.impuesto_asumido_emisor_fabrica.unwrap_or_default();
        let neto = if s.impuesto_neto {
            let n = montos
                .checked_sub(exon)
                .and_then(|x| x.checked_sub(asumido));
            f("ImpuestoNeto", n, l.impuesto_neto);
            l.impuesto_neto
        } else {
            montos
        };
        f(
            "MontoTotalLinea",
            l.sub_total.checked_add(neto),
            l.monto_total_linea,
        );
        if s.base_imponible {
            let mut base = Some(l.sub_total);
            for imp in &l.impuestos {
                if codes::IMPUESTOS_EN_BASE_IMPONIBLE.contains(&imp.codigo.as_str()) {
                    base = base.and_then(|b| b.checked_add(imp.monto));
                }
            }
            if l.iva_cobrado_fabrica.as_deref() != Some("01")
                && !l
                    .impuestos
                    .iter()
                    .any(|i| i.codigo == codes::IMPUESTO_IVA_CALCULO_ESPECIAL)
            {
                f("BaseImponible", base, l.base_imponible);
            }
            for (j, imp) in l.impuestos.iter().enumerate() {
                if imp.codigo == codes::IMPUESTO_IVA
                    && let Some(t) = imp.tarifa
                {
                    let expected = l
                        .base_imponible
                        .checked_mul(t)
                        .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
                        .map(round5);
                    f(&format!("Impuesto[{}]/Monto", j + 1), expected, imp.monto);
                }
            }
        }
    }
}
