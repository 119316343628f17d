//! Which optional parts each comprobante type has (derived from the v4.4 XSDs).

use crate::tipo::TipoDocumento as T;

/// Occurrence of an element in a document type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Occ {
    Absent,
    Optional,
    Required,
}

impl Occ {
    pub(crate) fn allowed(self) -> bool {
        self != Occ::Absent
    }
}

/// Element structure of one comprobante type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) codigo_actividad_emisor: Occ,
    pub(crate) codigo_actividad_receptor: Occ,
    /// REP parties only have Nombre, Identificacion, CorreoElectronico.
    pub(crate) full_parties: bool,
    pub(crate) emisor_ubicacion: Occ,
    pub(crate) emisor_otras_senas_extranjero: bool,
    pub(crate) emisor_correos_min: usize,
    pub(crate) receptor: Occ,
    pub(crate) receptor_identificacion: Occ,
    pub(crate) receptor_ubicacion: bool,
    pub(crate) receptor_otras_senas_extranjero: bool,
    pub(crate) condicion_extra: bool,
    pub(crate) detalle_required: bool,
    pub(crate) partida_arancelaria: bool,
    pub(crate) cabys: Occ,
    /// REP lines: NumeroLinea, Detalle, MontoTotal, SubTotal, Impuesto*, ImpuestoNeto, MontoTotalLinea.
    pub(crate) rep_line: bool,
    pub(crate) tipo_transaccion: bool,
    pub(crate) iva_cobrado_fabrica: bool,
    pub(crate) base_imponible: bool,
    pub(crate) impuestos_min: usize,
    pub(crate) monto_exportacion: bool,
    pub(crate) datos_impuesto_especifico: bool,
    /// `DetalleSurtido` (FE, TE, NC, ND, FEE).
    pub(crate) surtido: bool,
    pub(crate) exoneracion: bool,
    pub(crate) asumido: Occ,
    pub(crate) impuesto_neto: bool,
    pub(crate) otros_cargos: bool,
    pub(crate) resumen_categorias: bool,
    pub(crate) resumen_exonerado_no_sujeto: bool,
    pub(crate) total_descuentos: bool,
    pub(crate) total_imp_asum: bool,
    pub(crate) total_iva_devuelto: bool,
    pub(crate) total_otros_cargos: bool,
    pub(crate) medios_pago_min: usize,
    pub(crate) referencias_min: usize,
    pub(crate) referencia_numero_required: bool,
    pub(crate) otros: bool,
}

pub(crate) fn shape(t: T) -> Shape {
    let rep = t == T::ReciboElectronicoPago;
    let fec = t == T::FacturaElectronicaCompra;
    let fee = t == T::FacturaElectronicaExportacion;
    let ncnd = matches!(t, T::NotaCreditoElectronica | T::NotaDebitoElectronica);
    let fe_te_nc_nd = matches!(
        t,
        T::FacturaElectronica
            | T::TiqueteElectronico
            | T::NotaCreditoElectronica
            | T::NotaDebitoElectronica
    );
    Shape {
        codigo_actividad_emisor: if rep {
            Occ::Absent
        } else if fec {
            Occ::Optional
        } else {
            Occ::Required
        },
        codigo_actividad_receptor: match t {
            T::FacturaElectronica | T::NotaCreditoElectronica | T::NotaDebitoElectronica => {
                Occ::Optional
            }
            T::FacturaElectronicaCompra => Occ::Required,
            _ => Occ::Absent,
        },
        full_parties: !rep,
        emisor_ubicacion: if rep {
            Occ::Absent
        } else if fec {
            Occ::Optional
        } else {
            Occ::Required
        },
        emisor_otras_senas_extranjero: fec,
        emisor_correos_min: usize::from(!fec),
        receptor: if matches!(t, T::FacturaElectronica | T::FacturaElectronicaCompra) || rep {
            Occ::Required
        } else {
            Occ::Optional
        },
        receptor_identificacion: if matches!(t, T::FacturaElectronica | T::FacturaElectronicaCompra)
            || rep
        {
            Occ::Required
        } else {
            Occ::Optional
        },
        receptor_ubicacion: !fee && !rep,
        receptor_otras_senas_extranjero: !fec && !rep,
        condicion_extra: !rep,
        detalle_required: fec || fee || rep,
        partida_arancelaria: ncnd || fee,
        cabys: if rep {
            Occ::Absent
        } else if ncnd {
            Occ::Optional
        } else {
            Occ::Required
        },
        rep_line: rep,
        tipo_transaccion: !rep && t != T::TiqueteElectronico,
        iva_cobrado_fabrica: fe_te_nc_nd,
        base_imponible: !fee && !rep,
        impuestos_min: usize::from(!rep),
        monto_exportacion: ncnd || fee,
        datos_impuesto_especifico: fe_te_nc_nd,
        surtido: fe_te_nc_nd || fee,
        exoneracion: !fee && !rep,
        asumido: match t {
            T::FacturaElectronica | T::TiqueteElectronico => Occ::Required,
            T::NotaCreditoElectronica | T::NotaDebitoElectronica => Occ::Optional,
            _ => Occ::Absent,
        },
        impuesto_neto: !fee,
        otros_cargos: !rep,
        resumen_categorias: !rep,
        resumen_exonerado_no_sujeto: !rep && !fee,
        total_descuentos: !rep,
        total_imp_asum: !rep,
        total_iva_devuelto: fe_te_nc_nd,
        total_otros_cargos: !rep,
        medios_pago_min: usize::from(rep),
        referencias_min: usize::from(ncnd || fec || rep),
        referencia_numero_required: rep,
        otros: !rep,
    }
}
