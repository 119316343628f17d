//! Worked examples for `erp_hub_core::tax`.

use erp_hub_core::money::{Currency, Money, Rounding};
use erp_hub_core::tax::{
    Discount, Line, PriceMode, RoundingPolicy, Tax, TaxCalculator, TaxError, TaxKind, TaxRate,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const MXN: Currency = Currency::MXN;

fn mxn(amount: Decimal) -> Money {
    Money::new(amount, MXN)
}

fn iva16() -> Tax {
    Tax::transferred("IVA", TaxRate::Percent(dec!(16)))
}

fn isr10() -> Tax {
    Tax::withheld("ISR", TaxRate::Percent(dec!(10)))
}

#[test]
fn mx_invoice_with_iva_16_and_isr_10_withholding() {
    let lines = [
        Line::new(dec!(1), mxn(dec!(10000.00)))
            .with_tax(iva16())
            .with_tax(isr10()),
        Line::new(dec!(2), mxn(dec!(333.33)))
            .with_discount(Discount::Percent(dec!(10)))
            .with_tax(iva16())
            .with_tax(isr10()),
    ];
    let r = TaxCalculator::new(MXN).calculate(&lines).unwrap();

    let l1 = &r.lines[0];
    assert_eq!(
        (l1.gross.amount(), l1.net.amount()),
        (dec!(10000.00), dec!(10000.00))
    );
    assert_eq!(l1.taxes[0].amount, Some(mxn(dec!(1600.00))));
    assert_eq!(l1.taxes[1].amount, Some(mxn(dec!(1000.00))));
    assert_eq!(l1.total.amount(), dec!(10600.00));

    // 2 × 333.33 = 666.66; 10 % = 66.666 → 66.67; net 599.99; IVA 95.9984 → 96.00; ISR 59.999 → 60.00.
    let l2 = &r.lines[1];
    assert_eq!(l2.gross.amount(), dec!(666.66));
    assert_eq!(l2.discount.amount(), dec!(66.67));
    assert_eq!(l2.net.amount(), dec!(599.99));
    assert_eq!(l2.taxes[0].base.amount(), dec!(599.99));
    assert_eq!(l2.taxes[0].amount.unwrap().amount(), dec!(96.00));
    assert_eq!(l2.taxes[1].amount.unwrap().amount(), dec!(60.00));

    assert_eq!(r.subtotal.amount(), dec!(10666.66));
    assert_eq!(r.discount.amount(), dec!(66.67));
    assert_eq!(r.net.amount(), dec!(10599.99));
    assert_eq!(r.transferred.amount(), dec!(1696.00));
    assert_eq!(r.withheld.amount(), dec!(1060.00));
    assert_eq!(r.total.amount(), dec!(11235.99));
    assert_eq!(r.total.to_string(), "11235.99 MXN");

    assert_eq!(r.groups.len(), 2);
    let iva = &r.groups[0];
    assert_eq!((iva.code.as_str(), iva.kind), ("IVA", TaxKind::Transferred));
    assert_eq!(iva.base.amount(), dec!(10599.99));
    assert_eq!(iva.amount.unwrap().amount(), dec!(1696.00));
    let isr = &r.groups[1];
    assert_eq!((isr.code.as_str(), isr.kind), ("ISR", TaxKind::Withheld));
    assert_eq!(isr.amount.unwrap().amount(), dec!(1060.00));
}

#[test]
fn ieps_8_with_iva_16_over_ieps() {
    let line = Line::new(dec!(10), mxn(dec!(25.00)))
        .with_tax(iva16().with_base_including("IEPS"))
        .with_tax(Tax::transferred("IEPS", TaxRate::Percent(dec!(8))));
    let r = TaxCalculator::new(MXN).calculate(&[line]).unwrap();
    let l = &r.lines[0];
    // Reported in input order: IVA first even though it is computed after IEPS.
    assert_eq!(l.taxes[0].code, "IVA");
    assert_eq!(l.taxes[0].base.amount(), dec!(270.00));
    assert_eq!(l.taxes[0].amount.unwrap().amount(), dec!(43.20));
    assert_eq!(l.taxes[1].code, "IEPS");
    assert_eq!(l.taxes[1].base.amount(), dec!(250.00));
    assert_eq!(l.taxes[1].amount.unwrap().amount(), dec!(20.00));
    assert_eq!(r.transferred.amount(), dec!(63.20));
    assert_eq!(r.total.amount(), dec!(313.20));

    // The same line priced tax-inclusive: 31.32 × 10 = 313.20 = N × 1.08 × 1.16 → N = 250.00 exactly.
    let inclusive = Line::new(dec!(10), mxn(dec!(31.32)))
        .with_tax(iva16().with_base_including("IEPS"))
        .with_tax(Tax::transferred("IEPS", TaxRate::Percent(dec!(8))));
    let r2 = TaxCalculator::new(MXN)
        .price_mode(PriceMode::Inclusive)
        .calculate(&[inclusive])
        .unwrap();
    assert_eq!(r2.lines, r.lines);
    assert_eq!(r2.total, r.total);
}

#[test]
fn ieps_per_unit_quota_with_iva_over_it() {
    // 3 litres at 20.00, IEPS quota 6.4555 per litre, IVA 16 % over net + IEPS.
    let line = Line::new(dec!(3), mxn(dec!(20.00)))
        .with_tax(Tax::transferred(
            "IEPS",
            TaxRate::PerUnit(mxn(dec!(6.4555))),
        ))
        .with_tax(iva16().with_base_including("IEPS"));
    let exclusive = TaxCalculator::new(MXN)
        .calculate(std::slice::from_ref(&line))
        .unwrap();
    let l = &exclusive.lines[0];
    assert_eq!(l.taxes[0].amount.unwrap().amount(), dec!(19.37)); // 19.3665
    assert_eq!(l.taxes[1].base.amount(), dec!(79.37));
    assert_eq!(l.taxes[1].amount.unwrap().amount(), dec!(12.70)); // 12.6992
    assert_eq!(exclusive.total.amount(), dec!(92.07));

    // Inclusive with the fixed part backed out exactly: per-document policy keeps the exact values.
    // 3 × 30.00 = 90.00 = 1.16·N + 1.16·19.3665  →  N = 90/1.16 − 19.3665 = 58.2197...
    let inclusive = Line::new(dec!(3), mxn(dec!(30.00)))
        .with_tax(Tax::transferred(
            "IEPS",
            TaxRate::PerUnit(mxn(dec!(6.4555))),
        ))
        .with_tax(iva16().with_base_including("IEPS"));
    let r = TaxCalculator::new(MXN)
        .price_mode(PriceMode::Inclusive)
        .rounding_policy(RoundingPolicy::PerDocument)
        .calculate(&[inclusive])
        .unwrap();
    let l = &r.lines[0];
    let exact_total = l.total.amount();
    assert!(
        (exact_total - dec!(90.00)).abs() < dec!(0.000000000001),
        "{exact_total}"
    );
    assert_eq!(l.taxes[0].amount.unwrap().amount(), dec!(19.3665));
    assert_eq!(r.total.amount(), dec!(90.00));
    assert_eq!(r.net.amount(), dec!(58.22));
}

#[test]
fn inclusive_iva_backs_out_the_tax() {
    let calc = TaxCalculator::new(MXN).price_mode(PriceMode::Inclusive);
    let r = calc
        .calculate(&[Line::new(dec!(1), mxn(dec!(116.00))).with_tax(iva16())])
        .unwrap();
    assert_eq!(
        (r.net.amount(), r.transferred.amount(), r.total.amount()),
        (dec!(100.00), dec!(16.00), dec!(116.00))
    );
    // 100 / 1.16 = 86.2068… → 86.21; IVA on the emitted net: 13.7936 → 13.79; 86.21 + 13.79 = 100.00.
    let r = calc
        .calculate(&[Line::new(dec!(1), mxn(dec!(100.00))).with_tax(iva16())])
        .unwrap();
    assert_eq!(
        (r.net.amount(), r.transferred.amount(), r.total.amount()),
        (dec!(86.21), dec!(13.79), dec!(100.00))
    );
    // Withholdings are not part of the price: they are computed on the backed-out base.
    let r = calc
        .calculate(&[Line::new(dec!(1), mxn(dec!(11600.00)))
            .with_tax(iva16())
            .with_tax(isr10())])
        .unwrap();
    assert_eq!(r.net.amount(), dec!(10000.00));
    assert_eq!(r.withheld.amount(), dec!(1000.00));
    assert_eq!(r.total.amount(), dec!(10600.00));
    // An inclusive discount is backed out by the same factor: 116 − 11.60 = 104.40 = 1.16 × 90.
    let r = calc
        .calculate(&[Line::new(dec!(1), mxn(dec!(116.00)))
            .with_discount(Discount::Amount(mxn(dec!(11.60))))
            .with_tax(iva16())])
        .unwrap();
    assert_eq!(
        (r.subtotal.amount(), r.discount.amount(), r.net.amount()),
        (dec!(100.00), dec!(10.00), dec!(90.00))
    );
    assert_eq!(r.total.amount(), dec!(104.40));
}

#[test]
fn per_line_and_per_document_policies_differ_as_documented() {
    let lines: Vec<Line> = (0..3)
        .map(|_| Line::new(dec!(1), mxn(dec!(0.05))).with_tax(iva16()))
        .collect();
    // Per line: 0.008 → 0.01 on each line, 0.03 in total.
    let per_line = TaxCalculator::new(MXN).calculate(&lines).unwrap();
    assert_eq!(per_line.transferred.amount(), dec!(0.03));
    assert_eq!(per_line.total.amount(), dec!(0.18));
    // Per document: 0.024 → 0.02 once.
    let per_doc = TaxCalculator::new(MXN)
        .rounding_policy(RoundingPolicy::PerDocument)
        .calculate(&lines)
        .unwrap();
    assert_eq!(
        per_doc.lines[0].taxes[0].amount.unwrap().amount(),
        dec!(0.008)
    );
    assert_eq!(per_doc.groups[0].amount.unwrap().amount(), dec!(0.02));
    assert_eq!(per_doc.transferred.amount(), dec!(0.02));
    assert_eq!(per_doc.total.amount(), dec!(0.17));
    // The rounding mode is honoured: truncation gives 0.00 per line.
    let truncated = TaxCalculator::new(MXN)
        .rounding(Rounding::Truncate)
        .calculate(&lines)
        .unwrap();
    assert_eq!(truncated.transferred.amount(), dec!(0.00));
}

#[test]
fn zero_rate_exempt_and_grouping() {
    let lines = [
        Line::new(dec!(1), mxn(dec!(100))).with_tax(Tax::transferred("IVA", TaxRate::Zero)),
        Line::new(dec!(1), mxn(dec!(50))).with_tax(Tax::transferred("IVA", TaxRate::Exempt)),
        Line::new(dec!(1), mxn(dec!(10))).with_tax(iva16()),
        Line::new(dec!(1), mxn(dec!(20)))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16.00)))),
        Line::new(dec!(1), mxn(dec!(30)))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(8)))),
    ];
    let r = TaxCalculator::new(MXN).calculate(&lines).unwrap();
    assert_eq!(r.groups.len(), 4, "{:#?}", r.groups);
    assert_eq!(r.groups[0].rate, TaxRate::Zero);
    assert_eq!(r.groups[0].amount, Some(mxn(dec!(0.00))));
    assert_eq!(r.groups[1].rate, TaxRate::Exempt);
    assert_eq!(r.groups[1].amount, None);
    assert_eq!(r.groups[1].base.amount(), dec!(50.00));
    // 16 % and 16.00 % are one group.
    assert_eq!(r.groups[2].base.amount(), dec!(30.00));
    assert_eq!(r.groups[2].amount.unwrap().amount(), dec!(4.80));
    assert_eq!(r.groups[3].amount.unwrap().amount(), dec!(2.40));
    assert_eq!(r.total.amount(), dec!(217.20));
    // JSON shape of a breakdown is stable and uses strings for amounts.
    let json = serde_json::to_value(&r.groups[1]).unwrap();
    assert_eq!(json["rate"], "exempt");
    assert_eq!(json["base"]["amount"], "50.00");
}

#[test]
fn zero_decimal_and_four_decimal_currencies() {
    let jpy = |a| Money::new(a, Currency::JPY);
    let line = Line::new(dec!(3), jpy(dec!(333)))
        .with_tax(Tax::transferred("CT", TaxRate::Percent(dec!(10))));
    let r = TaxCalculator::new(Currency::JPY)
        .calculate(&[line])
        .unwrap();
    assert_eq!(r.transferred.amount(), dec!(100)); // 99.9 → 100
    assert_eq!(r.total.amount(), dec!(1099));
    let clf = |a| Money::new(a, Currency::CLF);
    let line = Line::new(dec!(1), clf(dec!(1.23456)))
        .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(19))));
    let r = TaxCalculator::new(Currency::CLF)
        .calculate(&[line])
        .unwrap();
    assert_eq!(r.subtotal.amount(), dec!(1.2346));
    assert_eq!(r.transferred.amount(), dec!(0.2346)); // 0.234574 → 0.2346
    assert_eq!(r.total.amount(), dec!(1.4692));
}

#[test]
fn typed_errors() {
    let calc = TaxCalculator::new(MXN);
    let err = |line: Line| {
        calc.calculate(&[Line::new(dec!(1), mxn(dec!(1))), line])
            .unwrap_err()
    };

    assert_eq!(
        err(Line::new(dec!(-1), mxn(dec!(1)))),
        TaxError::NegativeQuantity { line: 1 }
    );
    assert_eq!(
        err(Line::new(dec!(1), mxn(dec!(-1)))),
        TaxError::NegativePrice { line: 1 }
    );
    assert_eq!(
        err(Line::new(dec!(1), Money::new(dec!(1), Currency::USD))),
        TaxError::CurrencyMismatch {
            line: 1,
            expected: MXN,
            found: Currency::USD
        }
    );
    assert_eq!(
        err(Line::new(dec!(1), mxn(dec!(1))).with_discount(Discount::Amount(mxn(dec!(2))))),
        TaxError::InvalidDiscount { line: 1 }
    );
    assert_eq!(
        err(Line::new(dec!(1), mxn(dec!(1))).with_discount(Discount::Percent(dec!(101)))),
        TaxError::InvalidDiscount { line: 1 }
    );
    assert_eq!(
        err(Line::new(dec!(1), mxn(dec!(1)))
            .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(-16))))),
        TaxError::NegativeRate {
            line: 1,
            tax: "IVA".into()
        }
    );
    assert_eq!(
        err(Line::new(dec!(1), mxn(dec!(1)))
            .with_tax(iva16())
            .with_tax(iva16())),
        TaxError::DuplicateTax {
            line: 1,
            tax: "IVA".into(),
            kind: TaxKind::Transferred
        }
    );
    assert_eq!(
        err(Line::new(dec!(1), mxn(dec!(1))).with_tax(iva16().with_base_including("IEPS"))),
        TaxError::UnknownBaseTax {
            line: 1,
            tax: "IVA".into(),
            base: "IEPS".into()
        }
    );
    // A withheld tax cannot be part of another tax's base.
    assert!(matches!(
        err(Line::new(dec!(1), mxn(dec!(1)))
            .with_tax(isr10())
            .with_tax(iva16().with_base_including("ISR"))),
        TaxError::UnknownBaseTax { .. }
    ));
    assert_eq!(
        err(Line::new(dec!(1), mxn(dec!(1))).with_tax(iva16().with_base_including("IVA"))),
        TaxError::CircularCompound {
            line: 1,
            tax: "IVA".into()
        }
    );
    assert!(matches!(
        err(Line::new(dec!(1), mxn(dec!(1)))
            .with_tax(iva16().with_base_including("IEPS"))
            .with_tax(
                Tax::transferred("IEPS", TaxRate::Percent(dec!(8))).with_base_including("IVA")
            )),
        TaxError::CircularCompound { line: 1, .. }
    ));
    assert_eq!(
        calc.price_mode(PriceMode::Inclusive)
            .calculate(&[Line::new(dec!(1), mxn(dec!(1)))
                .with_tax(Tax::transferred("IEPS", TaxRate::PerUnit(mxn(dec!(2)))))])
            .unwrap_err(),
        TaxError::InclusivePriceTooLow { line: 0 }
    );
    assert_eq!(
        calc.calculate(&[Line::new(Decimal::MAX, mxn(dec!(2)))])
            .unwrap_err(),
        TaxError::Overflow { line: Some(0) }
    );

    // Into the crate error: a validation error naming the field.
    let e: erp_hub_core::Error = TaxError::NegativeQuantity { line: 3 }.into();
    assert_eq!(e.kind(), erp_hub_core::ErrorKind::Validation);
    match e {
        erp_hub_core::Error::Validation { errors, .. } => {
            assert_eq!(errors[0].field, "lines[3].quantity")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn empty_document_is_zero() {
    let r = TaxCalculator::new(MXN).calculate(&[]).unwrap();
    assert!(r.lines.is_empty() && r.groups.is_empty());
    assert_eq!(r.total, Money::zero(MXN));
}
