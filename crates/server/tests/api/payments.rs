//! Money in chats and out of the wallet, over HTTP on both stores: the whole
//! journey (top up, transfer, accept, decline, refund on expiry, red packets
//! opened by a group, withdraw, pay later and repay), the PIN, statements,
//! concurrency, and every class of bad input changing nothing.

use qiao_api as api;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::*;
use crate::wallet::{assert_reconciles, balance, bind, top_up};

pub const PIN: &str = "135790";
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

pub async fn set_pin(app: &TestApp, user: &TestUser) {
    let status: api::PinStatus = app
        .call(
            Method::PUT,
            user,
            "/api/wallet/pin",
            Some(json!({"password": user.password, "pin": PIN})),
        )
        .await
        .typed();
    assert!(status.set && status.locked_until_ms.is_none());
}

/// A US user with a debit card, `minor` cents topped up, and a PIN.
pub async fn funded(app: &TestApp, name: &str, minor: i64) -> (TestUser, i64) {
    let user = app.register(name).await;
    let card: api::Card = bind(app, &user, "4242424242424242", "debit").await.typed();
    if minor > 0 {
        top_up(app, &user, card.id, json!(minor), &format!("seed-{}", app.unique()))
            .await
            .ok();
    }
    set_pin(app, &user).await;
    (user, card.id)
}

pub async fn transfer(app: &TestApp, from: &TestUser, conversation: i64, body: Value) -> Reply {
    app.post(from, &format!("/api/conversations/{conversation}/transfers"), body)
        .await
}

pub async fn red_packet(app: &TestApp, from: &TestUser, conversation: i64, body: Value) -> Reply {
    app.post(from, &format!("/api/conversations/{conversation}/red-packets"), body)
        .await
}

pub async fn payment(app: &TestApp, user: &TestUser, id: i64) -> api::ChatPayment {
    app.get(user, &format!("/api/payments/{id}")).await.typed()
}

pub async fn cents(app: &TestApp, user: &TestUser) -> i64 {
    balance(app, user).await.balance_minor
}

both_stores! {
    async fn the_whole_journey(app: TestApp) {
        let (amy, amy_card) = funded(&app, "Amy", 100_000).await;
        let (ben, _) = funded(&app, "Ben", 0).await;
        let (cai, _) = funded(&app, "Cai", 0).await;
        let direct = app.befriend(&amy, &ben).await;
        app.befriend(&amy, &cai).await;
        let mut ben_ws = app.ws(&ben, None).await;
        let mut amy_ws = app.ws(&amy, None).await;

        // A transfer appears in the chat as a message carrying the payment.
        let sent: api::ChatPayment = transfer(&app, &amy, direct, json!({
            "idempotency_key": "t1", "amount_minor": 2_500, "note": "lunch", "pin": PIN
        })).await.typed();
        assert_eq!((sent.kind.as_str(), sent.status.as_str(), sent.recipient_id), ("transfer", "pending", Some(ben.id)));
        let message = ben_ws.next_of("message.new").await;
        assert_eq!(message.data["type"], "transfer");
        assert_eq!(message.data["payment_id"], sent.id);
        assert_eq!(message.data["text"], "lunch");
        assert_eq!(cents(&app, &amy).await, 97_500);
        // A retry returns the first transfer and moves nothing more.
        let again = transfer(&app, &amy, direct, json!({
            "idempotency_key": "t1", "amount_minor": 2_500, "note": "lunch", "pin": PIN
        })).await;
        assert_eq!(again.status.as_u16(), 200);
        assert_eq!(again.typed::<api::ChatPayment>().id, sent.id);
        assert_eq!(cents(&app, &amy).await, 97_500);

        // Accepting credits Ben; both sides see the status change live.
        let accepted: api::ChatPayment = app.post(&ben, &format!("/api/payments/{}/accept", sent.id), json!({})).await.typed();
        assert_eq!(accepted.status, "accepted");
        assert_eq!(cents(&app, &ben).await, 2_500);
        for ws in [&mut ben_ws, &mut amy_ws] {
            let update = ws.next_of("payment.updated").await;
            assert_eq!((update.data["id"].as_i64(), update.data["status"].as_str()), (Some(sent.id), Some("accepted")));
        }

        // Declining sends it back.
        let second: api::ChatPayment = transfer(&app, &amy, direct, json!({"idempotency_key": "t2", "amount_minor": 1_000, "pin": PIN})).await.typed();
        let declined: api::ChatPayment = app.post(&ben, &format!("/api/payments/{}/decline", second.id), json!({})).await.typed();
        assert_eq!(declined.status, "declined");
        assert_eq!(cents(&app, &amy).await, 97_500);

        // Unanswered for 24 hours: refunded automatically.
        let third: api::ChatPayment = transfer(&app, &amy, direct, json!({"idempotency_key": "t3", "amount_minor": 700, "pin": PIN})).await.typed();
        assert_eq!(cents(&app, &amy).await, 96_800);
        app.clock.advance_ms(DAY_MS - 1);
        assert_eq!(app.state.money.expire_due().await.unwrap(), 0, "not yet");
        app.clock.advance_ms(1);
        assert_eq!(app.state.money.expire_due().await.unwrap(), 1);
        assert_eq!(payment(&app, &ben, third.id).await.status, "refunded");
        assert_eq!(cents(&app, &amy).await, 97_500);
        app.post(&ben, &format!("/api/payments/{}/accept", third.id), json!({})).await.assert_error(410, "payment_expired");

        // A lucky red packet in a group, opened by everyone.
        let group = app.create_group(&amy, "Family", &[&ben, &cai]).await;
        let packet: api::ChatPayment = red_packet(&app, &amy, group, json!({
            "idempotency_key": "r1", "split": "lucky", "amount_minor": 1_000, "count": 3, "note": "恭喜发财", "pin": PIN
        })).await.typed();
        assert_eq!((packet.status.as_str(), packet.shares, packet.total_minor), ("open", 3, 1_000));
        let mut got = Vec::new();
        for who in [&ben, &cai, &amy] {
            let opened: api::OpenedRedPacket = app.post(who, &format!("/api/payments/{}/open", packet.id), json!({})).await.typed();
            assert!(opened.amount_minor >= 1);
            got.push(opened.amount_minor);
        }
        assert_eq!(got.iter().sum::<i64>(), 1_000);
        app.post(&ben, &format!("/api/payments/{}/open", packet.id), json!({})).await.assert_error(409, "red_packet_already_opened");
        let done = payment(&app, &cai, packet.id).await;
        assert_eq!(done.status, "finished");
        assert_eq!(done.opened.iter().map(|o| o.amount_minor).collect::<Vec<_>>(), got);
        let best = got.iter().max().unwrap();
        let best_user = done.opened.iter().find(|o| o.amount_minor == *best).unwrap().user_id;
        assert_eq!(done.best_luck_user_id, Some(best_user));

        // An identical packet half opened, then expired: the rest goes back.
        let halves: api::ChatPayment = red_packet(&app, &amy, group, json!({
            "idempotency_key": "r2", "split": "identical", "amount_minor": 300, "count": 3, "pin": PIN
        })).await.typed();
        assert_eq!(halves.total_minor, 900);
        let before = cents(&app, &amy).await;
        let opened: api::OpenedRedPacket = app.post(&cai, &format!("/api/payments/{}/open", halves.id), json!({})).await.typed();
        assert_eq!(opened.amount_minor, 300);
        app.clock.advance_ms(DAY_MS);
        app.post(&ben, &format!("/api/payments/{}/open", halves.id), json!({})).await.assert_error(410, "payment_expired");
        app.state.money.expire_due().await.unwrap();
        assert_eq!(cents(&app, &amy).await, before + 600);
        assert_eq!(payment(&app, &amy, halves.id).await.status, "refunded");

        // Withdraw to the debit card, with the PIN.
        let before = cents(&app, &amy).await;
        let out: api::Withdrawal = app.post(&amy, "/api/wallet/withdrawals", json!({
            "card_id": amy_card, "amount_minor": 5_000, "idempotency_key": "w1", "pin": PIN
        })).await.typed();
        assert_eq!(out.balance_minor, before - 5_000);

        // Pay later: a credit card opens the line; spending draws on it; repay.
        bind(&app, &amy, "5555555555554444", "credit").await.ok();
        let line: api::CreditLine = app.get(&amy, "/api/wallet/credit").await.typed();
        assert_eq!((line.limit_minor, line.owed_minor), (100_000, 0));
        let later: api::ChatPayment = transfer(&app, &amy, direct, json!({
            "idempotency_key": "t4", "amount_minor": 4_000, "pin": PIN, "source": "pay_later"
        })).await.typed();
        app.post(&ben, &format!("/api/payments/{}/accept", later.id), json!({})).await.ok();
        let before = cents(&app, &amy).await;
        let line: api::CreditLine = app.get(&amy, "/api/wallet/credit").await.typed();
        assert_eq!((line.owed_minor, line.available_minor), (4_000, 96_000));
        let month: api::CreditStatement = app.get(&amy, "/api/wallet/credit/statement").await.typed();
        assert_eq!((month.spent_minor, month.closing_owed_minor), (4_000, 4_000));
        let repaid: api::Repayment = app.post(&amy, "/api/wallet/credit/repayments", json!({
            "idempotency_key": "p1", "amount_minor": 1_500, "source": "balance", "pin": PIN
        })).await.typed();
        assert_eq!(repaid.owed_minor, 2_500);
        assert_eq!(cents(&app, &amy).await, before - 1_500);
        let repaid: api::Repayment = app.post(&amy, "/api/wallet/credit/repayments", json!({
            "idempotency_key": "p2", "amount_minor": 2_500, "source": "card", "card_id": amy_card
        })).await.typed();
        assert_eq!(repaid.owed_minor, 0);
        app.post(&amy, "/api/wallet/credit/repayments", json!({
            "idempotency_key": "p3", "amount_minor": 1, "source": "balance", "pin": PIN
        })).await.assert_error(409, "repayment_exceeds_owed");
        let month: api::CreditStatement = app.get(&amy, "/api/wallet/credit/statement").await.typed();
        assert_eq!((month.spent_minor, month.repaid_minor, month.closing_owed_minor), (4_000, 4_000, 0));

        // The statement pages newest first and exports as CSV.
        let page: api::Statement = app.get(&amy, "/api/wallet/statement?limit=3").await.typed();
        // A page is `limit` journal entries; a repayment from the balance shows on both accounts.
        assert_eq!(page.entries.iter().map(|e| e.id).collect::<std::collections::BTreeSet<_>>().len(), 3);
        let rest: api::Statement = app.get(&amy, &format!("/api/wallet/statement?limit=200&before={}", page.next_before.unwrap())).await.typed();
        let all: Vec<&api::StatementEntry> = page.entries.iter().chain(rest.entries.iter()).collect();
        assert!(all.windows(2).all(|w| w[0].id >= w[1].id), "newest first");
        assert!(all.iter().any(|e| e.purpose == "top_up" && e.direction == "in" && e.amount_minor == 100_000));
        assert!(all.iter().any(|e| e.purpose == "withdrawal" && e.direction == "out" && e.amount_minor == 5_000));
        assert!(all.iter().any(|e| e.purpose == "refund" && e.reference == third.id.to_string()));
        let detail = app.get(&amy, &format!("/api/wallet/statement/{}", all.iter().find(|e| e.purpose == "transfer").unwrap().id)).await.ok();
        assert_eq!(detail["payment"]["kind"], "transfer");
        app.get(&cai, &format!("/api/wallet/statement/{}", all[0].id)).await.assert_error(404, "not_found");
        let csv = app.http.get(app.url("/api/wallet/statement.csv")).bearer_auth(&amy.token).send().await.unwrap();
        assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = csv.text().await.unwrap();
        assert!(csv.starts_with("id,time_utc,purpose,reference,direction,amount,currency,status,account\r\n"));
        assert!(csv.contains(",top_up,card-") && csv.contains(",1000.00,USD,posted,wallet"), "{csv}");
        assert!(csv.contains(",withdrawal,card-") && csv.contains(",-50.00,USD,posted,wallet"), "{csv}");

        assert_reconciles(&app);
    }
}

both_stores! {
    async fn bad_input_errs_and_moves_nothing(app: TestApp) {
        let (amy, amy_card) = funded(&app, "Amy", 10_000).await;
        let (ben, _) = funded(&app, "Ben", 0).await;
        let cai = app.register("Cai").await;
        let cai_card: api::Card = bind(&app, &cai, "4242424242424242", "debit").await.typed();
        let direct = app.befriend(&amy, &ben).await;
        let group = app.create_group(&amy, "Pals", &[&ben]).await;
        let send = |body: Value| transfer(&app, &amy, direct, body);
        for (body, status, code) in [
            (json!({"idempotency_key": "b1", "amount_minor": 0, "pin": PIN}), 400, "invalid_amount"),
            (json!({"idempotency_key": "b2", "amount_minor": -5, "pin": PIN}), 400, "invalid_amount"),
            (json!({"idempotency_key": "b3", "amount_minor": "ten", "pin": PIN}), 400, "invalid_request"),
            (json!({"idempotency_key": "b4", "amount_minor": 100, "currency": "XYZ", "pin": PIN}), 400, "unknown_currency"),
            (json!({"idempotency_key": "b5", "amount_minor": 100, "currency": "CNY", "pin": PIN}), 400, "currency_mismatch"),
            (json!({"idempotency_key": "b6", "amount_minor": 10_001, "pin": PIN}), 409, "insufficient_funds"),
            (json!({"idempotency_key": "b7", "amount_minor": 100}), 403, "pin_required"),
            (json!({"idempotency_key": "b8", "amount_minor": 100, "pin": "12345"}), 400, "invalid_pin"),
            (json!({"idempotency_key": "b9", "amount_minor": 100, "pin": PIN, "source": "pay_later"}), 403, "no_credit_line"),
            (json!({"idempotency_key": "b10", "amount_minor": 100, "pin": PIN, "source": "gold"}), 400, "invalid_request"),
            (json!({"idempotency_key": "b11", "amount_minor": 100, "pin": PIN, "note": "x".repeat(101)}), 400, "too_long"),
            (json!({"idempotency_key": "", "amount_minor": 100, "pin": PIN}), 400, "invalid_request"),
        ] {
            send(body.clone()).await.assert_error(status, code);
        }
        // Overflow: identical shares whose total does not fit.
        red_packet(&app, &amy, group, json!({"idempotency_key": "o1", "split": "identical", "amount_minor": i64::MAX / 2 + 1, "count": 2, "pin": PIN}))
            .await.assert_error(400, "amount_overflow");
        red_packet(&app, &amy, group, json!({"idempotency_key": "o2", "split": "lucky", "amount_minor": 100, "count": 3, "pin": PIN}))
            .await.assert_error(400, "invalid_request");
        red_packet(&app, &amy, group, json!({"idempotency_key": "o3", "split": "lucky", "amount_minor": 1, "count": 2, "pin": PIN}))
            .await.assert_error(400, "invalid_amount");
        // The outside review's product gaps answer with their own codes, not "malformed".
        red_packet(&app, &amy, direct, json!({"idempotency_key": "o4", "split": "lucky", "amount_minor": 100, "count": 2, "pin": PIN}))
            .await.assert_error(400, "direct_red_packet_one_share");
        transfer(&app, &amy, group, json!({"idempotency_key": "g1", "amount_minor": 100, "pin": PIN}))
            .await.assert_error(400, "recipient_required");
        transfer(&app, &amy, group, json!({"idempotency_key": "g2", "amount_minor": 100, "pin": PIN, "to_user_id": cai.id}))
            .await.assert_error(403, "not_member");
        transfer(&app, &amy, group, json!({"idempotency_key": "g3", "amount_minor": 100, "pin": PIN, "to_user_id": amy.id}))
            .await.assert_error(400, "cannot_add_self");
        // Not a member of the conversation (with a PIN, so the membership is what refuses).
        set_pin(&app, &cai).await;
        transfer(&app, &cai, direct, json!({"idempotency_key": "n1", "amount_minor": 100, "pin": PIN}))
            .await.assert_error(403, "not_member");
        assert_eq!(cents(&app, &amy).await, 10_000, "nothing moved");

        // Someone else's card.
        app.post(&amy, "/api/wallet/withdrawals", json!({"card_id": cai_card.id, "amount_minor": 100, "idempotency_key": "w1", "pin": PIN}))
            .await.assert_error(404, "not_found");
        app.post(&amy, "/api/wallet/withdrawals", json!({"card_id": amy_card, "amount_minor": 100_000, "idempotency_key": "w2", "pin": PIN}))
            .await.assert_error(409, "insufficient_funds");

        // Double accept, someone else accepting, the sender accepting.
        let t: api::ChatPayment = send(json!({"idempotency_key": "ok1", "amount_minor": 100, "pin": PIN})).await.typed();
        app.post(&amy, &format!("/api/payments/{}/accept", t.id), json!({})).await.assert_error(403, "forbidden");
        app.post(&cai, &format!("/api/payments/{}/accept", t.id), json!({})).await.assert_error(404, "payment_not_found");
        app.get(&cai, &format!("/api/payments/{}", t.id)).await.assert_error(404, "payment_not_found");
        app.post(&ben, &format!("/api/payments/{}/accept", t.id), json!({})).await.ok();
        app.post(&ben, &format!("/api/payments/{}/accept", t.id), json!({})).await.assert_error(409, "payment_handled");
        app.post(&ben, &format!("/api/payments/{}/decline", t.id), json!({})).await.assert_error(409, "payment_handled");
        app.post(&ben, &format!("/api/payments/{}/open", t.id), json!({})).await.assert_error(400, "invalid_request");
        // The same key with other parameters.
        send(json!({"idempotency_key": "ok1", "amount_minor": 200, "pin": PIN})).await.assert_error(409, "idempotency_conflict");
        // A transfer can't be recalled like a message.
        app.post(&amy, &format!("/api/messages/{}/recall", t.message_id.unwrap()), json!({})).await.assert_error(403, "forbidden");
        assert_eq!((cents(&app, &amy).await, cents(&app, &ben).await), (9_900, 100));

        // Red packet: sender of a direct packet can't open it; open twice; empty.
        let p: api::ChatPayment = red_packet(&app, &amy, direct, json!({"idempotency_key": "rp1", "split": "lucky", "amount_minor": 50, "count": 1, "pin": PIN})).await.typed();
        app.post(&amy, &format!("/api/payments/{}/open", p.id), json!({})).await.assert_error(403, "forbidden");
        app.post(&ben, &format!("/api/payments/{}/open", p.id), json!({})).await.ok();
        app.post(&ben, &format!("/api/payments/{}/open", p.id), json!({})).await.assert_error(409, "red_packet_already_opened");
        let g: api::ChatPayment = red_packet(&app, &amy, group, json!({"idempotency_key": "rp2", "split": "identical", "amount_minor": 10, "count": 1, "pin": PIN})).await.typed();
        app.post(&ben, &format!("/api/payments/{}/open", g.id), json!({})).await.ok();
        app.post(&amy, &format!("/api/payments/{}/open", g.id), json!({})).await.assert_error(409, "red_packet_empty");
        app.post(&cai, &format!("/api/payments/{}/open", g.id), json!({})).await.assert_error(404, "payment_not_found");
        app.post(&ben, "/api/payments/999999/open", json!({})).await.assert_error(404, "payment_not_found");
        assert_eq!((cents(&app, &amy).await, cents(&app, &ben).await), (9_840, 160));
        assert_reconciles(&app);
    }
}

both_stores! {
    async fn the_pin_locks_after_five_wrong_tries(app: TestApp) {
        let (amy, _) = funded(&app, "Amy", 10_000).await;
        let ben = app.register("Ben").await;
        let direct = app.befriend(&amy, &ben).await;
        // Changing the PIN needs the account password or the current PIN.
        app.call(Method::PUT, &amy, "/api/wallet/pin", Some(json!({"password": "not-it", "pin": "111111"})))
            .await.assert_error(403, "wrong_password");
        app.call(Method::PUT, &amy, "/api/wallet/pin", Some(json!({"pin": "111111"})))
            .await.assert_error(403, "step_up_required");
        for n in 0..4 {
            transfer(&app, &amy, direct, json!({"idempotency_key": format!("x{n}"), "amount_minor": 100, "pin": "000000"}))
                .await.assert_error(403, "wrong_pin");
        }
        let message = transfer(&app, &amy, direct, json!({"idempotency_key": "x4", "amount_minor": 100, "pin": "000000"}))
            .await.assert_error(423, "pin_locked");
        assert!(!message.is_empty());
        // Locked: even the right PIN is refused, and so is changing it.
        transfer(&app, &amy, direct, json!({"idempotency_key": "x5", "amount_minor": 100, "pin": PIN}))
            .await.assert_error(423, "pin_locked");
        let zh = app.request(Method::POST, &format!("/api/conversations/{direct}/transfers"), Some(&amy.token),
            Some(json!({"idempotency_key": "x6", "amount_minor": 100, "pin": PIN})), "zh-CN").await;
        assert_eq!(zh.assert_error(423, "pin_locked"), "支付密码错误次数过多，已暂时锁定，请稍后再试。");
        let wallet: api::Wallet = app.get(&amy, "/api/wallet").await.typed();
        assert!(wallet.pin.locked_until_ms.is_some());
        assert_eq!(cents(&app, &amy).await, 10_000);
        // The lock runs out after the configured time (180 minutes by default).
        app.clock.advance_ms(180 * 60 * 1000);
        transfer(&app, &amy, direct, json!({"idempotency_key": "x7", "amount_minor": 100, "pin": PIN})).await.ok();

        // A small-amount no-PIN limit, off by default, set with the PIN.
        app.call(Method::PUT, &amy, "/api/wallet/pin/no-pin-limit", Some(json!({"pin": PIN, "limit_minor": 500})))
            .await.ok();
        transfer(&app, &amy, direct, json!({"idempotency_key": "s1", "amount_minor": 500})).await.ok();
        transfer(&app, &amy, direct, json!({"idempotency_key": "s2", "amount_minor": 501})).await.assert_error(403, "pin_required");
        app.call(Method::PUT, &amy, "/api/wallet/pin/no-pin-limit", Some(json!({"pin": PIN, "limit_minor": -1})))
            .await.assert_error(400, "invalid_amount");
        assert_eq!(cents(&app, &amy).await, 9_400);
        assert_reconciles(&app);
    }
}

both_stores! {
    /// Five senders with 10.00 each send ten transfers of 1.50 at once, each
    /// accepted at once: exactly six per sender fit, whatever the order, so an
    /// overdraft anywhere shows as a seventh. Nothing is created or lost.
    async fn concurrent_transfers_conserve_the_total(app: TestApp) {
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        let mut chats = Vec::new();
        for n in 0..5 {
            let sender = funded(&app, &format!("S{n}"), 1_000).await.0;
            let receiver = app.register(&format!("R{n}")).await;
            chats.push(app.befriend(&sender, &receiver).await);
            senders.push(sender);
            receivers.push(receiver);
        }
        let sends = (0..50).map(|i| {
            let (app, senders, receivers, chats) = (&app, &senders, &receivers, &chats);
            async move {
                let n = i % 5;
                let reply = transfer(app, &senders[n], chats[n], json!({
                    "idempotency_key": format!("c{i}"), "amount_minor": 150, "pin": PIN
                })).await;
                if reply.status.is_success() {
                    let p: api::ChatPayment = reply.typed();
                    app.post(&receivers[n], &format!("/api/payments/{}/accept", p.id), json!({})).await.ok();
                    1
                } else {
                    reply.assert_error(409, "insufficient_funds");
                    0
                }
            }
        });
        let accepted: i32 = futures_util::future::join_all(sends).await.into_iter().sum();
        assert_eq!(accepted, 30, "six per sender, no more");
        let mut total = 0;
        for sender in &senders {
            assert_eq!(cents(&app, sender).await, 100);
            total += 100;
        }
        for receiver in &receivers {
            assert_eq!(cents(&app, receiver).await, 900);
            total += 900;
        }
        assert_eq!(total, 5_000, "money is conserved");
        assert_reconciles(&app);
    }
}

both_stores! {
    async fn hundreds_open_one_packet_at_once(app: TestApp) {
        let (amy, _) = funded(&app, "Amy", 100_000).await;
        let mut members = Vec::new();
        for n in 0..40 {
            let member = app.register(&format!("M{n}")).await;
            app.befriend(&amy, &member).await;
            members.push(member);
        }
        let refs: Vec<&TestUser> = members.iter().collect();
        let group = app.create_group(&amy, "Crowd", &refs).await;
        let packet: api::ChatPayment = red_packet(&app, &amy, group, json!({
            "idempotency_key": "hot", "split": "lucky", "amount_minor": 3_000, "count": 25, "pin": PIN
        })).await.typed();
        // Everyone opens twice at the same instant.
        let opens = members.iter().chain(members.iter()).map(|m| {
            let path = format!("/api/payments/{}/open", packet.id);
            let app = &app;
            async move { (m.id, app.post(m, &path, json!({})).await) }
        });
        let mut winners = std::collections::HashMap::new();
        let mut empty = 0;
        for (user, reply) in futures_util::future::join_all(opens).await {
            match reply.status.as_u16() {
                200 => {
                    let opened: api::OpenedRedPacket = reply.typed();
                    assert!(winners.insert(user, opened.amount_minor).is_none(), "{user} got two shares");
                }
                409 if reply.body["code"] == "red_packet_empty" => empty += 1,
                409 => assert_eq!(reply.body["code"], "red_packet_already_opened"),
                other => panic!("{other}: {}", reply.body),
            }
        }
        assert_eq!(winners.len(), 25, "every share went to someone");
        assert_eq!(winners.values().sum::<i64>(), 3_000, "no share lost or doubled");
        assert!(empty >= 15);
        let done = payment(&app, &amy, packet.id).await;
        assert_eq!((done.status.as_str(), done.opened_count), ("finished", 25));
        assert_reconciles(&app);
    }
}
