use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How our account and tax codes map to one provider's chart of accounts and tax codes.
///
/// Tax codes in invoices are provider-neutral (e.g. `IVA16`, `ISR-RET-10`); each adapter looks them up here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountMapping {
    /// Provider id this mapping is for.
    pub provider: String,
    /// Default income (sales) account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub income_account: Option<String>,
    /// Accounts receivable account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receivable_account: Option<String>,
    /// Default account payments are deposited into (bank or undeposited funds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_account: Option<String>,
    /// Our tax code → provider tax code / tax rate id (QuickBooks TaxCode id, Xero TaxType, Alegra tax id).
    #[serde(default)]
    pub tax_codes: BTreeMap<String, String>,
    /// Our tax code → the liability (or withholding receivable) account it posts to.
    #[serde(default)]
    pub tax_accounts: BTreeMap<String, String>,
    /// Our account code → provider account id/code, for line-level overrides.
    #[serde(default)]
    pub accounts: BTreeMap<String, String>,
}

impl AccountMapping {
    /// An empty mapping for a provider.
    pub fn new(provider: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            ..Self::default()
        }
    }

    /// The provider tax code for one of our tax codes.
    pub fn tax_code(&self, ours: &str) -> crate::Result<&str> {
        self.tax_codes.get(ours).map(String::as_str).ok_or_else(|| {
            crate::Error::config(format!("no {} tax code mapped for `{ours}`", self.provider))
        })
    }

    /// The provider account for one of our account codes (identity when unmapped).
    pub fn account<'a>(&'a self, ours: &'a str) -> &'a str {
        self.accounts.get(ours).map_or(ours, String::as_str)
    }
}
