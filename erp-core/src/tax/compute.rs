//! The calculation behind [`TaxCalculator::calculate`](super::TaxCalculator::calculate).

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;

use super::{
    Discount, Line, LineBreakdown, LineTax, PriceMode, RoundingPolicy, Tax, TaxBreakdown,
    TaxCalculator, TaxError, TaxGroup, TaxKind, TaxRate,
};
use crate::money::{Currency, Money};

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// Checked decimal arithmetic that reports overflow for a given line.
#[derive(Clone, Copy)]
struct Ops {
    line: Option<usize>,
}

impl Ops {
    fn err(self) -> TaxError {
        TaxError::Overflow { line: self.line }
    }
    fn add(self, a: Decimal, b: Decimal) -> Result<Decimal, TaxError> {
        a.checked_add(b).ok_or_else(|| self.err())
    }
    fn sub(self, a: Decimal, b: Decimal) -> Result<Decimal, TaxError> {
        a.checked_sub(b).ok_or_else(|| self.err())
    }
    fn mul(self, a: Decimal, b: Decimal) -> Result<Decimal, TaxError> {
        a.checked_mul(b).ok_or_else(|| self.err())
    }
    fn div(self, a: Decimal, b: Decimal) -> Result<Decimal, TaxError> {
        a.checked_div(b).ok_or_else(|| self.err())
    }
    /// `a × percent / 100`.
    fn percent(self, a: Decimal, percent: Decimal) -> Result<Decimal, TaxError> {
        self.div(self.mul(a, percent)?, HUNDRED)
    }
}

/// The validated taxes of one line with their evaluation order.
struct Plan<'a> {
    taxes: &'a [Tax],
    /// For each tax, the indices of the transferred taxes included in its base (deduplicated).
    includes: Vec<Vec<usize>>,
    /// An order in which every tax comes after the taxes in its base.
    order: Vec<usize>,
}

/// Unrounded or rounded values of one line, in net terms.
struct LineValues {
    gross: Decimal,
    discount: Decimal,
    net: Decimal,
    /// Per tax, in input order: (base, amount; `None` when exempt).
    taxes: Vec<(Decimal, Option<Decimal>)>,
    transferred: Decimal,
    withheld: Decimal,
    total: Decimal,
}

pub(super) fn calculate(calc: &TaxCalculator, lines: &[Line]) -> Result<TaxBreakdown, TaxError> {
    let currency = calc.currency;
    let round = |x: Decimal| -> Decimal { Money::new(x, currency).round(calc.rounding).amount() };
    let per_line = calc.policy == RoundingPolicy::PerLine;

    let mut values = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let plan = plan(index, line, currency)?;
        let v = if per_line {
            line_values(index, line, &plan, calc.price_mode, &round)?
        } else {
            line_values(index, line, &plan, calc.price_mode, &|x| x)?
        };
        values.push(v);
    }

    let doc = Ops { line: None };
    let money = |x: Decimal| Money::new(x, currency);
    let zero = Money::zero(currency).amount();

    // Groups: (code, kind, rate) in order of first appearance, with sums of the emitted line values.
    let mut groups: Vec<(String, TaxKind, TaxRate, Decimal, Option<Decimal>)> = Vec::new();
    for (line, v) in lines.iter().zip(&values) {
        for (tax, (base, amount)) in line.taxes.iter().zip(&v.taxes) {
            let pos = groups
                .iter()
                .position(|g| g.0 == tax.code && g.1 == tax.kind && g.2 == tax.rate);
            match pos.and_then(|p| groups.get_mut(p)) {
                Some(g) => {
                    g.3 = doc.add(g.3, *base)?;
                    g.4 = match (g.4, amount) {
                        (Some(a), Some(b)) => Some(doc.add(a, *b)?),
                        (a, b) => a.or(*b),
                    };
                }
                None => groups.push((tax.code.clone(), tax.kind, tax.rate.clone(), *base, *amount)),
            }
        }
    }

    let sum = |f: fn(&LineValues) -> Decimal| -> Result<Decimal, TaxError> {
        values.iter().try_fold(zero, |acc, v| doc.add(acc, f(v)))
    };
    let (subtotal, discount, transferred, withheld, net, total);
    if per_line {
        // Every total is the exact sum of emitted (rounded) line values.
        subtotal = sum(|v| v.gross)?;
        discount = sum(|v| v.discount)?;
        net = sum(|v| v.net)?;
        transferred = sum(|v| v.transferred)?;
        withheld = sum(|v| v.withheld)?;
        total = sum(|v| v.total)?;
    } else {
        // Round once per total and per group; derive the rest from the rounded values.
        for g in &mut groups {
            g.3 = round(g.3);
            g.4 = g.4.map(round);
        }
        subtotal = round(sum(|v| v.gross)?);
        discount = round(sum(|v| v.discount)?);
        net = doc.sub(subtotal, discount)?;
        let mut t = zero;
        let mut w = zero;
        for g in &groups {
            if let Some(a) = g.4 {
                match g.1 {
                    TaxKind::Transferred => t = doc.add(t, a)?,
                    TaxKind::Withheld => w = doc.add(w, a)?,
                }
            }
        }
        transferred = t;
        withheld = w;
        total = doc.sub(doc.add(net, transferred)?, withheld)?;
    }

    let line_breakdowns = lines
        .iter()
        .zip(values)
        .map(|(line, v)| LineBreakdown {
            gross: money(v.gross),
            discount: money(v.discount),
            net: money(v.net),
            taxes: line
                .taxes
                .iter()
                .zip(v.taxes)
                .map(|(tax, (base, amount))| LineTax {
                    code: tax.code.clone(),
                    kind: tax.kind,
                    rate: tax.rate.clone(),
                    base: money(base),
                    amount: amount.map(money),
                })
                .collect(),
            transferred: money(v.transferred),
            withheld: money(v.withheld),
            total: money(v.total),
        })
        .collect();

    Ok(TaxBreakdown {
        currency,
        lines: line_breakdowns,
        groups: groups
            .into_iter()
            .map(|(code, kind, rate, base, amount)| TaxGroup {
                code,
                kind,
                rate,
                base: money(base),
                amount: amount.map(money),
            })
            .collect(),
        subtotal: money(subtotal),
        discount: money(discount),
        net: money(net),
        transferred: money(transferred),
        withheld: money(withheld),
        total: money(total),
    })
}

/// Validates a line's inputs and resolves the compound bases into an evaluation order.
fn plan(line_index: usize, line: &Line, currency: Currency) -> Result<Plan<'_>, TaxError> {
    let check_currency = |m: &Money| {
        if m.currency() == currency {
            Ok(())
        } else {
            Err(TaxError::CurrencyMismatch {
                line: line_index,
                expected: currency,
                found: m.currency(),
            })
        }
    };
    check_currency(&line.unit_price)?;
    if line.quantity < Decimal::ZERO {
        return Err(TaxError::NegativeQuantity { line: line_index });
    }
    if line.unit_price.amount() < Decimal::ZERO {
        return Err(TaxError::NegativePrice { line: line_index });
    }
    match &line.discount {
        Some(Discount::Amount(m)) => {
            check_currency(m)?;
            if m.amount() < Decimal::ZERO {
                return Err(TaxError::InvalidDiscount { line: line_index });
            }
        }
        Some(Discount::Percent(p)) if *p < Decimal::ZERO || *p > HUNDRED => {
            return Err(TaxError::InvalidDiscount { line: line_index });
        }
        Some(Discount::Percent(_)) | None => {}
    }

    let taxes = line.taxes.as_slice();
    for tax in taxes {
        match &tax.rate {
            TaxRate::Percent(p) if *p < Decimal::ZERO => {
                return Err(TaxError::NegativeRate {
                    line: line_index,
                    tax: tax.code.clone(),
                });
            }
            TaxRate::PerUnit(m) => {
                check_currency(m)?;
                if m.amount() < Decimal::ZERO {
                    return Err(TaxError::NegativeRate {
                        line: line_index,
                        tax: tax.code.clone(),
                    });
                }
            }
            _ => {}
        }
    }

    // Each (code, kind) once; index the transferred taxes by code for base_includes.
    let mut seen: HashSet<(&str, TaxKind)> = HashSet::with_capacity(taxes.len());
    let mut transferred: HashMap<&str, usize> = HashMap::new();
    for (i, tax) in taxes.iter().enumerate() {
        if !seen.insert((tax.code.as_str(), tax.kind)) {
            return Err(TaxError::DuplicateTax {
                line: line_index,
                tax: tax.code.clone(),
                kind: tax.kind,
            });
        }
        if tax.kind == TaxKind::Transferred {
            transferred.insert(tax.code.as_str(), i);
        }
    }

    // Resolve base_includes to indices of transferred taxes.
    let mut includes = Vec::with_capacity(taxes.len());
    for (i, tax) in taxes.iter().enumerate() {
        let mut deps: Vec<usize> = Vec::new();
        for code in &tax.base_includes {
            let j = transferred.get(code.as_str()).copied().ok_or_else(|| {
                TaxError::UnknownBaseTax {
                    line: line_index,
                    tax: tax.code.clone(),
                    base: code.clone(),
                }
            })?;
            if j == i {
                return Err(TaxError::CircularCompound {
                    line: line_index,
                    tax: tax.code.clone(),
                });
            }
            if !deps.contains(&j) {
                deps.push(j);
            }
        }
        includes.push(deps);
    }

    // Kahn's algorithm: a tax is ready once every tax in its base is computed; ties in input order.
    let n = taxes.len();
    let mut pending: Vec<usize> = includes.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, deps) in includes.iter().enumerate() {
        for &j in deps {
            if let Some(d) = dependents.get_mut(j) {
                d.push(i);
            }
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| pending.get(i) == Some(&0)).collect();
    let mut next = 0;
    while let Some(&i) = order.get(next) {
        next += 1;
        for &k in dependents.get(i).map(Vec::as_slice).unwrap_or_default() {
            if let Some(p) = pending.get_mut(k) {
                *p -= 1;
                if *p == 0 {
                    order.push(k);
                }
            }
        }
    }
    if order.len() < n {
        let stuck = (0..n)
            .find(|i| !order.contains(i))
            .and_then(|i| taxes.get(i));
        return Err(TaxError::CircularCompound {
            line: line_index,
            tax: stuck.map(|t| t.code.clone()).unwrap_or_default(),
        });
    }
    Ok(Plan {
        taxes,
        includes,
        order,
    })
}

/// Computes one line. `round` is applied to every emitted value (identity for the per-document policy).
fn line_values(
    line_index: usize,
    line: &Line,
    plan: &Plan<'_>,
    mode: PriceMode,
    round: &dyn Fn(Decimal) -> Decimal,
) -> Result<LineValues, TaxError> {
    let ops = Ops {
        line: Some(line_index),
    };
    let quantity = line.quantity;
    let amount = ops.mul(quantity, line.unit_price.amount())?;
    let discount = match &line.discount {
        None => Decimal::ZERO,
        Some(Discount::Amount(m)) => m.amount(),
        Some(Discount::Percent(p)) => ops.percent(amount, *p)?,
    };
    if discount > amount {
        return Err(TaxError::InvalidDiscount { line: line_index });
    }

    let (gross, discount) = match mode {
        PriceMode::Exclusive => (amount, discount),
        PriceMode::Inclusive => {
            // Each transferred tax is a·N + b in the net amount N; solve N·(1 + Σa) + Σb = inclusive amount.
            let n = plan.taxes.len();
            let mut coef: Vec<(Decimal, Decimal)> = vec![(Decimal::ZERO, Decimal::ZERO); n];
            let (mut sum_a, mut sum_b) = (Decimal::ZERO, Decimal::ZERO);
            for &i in &plan.order {
                let (Some(tax), Some(deps)) = (plan.taxes.get(i), plan.includes.get(i)) else {
                    continue;
                };
                if tax.kind != TaxKind::Transferred {
                    continue;
                }
                let (mut base_a, mut base_b) = (Decimal::ONE, Decimal::ZERO);
                for &j in deps {
                    let (a, b) = coef.get(j).copied().unwrap_or_default();
                    base_a = ops.add(base_a, a)?;
                    base_b = ops.add(base_b, b)?;
                }
                let c = match &tax.rate {
                    TaxRate::Percent(p) => (ops.percent(base_a, *p)?, ops.percent(base_b, *p)?),
                    TaxRate::PerUnit(m) => (Decimal::ZERO, ops.mul(quantity, m.amount())?),
                    _ => (Decimal::ZERO, Decimal::ZERO),
                };
                if let Some(slot) = coef.get_mut(i) {
                    *slot = c;
                }
                sum_a = ops.add(sum_a, c.0)?;
                sum_b = ops.add(sum_b, c.1)?;
            }
            let factor = ops.add(Decimal::ONE, sum_a)?;
            let taxable = ops.sub(ops.sub(amount, discount)?, sum_b)?;
            if taxable < Decimal::ZERO {
                return Err(TaxError::InclusivePriceTooLow { line: line_index });
            }
            let gross = ops.div(ops.sub(amount, sum_b)?, factor)?;
            let discount = ops.div(discount, factor)?;
            (gross, discount)
        }
    };

    let gross = round(gross);
    let discount = round(discount);
    let net = ops.sub(gross, discount)?;

    let n = plan.taxes.len();
    let mut taxes: Vec<(Decimal, Option<Decimal>)> = vec![(Decimal::ZERO, None); n];
    for &i in &plan.order {
        let (Some(tax), Some(deps)) = (plan.taxes.get(i), plan.includes.get(i)) else {
            continue;
        };
        let mut base = net;
        for &j in deps {
            if let Some((_, Some(a))) = taxes.get(j) {
                base = ops.add(base, *a)?;
            }
        }
        let amount = match &tax.rate {
            TaxRate::Percent(p) => Some(round(ops.percent(base, *p)?)),
            TaxRate::PerUnit(m) => Some(round(ops.mul(quantity, m.amount())?)),
            TaxRate::Zero => Some(round(Decimal::ZERO)),
            TaxRate::Exempt => None,
        };
        if let Some(slot) = taxes.get_mut(i) {
            *slot = (base, amount);
        }
    }

    let mut transferred = round(Decimal::ZERO);
    let mut withheld = round(Decimal::ZERO);
    for (tax, (_, amount)) in plan.taxes.iter().zip(&taxes) {
        if let Some(a) = amount {
            match tax.kind {
                TaxKind::Transferred => transferred = ops.add(transferred, *a)?,
                TaxKind::Withheld => withheld = ops.add(withheld, *a)?,
            }
        }
    }
    let total = ops.sub(ops.add(net, transferred)?, withheld)?;
    Ok(LineValues {
        gross,
        discount,
        net,
        taxes,
        transferred,
        withheld,
        total,
    })
}
