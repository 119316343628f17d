//! Property tests for `erp_hub_core::tax` (256+ cases each).

use erp_hub_core::money::{Currency, Money, Rounding};
use erp_hub_core::tax::{
    Discount, Line, PriceMode, RoundingPolicy, Tax, TaxBreakdown, TaxCalculator, TaxError, TaxKind,
    TaxRate,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn dec(m: i64, scale: u32) -> Decimal {
    Decimal::new(m, scale)
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec![
        Currency::MXN,
        Currency::USD,
        Currency::JPY,
        Currency::CLF,
        Currency::BHD,
        Currency::CRC,
    ])
}

fn rounding() -> impl Strategy<Value = Rounding> {
    prop::sample::select(vec![
        Rounding::HalfUp,
        Rounding::HalfEven,
        Rounding::Truncate,
        Rounding::Ceiling,
        Rounding::Floor,
    ])
}

fn percent() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        prop::sample::select(vec![
            dec(16, 0),
            dec(8, 0),
            dec(10, 0),
            dec(265, 1),
            dec(160, 0),
            dec(106667, 4)
        ]),
        (0i64..=100_0000, 0u32..=4).prop_map(|(m, s)| dec(m, s)),
    ]
}

/// A realistic Mexican-style tax set for one line: optional IEPS (percent or per unit), IVA (16/8/0/exempt,
/// optionally over IEPS), optional ISR and IVA withholdings.
fn mx_taxes(currency: Currency) -> impl Strategy<Value = Vec<Tax>> {
    let ieps = prop_oneof![
        Just(None),
        percent().prop_map(|p| Some(Tax::transferred("IEPS", TaxRate::Percent(p)))),
        (0i64..100_000, 0u32..=4).prop_map(move |(m, s)| Some(Tax::transferred(
            "IEPS",
            TaxRate::PerUnit(Money::new(dec(m, s), currency))
        ))),
    ];
    let iva_rate = prop_oneof![
        percent().prop_map(TaxRate::Percent),
        Just(TaxRate::Zero),
        Just(TaxRate::Exempt),
    ];
    (
        ieps,
        iva_rate,
        any::<bool>(),
        prop::option::of(percent()),
        prop::option::of(percent()),
    )
        .prop_map(|(ieps, iva_rate, over_ieps, isr, iva_ret)| {
            let mut taxes = Vec::new();
            let mut iva = Tax::transferred("IVA", iva_rate);
            let mut iva_withheld = iva_ret.map(|p| Tax::withheld("IVA", TaxRate::Percent(p)));
            if let Some(ieps) = ieps {
                if over_ieps {
                    iva = iva.with_base_including("IEPS");
                    iva_withheld = iva_withheld.map(|t| t.with_base_including("IEPS"));
                }
                taxes.push(ieps);
            }
            taxes.push(iva);
            taxes.extend(isr.map(|p| Tax::withheld("ISR", TaxRate::Percent(p))));
            taxes.extend(iva_withheld);
            taxes
        })
}

fn line(currency: Currency) -> impl Strategy<Value = Line> {
    (
        (0i64..100_000, 0u32..=3),
        (0i64..10_000_000_000, 0u32..=6),
        prop_oneof![
            Just(None),
            (0i64..=10_000, 0u32..=2).prop_map(|(m, s)| Some((m, s, true))),
            (0i64..=1000, 0u32..=2).prop_map(|(m, s)| Some((m, s, false)))
        ],
        mx_taxes(currency),
    )
        .prop_map(move |((q, qs), (p, ps), discount, taxes)| {
            let quantity = dec(q, qs);
            let unit_price = Money::new(dec(p, ps), currency);
            let mut l = Line::new(quantity, unit_price);
            l.taxes = taxes;
            match discount {
                // Percent: m/100 of 0..=100 %.
                Some((m, s, true)) => {
                    l.with_discount(Discount::Percent(dec(m, s).min(dec(100, 0))))
                }
                // Amount: a fraction m/1000 of the line amount, so it never exceeds it.
                Some((m, _, false)) => {
                    let amount = quantity * unit_price.amount() * dec(m, 3);
                    l.with_discount(Discount::Amount(Money::new(amount, currency)))
                }
                None => l,
            }
        })
}

fn document() -> impl Strategy<Value = (TaxCalculator, Vec<Line>)> {
    (currency(), rounding(), any::<bool>()).prop_flat_map(|(c, r, inclusive)| {
        let mode = if inclusive {
            PriceMode::Inclusive
        } else {
            PriceMode::Exclusive
        };
        (
            Just(TaxCalculator::new(c).rounding(r).price_mode(mode)),
            prop::collection::vec(line(c), 0..8),
        )
    })
}

fn sum(values: impl IntoIterator<Item = Decimal>) -> Decimal {
    values.into_iter().fold(Decimal::ZERO, |a, b| a + b)
}

fn is_rounded(m: &Money) -> bool {
    m.is_rounded()
}

/// `a + b − c`, or `None` when the test's own arithmetic would overflow (extreme inputs).
fn add_sub(a: Decimal, b: Decimal, c: Decimal) -> Option<Decimal> {
    a.checked_add(b)?.checked_sub(c)
}

/// The emitted-value identities every breakdown satisfies, whatever the policy.
fn check_identities(r: &TaxBreakdown) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        Some(r.net.amount()),
        r.subtotal.amount().checked_sub(r.discount.amount())
    );
    if let Some(total) = add_sub(r.net.amount(), r.transferred.amount(), r.withheld.amount()) {
        prop_assert_eq!(r.total.amount(), total);
    }
    let group_sum = |kind| {
        r.groups
            .iter()
            .filter(|g| g.kind == kind)
            .filter_map(|g| g.amount.map(|a| a.amount()))
            .try_fold(Decimal::ZERO, |a, b| a.checked_add(b))
    };
    prop_assert_eq!(
        Some(r.transferred.amount()),
        group_sum(TaxKind::Transferred)
    );
    prop_assert_eq!(Some(r.withheld.amount()), group_sum(TaxKind::Withheld));
    for l in &r.lines {
        prop_assert_eq!(
            Some(l.net.amount()),
            l.gross.amount().checked_sub(l.discount.amount())
        );
        if let Some(total) = add_sub(l.net.amount(), l.transferred.amount(), l.withheld.amount()) {
            prop_assert_eq!(l.total.amount(), total);
        }
        prop_assert!(l.discount.amount() >= Decimal::ZERO && l.net.amount() >= Decimal::ZERO);
    }
    Ok(())
}

/// Runs the calculator; an inclusive line whose fixed per-unit taxes exceed its price is rejected as a case.
fn calculate(calc: TaxCalculator, lines: &[Line]) -> Result<TaxBreakdown, TestCaseError> {
    match calc.calculate(lines) {
        Ok(r) => Ok(r),
        Err(TaxError::InclusivePriceTooLow { .. }) => {
            Err(TestCaseError::reject("quota above inclusive price"))
        }
        Err(e) => Err(TestCaseError::fail(format!("unexpected error {e:?}"))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Per-line policy: every document total and every group is the exact sum of the emitted line values,
    /// and every emitted value is in whole minor units.
    #[test]
    fn per_line_totals_equal_sums_of_emitted_line_values((calc, lines) in document()) {
        let r = calculate(calc.rounding_policy(RoundingPolicy::PerLine), &lines)?;
        check_identities(&r)?;
        prop_assert_eq!(r.subtotal.amount(), sum(r.lines.iter().map(|l| l.gross.amount())));
        prop_assert_eq!(r.discount.amount(), sum(r.lines.iter().map(|l| l.discount.amount())));
        prop_assert_eq!(r.transferred.amount(), sum(r.lines.iter().map(|l| l.transferred.amount())));
        prop_assert_eq!(r.withheld.amount(), sum(r.lines.iter().map(|l| l.withheld.amount())));
        prop_assert_eq!(r.total.amount(), sum(r.lines.iter().map(|l| l.total.amount())));
        for g in &r.groups {
            let members: Vec<_> = r.lines.iter().flat_map(|l| &l.taxes)
                .filter(|t| t.code == g.code && t.kind == g.kind && t.rate == g.rate)
                .collect();
            prop_assert!(!members.is_empty());
            prop_assert_eq!(g.base.amount(), sum(members.iter().map(|t| t.base.amount())));
            prop_assert_eq!(g.amount.map(|a| a.amount()), members.iter().try_fold(Decimal::ZERO, |acc, t| t.amount.map(|a| acc + a.amount())));
        }
        for l in &r.lines {
            prop_assert!(is_rounded(&l.gross) && is_rounded(&l.discount) && is_rounded(&l.total));
            for t in &l.taxes {
                prop_assert!(is_rounded(&t.base));
                if let Some(a) = t.amount {
                    prop_assert!(is_rounded(&a));
                    // Each percentage amount is its emitted base times the rate, rounded once.
                    if let TaxRate::Percent(p) = t.rate {
                        let exact = t.base.amount() * p / Decimal::ONE_HUNDRED;
                        let unit = Decimal::new(1, r.currency.minor_units());
                        prop_assert!((a.amount() - exact).abs() < unit, "{} vs {}", a.amount(), exact);
                    }
                }
            }
        }
    }

    /// Per-document policy: one rounding per group and total, so the document total is within a few
    /// minor units of the exact sum, and the identities still hold.
    #[test]
    fn per_document_rounds_once_per_group((calc, lines) in document()) {
        let r = calculate(calc.rounding_policy(RoundingPolicy::PerDocument), &lines)?;
        check_identities(&r)?;
        let unit = Decimal::new(1, r.currency.minor_units());
        let exact_total = sum(r.lines.iter().map(|l| l.total.amount()));
        // subtotal, discount and each group carry at most one rounding error each.
        let allowed = unit * Decimal::from(r.groups.len() + 2);
        prop_assert!((r.total.amount() - exact_total).abs() <= allowed);
        for g in &r.groups {
            prop_assert!(g.base.is_rounded() && g.amount.is_none_or(|a| a.is_rounded()));
        }
    }

    /// inclusive → exclusive → inclusive: back out the taxes of a tax-inclusive amount, feed the emitted net
    /// back as an exclusive price, and the tax-inclusive total comes back within one minor unit.
    ///
    /// Domain: quantity 1, half-up or half-even rounding, rates up to 25 %, at most one tax compounded on
    /// another. In that domain the rounding errors add up to less than two minor units, and since both amounts
    /// are whole minor units the difference is at most one (see the bound in the comments below).
    #[test]
    fn inclusive_exclusive_round_trip(
        c in currency(),
        minor in 1i64..10_000_000_000,
        r in prop::sample::select(vec![Rounding::HalfUp, Rounding::HalfEven]),
        scenario in 0u8..4,
        p1 in (0i64..=25_0000).prop_map(|m| dec(m, 4)),
        p2 in (0i64..=25_0000).prop_map(|m| dec(m, 4)),
        quota_fraction in 0i64..500,
    ) {
        let price = Money::from_minor(minor, c);
        let taxes: Vec<Tax> = match scenario {
            // IVA alone: error ≤ ½·(1 + p) + ½.
            0 => vec![Tax::transferred("IVA", TaxRate::Percent(p1))],
            // IEPS then IVA over IEPS: error ≤ ½·(1 + a) + ½·(1 + p2) + ½ with a = p1 + p2·(1 + p1) ≤ 0.5625.
            1 => vec![
                Tax::transferred("IEPS", TaxRate::Percent(p1)),
                Tax::transferred("IVA", TaxRate::Percent(p2)).with_base_including("IEPS"),
            ],
            // A per-unit quota (up to half the price) with IVA over it: error ≤ ½·(1 + p)·2 + ½.
            2 => {
                let quota = Rounding::HalfUp.round(price.amount() * dec(quota_fraction, 3), c.minor_units() + 2);
                vec![
                    Tax::transferred("IEPS", TaxRate::PerUnit(Money::new(quota, c))),
                    Tax::transferred("IVA", TaxRate::Percent(p2)).with_base_including("IEPS"),
                ]
            }
            // IVA plus withholdings (not part of the price).
            _ => vec![
                Tax::transferred("IVA", TaxRate::Percent(p1)),
                Tax::withheld("ISR", TaxRate::Percent(dec(10, 0))),
                Tax::withheld("IVA", TaxRate::Percent(p2)),
            ],
        };
        let inclusive = TaxCalculator::new(c).rounding(r).price_mode(PriceMode::Inclusive);
        let exclusive = TaxCalculator::new(c).rounding(r);
        let line = |price: Money| { let mut l = Line::new(Decimal::ONE, price); l.taxes = taxes.clone(); l };

        let backed_out = inclusive.calculate(&[line(price)]).unwrap();
        let net = backed_out.lines[0].net;
        let again = exclusive.calculate(&[line(net)]).unwrap();
        // The tax-inclusive amount is net + transferred (withholdings are not in the price).
        let round_trip = again.net.amount() + again.transferred.amount();
        let unit = Decimal::new(1, c.minor_units());
        prop_assert!((round_trip - price.amount()).abs() <= unit, "{} → net {} → {}", price, net, round_trip);

        // Unrounded, the back-out is exact to ~28 significant digits.
        let exact = inclusive.rounding_policy(RoundingPolicy::PerDocument).calculate(&[line(price)]).unwrap();
        let l = &exact.lines[0];
        let diff = (l.net.amount() + l.transferred.amount() - price.amount()).abs();
        prop_assert!(diff < Decimal::new(1, 12), "{}", diff);
    }

    /// Arbitrary input — extreme decimals, duplicate, unknown and circular bases, foreign currencies, negative
    /// values — gives `Ok` or a typed error, never a panic.
    #[test]
    fn never_panics(
        doc_currency in currency(),
        policy in prop::sample::select(vec![RoundingPolicy::PerLine, RoundingPolicy::PerDocument]),
        mode in prop::sample::select(vec![PriceMode::Exclusive, PriceMode::Inclusive]),
        r in rounding(),
        raw_lines in prop::collection::vec(
            (
                any_decimal(), any_decimal(), maybe_foreign(),
                prop::option::of((any::<bool>(), any_decimal(), maybe_foreign())),
                prop::collection::vec((0usize..3, any::<bool>(), 0u8..4, any_decimal(), maybe_foreign(), prop::collection::vec(0usize..3, 0..2)), 0..4),
            ),
            0..5,
        ),
    ) {
        const CODES: [&str; 3] = ["IVA", "IEPS", "ISR"];
        let lines: Vec<Line> = raw_lines.into_iter().map(|(q, p, pc, disc, taxes)| {
            let cur = |c: Option<Currency>| c.unwrap_or(doc_currency);
            let mut l = Line::new(q, Money::new(p, cur(pc)));
            l.discount = disc.map(|(is_pct, d, dc)| if is_pct { Discount::Percent(d) } else { Discount::Amount(Money::new(d, cur(dc))) });
            l.taxes = taxes.into_iter().map(|(code, withheld, kind, v, vc, includes)| {
                let rate = match kind {
                    0 => TaxRate::Percent(v),
                    1 => TaxRate::PerUnit(Money::new(v, cur(vc))),
                    2 => TaxRate::Zero,
                    _ => TaxRate::Exempt,
                };
                let code = CODES[code];
                let mut t = if withheld { Tax::withheld(code, rate) } else { Tax::transferred(code, rate) };
                for i in includes {
                    t = t.with_base_including(CODES[i]);
                }
                t
            }).collect();
            l
        }).collect();
        let calc = TaxCalculator::new(doc_currency).rounding_policy(policy).price_mode(mode).rounding(r);
        if let Ok(result) = calc.calculate(&lines) {
            check_identities(&result)?;
        }
    }
}

/// Mostly `None` (= the document currency), sometimes a possibly foreign currency.
fn maybe_foreign() -> impl Strategy<Value = Option<Currency>> {
    prop_oneof![8 => Just(None), 1 => currency().prop_map(Some)]
}

/// Any representable decimal (full 96-bit mantissa, any sign and scale), or a small business value.
fn any_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (any::<u128>(), any::<bool>(), 0u32..=28).prop_map(|(m, neg, scale)| {
            let m = i128::try_from(m % (1u128 << 96)).unwrap_or(0);
            Decimal::try_from_i128_with_scale(if neg { -m } else { m }, scale).unwrap_or_default()
        }),
        (-100_000i64..1_000_000, 0u32..=4).prop_map(|(m, s)| dec(m, s)),
        Just(Decimal::MAX),
        Just(Decimal::ZERO),
    ]
}
