//! What the ledger journal is keyed and labelled with, built in one place.
//!
//! Every journal row has an idempotency key, unique across the whole ledger,
//! and a memo that says what the money was for. Both used to be `format!`ed
//! where they were needed; two shapes then met (`chat:{sender}:{client key}`
//! and `chat:{payment}:accept`), and a client's key could take the key of
//! someone else's payment. Here each key is a variant, and its text follows a
//! grammar in which client input can never reach a system key:
//!
//! ```text
//! client:  top-up:{user}:{key}  withdrawal:{user}:{key}  repayment:{user}:{key}
//!          chat-send:{user}:{key}
//! system:  sys:settle:{pending transfer}:post|void
//!          sys:payment:{payment}:accept|decline|refund   sys:payment:{payment}:share:{n}
//!          sys:payment:{payment}:accept:fee|fx   sys:payment:{payment}:share:{n}:fee|fx
//!          sys:order:{order}:pay|fee|fx   sys:refund:{refund}:pay|fee|fx
//!          sys:conversion:{conversion}:pay|fee|fx   sys:payout:{merchant}:{utc day}
//! ```
//!
//! A client key is `[A-Za-z0-9_-]{1,64}` (no `:`), so a client-derived key has
//! exactly three parts and its first part is never `sys`. The three card
//! shapes are the ones Qiao has always written, so a retry sent before an
//! upgrade finds its movement after it. Chat sends are found by their
//! payment row first, so their key could move to a name of its own.

use crate::ids::{CardId, ConversionId, IdempotencyKey, MerchantId, OrderId, PaymentId, RefundId, TransferId, UserId};

/// One leg of a payment that may cross currencies. Within one currency only
/// `Pay` moves (payer to payee). Across currencies `Pay` takes the payer's
/// money into the FX position of their currency, `Fee` moves the fee from
/// there to fee income, and `Fx` pays the payee from the FX position of
/// theirs. A refund runs the same legs the other way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leg {
    Pay,
    Fee,
    Fx,
}

impl Leg {
    pub const ALL: [Leg; 3] = [Leg::Pay, Leg::Fee, Leg::Fx];

    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Pay => "pay",
            Leg::Fee => "fee",
            Leg::Fx => "fx",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == raw)
    }
}

/// The idempotency key of one journal row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LedgerKey {
    /// A top-up from a debit card, as the client asked for it.
    TopUp { user: UserId, client: IdempotencyKey },
    /// A withdrawal to a debit card.
    Withdrawal { user: UserId, client: IdempotencyKey },
    /// A repayment of the pay-later line, from the balance or a card.
    Repayment { user: UserId, client: IdempotencyKey },
    /// Money into chat escrow for a transfer or red packet.
    ChatSend { user: UserId, client: IdempotencyKey },
    /// The post or void of a pending transfer (a bank movement's second half).
    Settle { pending: TransferId, post: bool },
    /// A transfer's money to its recipient.
    Accept { payment: PaymentId },
    /// A transfer's money back to its sender, declined by the recipient.
    Decline { payment: PaymentId },
    /// What an expired transfer or red packet still held, back to the sender.
    Refund { payment: PaymentId },
    /// One red-packet share to the member who opened it.
    Share { payment: PaymentId, index: u32 },
    /// The fee or FX leg of a transfer accepted in another currency (its
    /// first leg, into the FX position, is `Accept`).
    AcceptLeg { payment: PaymentId, leg: Leg },
    /// The fee or FX leg of a red-packet share opened in another currency.
    ShareLeg { payment: PaymentId, index: u32, leg: Leg },
    /// A leg of a merchant order's payment.
    Order { order: OrderId, leg: Leg },
    /// A leg of one refund of a merchant order.
    OrderRefund { refund: RefundId, leg: Leg },
    /// A leg of a conversion between two of a user's wallets.
    Conversion { conversion: ConversionId, leg: Leg },
    /// A merchant's payout of one UTC day to its settlement card (a bank movement).
    Payout { merchant: MerchantId, day: i64 },
}

impl LedgerKey {
    /// Whether a client's key chose this row (and so a retry may name it).
    pub fn is_client_chosen(&self) -> bool {
        matches!(
            self,
            LedgerKey::TopUp { .. }
                | LedgerKey::Withdrawal { .. }
                | LedgerKey::Repayment { .. }
                | LedgerKey::ChatSend { .. }
        )
    }

    /// The daily total a movement under this key counts in, and whose:
    /// top-ups and withdrawals count when reserved and are given back when
    /// voided (chat payments count in their own send).
    pub fn daily_cap(&self) -> Option<(UserId, crate::caps::CapKind)> {
        match self {
            LedgerKey::TopUp { user, .. } => Some((*user, crate::caps::CapKind::TopUp)),
            LedgerKey::Withdrawal { user, .. } => Some((*user, crate::caps::CapKind::Withdrawal)),
            _ => None,
        }
    }

    /// Reads a key written by [`LedgerKey::to_string`]; `None` for any other text
    /// (including the shapes of keys written before this module existed).
    pub fn parse(raw: &str) -> Option<Self> {
        let parts: Vec<&str> = raw.split(':').collect();
        let number = |s: &str| -> Option<i64> {
            // Only canonical decimals, so that parse is the exact inverse of Display.
            let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
            canonical.then(|| s.parse().ok()).flatten()
        };
        let client = |op: &str, user: &str, key: &str| -> Option<Self> {
            let user = UserId(number(user)?);
            let client = IdempotencyKey::parse(key).ok()?;
            Some(match op {
                "top-up" => LedgerKey::TopUp { user, client },
                "withdrawal" => LedgerKey::Withdrawal { user, client },
                "repayment" => LedgerKey::Repayment { user, client },
                "chat-send" => LedgerKey::ChatSend { user, client },
                _ => return None,
            })
        };
        match parts.as_slice() {
            ["sys", "order", order, leg] => Some(LedgerKey::Order {
                order: OrderId(number(order)?),
                leg: Leg::parse(leg)?,
            }),
            ["sys", "refund", refund, leg] => Some(LedgerKey::OrderRefund {
                refund: RefundId(number(refund)?),
                leg: Leg::parse(leg)?,
            }),
            ["sys", "conversion", conversion, leg] => Some(LedgerKey::Conversion {
                conversion: ConversionId(number(conversion)?),
                leg: Leg::parse(leg)?,
            }),
            ["sys", "payout", merchant, day] => Some(LedgerKey::Payout {
                merchant: MerchantId(number(merchant)?),
                day: number(day)?,
            }),
            ["sys", "settle", pending, outcome] => Some(LedgerKey::Settle {
                pending: TransferId(number(pending)?),
                post: match *outcome {
                    "post" => true,
                    "void" => false,
                    _ => return None,
                },
            }),
            ["sys", "payment", payment, "accept", leg] => Some(LedgerKey::AcceptLeg {
                payment: PaymentId(number(payment)?),
                leg: Leg::parse(leg).filter(|l| *l != Leg::Pay)?,
            }),
            ["sys", "payment", payment, "share", index, leg] => Some(LedgerKey::ShareLeg {
                payment: PaymentId(number(payment)?),
                index: u32::try_from(number(index)?).ok()?,
                leg: Leg::parse(leg).filter(|l| *l != Leg::Pay)?,
            }),
            ["sys", "payment", payment, "share", index] => Some(LedgerKey::Share {
                payment: PaymentId(number(payment)?),
                index: u32::try_from(number(index)?).ok()?,
            }),
            ["sys", "payment", payment, what] => {
                let payment = PaymentId(number(payment)?);
                Some(match *what {
                    "accept" => LedgerKey::Accept { payment },
                    "decline" => LedgerKey::Decline { payment },
                    "refund" => LedgerKey::Refund { payment },
                    _ => return None,
                })
            }
            [op, user, key] => client(op, user, key),
            _ => None,
        }
    }
}

impl std::fmt::Display for LedgerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LedgerKey::TopUp { user, client } => write!(f, "top-up:{user}:{}", client.as_str()),
            LedgerKey::Withdrawal { user, client } => write!(f, "withdrawal:{user}:{}", client.as_str()),
            LedgerKey::Repayment { user, client } => write!(f, "repayment:{user}:{}", client.as_str()),
            LedgerKey::ChatSend { user, client } => write!(f, "chat-send:{user}:{}", client.as_str()),
            LedgerKey::Settle { pending, post } => {
                write!(f, "sys:settle:{pending}:{}", if *post { "post" } else { "void" })
            }
            LedgerKey::Accept { payment } => write!(f, "sys:payment:{payment}:accept"),
            LedgerKey::Decline { payment } => write!(f, "sys:payment:{payment}:decline"),
            LedgerKey::Refund { payment } => write!(f, "sys:payment:{payment}:refund"),
            LedgerKey::Share { payment, index } => write!(f, "sys:payment:{payment}:share:{index}"),
            LedgerKey::AcceptLeg { payment, leg } => write!(f, "sys:payment:{payment}:accept:{}", leg.as_str()),
            LedgerKey::ShareLeg { payment, index, leg } => {
                write!(f, "sys:payment:{payment}:share:{index}:{}", leg.as_str())
            }
            LedgerKey::Order { order, leg } => write!(f, "sys:order:{order}:{}", leg.as_str()),
            LedgerKey::OrderRefund { refund, leg } => write!(f, "sys:refund:{refund}:{}", leg.as_str()),
            LedgerKey::Conversion { conversion, leg } => write!(f, "sys:conversion:{conversion}:{}", leg.as_str()),
            LedgerKey::Payout { merchant, day } => write!(f, "sys:payout:{merchant}:{day}"),
        }
    }
}

/// What money was for: the memo of a journal row. The statement reads it back
/// as a purpose and a reference (a card or a chat payment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Memo {
    TopUp {
        card: CardId,
    },
    Withdrawal {
        card: CardId,
    },
    RepaymentFromBalance,
    RepaymentFromCard {
        card: CardId,
    },
    /// Money into escrow for a transfer, and out of it to the recipient.
    Transfer {
        payment: PaymentId,
    },
    /// Money into escrow for a red packet, and each share out of it.
    RedPacket {
        payment: PaymentId,
    },
    /// Money back from escrow to the sender (declined or expired).
    Refund {
        payment: PaymentId,
    },
    /// A customer's payment of a merchant order, each of its legs.
    MerchantPayment {
        order: OrderId,
    },
    /// A refund of a merchant order, each of its legs.
    MerchantRefund {
        order: OrderId,
    },
    /// A merchant's payout to its settlement card.
    Payout {
        merchant: MerchantId,
    },
    /// A conversion between two of a user's wallets.
    Conversion {
        conversion: ConversionId,
    },
    /// The bank moved the money: its reference.
    BankPosted {
        reference: String,
    },
    /// The bank said no or did not answer: the stable code of why.
    BankVoided {
        reason: crate::Error,
    },
}

/// What a statement line says an entry was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    TopUp,
    Withdrawal,
    Repayment,
    Transfer,
    RedPacket,
    Refund,
    /// The second half of a bank movement.
    Settlement,
    MerchantPayment,
    MerchantRefund,
    Payout,
    Conversion,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::TopUp => "top_up",
            Purpose::Withdrawal => "withdrawal",
            Purpose::Repayment => "repayment",
            Purpose::Transfer => "transfer",
            Purpose::RedPacket => "red_packet",
            Purpose::Refund => "refund",
            Purpose::Settlement => "settlement",
            Purpose::MerchantPayment => "merchant_payment",
            Purpose::MerchantRefund => "merchant_refund",
            Purpose::Payout => "payout",
            Purpose::Conversion => "conversion",
        }
    }
}

/// What a memo points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    None,
    Card(CardId),
    Payment(PaymentId),
    Order(OrderId),
    Merchant(MerchantId),
    Conversion(ConversionId),
    Bank(String),
}

impl Memo {
    pub fn purpose(&self) -> Purpose {
        match self {
            Memo::TopUp { .. } => Purpose::TopUp,
            Memo::Withdrawal { .. } => Purpose::Withdrawal,
            Memo::RepaymentFromBalance | Memo::RepaymentFromCard { .. } => Purpose::Repayment,
            Memo::Transfer { .. } => Purpose::Transfer,
            Memo::RedPacket { .. } => Purpose::RedPacket,
            Memo::Refund { .. } => Purpose::Refund,
            Memo::BankPosted { .. } | Memo::BankVoided { .. } => Purpose::Settlement,
            Memo::MerchantPayment { .. } => Purpose::MerchantPayment,
            Memo::MerchantRefund { .. } => Purpose::MerchantRefund,
            Memo::Payout { .. } => Purpose::Payout,
            Memo::Conversion { .. } => Purpose::Conversion,
        }
    }

    pub fn reference(&self) -> Reference {
        match self {
            Memo::TopUp { card } | Memo::Withdrawal { card } | Memo::RepaymentFromCard { card } => {
                Reference::Card(*card)
            }
            Memo::RepaymentFromBalance | Memo::BankVoided { .. } => Reference::None,
            Memo::Transfer { payment } | Memo::RedPacket { payment } | Memo::Refund { payment } => {
                Reference::Payment(*payment)
            }
            Memo::BankPosted { reference } => Reference::Bank(reference.clone()),
            Memo::MerchantPayment { order } | Memo::MerchantRefund { order } => Reference::Order(*order),
            Memo::Payout { merchant } => Reference::Merchant(*merchant),
            Memo::Conversion { conversion } => Reference::Conversion(*conversion),
        }
    }

    /// The reference as the statement shows it: `card-7`, `42`, `balance` or the bank's.
    pub fn reference_text(&self) -> String {
        match (self, self.reference()) {
            (_, Reference::Card(card)) => format!("card-{card}"),
            (_, Reference::Payment(payment)) => payment.to_string(),
            (_, Reference::Order(order)) => format!("order-{order}"),
            (_, Reference::Merchant(merchant)) => format!("merchant-{merchant}"),
            (_, Reference::Conversion(conversion)) => format!("conversion-{conversion}"),
            (_, Reference::Bank(reference)) => reference,
            (Memo::RepaymentFromBalance, Reference::None) => "balance".to_owned(),
            (Memo::BankVoided { reason }, Reference::None) => reason.code().to_owned(),
            (_, Reference::None) => String::new(),
        }
    }

    /// Reads a memo written by [`Memo::to_string`] (the shape Qiao has always
    /// written for these). A text that is no known memo is a bank's reference.
    pub fn parse(raw: &str) -> Memo {
        let card = |r: &str| r.strip_prefix("card-").and_then(|n| n.parse().ok()).map(CardId);
        let payment = |r: &str| r.parse().ok().map(PaymentId);
        if let Some(reason) = crate::Error::ALL.iter().copied().find(|e| e.code() == raw) {
            return Memo::BankVoided { reason };
        }
        let parsed = raw.split_once(':').and_then(|(purpose, reference)| {
            Some(match purpose {
                "top_up" => Memo::TopUp { card: card(reference)? },
                "withdrawal" => Memo::Withdrawal { card: card(reference)? },
                "repayment" if reference == "balance" => Memo::RepaymentFromBalance,
                "repayment" => Memo::RepaymentFromCard { card: card(reference)? },
                "transfer" => Memo::Transfer {
                    payment: payment(reference)?,
                },
                "red_packet" => Memo::RedPacket {
                    payment: payment(reference)?,
                },
                "refund" => Memo::Refund {
                    payment: payment(reference)?,
                },
                "merchant_payment" => Memo::MerchantPayment {
                    order: OrderId(reference.parse().ok()?),
                },
                "merchant_refund" => Memo::MerchantRefund {
                    order: OrderId(reference.parse().ok()?),
                },
                "payout" => Memo::Payout {
                    merchant: MerchantId(reference.strip_prefix("merchant-")?.parse().ok()?),
                },
                "conversion" => Memo::Conversion {
                    conversion: ConversionId(reference.parse().ok()?),
                },
                _ => return None,
            })
        });
        parsed.unwrap_or_else(|| Memo::BankPosted {
            reference: raw.to_owned(),
        })
    }
}

impl std::fmt::Display for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Memo::TopUp { card } => write!(f, "top_up:card-{card}"),
            Memo::Withdrawal { card } => write!(f, "withdrawal:card-{card}"),
            Memo::RepaymentFromBalance => f.write_str("repayment:balance"),
            Memo::RepaymentFromCard { card } => write!(f, "repayment:card-{card}"),
            Memo::Transfer { payment } => write!(f, "transfer:{payment}"),
            Memo::RedPacket { payment } => write!(f, "red_packet:{payment}"),
            Memo::Refund { payment } => write!(f, "refund:{payment}"),
            Memo::BankPosted { reference } => f.write_str(reference),
            Memo::BankVoided { reason } => f.write_str(reason.code()),
            Memo::MerchantPayment { order } => write!(f, "merchant_payment:{order}"),
            Memo::MerchantRefund { order } => write!(f, "merchant_refund:{order}"),
            Memo::Payout { merchant } => write!(f, "payout:merchant-{merchant}"),
            Memo::Conversion { conversion } => write!(f, "conversion:{conversion}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = LedgerKey> {
        let user = (0..1_000_000i64).prop_map(UserId);
        let client = "[A-Za-z0-9_-]{1,64}".prop_map(|k| IdempotencyKey::parse(&k).expect("valid by the regex"));
        let payment = (0..1_000_000i64).prop_map(PaymentId);
        prop_oneof![
            (user.clone(), client.clone()).prop_map(|(user, client)| LedgerKey::TopUp { user, client }),
            (user.clone(), client.clone()).prop_map(|(user, client)| LedgerKey::Withdrawal { user, client }),
            (user.clone(), client.clone()).prop_map(|(user, client)| LedgerKey::Repayment { user, client }),
            (user, client).prop_map(|(user, client)| LedgerKey::ChatSend { user, client }),
            ((0..1_000_000i64).prop_map(TransferId), any::<bool>())
                .prop_map(|(pending, post)| LedgerKey::Settle { pending, post }),
            payment.clone().prop_map(|payment| LedgerKey::Accept { payment }),
            payment.clone().prop_map(|payment| LedgerKey::Decline { payment }),
            payment.clone().prop_map(|payment| LedgerKey::Refund { payment }),
            (payment, any::<u32>()).prop_map(|(payment, index)| LedgerKey::Share { payment, index }),
            (
                (0..1_000_000i64).prop_map(PaymentId),
                proptest::sample::select(vec![Leg::Fee, Leg::Fx])
            )
                .prop_map(|(payment, leg)| LedgerKey::AcceptLeg { payment, leg }),
            (
                (0..1_000_000i64).prop_map(PaymentId),
                any::<u32>(),
                proptest::sample::select(vec![Leg::Fee, Leg::Fx])
            )
                .prop_map(|(payment, index, leg)| LedgerKey::ShareLeg { payment, index, leg }),
            (
                (0..1_000_000i64).prop_map(OrderId),
                proptest::sample::select(Leg::ALL.to_vec())
            )
                .prop_map(|(order, leg)| LedgerKey::Order { order, leg }),
            (
                (0..1_000_000i64).prop_map(RefundId),
                proptest::sample::select(Leg::ALL.to_vec())
            )
                .prop_map(|(refund, leg)| LedgerKey::OrderRefund { refund, leg }),
            (
                (0..1_000_000i64).prop_map(ConversionId),
                proptest::sample::select(Leg::ALL.to_vec())
            )
                .prop_map(|(conversion, leg)| LedgerKey::Conversion { conversion, leg }),
            ((0..1_000_000i64).prop_map(MerchantId), 0..100_000i64)
                .prop_map(|(merchant, day)| LedgerKey::Payout { merchant, day }),
        ]
    }

    proptest! {
        /// The text of a key names exactly that key: two keys never share a text.
        #[test]
        fn keys_round_trip_so_no_two_keys_share_a_text(k in key()) {
            prop_assert_eq!(LedgerKey::parse(&k.to_string()), Some(k));
        }

        #[test]
        fn distinct_keys_have_distinct_texts(a in key(), b in key()) {
            prop_assert_eq!(a == b, a.to_string() == b.to_string());
        }
    }

    /// The collision the outside review found: user 1's key `accept` and the
    /// acceptance of payment 1 used to be the same text.
    #[test]
    fn a_client_key_never_takes_a_system_key() {
        let suffixes = [
            "accept", "decline", "refund", "share", "post", "void", "sys", "settle", "payment",
        ];
        for suffix in suffixes {
            let client = IdempotencyKey::parse(suffix).expect("valid");
            for user in [1, 2, 42] {
                let chosen = [
                    LedgerKey::TopUp {
                        user: UserId(user),
                        client: client.clone(),
                    },
                    LedgerKey::Withdrawal {
                        user: UserId(user),
                        client: client.clone(),
                    },
                    LedgerKey::Repayment {
                        user: UserId(user),
                        client: client.clone(),
                    },
                    LedgerKey::ChatSend {
                        user: UserId(user),
                        client: client.clone(),
                    },
                ];
                for k in chosen {
                    assert!(k.is_client_chosen());
                    let text = k.to_string();
                    assert!(!text.starts_with("sys:"), "{text}");
                    assert_eq!(LedgerKey::parse(&text), Some(k));
                }
            }
        }
        assert_eq!(
            LedgerKey::Accept { payment: PaymentId(1) }.to_string(),
            "sys:payment:1:accept"
        );
        assert!(!LedgerKey::Accept { payment: PaymentId(1) }.is_client_chosen());
    }

    #[test]
    fn non_canonical_texts_are_no_key() {
        for raw in [
            "",
            "top-up:01:a",
            "top-up:1",
            "top-up:1:a:b",
            "sys:payment:1:share:-1",
            "chat:1:accept",
            "sys:settle:1:maybe",
            "top-up:1:a b",
        ] {
            assert_eq!(LedgerKey::parse(raw), None, "{raw}");
        }
    }

    #[test]
    fn memos_keep_the_shape_qiao_has_always_written() {
        let cases = [
            (Memo::TopUp { card: CardId(3) }, "top_up:card-3"),
            (Memo::Withdrawal { card: CardId(3) }, "withdrawal:card-3"),
            (Memo::RepaymentFromBalance, "repayment:balance"),
            (Memo::RepaymentFromCard { card: CardId(9) }, "repayment:card-9"),
            (Memo::Transfer { payment: PaymentId(5) }, "transfer:5"),
            (Memo::RedPacket { payment: PaymentId(5) }, "red_packet:5"),
            (Memo::Refund { payment: PaymentId(5) }, "refund:5"),
            (Memo::MerchantPayment { order: OrderId(8) }, "merchant_payment:8"),
            (Memo::MerchantRefund { order: OrderId(8) }, "merchant_refund:8"),
            (
                Memo::Payout {
                    merchant: MerchantId(2),
                },
                "payout:merchant-2",
            ),
            (
                Memo::Conversion {
                    conversion: ConversionId(4),
                },
                "conversion:4",
            ),
            (
                Memo::BankVoided {
                    reason: crate::Error::CardDeclined,
                },
                "card_declined",
            ),
            (
                Memo::BankPosted {
                    reference: "sbx_charge_top-up:1:a".into(),
                },
                "sbx_charge_top-up:1:a",
            ),
        ];
        for (memo, text) in cases {
            assert_eq!(memo.to_string(), text);
            assert_eq!(Memo::parse(text), memo);
        }
        assert_eq!(Memo::parse("top_up:card-3").reference_text(), "card-3");
        assert_eq!(Memo::parse("refund:5").reference(), Reference::Payment(PaymentId(5)));
        assert_eq!(Memo::parse("repayment:balance").purpose(), Purpose::Repayment);
    }
}
