//! Document types (`tipo` in the consecutivo) and their XML root elements and namespaces.

/// Base of every v4.4 namespace URI (both schema revisions use it).
pub const NAMESPACE_BASE_V44: &str = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/";

/// XML-DSig namespace (`ds:`).
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The document type encoded in positions 9–10 of the consecutivo.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TipoDocumento {
    /// `01` Factura electrónica (FE).
    FacturaElectronica,
    /// `02` Nota de débito electrónica (ND).
    NotaDebitoElectronica,
    /// `03` Nota de crédito electrónica (NC).
    NotaCreditoElectronica,
    /// `04` Tiquete electrónico (TE).
    TiqueteElectronico,
    /// `05` Mensaje receptor: confirmación de aceptación.
    AceptacionReceptor,
    /// `06` Mensaje receptor: aceptación parcial.
    AceptacionParcialReceptor,
    /// `07` Mensaje receptor: rechazo.
    RechazoReceptor,
    /// `08` Factura electrónica de compra (FEC).
    FacturaElectronicaCompra,
    /// `09` Factura electrónica de exportación (FEE).
    FacturaElectronicaExportacion,
    /// `10` Recibo electrónico de pago (REP, new in v4.4).
    ReciboElectronicoPago,
}

impl TipoDocumento {
    /// Every document type, in code order.
    pub const ALL: [TipoDocumento; 10] = [
        TipoDocumento::FacturaElectronica,
        TipoDocumento::NotaDebitoElectronica,
        TipoDocumento::NotaCreditoElectronica,
        TipoDocumento::TiqueteElectronico,
        TipoDocumento::AceptacionReceptor,
        TipoDocumento::AceptacionParcialReceptor,
        TipoDocumento::RechazoReceptor,
        TipoDocumento::FacturaElectronicaCompra,
        TipoDocumento::FacturaElectronicaExportacion,
        TipoDocumento::ReciboElectronicoPago,
    ];

    /// The comprobante types (everything but the three mensaje receptor types).
    pub const COMPROBANTES: [TipoDocumento; 7] = [
        TipoDocumento::FacturaElectronica,
        TipoDocumento::NotaDebitoElectronica,
        TipoDocumento::NotaCreditoElectronica,
        TipoDocumento::TiqueteElectronico,
        TipoDocumento::FacturaElectronicaCompra,
        TipoDocumento::FacturaElectronicaExportacion,
        TipoDocumento::ReciboElectronicoPago,
    ];

    /// Two-digit code (`"01"` … `"10"`).
    pub fn code(self) -> &'static str {
        match self {
            TipoDocumento::FacturaElectronica => "01",
            TipoDocumento::NotaDebitoElectronica => "02",
            TipoDocumento::NotaCreditoElectronica => "03",
            TipoDocumento::TiqueteElectronico => "04",
            TipoDocumento::AceptacionReceptor => "05",
            TipoDocumento::AceptacionParcialReceptor => "06",
            TipoDocumento::RechazoReceptor => "07",
            TipoDocumento::FacturaElectronicaCompra => "08",
            TipoDocumento::FacturaElectronicaExportacion => "09",
            TipoDocumento::ReciboElectronicoPago => "10",
        }
    }

    /// Parses a two-digit code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// Short name used in logs and file names (`FE`, `ND`, `NC`, `TE`, `MR`, `FEC`, `FEE`, `REP`).
    pub fn short_name(self) -> &'static str {
        match self {
            TipoDocumento::FacturaElectronica => "FE",
            TipoDocumento::NotaDebitoElectronica => "ND",
            TipoDocumento::NotaCreditoElectronica => "NC",
            TipoDocumento::TiqueteElectronico => "TE",
            TipoDocumento::AceptacionReceptor
            | TipoDocumento::AceptacionParcialReceptor
            | TipoDocumento::RechazoReceptor => "MR",
            TipoDocumento::FacturaElectronicaCompra => "FEC",
            TipoDocumento::FacturaElectronicaExportacion => "FEE",
            TipoDocumento::ReciboElectronicoPago => "REP",
        }
    }

    /// Whether this is one of the mensaje receptor types (05, 06, 07).
    pub fn is_mensaje_receptor(self) -> bool {
        matches!(
            self,
            TipoDocumento::AceptacionReceptor
                | TipoDocumento::AceptacionParcialReceptor
                | TipoDocumento::RechazoReceptor
        )
    }

    /// Local name of the XML root element.
    pub fn root_element(self) -> &'static str {
        match self {
            TipoDocumento::FacturaElectronica => "FacturaElectronica",
            TipoDocumento::NotaDebitoElectronica => "NotaDebitoElectronica",
            TipoDocumento::NotaCreditoElectronica => "NotaCreditoElectronica",
            TipoDocumento::TiqueteElectronico => "TiqueteElectronico",
            TipoDocumento::AceptacionReceptor
            | TipoDocumento::AceptacionParcialReceptor
            | TipoDocumento::RechazoReceptor => "MensajeReceptor",
            TipoDocumento::FacturaElectronicaCompra => "FacturaElectronicaCompra",
            TipoDocumento::FacturaElectronicaExportacion => "FacturaElectronicaExportacion",
            TipoDocumento::ReciboElectronicoPago => "ReciboElectronicoPago",
        }
    }

    /// The v4.4 namespace URI of the root element (same for both schema revisions).
    pub fn namespace(self) -> &'static str {
        match self {
            TipoDocumento::FacturaElectronica => {
                "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica"
            }
            TipoDocumento::NotaDebitoElectronica => {
                "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/notaDebitoElectronica"
            }
            TipoDocumento::NotaCreditoElectronica => {
                "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/notaCreditoElectronica"
            }
            TipoDocumento::TiqueteElectronico => {
                "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/tiqueteElectronico"
            }
            TipoDocumento::AceptacionReceptor
            | TipoDocumento::AceptacionParcialReceptor
            | TipoDocumento::RechazoReceptor => {
                "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeReceptor"
            }
            TipoDocumento::FacturaElectronicaCompra => {
                "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronicaCompra"
            }
            TipoDocumento::FacturaElectronicaExportacion => {
                "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronicaExportacion"
            }
            TipoDocumento::ReciboElectronicoPago => {
                "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/reciboElectronicoPago"
            }
        }
    }

    /// The comprobante type whose root element has this local name (mensaje receptor excluded).
    pub fn comprobante_from_root(local_name: &str) -> Option<Self> {
        Self::COMPROBANTES
            .into_iter()
            .find(|t| t.root_element() == local_name)
    }
}

impl std::fmt::Display for TipoDocumento {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code(), self.short_name())
    }
}
