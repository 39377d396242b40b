//! Paying merchants over HTTP, on both stores: the tourist's journey (a CNY
//! wallet pays a USD restaurant by its per-order code, across currencies at
//! a quote; the merchant's server hears of it, signed; half is refunded; the
//! day is paid out; the ledger reconciles), payment codes within and above
//! the no-PIN limit, static codes, and every kind of bad input.

use qiao_api as api;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_stores_with;
use crate::helpers::*;
use crate::payments::{set_pin, PIN};
use crate::receiver::Receiver;
use crate::wallet::{assert_reconciles, balance, bind, top_up};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Merchants' servers in tests listen on 127.0.0.1.
pub fn local_notifications(config: &mut qiao_server::Config) {
    config.notify_allow_private = true;
    config.notify_poll_seconds = 3600;
    config.admin_token_sha256 = Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(ADMIN_TOKEN)));
}

pub const ADMIN_TOKEN: &str = "admin-token-for-tests";

/// A CN user with ¥`minor`/100 in the wallet and a PIN.
pub async fn cn_payer(app: &TestApp, name: &str, minor: i64) -> TestUser {
    let user = app.register_in("CN", name).await;
    let card: api::Card = bind(app, &user, "6212345678901265", "debit").await.typed();
    if minor > 0 {
        top_up(app, &user, card.id, json!(minor), &format!("seed-{}", app.unique()))
            .await
            .ok();
    }
    set_pin(app, &user).await;
    user
}

/// A merchant of `owner` and what its point of sale needs.
pub struct Shop {
    pub merchant: api::Merchant,
    pub secret: String,
    pub key: String,
    pub owner: TestUser,
}

pub async fn open_shop(app: &TestApp, name: &str, currency: &str, country: &str, notify: Option<String>) -> Shop {
    let owner = app.register(&format!("{name} owner")).await;
    let card: api::Card = bind(app, &owner, "4242424242424242", "debit").await.typed();
    let created: api::MerchantCreated = app
        .post(
            &owner,
            "/api/merchants",
            json!({"legal_name": format!("{name} LLC"), "display_name": name, "country": country,
                   "city": "Las Vegas", "mcc": "5812", "currency": currency, "settlement_card_id": card.id,
                   "notify_url": notify}),
        )
        .await
        .typed();
    let key: api::ApiKeyCreated = app
        .post(
            &owner,
            &format!("/api/merchants/{}/api-keys", created.merchant.id),
            json!({"label": "till 1"}),
        )
        .await
        .typed();
    Shop {
        merchant: created.merchant,
        secret: created.signing_secret,
        key: key.secret,
        owner,
    }
}

/// A call of the merchant API with an API key.
pub async fn pos(app: &TestApp, key: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    app.request(method, path, Some(key), body, "en-US").await
}

pub async fn new_order(app: &TestApp, shop: &Shop, number: &str, minor: i64) -> api::OrderCreated {
    pos(
        app,
        &shop.key,
        Method::POST,
        "/api/merchant/v1/orders",
        Some(json!({"out_trade_no": number, "amount_minor": minor, "description": "Dinner for two"})),
    )
    .await
    .typed()
}

both_stores_with! { local_notifications,
    async fn a_tourist_pays_a_usd_restaurant_from_a_cny_wallet(app: TestApp) {
        let receiver = Receiver::start().await;
        let shop = open_shop(&app, "Lucky Noodle", "USD", "US", Some(receiver.url())).await;
        let lin = cn_payer(&app, "Lin", 100_000).await;

        // The restaurant's till makes an order of $23.72 and shows its code.
        let created = new_order(&app, &shop, "T-1001", 2372).await;
        assert_eq!(created.order.status, "created");
        assert!(created.qr.payload.starts_with("000201010212"), "{}", created.qr.payload);
        assert!(created.qr.svg.contains("<svg") && !created.qr.png_base64.is_empty());

        // Lin scans it: the merchant, the price, and what it costs in yuan.
        let scanned: api::ScanResult = app
            .post(&lin, "/api/pay/scan", json!({"payload": created.qr.payload}))
            .await
            .typed();
        let card = scanned.merchant.clone().unwrap();
        assert_eq!((card.name.as_str(), card.city.as_str(), card.verified), ("Lucky Noodle", "Las Vegas", false));
        assert_eq!((scanned.amount_minor, scanned.currency.as_deref()), (Some(2372), Some("USD")));
        let quote = scanned.quote.unwrap();
        assert_eq!((quote.from_currency.as_str(), quote.to_currency.as_str()), ("CNY", "USD"));
        assert_eq!(quote.credit_minor, 2372);
        // 7.1 CNY per USD less 50 bps spread, plus a 1% fee: ¥169.26 + ¥1.70.
        assert_eq!((quote.debit_minor, quote.fee_minor), (17_096, 170));

        // She confirms with her PIN.
        let receipt: api::Receipt = app
            .post(&lin, "/api/pay", json!({"payload": created.qr.payload, "quote_id": quote.id, "pin": PIN,
                                           "idempotency_key": "dinner"}))
            .await
            .typed();
        assert_eq!(receipt.status, "paid");
        let payer = receipt.payer.clone().unwrap();
        assert_eq!((payer.currency.as_str(), payer.amount_minor, payer.fee_minor), ("CNY", 17_096, 170));
        assert_eq!(payer.rate.as_deref(), Some(quote.rate.as_str()));
        assert_eq!(balance(&app, &lin).await.balance_minor, 100_000 - 17_096);
        // The same request again is the same payment.
        let again: api::Receipt = app
            .post(&lin, "/api/pay", json!({"payload": created.qr.payload, "quote_id": quote.id, "pin": PIN,
                                           "idempotency_key": "dinner"}))
            .await
            .typed();
        assert_eq!(again, receipt);
        assert_eq!(balance(&app, &lin).await.balance_minor, 100_000 - 17_096);

        // The till sees it paid; the merchant's server hears of it, signed.
        let order: api::Order = pos(&app, &shop.key, Method::GET, "/api/merchant/v1/orders/T-1001", None).await.typed();
        assert_eq!(order.status, "paid");
        assert_eq!(app.state.webhooks.deliver_due().await.unwrap(), 1);
        let got = receiver.deliveries();
        assert_eq!(got.len(), 1);
        assert!(got[0].signed_with(&shop.secret), "the signature checks out with the merchant's secret");
        assert!(!got[0].signed_with("whsec_wrong"));
        assert_eq!(got[0].body["type"], "payment.succeeded");
        assert_eq!(got[0].body["id"], got[0].event_id.as_str());
        assert_eq!(got[0].body["order"]["out_trade_no"], "T-1001");
        assert_eq!(got[0].body["order"]["payer"]["amount_minor"], 17_096);

        // Half is refunded: $11.86 back as ¥85.48, half of everything she paid.
        let refunded: api::RefundCreated = pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders/T-1001/refunds",
            Some(json!({"out_refund_no": "R-1", "amount_minor": 1186, "reason": "one dish was cold"}))).await.typed();
        assert_eq!((refunded.refund.amount_minor, refunded.refund.payer_amount_minor), (1186, 8548));
        assert_eq!(refunded.refund.payer_currency, "CNY");
        assert_eq!(refunded.order.status, "partially_refunded");
        assert_eq!(balance(&app, &lin).await.balance_minor, 100_000 - 17_096 + 8548);
        assert_eq!(app.state.webhooks.deliver_due().await.unwrap(), 1);
        let got = receiver.deliveries();
        assert_eq!(got[1].body["type"], "refund.succeeded");
        assert_eq!(got[1].body["refund"]["out_refund_no"], "R-1");
        assert!(got[1].signed_with(&shop.secret));
        // Lin's devices heard of both, and her receipt says so.
        let mine: api::Receipt = app.get(&lin, &format!("/api/merchant-payments/{}", receipt.order_id)).await.typed();
        assert_eq!(mine.status, "partially_refunded");
        assert_eq!(mine.payer.unwrap().refunded_minor, 8548);

        // The day ends; the restaurant is paid its net, $11.86, to its card.
        let today: api::DayReport = app.get(&shop.owner, &format!("/api/merchants/{}/report", shop.merchant.id)).await.typed();
        assert_eq!((today.paid_minor, today.refunded_minor, today.net_minor), (2372, 1186, 1186));
        assert_eq!(today.balance_minor, 1186);
        app.clock.advance_ms(DAY_MS);
        assert_eq!(app.state.money.pay_out_merchants().await.unwrap(), 1);
        assert_eq!(app.state.money.pay_out_merchants().await.unwrap(), 0, "once per day");
        let report: api::DayReport = app
            .get(&shop.owner, &format!("/api/merchants/{}/report?day={}", shop.merchant.id, today.day))
            .await
            .typed();
        let payout = report.payout.unwrap();
        assert_eq!((payout.amount_minor, payout.currency.as_str(), payout.status.as_str()), (1186, "USD", "posted"));
        assert_eq!(report.balance_minor, 0);
        // Everything paid out: there is nothing left to refund from.
        pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders/T-1001/refunds",
            Some(json!({"out_refund_no": "R-2", "amount_minor": 1}))).await.assert_error(409, "merchant_balance_insufficient");
        assert_reconciles(&app);
    }
}

both_stores_with! { local_notifications,
    async fn a_payment_code_is_charged_at_once_within_the_no_pin_limit_and_confirmed_above_it(app: TestApp) {
        let shop = open_shop(&app, "Corner Store", "CNY", "CN", None).await;
        let lin = cn_payer(&app, "Lin", 100_000).await;
        app.call(Method::PUT, &lin, "/api/wallet/pin/no-pin-limit", Some(json!({"limit_minor": 5000, "pin": PIN})))
            .await
            .ok();

        // Within the limit: the cashier scans, the money moves at once.
        let code: api::PaymentCode = app.post(&lin, "/api/wallet/payment-code", json!({})).await.typed();
        assert_eq!(code.code.len(), 18);
        assert!(code.qr_svg.contains("<svg") && code.barcode_svg.contains("<svg"));
        let charged: api::Order = pos(&app, &shop.key, Method::POST, "/api/merchant/v1/payment-codes/charge",
            Some(json!({"code": code.code, "amount_minor": 1200, "out_trade_no": "C-1", "description": "Water"}))).await.typed();
        assert_eq!((charged.kind.as_str(), charged.status.as_str()), ("code", "paid"));
        assert_eq!(balance(&app, &lin).await.balance_minor, 100_000 - 1200);
        // The till retries the same charge: the same order, charged once.
        let retried: api::Order = pos(&app, &shop.key, Method::POST, "/api/merchant/v1/payment-codes/charge",
            Some(json!({"code": code.code, "amount_minor": 1200, "out_trade_no": "C-1", "description": "Water"}))).await.typed();
        assert_eq!(retried.id, charged.id);
        assert_eq!(balance(&app, &lin).await.balance_minor, 100_000 - 1200);
        // A used code is refused for anything else.
        pos(&app, &shop.key, Method::POST, "/api/merchant/v1/payment-codes/charge",
            Some(json!({"code": code.code, "amount_minor": 1200, "out_trade_no": "C-2", "description": "Water"})))
            .await.assert_error(409, "payment_code_used");

        // Above the limit: the order waits for Lin, whose devices are told.
        let mut ws = app.ws(&lin, None).await;
        let code: api::PaymentCode = app.post(&lin, "/api/wallet/payment-code", json!({})).await.typed();
        let waiting: api::Order = pos(&app, &shop.key, Method::POST, "/api/merchant/v1/payment-codes/charge",
            Some(json!({"code": code.code, "amount_minor": 8800, "out_trade_no": "C-3", "description": "Groceries"}))).await.typed();
        assert_eq!(waiting.status, "awaiting_confirmation");
        assert_eq!(balance(&app, &lin).await.balance_minor, 100_000 - 1200, "nothing moved yet");
        let event = ws.next_of("merchant_order.updated").await;
        assert_eq!(event.data["status"], "awaiting_confirmation");
        assert_eq!(event.data["merchant"]["name"], "Corner Store");
        // Without the PIN it stays waiting; with it, it is paid.
        app.post(&lin, &format!("/api/merchant-payments/{}/confirm", waiting.id), json!({}))
            .await
            .assert_error(403, "pin_required");
        let paid: api::Receipt = app
            .post(&lin, &format!("/api/merchant-payments/{}/confirm", waiting.id), json!({"pin": PIN}))
            .await
            .typed();
        assert_eq!(paid.status, "paid");
        assert_eq!(balance(&app, &lin).await.balance_minor, 100_000 - 1200 - 8800);
        let order: api::Order = pos(&app, &shop.key, Method::GET, "/api/merchant/v1/orders/C-3", None).await.typed();
        assert_eq!(order.status, "paid");
        app.post(&lin, &format!("/api/merchant-payments/{}/confirm", waiting.id), json!({"pin": PIN}))
            .await
            .assert_error(409, "order_already_paid");
        // Someone else can't see or confirm Lin's payment.
        let mallory = cn_payer(&app, "Mallory", 100_000).await;
        app.get(&mallory, &format!("/api/merchant-payments/{}", waiting.id)).await.assert_error(404, "order_not_found");

        // A code that expired, one that was replaced, and one never shown.
        let old: api::PaymentCode = app.post(&lin, "/api/wallet/payment-code", json!({})).await.typed();
        let _new: api::PaymentCode = app.post(&lin, "/api/wallet/payment-code", json!({})).await.typed();
        pos(&app, &shop.key, Method::POST, "/api/merchant/v1/payment-codes/charge",
            Some(json!({"code": old.code, "amount_minor": 100, "out_trade_no": "C-4", "description": "Gum"})))
            .await.assert_error(410, "payment_code_expired");
        let code: api::PaymentCode = app.post(&lin, "/api/wallet/payment-code", json!({})).await.typed();
        app.clock.advance_ms(91_000);
        pos(&app, &shop.key, Method::POST, "/api/merchant/v1/payment-codes/charge",
            Some(json!({"code": code.code, "amount_minor": 100, "out_trade_no": "C-5", "description": "Gum"})))
            .await.assert_error(410, "payment_code_expired");
        pos(&app, &shop.key, Method::POST, "/api/merchant/v1/payment-codes/charge",
            Some(json!({"code": "180000000000000000", "amount_minor": 100, "out_trade_no": "C-6", "description": "Gum"})))
            .await.assert_error(404, "payment_code_invalid");
        pos(&app, &shop.key, Method::POST, "/api/merchant/v1/payment-codes/charge",
            Some(json!({"code": "123", "amount_minor": 100, "out_trade_no": "C-7", "description": "Gum"})))
            .await.assert_error(404, "payment_code_invalid");
        assert_eq!(balance(&app, &lin).await.balance_minor, 100_000 - 1200 - 8800, "refusals moved nothing");
        assert_reconciles(&app);
    }
}

both_stores_with! { local_notifications,
    async fn a_static_code_takes_the_amount_the_payer_types(app: TestApp) {
        let shop = open_shop(&app, "Tea House", "CNY", "CN", None).await;
        let lin = cn_payer(&app, "Lin", 10_000).await;
        let qr: api::QrImage = app.get(&shop.owner, &format!("/api/merchants/{}/qr", shop.merchant.id)).await.typed();
        assert!(qr.payload.starts_with("000201010211"), "static: {}", qr.payload);
        let scanned: api::ScanResult = app.post(&lin, "/api/pay/scan", json!({"payload": qr.payload})).await.typed();
        assert_eq!((scanned.amount_minor, scanned.quote.is_none()), (None, true));
        let receipt: api::Receipt = app
            .post(&lin, "/api/pay", json!({"payload": qr.payload, "amount_minor": 1850, "pin": PIN, "idempotency_key": "tea"}))
            .await
            .typed();
        assert_eq!((receipt.status.as_str(), receipt.amount_minor), ("paid", 1850));
        assert_eq!(balance(&app, &lin).await.balance_minor, 10_000 - 1850);
        // The same key for another amount is a conflict, not a second payment.
        app.post(&lin, "/api/pay", json!({"payload": qr.payload, "amount_minor": 1, "pin": PIN, "idempotency_key": "tea"}))
            .await
            .assert_error(409, "idempotency_conflict");
        app.post(&lin, "/api/pay", json!({"payload": qr.payload, "pin": PIN, "idempotency_key": "tea-2"}))
            .await
            .assert_error(400, "invalid_amount");
        // More than the wallet holds.
        app.post(&lin, "/api/pay", json!({"payload": qr.payload, "amount_minor": 1_000_000, "pin": PIN, "idempotency_key": "tea-3"}))
            .await
            .assert_error(409, "insufficient_funds");
        assert_eq!(balance(&app, &lin).await.balance_minor, 10_000 - 1850);
        // A friend's code is a person, not a merchant.
        let me: api::QrCode = app.get(&shop.owner, "/api/me/qr").await.typed();
        let person: api::ScanResult = app.post(&lin, "/api/pay/scan", json!({"payload": me.payload})).await.typed();
        assert_eq!((person.kind.as_str(), person.user_id), ("user", Some(shop.owner.id)));
        assert_reconciles(&app);
    }
}

/// Pays `minor` at `shop` from a fresh CN payer by a new per-order code.
async fn paid_order(app: &TestApp, shop: &Shop, number: &str, minor: i64) -> api::Receipt {
    let payer = cn_payer(app, &format!("Payer {number}"), 100_000).await;
    let created = new_order(app, shop, number, minor).await;
    app.post(
        &payer,
        "/api/pay",
        json!({"payload": created.qr.payload, "pin": PIN, "idempotency_key": number}),
    )
    .await
    .typed()
}

both_stores_with! { local_notifications,
    async fn notifications_are_retried_on_the_schedule_until_the_merchant_answers(app: TestApp) {
        let receiver = Receiver::start().await;
        receiver.answer(500);
        let shop = open_shop(&app, "Night Market", "CNY", "CN", Some(receiver.url())).await;
        paid_order(&app, &shop, "N-1", 999).await;
        let notifications = format!("/api/merchants/{}/notifications", shop.merchant.id);

        assert_eq!(app.state.webhooks.deliver_due().await.unwrap(), 0, "answered 500");
        assert_eq!(app.state.webhooks.deliver_due().await.unwrap(), 0);
        assert_eq!(receiver.deliveries().len(), 1, "not due again before 15 s");
        for (wait_s, attempts) in [(15, 2), (15, 3)] {
            app.clock.advance_ms(wait_s * 1000 - 1);
            app.state.webhooks.deliver_due().await.unwrap();
            assert_eq!(receiver.deliveries().len(), attempts - 1, "not a millisecond early");
            app.clock.advance_ms(1);
            app.state.webhooks.deliver_due().await.unwrap();
            assert_eq!(receiver.deliveries().len(), attempts);
        }
        let listed: Vec<api::Notification> = app.get(&shop.owner, &notifications).await.typed();
        assert_eq!((listed[0].attempts, listed[0].last_status, listed[0].delivered_at_ms), (3, Some(500), None));
        receiver.answer(204);
        app.clock.advance_ms(30_000);
        assert_eq!(app.state.webhooks.deliver_due().await.unwrap(), 1);
        let got = receiver.deliveries();
        assert_eq!(got.len(), 4);
        assert!(got.iter().all(|d| d.event_id == got[0].event_id), "one event, the same id every time");
        assert!(got.iter().all(|d| d.signed_with(&shop.secret)));
        let listed: Vec<api::Notification> = app.get(&shop.owner, &notifications).await.typed();
        assert_eq!((listed[0].attempts, listed[0].next_at_ms), (4, None));
        assert!(listed[0].delivered_at_ms.is_some());
        // The console can send it again (a merchant lost it on their side).
        app.post(&shop.owner, &format!("{notifications}/{}/resend", listed[0].id), json!({})).await.ok();
        assert_eq!(app.state.webhooks.deliver_due().await.unwrap(), 1);
        assert_eq!(receiver.deliveries().len(), 5);
        // A cashier sees neither the notifications nor the keys.
        let cashier = app.register("Cashier").await;
        app.post(&shop.owner, &format!("/api/merchants/{}/staff", shop.merchant.id),
            json!({"user_id": cashier.id, "role": "cashier"})).await.ok();
        app.get(&cashier, &notifications).await.assert_error(403, "staff_not_allowed");
    }
}

/// The outbox is in the database: a notification a server could not deliver
/// before it stopped is delivered by the next one, on the schedule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_survive_a_restart() {
    let first = TestApp::spawn_with(Backend::Postgres, local_notifications).await;
    let receiver = Receiver::start().await;
    receiver.answer(503);
    let shop = open_shop(&first, "Airport Shop", "CNY", "CN", Some(receiver.url())).await;
    paid_order(&first, &shop, "A-1", 500).await;
    first.state.webhooks.deliver_due().await.unwrap();
    assert_eq!(receiver.deliveries().len(), 1);

    let second = first.restarted().await;
    receiver.answer(200);
    assert_eq!(
        second.state.webhooks.deliver_due().await.unwrap(),
        0,
        "the schedule holds across the restart"
    );
    second.clock.advance_ms(15_000);
    assert_eq!(second.state.webhooks.deliver_due().await.unwrap(), 1);
    let got = receiver.deliveries();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].event_id, got[0].event_id);
    assert!(got[1].signed_with(&shop.secret));
}

both_stores_with! { local_notifications,
    async fn bad_merchant_input_is_refused_and_changes_nothing(app: TestApp) {
        let shop = open_shop(&app, "Gift Shop", "CNY", "CN", None).await;
        let other = open_shop(&app, "Other Shop", "CNY", "CN", None).await;
        let lin = cn_payer(&app, "Lin", 50_000).await;
        let created = new_order(&app, &shop, "G-1", 3000).await;

        // Tampered codes: a character changed (the checksum catches it), and
        // the amount changed with a new, valid checksum (the records catch it).
        let mut changed = created.qr.payload.clone();
        changed.replace_range(20..21, "X");
        app.post(&lin, "/api/pay/scan", json!({"payload": changed})).await.assert_error(400, "qr_checksum");
        let forged = reprice(&created.qr.payload, "0.01");
        app.post(&lin, "/api/pay/scan", json!({"payload": forged})).await.assert_error(400, "qr_tampered");
        app.post(&lin, "/api/pay", json!({"payload": forged, "pin": PIN, "idempotency_key": "f"}))
            .await.assert_error(400, "qr_tampered");
        // Another scheme's code is named.
        let pix = "00020126420014br.gov.bcb.pix0120admin@foodfacil.site520400005303986540525.505802BR5923DEELIEZER202202110139296009Sao Paulo62240520mpqrinter791905408246304A712";
        let message = app.post(&lin, "/api/pay/scan", json!({"payload": pix})).await.assert_error(422, "qr_other_scheme");
        assert!(message.contains("Pix"), "{message}");
        let zh = app.request(Method::POST, "/api/pay/scan", Some(&lin.token), Some(json!({"payload": pix})), "zh-CN").await;
        assert!(zh.assert_error(422, "qr_other_scheme").contains("Pix"));
        app.post(&lin, "/api/pay/scan", json!({"payload": "hello"})).await.assert_error(400, "qr_malformed");

        // A merchant order number used for another order.
        pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders",
            Some(json!({"out_trade_no": "G-1", "amount_minor": 1, "description": "Other"}))).await.assert_error(409, "order_number_taken");
        let same = new_order(&app, &shop, "G-1", 3000).await;
        assert_eq!(same.order.id, created.order.id, "the same order again is the same order");
        for (body, code) in [
            (json!({"out_trade_no": "bad number", "amount_minor": 1, "description": "x"}), "invalid_order_number"),
            (json!({"out_trade_no": "G-2", "amount_minor": 0, "description": "x"}), "invalid_amount"),
            (json!({"out_trade_no": "G-2", "amount_minor": -5, "description": "x"}), "invalid_amount"),
            (json!({"out_trade_no": "G-2", "amount_minor": 1, "description": ""}), "invalid_text"),
            (json!({"out_trade_no": "G-2", "amount_minor": 1, "description": "x", "currency": "USD"}), "currency_mismatch"),
            (json!({"out_trade_no": "G-2", "amount_minor": 1, "description": "x", "expires_in_seconds": 5}), "invalid_request"),
            (json!({"out_trade_no": "G-2", "amount_minor": 1, "description": "x", "notify_url": "ftp://x"}), "invalid_url"),
        ] {
            pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders", Some(body)).await.assert_error(400, code);
        }

        // Wrong, revoked and user credentials on the merchant API.
        pos(&app, "qk_live_0000", Method::GET, "/api/merchant/v1/orders/G-1", None).await.assert_error(401, "invalid_api_key");
        pos(&app, &lin.token, Method::GET, "/api/merchant/v1/orders/G-1", None).await.assert_error(401, "invalid_api_key");
        app.request(Method::GET, "/api/merchant/v1/orders/G-1", None, None, "en-US").await.assert_error(401, "invalid_api_key");
        let keys: Vec<api::ApiKey> = app.get(&shop.owner, &format!("/api/merchants/{}/api-keys", shop.merchant.id)).await.typed();
        assert!(!serde_json::to_string(&keys).unwrap().contains(&shop.key), "a key is shown once, then only its prefix");
        app.call(Method::DELETE, &shop.owner, &format!("/api/merchants/{}/api-keys/{}", shop.merchant.id, keys[0].id), None)
            .await.ok();
        pos(&app, &shop.key, Method::GET, "/api/merchant/v1/orders/G-1", None).await.assert_error(401, "invalid_api_key");
        let fresh: api::ApiKeyCreated = app
            .post(&shop.owner, &format!("/api/merchants/{}/api-keys", shop.merchant.id), json!({"label": "till 2"}))
            .await.typed();
        let shop = Shop { key: fresh.secret, ..shop };

        // Another merchant's order is not there for it.
        pos(&app, &other.key, Method::GET, "/api/merchant/v1/orders/G-1", None).await.assert_error(404, "order_not_found");
        pos(&app, &other.key, Method::POST, "/api/merchant/v1/orders/G-1/refunds",
            Some(json!({"out_refund_no": "x", "amount_minor": 1}))).await.assert_error(404, "order_not_found");
        app.get(&other.owner, &format!("/api/merchants/{}/orders/{}", shop.merchant.id, created.order.id))
            .await.assert_error(404, "merchant_not_found");

        // Refunds: of an unpaid order; above what was paid; twice the same number.
        pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders/G-1/refunds",
            Some(json!({"out_refund_no": "R-0", "amount_minor": 1}))).await.assert_error(409, "order_not_paid");
        app.post(&lin, "/api/pay", json!({"payload": created.qr.payload, "pin": PIN, "idempotency_key": "g1"})).await.ok();
        pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders/G-1/refunds",
            Some(json!({"out_refund_no": "R-1", "amount_minor": 3001}))).await.assert_error(409, "refund_exceeds_paid");
        let first: api::RefundCreated = pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders/G-1/refunds",
            Some(json!({"out_refund_no": "R-1", "amount_minor": 2000}))).await.typed();
        let again: api::RefundCreated = pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders/G-1/refunds",
            Some(json!({"out_refund_no": "R-1", "amount_minor": 2000}))).await.typed();
        assert_eq!(first.refund, again.refund, "the same refund number is the same refund");
        pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders/G-1/refunds",
            Some(json!({"out_refund_no": "R-1", "amount_minor": 1000}))).await.assert_error(409, "idempotency_conflict");
        pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders/G-1/refunds",
            Some(json!({"out_refund_no": "R-2", "amount_minor": 1001}))).await.assert_error(409, "refund_exceeds_paid");
        let rest: api::RefundCreated = pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders/G-1/refunds",
            Some(json!({"out_refund_no": "R-2", "amount_minor": 1000}))).await.typed();
        assert_eq!(rest.order.status, "refunded");
        assert_eq!(balance(&app, &lin).await.balance_minor, 50_000, "every fen back");

        // Paying an order twice, a closed one, an expired one.
        let payload = created.qr.payload.clone();
        app.post(&lin, "/api/pay", json!({"payload": payload, "pin": PIN, "idempotency_key": "g1-again"}))
            .await.assert_error(409, "order_already_paid");
        let closed = new_order(&app, &shop, "G-3", 100).await;
        let order: api::Order = pos(&app, &shop.key, Method::POST, "/api/merchant/v1/orders/G-3/close", None).await.typed();
        assert_eq!(order.status, "closed");
        app.post(&lin, "/api/pay", json!({"payload": closed.qr.payload, "pin": PIN, "idempotency_key": "g3"}))
            .await.assert_error(409, "order_closed");
        let late = new_order(&app, &shop, "G-4", 100).await;
        app.clock.advance_ms(15 * 60 * 1000);
        app.post(&lin, "/api/pay/scan", json!({"payload": late.qr.payload})).await.assert_error(410, "order_expired");
        app.post(&lin, "/api/pay", json!({"payload": late.qr.payload, "pin": PIN, "idempotency_key": "g4"}))
            .await.assert_error(410, "order_expired");
        assert_eq!(app.state.money.expire_orders().await.unwrap(), 1);
        let order: api::Order = pos(&app, &shop.key, Method::GET, "/api/merchant/v1/orders/G-4", None).await.typed();
        assert_eq!(order.status, "expired");

        // A cashier takes payments but changes no settings.
        let cashier = app.register("Cashier").await;
        app.post(&shop.owner, &format!("/api/merchants/{}/staff", shop.merchant.id),
            json!({"user_id": cashier.id, "role": "cashier"})).await.ok();
        let by_cashier: api::OrderCreated = app
            .post(&cashier, &format!("/api/merchants/{}/orders", shop.merchant.id),
                json!({"out_trade_no": "G-5", "amount_minor": 100, "description": "Postcard"}))
            .await.typed();
        assert_eq!(by_cashier.order.status, "created");
        app.call(Method::PATCH, &cashier, &format!("/api/merchants/{}", shop.merchant.id),
            Some(json!({"notify_url": "https://evil.example/steal"}))).await.assert_error(403, "staff_not_allowed");
        app.post(&cashier, &format!("/api/merchants/{}/api-keys", shop.merchant.id), json!({"label": "mine"}))
            .await.assert_error(403, "staff_not_allowed");
        app.post(&cashier, &format!("/api/merchants/{}/staff", shop.merchant.id), json!({"user_id": lin.id, "role": "cashier"}))
            .await.assert_error(403, "staff_not_allowed");
        app.post(&cashier, &format!("/api/merchants/{}/signing-secret", shop.merchant.id), json!({}))
            .await.assert_error(403, "staff_not_allowed");
        let merchant: api::Merchant = app.get(&shop.owner, &format!("/api/merchants/{}", shop.merchant.id)).await.typed();
        assert_eq!(merchant.notify_url, None, "nothing changed");
        // Nobody may be made an owner, and a stranger sees nothing.
        app.post(&shop.owner, &format!("/api/merchants/{}/staff", shop.merchant.id), json!({"user_id": lin.id, "role": "owner"}))
            .await.assert_error(400, "invalid_request");
        app.get(&lin, &format!("/api/merchants/{}", shop.merchant.id)).await.assert_error(404, "merchant_not_found");

        // A merchant's settlement card must be its owner's own debit card.
        let lin_cards: Vec<api::Card> = app.get(&lin, "/api/wallet/cards").await.typed();
        app.post(&shop.owner, "/api/merchants", json!({"legal_name": "X", "display_name": "X", "country": "US",
            "city": "Reno", "mcc": "5812", "currency": "USD", "settlement_card_id": lin_cards[0].id}))
            .await.assert_error(404, "not_found");
        let owner_card: Vec<api::Card> = app.get(&shop.owner, "/api/wallet/cards").await.typed();
        for (field, value, code) in [("mcc", "58", "invalid_mcc"), ("country", "usa", "invalid_country"),
                                     ("currency", "XYZ", "unknown_currency"), ("display_name", "", "invalid_display_name")] {
            let mut body = json!({"legal_name": "X", "display_name": "X", "country": "US", "city": "Reno", "mcc": "5812",
                                  "currency": "USD", "settlement_card_id": owner_card[0].id});
            body[field] = json!(value);
            app.post(&shop.owner, "/api/merchants", body).await.assert_error(400, code);
        }
        let mine: Vec<api::Merchant> = app.get(&shop.owner, "/api/merchants").await.typed();
        assert_eq!(mine.len(), 1, "refused merchants were not made");
        assert_reconciles(&app);
    }
}

/// The same per-order payload with another amount and a correct checksum:
/// what a forger would print.
fn reprice(payload: &str, amount: &str) -> String {
    let mut parsed = qiao_domain::emvco::parse(payload).unwrap();
    parsed.amount = Some(amount.to_owned());
    parsed.encode().unwrap()
}

both_stores_with! { local_notifications,
    async fn quotes_expire_and_are_used_once(app: TestApp) {
        let shop = open_shop(&app, "Casino Buffet", "USD", "US", None).await;
        let lin = cn_payer(&app, "Lin", 100_000).await;
        let first = new_order(&app, &shop, "Q-1", 1000).await;
        let second = new_order(&app, &shop, "Q-2", 1000).await;
        let scanned: api::ScanResult = app.post(&lin, "/api/pay/scan", json!({"payload": first.qr.payload})).await.typed();
        let quote = scanned.quote.unwrap();
        // Without a quote, across currencies, nothing is paid.
        app.post(&lin, "/api/pay", json!({"payload": first.qr.payload, "pin": PIN, "idempotency_key": "q0"}))
            .await.assert_error(404, "quote_not_found");
        // A quote is the payer's own.
        let mallory = cn_payer(&app, "Mallory", 100_000).await;
        app.post(&mallory, "/api/pay", json!({"payload": first.qr.payload, "quote_id": quote.id, "pin": PIN, "idempotency_key": "m"}))
            .await.assert_error(404, "quote_not_found");
        // Expired after its two minutes.
        app.clock.advance_ms(120_000);
        app.post(&lin, "/api/pay", json!({"payload": first.qr.payload, "quote_id": quote.id, "pin": PIN, "idempotency_key": "q1"}))
            .await.assert_error(410, "quote_expired");
        let scanned: api::ScanResult = app.post(&lin, "/api/pay/scan", json!({"payload": first.qr.payload})).await.typed();
        let quote = scanned.quote.unwrap();
        app.post(&lin, "/api/pay", json!({"payload": first.qr.payload, "quote_id": quote.id, "pin": PIN, "idempotency_key": "q2"}))
            .await.ok();
        // Used once: it can't pay the second order.
        app.post(&lin, "/api/pay", json!({"payload": second.qr.payload, "quote_id": quote.id, "pin": PIN, "idempotency_key": "q3"}))
            .await.assert_error(409, "quote_used");
        // The operator sets a new rate: new quotes use it.
        app.request(Method::PUT, "/api/admin/fx/rates", Some(ADMIN_TOKEN),
            Some(json!({"base_currency": "USD", "quote_currency": "CNY", "rate": "7.2"})), "en-US").await.ok();
        app.request(Method::PUT, "/api/admin/fx/rates", Some("wrong"),
            Some(json!({"base_currency": "USD", "quote_currency": "CNY", "rate": "1"})), "en-US").await.assert_error(401, "unauthorized");
        app.request(Method::PUT, "/api/admin/fx/rates", Some(&lin.token),
            Some(json!({"base_currency": "USD", "quote_currency": "CNY", "rate": "1"})), "en-US").await.assert_error(401, "unauthorized");
        app.request(Method::PUT, "/api/admin/fx/rates", Some(ADMIN_TOKEN),
            Some(json!({"base_currency": "USD", "quote_currency": "CNY", "rate": "abc"})), "en-US").await.assert_error(400, "invalid_rate");
        let scanned: api::ScanResult = app.post(&lin, "/api/pay/scan", json!({"payload": second.qr.payload})).await.typed();
        assert_eq!(scanned.quote.unwrap().mid_rate, "0.13888888", "1 / 7.2, rounded down");
        // No rate for a pair: no quote.
        app.post(&lin, "/api/fx/quotes", json!({"from_currency": "CNY", "to_currency": "JPY", "side": "send", "amount_minor": 100}))
            .await.assert_error(422, "rate_unavailable");
        // The operator verifies the merchant; payers see it.
        app.request(Method::POST, &format!("/api/admin/merchants/{}/verify", shop.merchant.id), Some(ADMIN_TOKEN), None, "en-US")
            .await;
        let scanned: api::ScanResult = app.post(&lin, "/api/pay/scan", json!({"payload": second.qr.payload})).await.typed();
        assert!(scanned.merchant.unwrap().verified);
        assert_reconciles(&app);
    }
}
