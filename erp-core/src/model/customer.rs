use serde::{Deserialize, Serialize};

use super::RemoteRef;
use crate::money::Currency;

/// A customer (QuickBooks Customer, Xero Contact, Alegra contact of type client).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Customer {
    /// Our stable reference; upserts match on it.
    pub external_ref: String,
    /// Legal (fiscal) name, as registered with the tax authority.
    pub legal_name: String,
    /// Display name when it differs from the legal name (QuickBooks requires it unique).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Tax identifiers, one per country/scheme.
    #[serde(default)]
    pub tax_ids: Vec<TaxId>,
    /// Billing and shipping addresses.
    #[serde(default)]
    pub addresses: Vec<Address>,
    /// Main e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Main phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Currency the customer is invoiced in, when fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// The provider's reference, once known (needed for updates with optimistic concurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteRef>,
    /// Provider-specific fields, passed through unchanged.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub passthrough: serde_json::Value,
}

impl Customer {
    /// A customer with only the required fields.
    pub fn new(external_ref: impl Into<String>, legal_name: impl Into<String>) -> Self {
        Self {
            external_ref: external_ref.into(),
            legal_name: legal_name.into(),
            display_name: None,
            tax_ids: Vec::new(),
            addresses: Vec::new(),
            email: None,
            phone: None,
            currency: None,
            remote: None,
            passthrough: serde_json::Value::Null,
        }
    }

    /// The display name, falling back to the legal name.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.legal_name)
    }

    /// The Mexican RFC, when the customer has one.
    pub fn rfc(&self) -> Option<&str> {
        self.tax_ids.iter().find_map(|t| match t {
            TaxId::MxRfc { rfc, .. } => Some(rfc.as_str()),
            _ => None,
        })
    }
}

/// A tax identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaxId {
    /// Mexico: RFC (12 characters for companies, 13 for individuals) and SAT régimen fiscal (c_RegimenFiscal).
    MxRfc {
        /// The RFC.
        rfc: String,
        /// Régimen fiscal code, e.g. `601`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        regimen_fiscal: Option<String>,
        /// Domicilio fiscal postal code (CFDI 4.0 `DomicilioFiscalReceptor`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        postal_code: Option<String>,
    },
    /// Costa Rica: cédula with its identification type.
    CrCedula {
        /// Identification type (01–06).
        kind: CedulaType,
        /// The number.
        number: String,
    },
    /// United States: Employer Identification Number.
    UsEin {
        /// The EIN, e.g. `12-3456789`.
        ein: String,
    },
    /// Any other scheme, as a free pair.
    Other {
        /// ISO 3166-1 alpha-2 country code.
        country: String,
        /// Scheme name (e.g. `NIT`, `CUIT`, `VAT`).
        scheme: String,
        /// The identifier as issued, without the country prefix (e.g. `900123456-7`).
        value: String,
    },
}

/// Costa Rica identification type (Hacienda `Identificacion/Tipo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CedulaType {
    /// `01` Cédula física.
    #[serde(rename = "01")]
    Fisica,
    /// `02` Cédula jurídica.
    #[serde(rename = "02")]
    Juridica,
    /// `03` DIMEX.
    #[serde(rename = "03")]
    Dimex,
    /// `04` NITE.
    #[serde(rename = "04")]
    Nite,
    /// `05` Extranjero no domiciliado.
    #[serde(rename = "05")]
    ExtranjeroNoDomiciliado,
    /// `06` No contribuyente.
    #[serde(rename = "06")]
    NoContribuyente,
}

impl CedulaType {
    /// The two-digit Hacienda code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Fisica => "01",
            Self::Juridica => "02",
            Self::Dimex => "03",
            Self::Nite => "04",
            Self::ExtranjeroNoDomiciliado => "05",
            Self::NoContribuyente => "06",
        }
    }

    /// Parses a two-digit Hacienda code.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "01" => Self::Fisica,
            "02" => Self::Juridica,
            "03" => Self::Dimex,
            "04" => Self::Nite,
            "05" => Self::ExtranjeroNoDomiciliado,
            "06" => Self::NoContribuyente,
            _ => return None,
        })
    }
}

/// What an address is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AddressKind {
    /// Billing / fiscal address.
    Billing,
    /// Shipping address.
    Shipping,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Address {
    /// Billing or shipping.
    pub kind: AddressKind,
    /// Address lines (street, number, unit...).
    #[serde(default)]
    pub lines: Vec<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State / province / region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    /// An empty address of the given kind.
    pub fn new(kind: AddressKind) -> Self {
        Self {
            kind,
            lines: Vec::new(),
            city: None,
            region: None,
            postal_code: None,
            country: None,
        }
    }
}
