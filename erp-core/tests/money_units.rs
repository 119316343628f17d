//! Worked examples for `erp_hub_core::money`.

use erp_hub_core::money::{Currency, ExchangeRate, Money, MoneyError, Rounding};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

#[test]
fn table_covers_the_americas_and_majors() {
    let americas = [
        "ARS", "AWG", "BBD", "BMD", "BOB", "BOV", "BRL", "BSD", "BZD", "CAD", "CLF", "CLP", "COP",
        "COU", "CRC", "CUP", "DOP", "FKP", "GTQ", "GYD", "HNL", "HTG", "JMD", "KYD", "MXN", "MXV",
        "NIO", "PAB", "PEN", "PYG", "SRD", "SVC", "TTD", "USD", "USN", "UYI", "UYU", "UYW", "VED",
        "VES", "XCD", "XCG", "ANG",
    ];
    let majors = ["EUR", "GBP", "JPY", "CHF", "CNY"];
    for code in americas.iter().chain(&majors) {
        let c = Currency::from_code(code).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(c.code(), *code);
    }
    assert!(Currency::all().len() >= 150);
    assert!(
        Currency::all()
            .windows(2)
            .all(|w| w[0].code() < w[1].code())
    );
}

#[test]
fn currency_facts_match_iso_4217() {
    let facts = [
        (Currency::MXN, 484, 2),
        (Currency::USD, 840, 2),
        (Currency::CRC, 188, 2),
        (Currency::JPY, 392, 0),
        (Currency::CLP, 152, 0),
        (Currency::CLF, 990, 4),
        (Currency::UYI, 940, 0),
        (Currency::UYW, 927, 4),
        (Currency::PYG, 600, 0),
        (Currency::BHD, 48, 3),
        (Currency::EUR, 978, 2),
        (Currency::XCG, 532, 2),
    ];
    for (c, numeric, minor) in facts {
        assert_eq!((c.numeric(), c.minor_units()), (numeric, minor), "{c}");
        assert_eq!(Currency::from_numeric(numeric), Some(c));
    }
    assert!(Currency::CLF.is_fund() && Currency::MXV.is_fund() && !Currency::MXN.is_fund());
    assert!(Currency::ANG.is_withdrawn() && !Currency::XCG.is_withdrawn());
    assert_eq!(Currency::MXN.name(), "Mexican Peso");
}

#[test]
fn from_code_is_case_insensitive_and_rejects_junk() {
    assert_eq!(Currency::from_code("mxn"), Ok(Currency::MXN));
    assert_eq!("Usd".parse::<Currency>(), Ok(Currency::USD));
    for bad in ["", "MX", "MXNN", "XXX", "XAU", "M1N", "ñññ", "ZZZ"] {
        assert!(
            matches!(
                Currency::from_code(bad),
                Err(MoneyError::UnknownCurrency(_))
            ),
            "{bad:?} should be unknown"
        );
    }
    assert_eq!(Currency::from_numeric(1), None);
}

#[test]
fn serde_uses_code_strings_and_decimal_strings() {
    let m = Money::new(dec!(12.30), Currency::MXN);
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(json, r#"{"amount":"12.30","currency":"MXN"}"#);
    assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    assert_eq!(serde_json::to_string(&Currency::CLF).unwrap(), r#""CLF""#);
    assert!(serde_json::from_str::<Currency>(r#""QQQ""#).is_err());
    // A JSON number would go through f64: refused.
    assert!(serde_json::from_str::<Money>(r#"{"amount":12.3,"currency":"MXN"}"#).is_err());
}

#[test]
fn half_up_vs_half_even_on_midpoints() {
    let cases = [
        // (value, half-up, half-even)
        (dec!(2.345), dec!(2.35), dec!(2.34)),
        (dec!(2.355), dec!(2.36), dec!(2.36)),
        (dec!(-2.345), dec!(-2.35), dec!(-2.34)),
        (dec!(0.125), dec!(0.13), dec!(0.12)),
        (dec!(0.135), dec!(0.14), dec!(0.14)),
        (dec!(1.005), dec!(1.01), dec!(1.00)),
    ];
    for (v, up, even) in cases {
        let m = Money::new(v, Currency::MXN);
        assert_eq!(m.round(Rounding::HalfUp).amount(), up, "{v} half-up");
        assert_eq!(m.round(Rounding::HalfEven).amount(), even, "{v} half-even");
    }
    let m = Money::new(dec!(2.341), Currency::USD);
    assert_eq!(m.round(Rounding::Ceiling).amount(), dec!(2.35));
    assert_eq!(m.round(Rounding::Floor).amount(), dec!(2.34));
    assert_eq!(m.round(Rounding::Truncate).amount(), dec!(2.34));
    assert_eq!((-m).round(Rounding::Ceiling).amount(), dec!(-2.34));
    assert_eq!((-m).round(Rounding::Floor).amount(), dec!(-2.35));
    assert_eq!((-m).round(Rounding::Truncate).amount(), dec!(-2.34));
}

#[test]
fn jpy_has_no_decimals_and_clf_has_four() {
    let yen = Money::new(dec!(1234.5), Currency::JPY).round(Rounding::HalfUp);
    assert_eq!(yen.amount(), dec!(1235));
    assert_eq!(yen.to_string(), "1235 JPY");
    assert_eq!(yen.to_minor_units(), Ok(1235));
    let uf = Money::new(dec!(38123.456789), Currency::CLF).round(Rounding::HalfUp);
    assert_eq!(uf.amount(), dec!(38123.4568));
    assert_eq!(uf.to_minor_units(), Ok(381_234_568));
    assert_eq!(Money::from_minor(381_234_568, Currency::CLF), uf);
    // Rounding pads to the minor unit.
    assert_eq!(
        Money::new(dec!(12), Currency::CLF)
            .round(Rounding::HalfUp)
            .to_string(),
        "12.0000 CLF"
    );
    assert_eq!(Money::zero(Currency::MXN).to_string(), "0.00 MXN");
    // Yen allocation in whole yen.
    let parts = Money::new(dec!(1000), Currency::JPY)
        .allocate(&[dec!(1), dec!(1), dec!(1)])
        .unwrap();
    let amounts: Vec<Decimal> = parts.iter().map(Money::amount).collect();
    assert_eq!(amounts, [dec!(334), dec!(333), dec!(333)]);
}

#[test]
fn usd_to_mxn_conversion() {
    let usd = Money::new(dec!(1250.75), Currency::USD);
    // 1250.75 × 18.2345 = 22806.800875 exactly.
    let mxn = usd
        .convert(Currency::MXN, dec!(18.2345), Rounding::HalfUp)
        .unwrap();
    assert_eq!(mxn, Money::new(dec!(22806.80), Currency::MXN));
    assert_eq!(
        usd.convert(Currency::MXN, dec!(18.2345), Rounding::Ceiling)
            .unwrap()
            .amount(),
        dec!(22806.81)
    );
    let rate = ExchangeRate::new(Currency::USD, Currency::MXN, dec!(18.2345)).unwrap();
    assert_eq!(rate.convert(&usd, Rounding::HalfUp).unwrap(), mxn);
    assert_eq!(
        rate.convert(&mxn, Rounding::HalfUp),
        Err(MoneyError::CurrencyMismatch {
            expected: Currency::USD,
            found: Currency::MXN
        })
    );
    let back = rate.inverse().unwrap();
    assert_eq!((back.from(), back.to()), (Currency::MXN, Currency::USD));
    assert_eq!(
        back.convert(&mxn, Rounding::HalfUp).unwrap().amount(),
        dec!(1250.75)
    );
    // MXN → JPY rounds to whole yen.
    let jpy = Money::new(dec!(100.00), Currency::MXN).convert(
        Currency::JPY,
        dec!(8.456),
        Rounding::HalfUp,
    );
    assert_eq!(jpy.unwrap().amount(), dec!(846));
    assert_eq!(
        usd.convert(Currency::MXN, dec!(0), Rounding::HalfUp),
        Err(MoneyError::InvalidRate(dec!(0)))
    );
    assert!(ExchangeRate::new(Currency::USD, Currency::MXN, dec!(-1)).is_err());
}

#[test]
fn checked_arithmetic_reports_mismatch_and_overflow() {
    let a = Money::new(dec!(10.50), Currency::MXN);
    let b = Money::new(dec!(0.25), Currency::MXN);
    assert_eq!(a.checked_add(&b).unwrap().amount(), dec!(10.75));
    assert_eq!(a.checked_sub(&b).unwrap().amount(), dec!(10.25));
    assert_eq!(a.checked_mul(dec!(3)).unwrap().amount(), dec!(31.50));
    assert_eq!(
        a.checked_add(&Money::new(dec!(1), Currency::USD)),
        Err(MoneyError::CurrencyMismatch {
            expected: Currency::MXN,
            found: Currency::USD
        })
    );
    let max = Money::new(Decimal::MAX, Currency::MXN);
    assert_eq!(max.checked_add(&max), Err(MoneyError::Overflow));
    assert_eq!(max.checked_mul(dec!(2)), Err(MoneyError::Overflow));
    assert_eq!((-max).checked_sub(&max), Err(MoneyError::Overflow));
    assert_eq!(
        max.convert(Currency::USD, dec!(1.5), Rounding::HalfUp),
        Err(MoneyError::Overflow)
    );
}

#[test]
fn allocation_examples_and_errors() {
    let m = Money::new(dec!(100.00), Currency::USD);
    let amounts = |v: Vec<Money>| v.into_iter().map(|m| m.amount()).collect::<Vec<_>>();
    assert_eq!(
        amounts(m.allocate(&[dec!(1); 3]).unwrap()),
        [dec!(33.34), dec!(33.33), dec!(33.33)]
    );
    // 70/30 of 0.05: exact shares 0.035 and 0.015, floors 0.03 + 0.01, equal remainders: the tie goes to the
    // lower index.
    let small = Money::new(dec!(0.05), Currency::USD);
    assert_eq!(
        amounts(small.allocate(&[dec!(0.7), dec!(0.3)]).unwrap()),
        [dec!(0.04), dec!(0.01)]
    );
    // Real largest remainder: 1/6, 2/6, 3/6 of 0.10 → 0.0166.., 0.0333.., 0.05 → floors 1, 3, 5 (9); the
    // leftover unit goes to the largest remainder (index 0: 0.67 vs index 1: 0.33).
    let dime = Money::new(dec!(0.10), Currency::USD);
    assert_eq!(
        amounts(dime.allocate(&[dec!(1), dec!(2), dec!(3)]).unwrap()),
        [dec!(0.02), dec!(0.03), dec!(0.05)]
    );
    // Negative totals mirror positive ones.
    assert_eq!(
        amounts((-m).allocate(&[dec!(1); 3]).unwrap()),
        [dec!(-33.34), dec!(-33.33), dec!(-33.33)]
    );
    // Zero weights get nothing.
    assert_eq!(
        amounts(m.allocate(&[dec!(0), dec!(1), dec!(0)]).unwrap()),
        [dec!(0), dec!(100), dec!(0)]
    );
    assert_eq!(m.allocate(&[]), Err(MoneyError::EmptyWeights));
    assert_eq!(
        m.allocate(&[dec!(0), dec!(0)]),
        Err(MoneyError::ZeroWeights)
    );
    assert_eq!(
        m.allocate(&[dec!(1), dec!(-1)]),
        Err(MoneyError::NegativeWeight { index: 1 })
    );
    assert!(matches!(
        Money::new(dec!(1.005), Currency::USD).allocate(&[dec!(1)]),
        Err(MoneyError::ExcessPrecision { .. })
    ));
    // Trailing zeros beyond the minor unit are fine.
    assert_eq!(
        amounts(
            Money::new(dec!(1.0000), Currency::USD)
                .allocate(&[dec!(1)])
                .unwrap()
        ),
        [dec!(1)]
    );
}

#[test]
fn money_error_converts_into_crate_error() {
    let e: erp_hub_core::Error = MoneyError::Overflow.into();
    assert_eq!(e.kind(), erp_hub_core::ErrorKind::Validation);
}

#[test]
fn every_currency_round_trips_through_code_numeric_and_serde() {
    for &c in Currency::all() {
        assert_eq!(Currency::from_code(c.code()), Ok(c));
        assert_eq!(Currency::from_code(&c.code().to_lowercase()), Ok(c));
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, format!("\"{}\"", c.code()));
        assert_eq!(serde_json::from_str::<Currency>(&json).unwrap(), c);
        assert!(c.minor_units() <= 4, "{c}: {}", c.minor_units());
        let by_number = Currency::from_numeric(c.numeric()).unwrap();
        assert!(by_number == c || c.is_withdrawn(), "{c} vs {by_number}");
        assert!(!c.name().is_empty());
    }
}
