//! Registration, sign-in, sessions (devices), profile, Qiao ID, QR, rate limits.

use qiao_api as api;
use reqwest::Method;
use serde_json::json;

use crate::both_stores;
use crate::helpers::*;

both_stores! {
    async fn register_login_logout(app: TestApp) {
        let lin = app.register("Lin").await;
        let me: api::Profile = app.get(&lin, "/api/me").await.typed();
        assert_eq!((me.id, me.display_name.as_str(), me.region.as_str()), (lin.id, "Lin", "US"));

        // Sign in by phone on a second device; both tokens work.
        let second = app.login(&lin).await;
        assert_ne!(second.token, lin.token);
        let sessions: Vec<api::SessionInfo> = app.get(&second, "/api/sessions").await.typed();
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);

        // Logging out revokes only that device's token.
        app.post(&second, "/api/auth/logout", json!({})).await.ok();
        app.get(&second, "/api/me").await.assert_error(401, "unauthorized");
        app.get(&lin, "/api/me").await.ok();
    }
}

both_stores! {
    async fn revoke_another_device(app: TestApp) {
        let lin = app.register("Lin").await;
        let phone = app.login(&lin).await;
        let sessions: Vec<api::SessionInfo> = app.get(&lin, "/api/sessions").await.typed();
        let other = sessions.iter().find(|s| !s.current).unwrap();
        app.call(Method::DELETE, &lin, &format!("/api/sessions/{}", other.id), None).await.ok();
        app.get(&phone, "/api/me").await.assert_error(401, "unauthorized");

        // Someone else's session cannot be revoked, and stays alive.
        let emily = app.register("Emily").await;
        let mine: Vec<api::SessionInfo> = app.get(&lin, "/api/sessions").await.typed();
        app.call(Method::DELETE, &emily, &format!("/api/sessions/{}", mine[0].id), None).await.assert_error(404, "not_found");
        app.get(&lin, "/api/me").await.ok();
    }
}

both_stores! {
    async fn sign_in_by_email_and_qiao_id(app: TestApp) {
        let reply = app
            .request(Method::POST, "/api/auth/register", None,
                Some(json!({"email": "Emily@Example.com", "password": "hunter2hunter2", "display_name": "Emily", "region": "US", "language": "en-US"})),
                "en-US")
            .await;
        let emily: api::AuthResponse = reply.typed();
        // The address counts only once proven with the code sent to it.
        assert_eq!(emily.user.email, None);
        assert_eq!(emily.user.unverified, vec![api::Unverified { kind: "email".into(), value: "emily@example.com".into() }]);
        let user = TestUser { id: emily.user.id, token: emily.token, phone: String::new(), password: "hunter2hunter2".into() };
        let early = app.request(Method::POST, "/api/auth/login", None,
            Some(json!({"identifier": "emily@example.com", "password": "hunter2hunter2"})), "en-US").await;
        early.assert_error(401, "bad_credentials");
        let code = app.last_code("emily@example.com");
        let proven: api::Profile = app.post(&user, "/api/me/verification/confirm", json!({"kind": "email", "code": code})).await.typed();
        assert_eq!((proven.email.as_deref(), proven.unverified.len()), (Some("emily@example.com"), 0));

        let profile: api::Profile = app.call(Method::PUT, &user, "/api/me/qiao-id", Some(json!({"qiao_id": "Emily_NYC"}))).await.typed();
        assert_eq!(profile.qiao_id.as_deref(), Some("emily_nyc"));
        // Picked once: a second choice is refused and the first stays.
        app.call(Method::PUT, &user, "/api/me/qiao-id", Some(json!({"qiao_id": "emily_two"}))).await.assert_error(409, "qiao_id_already_set");
        let other = app.register("Other").await;
        app.call(Method::PUT, &other, "/api/me/qiao-id", Some(json!({"qiao_id": "EMILY_nyc"}))).await.assert_error(409, "qiao_id_taken");

        for identifier in ["emily@example.com", "EMILY@example.com", "emily_nyc"] {
            let reply = app.request(Method::POST, "/api/auth/login", None,
                Some(json!({"identifier": identifier, "password": "hunter2hunter2"})), "en-US").await;
            let auth: api::AuthResponse = reply.typed();
            assert_eq!(auth.user.id, user.id);
        }
        let wrong = app.request(Method::POST, "/api/auth/login", None,
            Some(json!({"identifier": "emily_nyc", "password": "wrong-password"})), "zh-CN").await;
        assert_eq!(wrong.assert_error(401, "bad_credentials"), "账号或密码错误。");
        let unknown = app.request(Method::POST, "/api/auth/login", None,
            Some(json!({"identifier": "nobody_here", "password": "wrong-password"})), "en-US").await;
        unknown.assert_error(401, "bad_credentials");
    }
}

both_stores! {
    async fn profile_and_qr(app: TestApp) {
        let lin = app.register("Lin").await;
        let updated: api::Profile = app.call(Method::PATCH, &lin, "/api/me",
            Some(json!({"display_name": "林小明", "language": "zh-CN"}))).await.typed();
        assert_eq!((updated.display_name.as_str(), updated.language.as_str()), ("林小明", "zh-CN"));
        app.call(Method::PATCH, &lin, "/api/me", Some(json!({"display_name": ""}))).await.assert_error(400, "invalid_display_name");
        let me: api::Profile = app.get(&lin, "/api/me").await.typed();
        assert_eq!(me.display_name, "林小明");

        let qr: api::QrCode = app.get(&lin, "/api/me/qr").await.typed();
        assert_eq!(qr.payload, format!("qiao://user/{}", lin.id));
        assert!(qr.svg.contains("<svg") && qr.svg.contains("</svg>"));
    }
}

mod rate_limits {
    use super::*;

    #[tokio::test]
    async fn login_attempts_are_limited_per_account() {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| c.login_per_account_per_minute = 3).await;
        let lin = app.register("Lin").await;
        for _ in 0..3 {
            let reply = app
                .request(
                    Method::POST,
                    "/api/auth/login",
                    None,
                    Some(json!({"identifier": lin.phone, "password": "wrong-password"})),
                    "en-US",
                )
                .await;
            reply.assert_error(401, "bad_credentials");
        }
        // Even the right password is refused once the account's budget is spent.
        let reply = app
            .request(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"identifier": lin.phone, "password": lin.password})),
                "en-US",
            )
            .await;
        reply.assert_error(429, "rate_limited");
        // Another account from the same address is unaffected.
        let emily = app.register("Emily").await;
        app.login(&emily).await;
    }

    /// Hole 6 of the outside review: the same number written with spaces
    /// or dashes was counted as another account.
    #[tokio::test]
    async fn one_account_has_one_budget_however_its_number_is_written() {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| c.login_per_account_per_minute = 3).await;
        let lin = app.register("Lin").await;
        let rest = &lin.phone[5..];
        let forms = [
            format!("+1 555 {rest}"),
            format!("+1-555-{rest}"),
            format!("+1 (555) {}.{}", &rest[..3], &rest[3..]),
        ];
        for form in &forms {
            let reply = app
                .request(
                    Method::POST,
                    "/api/auth/login",
                    None,
                    Some(json!({"identifier": form, "password": "wrong-password"})),
                    "en-US",
                )
                .await;
            reply.assert_error(401, "bad_credentials");
        }
        for form in [format!("\u{a0}{}", lin.phone), lin.phone.clone()] {
            let reply = app
                .request(
                    Method::POST,
                    "/api/auth/login",
                    None,
                    Some(json!({"identifier": form, "password": lin.password})),
                    "en-US",
                )
                .await;
            reply.assert_error(429, "rate_limited");
        }
    }

    #[tokio::test]
    async fn login_attempts_are_limited_per_address() {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| c.login_per_address_per_minute = 4).await;
        let users = [
            app.register("A").await,
            app.register("B").await,
            app.register("C").await,
        ];
        for user in &users {
            app.login(user).await;
        }
        let reply = app
            .request(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"identifier": users[0].phone, "password": "whatever-wrong"})),
                "en-US",
            )
            .await;
        reply.assert_error(401, "bad_credentials");
        let reply = app
            .request(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"identifier": users[1].phone, "password": users[1].password})),
                "en-US",
            )
            .await;
        reply.assert_error(429, "rate_limited");
    }

    #[tokio::test]
    async fn registration_and_search_share_the_public_budget() {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| c.public_per_address_per_minute = 3).await;
        let lin = app.register("Lin").await;
        for _ in 0..2 {
            app.get(&lin, "/api/users/search?q=somebody_else").await.ok();
        }
        app.get(&lin, "/api/users/search?q=somebody_else")
            .await
            .assert_error(429, "rate_limited");
        let reply = app
            .request(
                Method::POST,
                "/api/auth/register",
                None,
                Some(json!({"phone": "+15559990000", "password": "long enough", "display_name": "X", "region": "US", "language": "en-US"})),
                "zh-CN",
            )
            .await;
        assert_eq!(reply.assert_error(429, "rate_limited"), "尝试次数过多，请稍后再试。");
    }
}
