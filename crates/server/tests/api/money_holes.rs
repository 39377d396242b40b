//! The holes the outside review found in the wallet, each reproduced over
//! HTTP on both stores and shown closed: client keys that took someone
//! else's ledger key, caps that one account could exhaust, concurrent
//! repayments past what is owed, a stolen session binding its own card, and
//! the PIN reset that proves identity.

use qiao_api as api;
use qiao_server::config::SpendingCaps;
use reqwest::Method;
use serde_json::json;

use crate::payments::{cents, funded, payment, red_packet, set_pin, transfer, DAY_MS, PIN};
use crate::wallet::{assert_reconciles, bind, top_up};
use crate::{both_stores, both_stores_with};

/// Every suffix Qiao has ever used in a system key, and the parts of the new
/// grammar, as a client's idempotency key.
const SYSTEM_SUFFIXES: [&str; 12] = [
    "accept", "decline", "refund", "share", "post", "void", "sys", "settle", "payment", "1", "share-0", "chat",
];

both_stores! {
    /// Hole 1: user 1 sending with the key `accept` took the ledger key of
    /// the acceptance of payment 1, so the recipient could not accept it.
    async fn a_client_key_never_blocks_a_system_movement(app: TestApp) {
        // In a fresh database Amy is user 1 and her first payment is payment 1.
        let (amy, amy_card) = funded(&app, "Amy", 100_000).await;
        let (ben, _) = funded(&app, "Ben", 0).await;
        let cai = app.register("Cai").await;
        let direct = app.befriend(&amy, &ben).await;
        app.befriend(&amy, &cai).await;
        let group = app.create_group(&amy, "Trio", &[&ben, &cai]).await;

        let first: api::ChatPayment = transfer(&app, &amy, direct, json!({"idempotency_key": "first", "amount_minor": 100, "pin": PIN})).await.typed();
        let to_decline: api::ChatPayment = transfer(&app, &amy, direct, json!({"idempotency_key": "second", "amount_minor": 100, "pin": PIN})).await.typed();
        let to_expire: api::ChatPayment = transfer(&app, &amy, direct, json!({"idempotency_key": "third", "amount_minor": 100, "pin": PIN})).await.typed();
        let packet: api::ChatPayment = red_packet(&app, &amy, group, json!({"idempotency_key": "packet", "split": "identical", "amount_minor": 100, "count": 2, "pin": PIN})).await.typed();

        // A pay-later line to repay, so repayments can be tried with the same keys.
        bind(&app, &amy, "5555555555554444", "credit").await.ok();
        transfer(&app, &amy, direct, json!({"idempotency_key": "later", "amount_minor": 600, "pin": PIN, "source": "pay_later"})).await.ok();

        // Every money-moving endpoint, with every system suffix as the client's key.
        for key in SYSTEM_SUFFIXES {
            top_up(&app, &amy, amy_card, json!(1_000), key).await.ok();
            app.post(&amy, "/api/wallet/withdrawals", json!({"card_id": amy_card, "amount_minor": 100, "idempotency_key": key, "pin": PIN})).await.ok();
            transfer(&app, &amy, direct, json!({"idempotency_key": key, "amount_minor": 10, "pin": PIN})).await.ok();
            red_packet(&app, &amy, group, json!({"idempotency_key": format!("rp-{key}"), "split": "lucky", "amount_minor": 10, "count": 1, "pin": PIN})).await.ok();
            app.post(&amy, "/api/wallet/credit/repayments", json!({"idempotency_key": key, "amount_minor": 25, "source": "balance", "pin": PIN})).await.ok();
            app.post(&amy, "/api/wallet/credit/repayments", json!({"idempotency_key": format!("card-{key}"), "amount_minor": 25, "source": "card", "card_id": amy_card})).await.ok();
        }
        let line: api::CreditLine = app.get(&amy, "/api/wallet/credit").await.typed();
        assert_eq!(line.owed_minor, 0, "24 repayments of 0.25 repaid the 6.00");
        // The system's movements of the first payments go through untouched.
        assert_eq!(app.post(&ben, &format!("/api/payments/{}/accept", first.id), json!({})).await.typed::<api::ChatPayment>().status, "accepted");
        assert_eq!(app.post(&ben, &format!("/api/payments/{}/decline", to_decline.id), json!({})).await.typed::<api::ChatPayment>().status, "declined");
        for who in [&ben, &cai] {
            app.post(who, &format!("/api/payments/{}/open", packet.id), json!({})).await.ok();
        }
        assert_eq!(payment(&app, &amy, packet.id).await.status, "finished");
        app.clock.advance_ms(DAY_MS);
        assert!(app.state.money.expire_due().await.unwrap() >= 1);
        assert_eq!(payment(&app, &amy, to_expire.id).await.status, "refunded", "the 24-hour refund went through");
        // Seeded 1,000.00; each key topped up 10.00, withdrew 1.00 and repaid
        // 0.25 from the balance; the first transfer (1.00) and the packet
        // (2.00) were taken; the rest expired back.
        assert_eq!(cents(&app, &amy).await, 100_000 + 12 * (1_000 - 100 - 25) - 100 - 200);
        assert_reconciles(&app);
    }
}

both_stores_with! {
    |c: &mut qiao_server::Config| {
        c.spending_caps.insert("USD".into(), SpendingCaps { per_operation_minor: 1_000, per_day_minor: 2_500 });
    },
    /// Hole 3: no per-operation or per-day cap; one account could swell or
    /// drain the shared accounts for everyone.
    async fn caps_per_operation_and_per_day(app: TestApp) {
        let emily = app.register("Emily").await;
        let card: api::Card = bind(&app, &emily, "4242424242424242", "debit").await.typed();
        let poor: api::Card = bind(&app, &emily, "4000000000009995", "debit").await.typed();
        top_up(&app, &emily, card.id, json!(1_001), "over").await.assert_error(400, "amount_above_limit");
        // A declined top-up does not use the day's cap.
        top_up(&app, &emily, poor.id, json!(1_000), "declined").await.assert_error(409, "insufficient_funds");
        // Ten at once against a cap with room for two: two go through.
        let tries = (0..10).map(|i| {
            let (app, emily) = (&app, &emily);
            async move { top_up(app, emily, card.id, json!(1_000), &format!("t{i}")).await }
        });
        let replies = futures_util::future::join_all(tries).await;
        let ok = replies.iter().filter(|r| r.status.as_u16() == 201).count();
        for r in replies.iter().filter(|r| r.status.as_u16() != 201) {
            r.assert_error(409, "daily_limit_reached");
        }
        assert_eq!(ok, 2, "the day's cap held under concurrency");
        top_up(&app, &emily, card.id, json!(500), "fits").await.ok();
        top_up(&app, &emily, card.id, json!(1), "one-more").await.assert_error(409, "daily_limit_reached");
        // A retry of a top-up that went through is still answered, cap or no cap.
        top_up(&app, &emily, card.id, json!(500), "fits").await.ok();
        let wallet: api::Wallet = app.get(&emily, "/api/wallet").await.typed();
        let limit = wallet.limits.iter().find(|l| l.kind == "top_up").unwrap();
        assert_eq!((limit.per_operation_minor, limit.per_day_minor, limit.used_today_minor), (1_000, 2_500, 2_500));
        assert_eq!(cents(&app, &emily).await, 2_500);

        // Withdrawals and payments have their own daily totals.
        set_pin(&app, &emily).await;
        let ben = app.register("Ben").await;
        let chat = app.befriend(&emily, &ben).await;
        transfer(&app, &emily, chat, json!({"idempotency_key": "big", "amount_minor": 1_001, "pin": PIN})).await.assert_error(400, "amount_above_limit");
        let withdraw = |key: &str, minor: i64| {
            let body = json!({"card_id": card.id, "amount_minor": minor, "idempotency_key": key, "pin": PIN});
            let (app, emily) = (&app, &emily);
            async move { app.post(emily, "/api/wallet/withdrawals", body).await }
        };
        withdraw("w1", 1_000).await.ok();
        transfer(&app, &emily, chat, json!({"idempotency_key": "p1", "amount_minor": 500, "pin": PIN})).await.ok();
        assert_eq!(cents(&app, &emily).await, 1_000);
        // The next UTC day starts afresh.
        app.clock.advance_ms(DAY_MS);
        top_up(&app, &emily, card.id, json!(1_000), "tomorrow-1").await.ok();
        top_up(&app, &emily, card.id, json!(1_000), "tomorrow-2").await.ok();
        withdraw("w2", 1_000).await.ok();
        withdraw("w3", 1_000).await.ok();
        assert_eq!(cents(&app, &emily).await, 1_000);
        withdraw("w4", 501).await.assert_error(409, "daily_limit_reached");
        assert_eq!(cents(&app, &emily).await, 1_000, "refused, nothing moved");
        assert_reconciles(&app);
    }
}

both_stores_with! {
    |c: &mut qiao_server::Config| {
        c.pay_later_limit_minor.insert("USD".into(), 100_000);
    },
    /// Hole 4: ten simultaneous full repayments: three succeeded, and the
    /// line then had 3,000.00 available on a 1,000.00 limit.
    async fn concurrent_repayments_never_repay_more_than_owed(app: TestApp) {
        let (amy, card) = funded(&app, "Amy", 500_000).await;
        let ben = app.register("Ben").await;
        let chat = app.befriend(&amy, &ben).await;
        bind(&app, &amy, "5555555555554444", "credit").await.ok();
        transfer(&app, &amy, chat, json!({"idempotency_key": "spend", "amount_minor": 100_000, "pin": PIN, "source": "pay_later"})).await.ok();
        let line: api::CreditLine = app.get(&amy, "/api/wallet/credit").await.typed();
        assert_eq!((line.owed_minor, line.available_minor), (100_000, 0));

        let repayments = (0..10).map(|i| {
            let (app, amy) = (&app, &amy);
            let body = if i % 2 == 0 {
                json!({"idempotency_key": format!("r{i}"), "amount_minor": 100_000, "source": "balance", "pin": PIN})
            } else {
                json!({"idempotency_key": format!("r{i}"), "amount_minor": 100_000, "source": "card", "card_id": card})
            };
            async move { app.post(amy, "/api/wallet/credit/repayments", body).await }
        });
        let replies = futures_util::future::join_all(repayments).await;
        let ok = replies.iter().filter(|r| r.status.as_u16() == 201).count();
        for r in replies.iter().filter(|r| r.status.as_u16() != 201) {
            r.assert_error(409, "repayment_exceeds_owed");
        }
        assert_eq!(ok, 1, "exactly one full repayment");
        let line: api::CreditLine = app.get(&amy, "/api/wallet/credit").await.typed();
        assert_eq!((line.owed_minor, line.available_minor), (0, 100_000));
        // The line gives no more than its limit.
        transfer(&app, &amy, chat, json!({"idempotency_key": "too-much", "amount_minor": 100_001, "pin": PIN, "source": "pay_later"}))
            .await.assert_error(409, "credit_limit_exceeded");
        assert_reconciles(&app);
    }
}

both_stores! {
    /// Hole 5: with a stolen token and a no-PIN limit, a thief bound their own
    /// card (no PIN, no password needed) and withdrew in chunks.
    async fn risky_changes_need_the_pin_or_the_password(app: TestApp) {
        let (amy, _) = funded(&app, "Amy", 10_000).await;
        app.call(Method::PUT, &amy, "/api/wallet/pin/no-pin-limit", Some(json!({"limit_minor": 500, "pin": PIN}))).await.ok();
        let thief = app.login(&amy).await;
        let cards_before: Vec<api::Card> = app.get(&amy, "/api/wallet/cards").await.typed();
        app.post(&thief, "/api/wallet/cards", json!({"number": "5555555555554444", "funding": "debit"}))
            .await.assert_error(403, "step_up_required");
        app.post(&thief, "/api/wallet/cards", json!({"number": "5555555555554444", "funding": "debit", "password": "a-guess-1234"}))
            .await.assert_error(403, "wrong_password");
        app.post(&thief, "/api/wallet/cards", json!({"number": "5555555555554444", "funding": "debit", "pin": "000000"}))
            .await.assert_error(403, "wrong_pin");
        let cards_after: Vec<api::Card> = app.get(&amy, "/api/wallet/cards").await.typed();
        assert_eq!(cards_after, cards_before, "no card was bound");
        // Raising the no-PIN limit needs proof; lowering it doesn't.
        app.call(Method::PUT, &thief, "/api/wallet/pin/no-pin-limit", Some(json!({"limit_minor": 100_000}))).await.assert_error(403, "step_up_required");
        let lowered: api::PinStatus = app.call(Method::PUT, &thief, "/api/wallet/pin/no-pin-limit", Some(json!({"limit_minor": 100}))).await.typed();
        assert_eq!(lowered.no_pin_limit_minor, 100);
        // Changing the PIN needs the current PIN or the password.
        app.call(Method::PUT, &thief, "/api/wallet/pin", Some(json!({"pin": "222222"}))).await.assert_error(403, "step_up_required");
        app.call(Method::PUT, &thief, "/api/wallet/pin", Some(json!({"pin": "222222", "current_pin": "999999"}))).await.assert_error(403, "wrong_pin");
        let changed: api::PinStatus = app.call(Method::PUT, &amy, "/api/wallet/pin", Some(json!({"pin": "222222", "current_pin": PIN}))).await.typed();
        assert!(changed.set);
        // The owner, with the password, binds a card.
        let owned = app.post(&amy, "/api/wallet/cards", json!({"number": "5555555555554444", "funding": "debit", "password": amy.password})).await;
        assert_eq!(owned.status.as_u16(), 201, "{}", owned.body);
        assert_eq!(cents(&app, &amy).await, 10_000);
    }
}

both_stores! {
    /// Product gap: after five wrong PINs even resetting it with the password
    /// was refused for 180 minutes. The owner proves who they are instead.
    async fn a_locked_pin_is_reset_with_the_password_and_a_bound_card(app: TestApp) {
        let (amy, _) = funded(&app, "Amy", 10_000).await;
        let ben = app.register("Ben").await;
        let chat = app.befriend(&amy, &ben).await;
        for n in 0..5 {
            transfer(&app, &amy, chat, json!({"idempotency_key": format!("x{n}"), "amount_minor": 100, "pin": "000000"})).await;
        }
        transfer(&app, &amy, chat, json!({"idempotency_key": "locked", "amount_minor": 100, "pin": PIN})).await.assert_error(423, "pin_locked");
        app.call(Method::PUT, &amy, "/api/wallet/pin", Some(json!({"pin": "246802", "password": amy.password}))).await.assert_error(423, "pin_locked");

        let reset = |password: &str, card: &str| {
            let body = json!({"password": password, "card_number": card, "pin": "246802"});
            let (app, amy) = (&app, &amy);
            async move { app.post(amy, "/api/wallet/pin/reset", body).await }
        };
        // Both parts are checked; neither says which one was wrong.
        reset(&amy.password, "5555 5555 5555 4444").await.assert_error(403, "reset_proof_rejected");
        reset("not-the-password", "4242 4242 4242 4242").await.assert_error(403, "reset_proof_rejected");
        reset(&amy.password, "1234").await.assert_error(403, "reset_proof_rejected");
        reset(&amy.password, "bad").await.assert_error(403, "reset_proof_rejected");
        let zh = app.request(Method::POST, "/api/wallet/pin/reset", Some(&amy.token),
            Some(json!({"password": amy.password, "card_number": "5555555555554444", "pin": "246802"})), "zh-CN").await;
        assert_eq!(zh.assert_error(403, "reset_proof_rejected"), "登录密码或银行卡号与本账户不符。");
        reset(&amy.password, "4242-4242-4242-4242").await.typed::<api::PinStatus>();
        let wallet: api::Wallet = app.get(&amy, "/api/wallet").await.typed();
        assert_eq!(wallet.pin.locked_until_ms, None, "the lock is lifted");
        transfer(&app, &amy, chat, json!({"idempotency_key": "after", "amount_minor": 100, "pin": "246802"})).await.ok();
        assert_eq!(cents(&app, &amy).await, 9_900);
    }
}

both_stores! {
    /// Product gap: a transfer into a group answered "the request is
    /// malformed"; WeChat transfers to a named group member.
    async fn a_transfer_to_a_group_member(app: TestApp) {
        let (amy, _) = funded(&app, "Amy", 10_000).await;
        let ben = app.register("Ben").await;
        let cai = app.register("Cai").await;
        app.befriend(&amy, &ben).await;
        app.befriend(&amy, &cai).await;
        let group = app.create_group(&amy, "Trio", &[&ben, &cai]).await;
        let mut cai_ws = app.ws(&cai, None).await;
        let sent: api::ChatPayment = transfer(&app, &amy, group, json!({"idempotency_key": "g", "amount_minor": 700, "pin": PIN, "to_user_id": cai.id})).await.typed();
        assert_eq!(sent.recipient_id, Some(cai.id));
        assert_eq!(cai_ws.next_of("message.new").await.data["payment_id"], sent.id);
        // Only the named member may take it.
        app.post(&ben, &format!("/api/payments/{}/accept", sent.id), json!({})).await.assert_error(403, "forbidden");
        app.post(&cai, &format!("/api/payments/{}/accept", sent.id), json!({})).await.ok();
        assert_eq!(cents(&app, &cai).await, 700);
        // The same key names the same transfer; another recipient is another request.
        transfer(&app, &amy, group, json!({"idempotency_key": "g", "amount_minor": 700, "pin": PIN, "to_user_id": ben.id}))
            .await.assert_error(409, "idempotency_conflict");
        assert_reconciles(&app);
    }
}
