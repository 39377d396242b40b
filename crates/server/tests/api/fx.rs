//! Money between currencies for people: a CNY transfer arrives in a US
//! wallet as dollars (at the quote the sender saw), a red packet in a mixed
//! group pays each opener in their own currency, and a balance in a foreign
//! currency can be converted or withdrawn. Both stores; the ledger
//! reconciles after each.

use qiao_api as api;
use serde_json::json;

use crate::both_stores;
use crate::helpers::*;
use crate::merchants::cn_payer;
use crate::payments::{funded, red_packet, transfer, PIN};
use crate::wallet::assert_reconciles;

/// The user's balance in one currency (0 if they hold none).
async fn held(app: &TestApp, user: &TestUser, currency: &str) -> i64 {
    let wallet: api::Wallet = app.get(user, "/api/wallet").await.typed();
    wallet
        .balances
        .iter()
        .find(|b| b.currency == currency)
        .map_or(0, |b| b.balance_minor)
}

both_stores! {
    async fn a_yuan_transfer_arrives_in_dollars_at_the_quote_shown(app: TestApp) {
        let lin = cn_payer(&app, "Lin", 100_000).await;
        let (emily, _) = funded(&app, "Emily", 0).await;
        let chat = app.befriend(&lin, &emily).await;

        // The sender sees what will arrive before sending: ¥20 → $2.77.
        let quote: api::Quote = app
            .post(&lin, "/api/fx/quotes", json!({"from_currency": "CNY", "to_currency": "USD", "side": "send", "amount_minor": 2000}))
            .await
            .typed();
        // 1% fee comes off first (¥0.20), then ¥19.80 × 0.14014084 = $2.7747.
        assert_eq!((quote.debit_minor, quote.fee_minor, quote.credit_minor), (2000, 20, 277));
        let sent: api::ChatPayment = transfer(&app, &lin, chat,
            json!({"idempotency_key": "t1", "amount_minor": 2000, "pin": PIN, "quote_id": quote.id}))
            .await
            .typed();
        assert_eq!((sent.currency.as_str(), sent.total_minor), ("CNY", 2000));
        app.post(&emily, &format!("/api/payments/{}/accept", sent.id), json!({})).await.ok();
        assert_eq!(held(&app, &emily, "USD").await, 277, "dollars, as quoted");
        assert_eq!(held(&app, &emily, "CNY").await, 0, "no yuan she can't spend");
        assert_eq!(held(&app, &lin, "CNY").await, 100_000 - 2000);

        // A quote pays for one transfer only, and only for its amount.
        transfer(&app, &lin, chat, json!({"idempotency_key": "t2", "amount_minor": 2000, "pin": PIN, "quote_id": quote.id}))
            .await
            .assert_error(409, "quote_used");
        let other: api::Quote = app
            .post(&lin, "/api/fx/quotes", json!({"from_currency": "CNY", "to_currency": "USD", "side": "send", "amount_minor": 500}))
            .await
            .typed();
        transfer(&app, &lin, chat, json!({"idempotency_key": "t3", "amount_minor": 2000, "pin": PIN, "quote_id": other.id}))
            .await
            .assert_error(404, "quote_not_found");
        // Without a quote, the rate of the moment; declined, the yuan come back whole.
        let plain: api::ChatPayment = transfer(&app, &lin, chat, json!({"idempotency_key": "t4", "amount_minor": 1000, "pin": PIN}))
            .await
            .typed();
        app.post(&emily, &format!("/api/payments/{}/decline", plain.id), json!({})).await.ok();
        assert_eq!(held(&app, &lin, "CNY").await, 100_000 - 2000);
        assert_reconciles(&app);
    }
}

both_stores! {
    async fn a_red_packet_pays_each_opener_in_their_own_currency(app: TestApp) {
        let lin = cn_payer(&app, "Lin", 100_000).await;
        let wang = cn_payer(&app, "Wang", 0).await;
        let (emily, _) = funded(&app, "Emily", 0).await;
        app.befriend(&lin, &wang).await;
        let chat = app.befriend(&lin, &emily).await;
        let group = app.create_group(&lin, "Trip", &[&wang, &emily]).await;
        let packet: api::ChatPayment = red_packet(&app, &lin, group,
            json!({"idempotency_key": "p1", "split": "identical", "amount_minor": 1000, "count": 2, "pin": PIN}))
            .await
            .typed();
        app.post(&wang, &format!("/api/payments/{}/open", packet.id), json!({})).await.ok();
        app.post(&emily, &format!("/api/payments/{}/open", packet.id), json!({})).await.ok();
        assert_eq!(held(&app, &wang, "CNY").await, 1000);
        // ¥10 less the 1% fee (¥0.10), at 0.14014084: $1.38.
        assert_eq!(held(&app, &emily, "USD").await, 138);
        assert_eq!(held(&app, &emily, "CNY").await, 0);
        assert_eq!(held(&app, &lin, "CNY").await, 100_000 - 2000);
        // In a direct chat too, and the opener is told what arrived.
        let packet: api::ChatPayment = red_packet(&app, &lin, chat,
            json!({"idempotency_key": "p2", "split": "lucky", "amount_minor": 888, "count": 1, "pin": PIN}))
            .await
            .typed();
        let opened: api::OpenedRedPacket = app.post(&emily, &format!("/api/payments/{}/open", packet.id), json!({})).await.typed();
        assert_eq!((opened.amount_minor, opened.currency.as_str()), (123, "USD"));
        assert_eq!(held(&app, &emily, "USD").await, 138 + 123);
        assert_reconciles(&app);
    }
}

both_stores! {
    async fn a_foreign_balance_is_converted_or_withdrawn(app: TestApp) {
        let lin = cn_payer(&app, "Lin", 100_000).await;
        // Lin buys dollars for a trip: ¥710 → $99.41 (fee and spread off).
        let quote: api::Quote = app
            .post(&lin, "/api/fx/quotes", json!({"from_currency": "CNY", "to_currency": "USD", "side": "send", "amount_minor": 71_000}))
            .await
            .typed();
        let body = json!({"quote_id": quote.id, "idempotency_key": "c1", "pin": PIN});
        let converted: api::Conversion = app.post(&lin, "/api/wallet/conversions", body.clone()).await.typed();
        assert_eq!(converted.quote.credit_minor, quote.credit_minor);
        assert_eq!(held(&app, &lin, "CNY").await, 100_000 - 71_000);
        assert_eq!(held(&app, &lin, "USD").await, quote.credit_minor);
        let again: api::Conversion = app.post(&lin, "/api/wallet/conversions", body).await.typed();
        assert_eq!(again.id, converted.id, "the same key is the same conversion");
        assert_eq!(held(&app, &lin, "USD").await, quote.credit_minor);
        app.post(&lin, "/api/wallet/conversions", json!({"quote_id": quote.id, "idempotency_key": "c2", "pin": PIN}))
            .await
            .assert_error(409, "quote_used");
        app.post(&lin, "/api/wallet/conversions", json!({"quote_id": 999_999, "idempotency_key": "c3", "pin": PIN}))
            .await
            .assert_error(404, "quote_not_found");
        // More than she holds.
        let big: api::Quote = app
            .post(&lin, "/api/fx/quotes", json!({"from_currency": "USD", "to_currency": "CNY", "side": "send", "amount_minor": 1_000_000}))
            .await
            .typed();
        app.post(&lin, "/api/wallet/conversions", json!({"quote_id": big.id, "idempotency_key": "c4", "pin": PIN}))
            .await
            .assert_error(409, "insufficient_funds");
        // Half back to yuan, the rest withdrawn to her card as dollars.
        let back: api::Quote = app
            .post(&lin, "/api/fx/quotes", json!({"from_currency": "USD", "to_currency": "CNY", "side": "send", "amount_minor": 5000}))
            .await
            .typed();
        app.post(&lin, "/api/wallet/conversions", json!({"quote_id": back.id, "idempotency_key": "c5", "pin": PIN}))
            .await
            .ok();
        assert_eq!(held(&app, &lin, "CNY").await, 100_000 - 71_000 + back.credit_minor);
        let cards: Vec<api::Card> = app.get(&lin, "/api/wallet/cards").await.typed();
        let left = quote.credit_minor - 5000;
        let withdrawal: api::Withdrawal = app
            .post(&lin, "/api/wallet/withdrawals",
                json!({"card_id": cards[0].id, "amount_minor": left, "idempotency_key": "w1", "pin": PIN, "currency": "USD"}))
            .await
            .typed();
        assert_eq!((withdrawal.currency.as_str(), withdrawal.amount_minor), ("USD", left));
        assert_eq!(held(&app, &lin, "USD").await, 0);
        assert_reconciles(&app);
    }
}
