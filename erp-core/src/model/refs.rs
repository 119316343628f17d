use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which kind of entity a record or reference is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntityKind {
    /// A customer (contact).
    Customer,
    /// A product or service.
    Item,
    /// A sales invoice.
    Invoice,
    /// A customer payment.
    Payment,
    /// A credit note (credit memo).
    CreditNote,
}

impl EntityKind {
    /// All kinds, in a stable order.
    pub const ALL: [Self; 5] = [
        Self::Customer,
        Self::Item,
        Self::Invoice,
        Self::Payment,
        Self::CreditNote,
    ];

    /// Lower-case name (`customer`, `credit_note`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Item => "item",
            Self::Invoice => "invoice",
            Self::Payment => "payment",
            Self::CreditNote => "credit_note",
        }
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record's identity at the provider: id plus the version used for optimistic concurrency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RemoteRef {
    /// Provider id (e.g. `quickbooks`, `xero`, `memory`).
    pub provider: String,
    /// The provider's id of the record.
    pub id: String,
    /// The provider's version token (QuickBooks `SyncToken`, an ETag, a counter), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Human-facing document number assigned by the provider (e.g. `INV-0042`), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// When the provider last changed the record, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl RemoteRef {
    /// A reference with no version.
    pub fn new(provider: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            id: id.into(),
            version: None,
            number: None,
            updated_at: None,
        }
    }

    /// The same reference with a version token.
    #[must_use]
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// The same reference with a document number.
    #[must_use]
    pub fn with_number(mut self, number: impl Into<String>) -> Self {
        self.number = Some(number.into());
        self
    }
}

impl std::fmt::Display for RemoteRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.provider, self.id)?;
        if let Some(v) = &self.version {
            write!(f, "@{v}")?;
        }
        Ok(())
    }
}

/// A reference to a customer from a document: our external reference, plus the remote id when known.
///
/// Adapters use `remote_id` when present; otherwise they look the customer up by `external_ref`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartyRef {
    /// Our reference of the customer.
    pub external_ref: String,
    /// The provider's id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
}

impl PartyRef {
    /// A reference by our external reference only.
    pub fn external(external_ref: impl Into<String>) -> Self {
        Self {
            external_ref: external_ref.into(),
            remote_id: None,
        }
    }

    /// A reference with both ids.
    pub fn resolved(external_ref: impl Into<String>, remote_id: impl Into<String>) -> Self {
        Self {
            external_ref: external_ref.into(),
            remote_id: Some(remote_id.into()),
        }
    }
}

/// A reference to a document (invoice) from a payment or a credit note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DocRef {
    /// Our reference of the document.
    pub external_ref: String,
    /// The provider's id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
}

impl DocRef {
    /// A reference by our external reference only.
    pub fn external(external_ref: impl Into<String>) -> Self {
        Self {
            external_ref: external_ref.into(),
            remote_id: None,
        }
    }

    /// A reference with both ids.
    pub fn resolved(external_ref: impl Into<String>, remote_id: impl Into<String>) -> Self {
        Self {
            external_ref: external_ref.into(),
            remote_id: Some(remote_id.into()),
        }
    }
}
