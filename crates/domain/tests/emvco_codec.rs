//! Property tests of the EMVCo codec: every payload Qiao writes reads back
//! as written, and every single-character corruption of it is refused.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use qiao_domain::emvco::{self, Additional, AlternateLanguage, Initiation, Payload, QiaoAccount, QIAO_TEMPLATE_ID};
use qiao_domain::money::Currency;

/// Printable ASCII text of 1..=max characters (what the root fields hold).
fn ans(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[ -~]{{1,{max}}}")).unwrap()
}

fn payload() -> impl Strategy<Value = Payload> {
    (
        any::<bool>(),
        "[0-9]{10}",
        proptest::option::of("[A-Za-z0-9]{8,24}"),
        "[0-9]{4}",
        proptest::sample::select(Currency::ALL.to_vec()),
        proptest::option::of(1i64..=9_999_999_999),
        "[A-Z]{2}",
        (ans(25), ans(15)),
        (proptest::option::of(ans(25)), proptest::option::of(ans(25))),
        proptest::option::of(("[A-Z]{2}", "\\PC{1,10}", proptest::option::of("\\PC{1,10}"))),
    )
        .prop_map(
            |(dynamic, merchant, order, mcc, currency, amount, country, (name, city), (bill, reference), alt)| {
                Payload {
                    initiation: Some(if dynamic {
                        Initiation::Dynamic
                    } else {
                        Initiation::Static
                    }),
                    accounts: vec![(QIAO_TEMPLATE_ID, QiaoAccount { merchant, order }.encode().unwrap())],
                    mcc,
                    currency_numeric: currency.numeric().to_owned(),
                    amount: amount.map(|minor| emvco::amount_text(minor, currency)),
                    country,
                    name,
                    city,
                    postal_code: None,
                    additional: Additional {
                        bill,
                        reference,
                        ..Additional::default()
                    },
                    alternate: alt.map(|(language, name, city)| AlternateLanguage { language, name, city }),
                    other: vec![],
                }
            },
        )
}

proptest! {
    #[test]
    fn what_qiao_writes_reads_back(p in payload()) {
        let text = p.encode().unwrap();
        let (read, account) = emvco::read_qiao(&text).unwrap();
        prop_assert_eq!(&read, &p);
        prop_assert_eq!(Some(account.encode().unwrap()), p.accounts.first().map(|(_, v)| v.clone()));
        let currency = read.currency().unwrap();
        if let Some(amount) = &p.amount {
            prop_assert_eq!(read.amount_minor(currency).unwrap(), emvco::amount_minor(amount, currency));
        }
    }

    /// Every position, replaced by another printable character: CRC-16
    /// catches any change of one byte, and a change to a length or the CRC
    /// itself breaks the structure or the match.
    #[test]
    fn every_single_character_corruption_is_refused(p in payload(), replacement in 0x20u8..0x7f) {
        let text = p.encode().unwrap();
        let chars: Vec<char> = text.chars().collect();
        for at in 0..chars.len() {
            let mut other = replacement as char;
            if other == chars[at] {
                other = if other == '~' { ' ' } else { (other as u8 + 1) as char };
            }
            let mut corrupted = chars.clone();
            corrupted[at] = other;
            let corrupted: String = corrupted.into_iter().collect();
            prop_assert!(
                emvco::parse(&corrupted).is_err(),
                "corruption at {} ({:?} -> {:?}) accepted: {}", at, chars[at], other, corrupted
            );
        }
    }
}
