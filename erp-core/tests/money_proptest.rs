//! Property tests for `erp_hub_core::money` (256+ cases each).

use erp_hub_core::money::{Currency, Money, MoneyError, Rounding};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Any representable decimal: full 96-bit mantissa, any sign, any scale 0..=28.
fn any_decimal() -> impl Strategy<Value = Decimal> {
    (any::<u128>(), any::<bool>(), 0u32..=28).prop_map(|(m, neg, scale)| {
        let m = i128::try_from(m % (1u128 << 96)).unwrap_or(0);
        Decimal::try_from_i128_with_scale(if neg { -m } else { m }, scale).unwrap_or_default()
    })
}

/// Small "business" decimals and the extremes, mixed.
fn mixed_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        any_decimal(),
        any_decimal().prop_map(|d| d.trunc()),
        (-1_000_000_000i64..1_000_000_000, 0u32..=6).prop_map(|(m, s)| Decimal::new(m, s)),
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::ZERO),
        Just(Decimal::new(1, 28)),
    ]
}

fn any_currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::all().to_vec())
}

fn any_rounding() -> impl Strategy<Value = Rounding> {
    prop::sample::select(vec![
        Rounding::HalfUp,
        Rounding::HalfEven,
        Rounding::Truncate,
        Rounding::Ceiling,
        Rounding::Floor,
    ])
}

/// An amount already in whole minor units of `currency`.
fn rounded_amount(currency: Currency) -> impl Strategy<Value = Money> {
    (-1_000_000_000_000i64..1_000_000_000_000)
        .prop_map(move |minor| Money::from_minor(minor, currency))
}

/// Weights: non-negative, scale up to 4, at least one positive.
fn weights() -> impl Strategy<Value = Vec<Decimal>> {
    prop::collection::vec((0i64..1_000_000, 0u32..=4), 1..12)
        .prop_map(|ws| {
            ws.into_iter()
                .map(|(m, s)| Decimal::new(m, s))
                .collect::<Vec<_>>()
        })
        .prop_filter("at least one positive weight", |ws| {
            ws.iter().any(|w| !w.is_zero())
        })
}

/// The weights as integers at a common scale (the test's own exact arithmetic).
fn weight_ints(ws: &[Decimal]) -> Vec<i128> {
    let scale = ws.iter().map(Decimal::scale).max().unwrap_or(0);
    ws.iter()
        .map(|w| w.mantissa() * 10i128.pow(scale - w.scale()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn allocation_sums_exactly_and_stays_within_one_minor_unit(
        (currency, total) in any_currency().prop_flat_map(|c| (Just(c), rounded_amount(c))),
        ws in weights(),
    ) {
        let shares = total.allocate(&ws).unwrap();
        prop_assert_eq!(shares.len(), ws.len());
        let t = total.to_minor_units().unwrap();
        let mut sum = 0i128;
        let ints = weight_ints(&ws);
        let w_sum: i128 = ints.iter().sum();
        for (share, w) in shares.iter().zip(&ints) {
            prop_assert_eq!(share.currency(), currency);
            let s = share.to_minor_units().unwrap();
            sum += s;
            // |s − t·w/W| < 1  ⇔  |s·W − t·w| < W   (exact, in integers)
            prop_assert!((s * w_sum - t * w).abs() < w_sum, "share {} of {} for weight {}", s, t, w);
            if *w == 0 {
                prop_assert_eq!(s, 0);
            }
        }
        prop_assert_eq!(sum, t);
    }

    #[test]
    fn allocation_is_deterministic_and_symmetric(
        total in rounded_amount(Currency::MXN),
        ws in weights(),
    ) {
        let a = total.allocate(&ws).unwrap();
        prop_assert_eq!(&a, &total.allocate(&ws).unwrap());
        let negated: Vec<Money> = (-total).allocate(&ws).unwrap();
        prop_assert_eq!(negated, a.iter().map(|m| -*m).collect::<Vec<_>>());
    }

    #[test]
    fn allocation_never_panics(
        amount in mixed_decimal(),
        currency in any_currency(),
        ws in prop::collection::vec(mixed_decimal(), 0..8),
    ) {
        let money = Money::new(amount, currency);
        match money.allocate(&ws) {
            Ok(shares) => {
                let mut sum = Money::zero(currency);
                for s in &shares {
                    sum = sum.checked_add(s).unwrap();
                }
                prop_assert_eq!(sum.amount(), amount);
            }
            Err(
                MoneyError::Overflow
                | MoneyError::EmptyWeights
                | MoneyError::ZeroWeights
                | MoneyError::NegativeWeight { .. }
                | MoneyError::ExcessPrecision { .. },
            ) => {}
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }

    #[test]
    fn arithmetic_never_panics(
        a in mixed_decimal(),
        b in mixed_decimal(),
        ca in any_currency(),
        cb in any_currency(),
        rounding in any_rounding(),
    ) {
        let x = Money::new(a, ca);
        let y = Money::new(b, cb);
        match x.checked_add(&y) {
            Ok(s) => prop_assert_eq!(Some(s.amount()), a.checked_add(b)),
            Err(MoneyError::CurrencyMismatch { expected, found }) => {
                prop_assert_ne!(ca, cb);
                prop_assert_eq!((expected, found), (ca, cb));
            }
            Err(e) => prop_assert_eq!(e, MoneyError::Overflow),
        }
        let _ = x.checked_sub(&y);
        let _ = x.checked_mul(b);
        let _ = x.to_minor_units();
        let r = x.round(rounding);
        prop_assert!(r.is_rounded());
        // Rounding moves the value by less than one minor unit.
        let unit = Decimal::new(1, ca.minor_units());
        prop_assert!(r.amount().checked_sub(a).is_some_and(|d| d.abs() < unit));
        match x.convert(cb, b, rounding) {
            Ok(c) => {
                prop_assert_eq!(c.currency(), cb);
                prop_assert!(c.is_rounded());
            }
            Err(MoneyError::InvalidRate(rate)) => prop_assert!(rate <= Decimal::ZERO),
            Err(e) => prop_assert_eq!(e, MoneyError::Overflow),
        }
    }

    #[test]
    fn round_matches_the_named_strategy_on_midpoints(minor in -1_000_000i64..1_000_000, currency in any_currency()) {
        // value = (minor + 0.5) minor units: an exact midpoint.
        let dp = currency.minor_units();
        let value = Decimal::new(minor * 10 + 5, dp + 1);
        let up = Money::new(value, currency).round(Rounding::HalfUp).to_minor_units().unwrap();
        let even = Money::new(value, currency).round(Rounding::HalfEven).to_minor_units().unwrap();
        // Half-up is half away from zero: for negative midpoints that is the smaller neighbour.
        let expected_up = if minor >= 0 { i128::from(minor) + 1 } else { i128::from(minor) };
        prop_assert_eq!(up, expected_up);
        prop_assert_eq!(even.rem_euclid(2), 0);
        prop_assert!((even - i128::from(minor)).abs() <= 1);
    }
}
