//! Money commands: the wallet, cards, top-ups and withdrawals, the PIN,
//! transfers and red packets in chats, the statement (and its CSV), the
//! pay-later line and repayment. Amounts are decimals in the wallet's
//! currency (`12.50`); the server gets exact minor units. Every command that
//! moves money is safe to run again after a failure: a try that got no
//! answer keeps its idempotency key beside the profile, and the next run of
//! the same command retries it instead of moving money twice. PINs and
//! passwords not given are asked for without echo.

use anyhow::Context;
use clap::Subcommand;
use qiao_api as api;
use qiao_domain::money::{Currency, Money};
use serde_json::json;

use crate::client::{local_time, secret, Client, Names, PendingKeys, Profile};

#[derive(Subcommand)]
pub enum PayCommand {
    /// Show balances, the pay-later line, today's limits and bound cards.
    Wallet,
    /// Bind a card (sandbox test cards: see the README), confirmed with the PIN or the password.
    BindCard {
        number: String,
        /// `debit` or `credit`, as your region allows.
        #[arg(long, default_value = "debit")]
        funding: String,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
        #[arg(long, env = "QIAO_PASSWORD")]
        password: Option<String>,
    },
    /// Top up the wallet from a bound debit card, e.g. `qiao top-up 1 100.00`.
    TopUp { card_id: i64, amount: String },
    /// Set or change the six-digit payment PIN (with the account password, or `--current-pin`).
    SetPin {
        pin: String,
        #[arg(long, env = "QIAO_PASSWORD")]
        password: Option<String>,
        #[arg(long)]
        current_pin: Option<String>,
    },
    /// Reset a forgotten or locked PIN with the password and a bound card's number.
    ResetPin {
        pin: String,
        #[arg(long)]
        card: String,
        #[arg(long, env = "QIAO_PASSWORD")]
        password: Option<String>,
    },
    /// Payments up to AMOUNT need no PIN (0 turns it off; raising it needs the PIN).
    NoPinLimit {
        amount: String,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
    },
    /// Withdraw to a bound debit card, e.g. `qiao withdraw 1 50.00 --pin 135790`.
    Withdraw {
        card_id: i64,
        amount: String,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
    },
    /// Send a transfer (转账): in a direct chat to the other person, in a group to `--to`.
    Transfer {
        conversation_id: i64,
        amount: String,
        /// The group member who receives it (user id).
        #[arg(long)]
        to: Option<i64>,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
        /// Pay from the pay-later credit line instead of the balance.
        #[arg(long)]
        pay_later: bool,
    },
    /// Send a red packet (红包): lucky (random shares of AMOUNT) or --identical (AMOUNT each).
    RedPacket {
        conversation_id: i64,
        amount: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[arg(long)]
        identical: bool,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
    },
    /// Show a transfer or red packet (who opened how much).
    Payment { payment_id: i64 },
    /// Accept a transfer sent to you.
    AcceptTransfer { payment_id: i64 },
    /// Decline a transfer sent to you (the money goes back).
    DeclineTransfer { payment_id: i64 },
    /// Open a red packet.
    Open { payment_id: i64 },
    /// The wallet statement, newest first; `--csv FILE` exports all of it.
    Statement {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        before: Option<i64>,
        #[arg(long)]
        csv: Option<std::path::PathBuf>,
    },
    /// One statement entry in detail: its lines, and the card or chat payment it belongs to.
    Entry { entry_id: i64 },
    /// The pay-later line and a month's statement (`--month 2026-11`).
    Credit {
        #[arg(long)]
        month: Option<String>,
    },
    /// Repay the pay-later line from the balance, or from a debit card with `--card`.
    Repay {
        amount: String,
        #[arg(long)]
        card: Option<i64>,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
    },
    /// Pay a merchant's QR code: its text, or `--image photo.png`. Shows the
    /// merchant, the amount and (across currencies) the quote, then asks.
    Pay {
        payload: Option<String>,
        /// A photo of the code (PNG or JPEG) instead of its text.
        #[arg(long)]
        image: Option<std::path::PathBuf>,
        /// A static code: the amount, in the merchant's currency.
        #[arg(long)]
        amount: Option<String>,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
        /// Pay without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Show a one-time payment code for a cashier to scan (valid 90 seconds).
    PaymentCode,
    /// Confirm a payment-code charge that waits for you (above the no-PIN limit).
    ConfirmPayment {
        order_id: i64,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
    },
    /// Convert between your wallets, e.g. `qiao convert 100.00 --from CNY --to USD`.
    Convert {
        amount: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
        #[arg(long)]
        yes: bool,
    },
}

/// Asks on the terminal whether to go on; `--yes` answers for it.
fn confirmed(t: crate::texts::Texts, yes: bool) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("{}", t.need_yes());
    }
    print!("{}", t.ask_confirm());
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "是"))
}

fn print_quote(t: crate::texts::Texts, q: &api::Quote) {
    let line = t.quote_line(
        &show(q.debit_minor, &q.from_currency),
        &show(q.fee_minor, &q.from_currency),
        &format!("1 {} = {} {}", q.from_currency, q.rate, q.to_currency),
        &local_time(q.expires_at_ms),
    );
    println!("{line}");
}

fn show(minor: i64, code: &str) -> String {
    match Currency::parse(code) {
        Ok(currency) => format!("{} {code}", Money { minor, currency }.to_decimal()),
        Err(_) => format!("{minor} {code}"),
    }
}

/// `amount` in minor units of the wallet's currency (kept in the profile,
/// else asked of the server).
async fn minor_units(client: &Client, profile: &Profile, amount: &str) -> anyhow::Result<i64> {
    let code = match &profile.currency {
        Some(code) => code.clone(),
        None => {
            let wallet: api::Wallet = client.get("/api/wallet").await?;
            wallet.balances.first().map(|b| b.currency.clone()).unwrap_or_default()
        }
    };
    to_minor(client, amount, &code)
}

fn to_minor(client: &Client, amount: &str, code: &str) -> anyhow::Result<i64> {
    let currency = Currency::parse(code).map_err(|_| anyhow::anyhow!("unknown currency {code}"))?;
    Ok(Money::parse_decimal(amount, currency)
        .map_err(|_| anyhow::anyhow!(client.texts.not_an_amount(amount, code)))?
        .minor)
}

async fn print_payment(client: &Client, names: &mut Names, p: &api::ChatPayment) {
    let t = client.texts;
    let amount = show(p.total_minor, &p.currency);
    println!(
        "{}",
        t.payment(
            &p.kind,
            p.id,
            p.conversation_id,
            &amount,
            &p.status,
            p.opened_count,
            p.shares
        )
    );
    for o in &p.opened {
        let who = names.of(client, o.user_id).await;
        let best = if p.best_luck_user_id == Some(o.user_id) {
            t.best_luck()
        } else {
            String::new()
        };
        let line = t.opened_share(&who, &show(o.amount_minor, &p.currency), &local_time(o.opened_at_ms));
        println!("{line}{best}");
    }
}

fn print_line(client: &Client, e: &api::StatementEntry) {
    let sign = if e.direction == "out" { "-" } else { "+" };
    let amount = format!("{sign}{}", show(e.amount_minor, &e.currency));
    let at = local_time(e.at_ms);
    println!(
        "{}",
        client
            .texts
            .statement_line(e.id, &at, &e.purpose, &e.reference, &amount, &e.status, &e.account)
    );
}

pub async fn run(
    client: &Client,
    profile: &Profile,
    pending: &mut PendingKeys,
    command: &PayCommand,
) -> anyhow::Result<()> {
    let t = client.texts;
    let mut names = Names::new(profile.user_id);
    let pin = |given: &Option<String>| secret(given.as_deref(), &t.ask_pin(), "--pin", t);
    match command {
        PayCommand::Pay {
            payload,
            image,
            amount,
            pin: given_pin,
            yes,
        } => {
            let payload = match (payload, image) {
                (Some(text), _) => text.clone(),
                (None, Some(path)) => {
                    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                    let decoded: api::DecodedImage = client.post_bytes("/api/qr/decode", bytes).await?;
                    decoded.payload
                }
                (None, None) => anyhow::bail!("give the code's text or --image"),
            };
            let scanned: api::ScanResult = client.post("/api/pay/scan", json!({"payload": payload})).await?;
            if scanned.kind == "user" {
                println!("{}", t.a_person(scanned.user_id.unwrap_or_default()));
                return Ok(());
            }
            let (Some(merchant), Some(currency)) = (scanned.merchant.clone(), scanned.currency.clone()) else {
                anyhow::bail!("not a merchant's code");
            };
            let amount_minor = match (scanned.amount_minor, amount) {
                (Some(fixed), _) => fixed,
                (None, Some(typed)) => to_minor(client, typed, &currency)?,
                (None, None) => anyhow::bail!("a static code: give --amount"),
            };
            // A static code's quote needs the amount: scan again with it.
            let scanned: api::ScanResult = if scanned.amount_minor.is_none() {
                client
                    .post(
                        "/api/pay/scan",
                        json!({"payload": payload, "amount_minor": amount_minor}),
                    )
                    .await?
            } else {
                scanned
            };
            println!(
                "{}",
                t.merchant_card(&merchant.name, &merchant.city, &merchant.country, &merchant.number)
            );
            println!(
                "{}",
                if merchant.verified {
                    t.merchant_verified()
                } else {
                    t.merchant_not_verified()
                }
            );
            if let Some(order) = &scanned.order {
                println!("{}", t.order_for(&order.description, &order.out_trade_no));
            }
            println!("{}", t.amount_to_pay(&show(amount_minor, &currency)));
            if let Some(q) = &scanned.quote {
                print_quote(t, q);
            }
            if !confirmed(t, *yes)? {
                println!("{}", t.not_paid());
                return Ok(());
            }
            let pin = pin(given_pin)?;
            let receipt: api::Receipt = client
                .post_once(
                    pending,
                    "/api/pay",
                    json!({"payload": payload, "amount_minor": scanned.order.is_none().then_some(amount_minor),
                           "quote_id": scanned.quote.as_ref().map(|q| q.id), "pin": pin}),
                )
                .await?;
            println!(
                "{}",
                t.paid(
                    &show(receipt.amount_minor, &receipt.currency),
                    &receipt.merchant.name,
                    &receipt.status
                )
            );
            if let Some(p) = receipt.payer.filter(|p| p.currency != receipt.currency) {
                println!("{}", t.paid_from(&show(p.amount_minor, &p.currency)));
            }
        }
        PayCommand::PaymentCode => {
            let code: api::PaymentCode = client.post("/api/wallet/payment-code", json!({})).await?;
            println!("{}", t.payment_code(&code.code, &local_time(code.expires_at_ms)));
        }
        PayCommand::ConfirmPayment { order_id, pin: given } => {
            let waiting: api::Receipt = client.get(&format!("/api/merchant-payments/{order_id}")).await?;
            if let Some(q) = &waiting.quote {
                print_quote(t, q);
            }
            let pin = pin(given)?;
            let receipt: api::Receipt = client
                .post(
                    &format!("/api/merchant-payments/{order_id}/confirm"),
                    json!({"pin": pin}),
                )
                .await?;
            println!(
                "{}",
                t.paid(
                    &show(receipt.amount_minor, &receipt.currency),
                    &receipt.merchant.name,
                    &receipt.status
                )
            );
        }
        PayCommand::Convert {
            amount,
            from,
            to,
            pin: given,
            yes,
        } => {
            let minor = to_minor(client, amount, from)?;
            let q: api::Quote = client
                .post(
                    "/api/fx/quotes",
                    json!({"from_currency": from, "to_currency": to, "side": "send", "amount_minor": minor}),
                )
                .await?;
            print_quote(t, &q);
            if !confirmed(t, *yes)? {
                return Ok(());
            }
            let pin = pin(given)?;
            let done: api::Conversion = client
                .post_once(
                    pending,
                    "/api/wallet/conversions",
                    json!({"quote_id": q.id, "pin": pin}),
                )
                .await?;
            println!(
                "{}",
                t.converted(
                    &show(done.quote.debit_minor, &done.quote.from_currency),
                    &show(done.quote.credit_minor, &done.quote.to_currency)
                )
            );
        }
        PayCommand::Wallet => {
            let wallet: api::Wallet = client.get("/api/wallet").await?;
            for b in &wallet.balances {
                let decimal = |minor| show(minor, &b.currency).replace(&format!(" {}", b.currency), "");
                println!(
                    "{}",
                    t.balance(&b.currency, &decimal(b.balance_minor), &decimal(b.available_minor))
                );
            }
            if let Some(line) = &wallet.credit_line {
                let (limit, owed) = (
                    show(line.limit_minor, &line.currency),
                    show(line.owed_minor, &line.currency),
                );
                println!(
                    "{}",
                    t.credit_line(&limit, &owed, &show(line.available_minor, &line.currency))
                );
            }
            for l in &wallet.limits {
                println!(
                    "{}",
                    t.limit(
                        &l.kind,
                        &show(l.per_operation_minor, &l.currency),
                        &show(l.per_day_minor, &l.currency),
                        &show(l.used_today_minor, &l.currency)
                    )
                );
            }
            let cards: Vec<api::Card> = client.get("/api/wallet/cards").await?;
            for c in cards {
                println!("{}", t.card(c.id, &c.brand, &c.last4, &c.funding));
            }
        }
        PayCommand::BindCard {
            number,
            funding,
            pin,
            password,
        } => {
            let (pin, password) = match (pin, password) {
                (None, None) => {
                    let secret = secret(None, &t.ask_pin_or_password(), "--pin or --password", t)?;
                    // Six digits are a PIN; a password is at least eight characters.
                    if secret.len() == 6 && secret.bytes().all(|b| b.is_ascii_digit()) {
                        (Some(secret), None)
                    } else {
                        (None, Some(secret))
                    }
                }
                (pin, password) => (pin.clone(), password.clone()),
            };
            let card: api::Card = client
                .post(
                    "/api/wallet/cards",
                    json!({"number": number, "funding": funding, "pin": pin, "password": password}),
                )
                .await?;
            println!("{}", t.bound_card(card.id, &card.brand, &card.last4, &card.funding));
        }
        PayCommand::TopUp { card_id, amount } => {
            let minor = minor_units(client, profile, amount).await?;
            let done: api::TopUp = client
                .post_once(
                    pending,
                    "/api/wallet/top-ups",
                    json!({"card_id": card_id, "amount_minor": minor}),
                )
                .await?;
            let (amount, balance) = (
                show(done.amount_minor, &done.currency),
                show(done.balance_minor, &done.currency),
            );
            println!("{}", t.topped_up(&amount, &balance));
        }
        PayCommand::SetPin {
            pin,
            password,
            current_pin,
        } => {
            let password = match current_pin {
                Some(_) => password.clone(),
                None => Some(secret(password.as_deref(), &t.ask_password(), "--password", t)?),
            };
            let _: api::PinStatus = client
                .call(
                    reqwest::Method::PUT,
                    "/api/wallet/pin",
                    Some(json!({"password": password, "current_pin": current_pin, "pin": pin})),
                )
                .await?;
            println!("{}", t.pin_set());
        }
        PayCommand::ResetPin { pin, card, password } => {
            let password = secret(password.as_deref(), &t.ask_password(), "--password", t)?;
            let _: api::PinStatus = client
                .post(
                    "/api/wallet/pin/reset",
                    json!({"password": password, "card_number": card, "pin": pin}),
                )
                .await?;
            println!("{}", t.pin_reset());
        }
        PayCommand::NoPinLimit { amount, pin: given } => {
            let wallet: api::Wallet = client.get("/api/wallet").await?;
            let code = wallet.balances.first().map(|b| b.currency.clone()).unwrap_or_default();
            let limit = to_minor(client, amount, &code)?;
            let raising = limit > wallet.pin.no_pin_limit_minor;
            let pin = if raising { Some(pin(given)?) } else { given.clone() };
            let status: api::PinStatus = client
                .call(
                    reqwest::Method::PUT,
                    "/api/wallet/pin/no-pin-limit",
                    Some(json!({"limit_minor": limit, "pin": pin})),
                )
                .await?;
            if status.no_pin_limit_minor > 0 {
                println!("{}", t.no_pin_limit(&show(status.no_pin_limit_minor, &code)));
            } else {
                println!("{}", t.no_pin_off());
            }
        }
        PayCommand::Withdraw {
            card_id,
            amount,
            pin: given,
        } => {
            let minor = minor_units(client, profile, amount).await?;
            let pin = pin(given)?;
            let done: api::Withdrawal = client
                .post_once(
                    pending,
                    "/api/wallet/withdrawals",
                    json!({"card_id": card_id, "amount_minor": minor, "pin": pin}),
                )
                .await?;
            let (amount, balance) = (
                show(done.amount_minor, &done.currency),
                show(done.balance_minor, &done.currency),
            );
            println!("{}", t.withdrew(&amount, &balance));
        }
        PayCommand::Transfer {
            conversation_id,
            amount,
            to,
            note,
            pin: given,
            pay_later,
        } => {
            let minor = minor_units(client, profile, amount).await?;
            let pin = pin(given)?;
            let source = if *pay_later { "pay_later" } else { "balance" };
            let p: api::ChatPayment = client
                .post_once(
                    pending,
                    &format!("/api/conversations/{conversation_id}/transfers"),
                    json!({"amount_minor": minor, "to_user_id": to, "note": note, "pin": pin, "source": source}),
                )
                .await?;
            print_payment(client, &mut names, &p).await;
        }
        PayCommand::RedPacket {
            conversation_id,
            amount,
            count,
            identical,
            note,
            pin: given,
        } => {
            let minor = minor_units(client, profile, amount).await?;
            let pin = pin(given)?;
            let split = if *identical { "identical" } else { "lucky" };
            let p: api::ChatPayment = client
                .post_once(
                    pending,
                    &format!("/api/conversations/{conversation_id}/red-packets"),
                    json!({"split": split, "amount_minor": minor, "count": count, "note": note, "pin": pin}),
                )
                .await?;
            print_payment(client, &mut names, &p).await;
        }
        PayCommand::Payment { payment_id } => {
            let p: api::ChatPayment = client.get(&format!("/api/payments/{payment_id}")).await?;
            print_payment(client, &mut names, &p).await;
        }
        PayCommand::AcceptTransfer { payment_id } | PayCommand::DeclineTransfer { payment_id } => {
            let verb = if matches!(command, PayCommand::AcceptTransfer { .. }) {
                "accept"
            } else {
                "decline"
            };
            let p: api::ChatPayment = client
                .post(&format!("/api/payments/{payment_id}/{verb}"), json!({}))
                .await?;
            print_payment(client, &mut names, &p).await;
        }
        PayCommand::Open { payment_id } => {
            let opened: api::OpenedRedPacket = client
                .post(&format!("/api/payments/{payment_id}/open"), json!({}))
                .await?;
            println!("{}", t.you_got(&show(opened.amount_minor, &opened.currency)));
        }
        PayCommand::Statement { limit, before, csv } => {
            if let Some(path) = csv {
                let text = client.text("/api/wallet/statement.csv").await?;
                std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
                println!("{}", t.wrote(&path.display().to_string()));
                return Ok(());
            }
            let mut path = format!("/api/wallet/statement?limit={limit}");
            if let Some(before) = before {
                path.push_str(&format!("&before={before}"));
            }
            let page: api::Statement = client.get(&path).await?;
            for e in &page.entries {
                print_line(client, e);
            }
            if let Some(next) = page.next_before {
                println!("{}", t.older(next));
            }
        }
        PayCommand::Entry { entry_id } => {
            let detail: api::EntryDetail = client.get(&format!("/api/wallet/statement/{entry_id}")).await?;
            for e in &detail.lines {
                print_line(client, e);
            }
            if let Some(card) = &detail.card {
                println!("{}", t.card(card.id, &card.brand, &card.last4, &card.funding));
            }
            if let Some(payment) = &detail.payment {
                print_payment(client, &mut names, payment).await;
            }
        }
        PayCommand::Credit { month } => {
            let line: api::CreditLine = client.get("/api/wallet/credit").await?;
            let (limit, owed) = (
                show(line.limit_minor, &line.currency),
                show(line.owed_minor, &line.currency),
            );
            println!(
                "{}",
                t.credit_line(&limit, &owed, &show(line.available_minor, &line.currency))
            );
            let path = match month {
                Some(m) => format!("/api/wallet/credit/statement?month={m}"),
                None => "/api/wallet/credit/statement".to_owned(),
            };
            let s: api::CreditStatement = client.get(&path).await?;
            let c = &s.currency;
            println!(
                "{}",
                t.credit_month(
                    &s.month,
                    &show(s.opening_owed_minor, c),
                    &show(s.spent_minor, c),
                    &show(s.repaid_minor, c),
                    &show(s.closing_owed_minor, c),
                    &s.due_date
                )
            );
            for e in &s.entries {
                print_line(client, e);
            }
        }
        PayCommand::Repay {
            amount,
            card,
            pin: given,
        } => {
            let line: api::CreditLine = client.get("/api/wallet/credit").await?;
            let minor = to_minor(client, amount, &line.currency)?;
            let (source, pin) = match card {
                Some(_) => ("card", None),
                None => ("balance", Some(pin(given)?)),
            };
            let done: api::Repayment = client
                .post_once(
                    pending,
                    "/api/wallet/credit/repayments",
                    json!({"amount_minor": minor, "source": source, "card_id": card, "pin": pin}),
                )
                .await?;
            let (amount, owed) = (
                show(done.amount_minor, &done.currency),
                show(done.owed_minor, &done.currency),
            );
            println!("{}", t.repaid(&amount, &owed));
        }
    }
    Ok(())
}
