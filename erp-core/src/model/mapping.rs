use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::tax::{Tax, TaxKind, TaxRate};

/// How our account and tax codes map to one provider's chart of accounts and tax codes.
///
/// Taxes in documents are provider-neutral ([`Tax`]); every adapter turns a line's taxes into one key with
/// [`AccountMapping::tax_key`] and looks the provider's code up in [`tax_codes`](Self::tax_codes), so one mapping
/// file has the same keys for every provider.
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

    /// The key of a set of taxes in [`tax_codes`](Self::tax_codes) and [`tax_accounts`](Self::tax_accounts): the
    /// one grammar every adapter uses.
    ///
    /// One token per tax, in the order given, joined with `+`; `NONE` for no taxes. A token is the tax code
    /// followed by its rate:
    ///
    /// | tax | token |
    /// |---|---|
    /// | transferred, percent | `IVA16`, `IEPS8`, `IVA10.5` (trailing zeros dropped: 16.00 % is `IVA16`) |
    /// | transferred, zero rate | `IVA0` |
    /// | exempt | `IVA-EXEMPT` |
    /// | per unit (amount per unit in the document currency) | `IEPS-PU1.5` |
    /// | withheld | the same, prefixed with `RET-`: `RET-ISR10`, `RET-IVA10.6667` |
    ///
    /// A compound tax (IVA on a base that includes IEPS) is keyed like the plain combination, `IEPS8+IVA16`: the
    /// provider code it maps to carries the compounding, and adapters send the amounts erp-hub computed.
    ///
    /// ```
    /// use erp_hub_core::model::AccountMapping;
    /// use erp_hub_core::money::{Currency, Money};
    /// use erp_hub_core::tax::{Tax, TaxRate};
    /// use rust_decimal::Decimal;
    ///
    /// let iva16 = Tax::transferred("IVA", TaxRate::Percent(Decimal::from(16)));
    /// let isr10 = Tax::withheld("ISR", TaxRate::Percent(Decimal::from(10)));
    /// let ieps8 = Tax::transferred("IEPS", TaxRate::Percent(Decimal::from(8)));
    /// assert_eq!(AccountMapping::tax_key(&[iva16.clone()]), "IVA16");
    /// assert_eq!(AccountMapping::tax_key(&[iva16.clone(), isr10]), "IVA16+RET-ISR10");
    /// assert_eq!(AccountMapping::tax_key(&[Tax::transferred("IVA", TaxRate::Exempt)]), "IVA-EXEMPT");
    /// assert_eq!(AccountMapping::tax_key(&[Tax::transferred("IVA", TaxRate::Zero)]), "IVA0");
    /// let litre = Money::new(Decimal::new(15, 1), Currency::MXN);
    /// assert_eq!(AccountMapping::tax_key(&[Tax::transferred("IEPS", TaxRate::PerUnit(litre))]), "IEPS-PU1.5");
    /// assert_eq!(AccountMapping::tax_key(&[ieps8, iva16.with_base_including("IEPS")]), "IEPS8+IVA16");
    /// assert_eq!(AccountMapping::tax_key(&[]), "NONE");
    /// ```
    pub fn tax_key(taxes: &[Tax]) -> String {
        if taxes.is_empty() {
            return "NONE".into();
        }
        let tokens: Vec<String> = taxes.iter().map(tax_token).collect();
        tokens.join("+")
    }

    /// The provider tax code mapped for `taxes` ([`tax_key`](Self::tax_key) looked up in
    /// [`tax_codes`](Self::tax_codes)).
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) naming the key when it is not mapped.
    pub fn tax_code_for(&self, taxes: &[Tax]) -> crate::Result<&str> {
        self.tax_code(&Self::tax_key(taxes))
    }

    /// The provider account for one of our account codes (identity when unmapped).
    pub fn account<'a>(&'a self, ours: &'a str) -> &'a str {
        self.accounts.get(ours).map_or(ours, String::as_str)
    }
}

fn tax_token(t: &Tax) -> String {
    let base = match &t.rate {
        TaxRate::Percent(p) => format!("{}{}", t.code, p.normalize()),
        TaxRate::Zero => format!("{}0", t.code),
        TaxRate::Exempt => format!("{}-EXEMPT", t.code),
        TaxRate::PerUnit(m) => format!("{}-PU{}", t.code, m.amount().normalize()),
    };
    match t.kind {
        TaxKind::Withheld => format!("RET-{base}"),
        TaxKind::Transferred => base,
    }
}
