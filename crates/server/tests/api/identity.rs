//! Phones and emails count only once proven with a one-time code (hole 7 of
//! the outside review: anyone could register someone else's number, and
//! discovery answered 120,000 numbers from one address); email goes through
//! a real SMTP client to an SMTP server the test starts; looking people up
//! has a daily budget per account and per address.

use std::sync::{Arc, Mutex};

use qiao_api as api;
use qiao_domain::identity::Phone;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::{both_stores, both_stores_with};

const MINUTE_MS: i64 = 60 * 1000;

both_stores! {
    async fn a_number_counts_only_once_proven(app: TestApp) {
        let lin = app.register_unverified("US", "Lin").await;
        let emily = app.register("Emily").await;
        // Unproven: no sign-in, no search, no discovery by it.
        app.request(Method::POST, "/api/auth/login", None, Some(json!({"identifier": lin.phone, "password": lin.password})), "en-US")
            .await.assert_error(401, "bad_credentials");
        let found: Vec<api::UserSummary> = app.get(&emily, &format!("/api/users/search?q={}", lin.phone.replace('+', "%2B"))).await.typed();
        assert!(found.is_empty());
        let hash = Phone::parse(&lin.phone).unwrap().discovery_hash();
        let discovered: Vec<api::DiscoveredUser> = app.post(&emily, "/api/contacts/discover", json!({"phone_hashes": [hash]})).await.typed();
        assert!(discovered.is_empty());
        let me: api::Profile = app.get(&lin, "/api/me").await.typed();
        assert_eq!((me.phone.clone(), me.unverified.len()), (None, 1));

        // Wrong codes are counted; five end the code (a malformed one costs nothing).
        let right = app.last_code(&lin.phone);
        let wrong = if right == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            app.post(&lin, "/api/me/verification/confirm", json!({"kind": "phone", "code": wrong})).await.assert_error(400, "verification_code_wrong");
        }
        app.post(&lin, "/api/me/verification/confirm", json!({"kind": "phone", "code": "12x"})).await.assert_error(400, "verification_code_wrong");
        app.post(&lin, "/api/me/verification/confirm", json!({"kind": "phone", "code": right})).await.assert_error(410, "verification_code_expired");
        // A new code, not sooner than a minute after the last.
        app.post(&lin, "/api/me/verification", json!({"kind": "phone"})).await.assert_error(429, "code_sent_recently");
        app.clock.advance_ms(MINUTE_MS);
        let sent = app.post(&lin, "/api/me/verification", json!({"kind": "phone"})).await;
        assert_eq!(sent.status.as_u16(), 204, "{}", sent.body);
        app.post(&lin, "/api/me/verification", json!({"kind": "email"})).await.assert_error(409, "nothing_to_verify");
        app.post(&lin, "/api/me/verification", json!({"kind": "fax"})).await.assert_error(400, "invalid_request");
        app.verify_phone(&lin).await;

        app.login(&lin).await;
        let found: Vec<api::UserSummary> = app.get(&emily, &format!("/api/users/search?q={}", lin.phone.replace('+', "%2B"))).await.typed();
        assert_eq!(found.len(), 1);
        let discovered: Vec<api::DiscoveredUser> = app.post(&emily, "/api/contacts/discover", json!({"phone_hashes": [hash]})).await.typed();
        assert_eq!(discovered.len(), 1);
        app.post(&lin, "/api/me/verification/confirm", json!({"kind": "phone", "code": "123456"})).await.assert_error(409, "nothing_to_verify");
    }
}

both_stores! {
    /// Registering someone else's number blocks nobody: the number goes to
    /// whoever proves it first; a later claim is refused when it tries.
    async fn someone_elses_number_is_not_theirs(app: TestApp) {
        let squatter = app.register_unverified("US", "Squatter").await;
        let reply = app.request(Method::POST, "/api/auth/register", None,
            Some(json!({"phone": squatter.phone, "password": "owner-password-1", "display_name": "Owner", "region": "US", "language": "en-US"})),
            "en-US").await;
        assert_eq!(reply.status.as_u16(), 201, "an unproven claim blocks nobody: {}", reply.body);
        let owner: api::AuthResponse = reply.typed();
        let owner = TestUser { id: owner.user.id, token: owner.token, phone: squatter.phone.clone(), password: "owner-password-1".into() };
        // The owner has the phone, so the owner has the code.
        app.verify_phone(&owner).await;
        // The squatter's own code (never seen by the squatter in real life) no longer helps.
        let codes: Vec<String> = app.state.outbox.sent_to(&squatter.phone).iter().map(|m| m.body.clone()).collect();
        assert_eq!(codes.len(), 2, "one code to each claim");
        let first: String = codes[0].split(|c: char| !c.is_ascii_digit()).find(|p| p.len() == 6).unwrap().to_owned();
        app.post(&squatter, "/api/me/verification/confirm", json!({"kind": "phone", "code": first}))
            .await.assert_error(409, "phone_taken");
        // Registering a proven number is refused at once.
        app.request(Method::POST, "/api/auth/register", None,
            Some(json!({"phone": squatter.phone, "password": "third-password", "display_name": "Third", "region": "US", "language": "en-US"})),
            "en-US").await.assert_error(409, "phone_taken");
    }
}

both_stores_with! {
    |c: &mut qiao_server::Config| {
        c.lookups_per_account_per_day = 50;
        c.lookups_per_address_per_day = 80;
    },
    /// Enumerating numbers: a day's lookups run out, per account and per address.
    async fn lookups_have_a_daily_budget(app: TestApp) {
        let emily = app.register("Emily").await;
        let hashes: Vec<String> = (0..40).map(|n| Phone::parse(&format!("+1999000{n:04}")).unwrap().discovery_hash()).collect();
        app.post(&emily, "/api/contacts/discover", json!({"phone_hashes": hashes})).await.ok();
        for _ in 0..10 {
            app.get(&emily, "/api/users/search?q=nobody_here").await.ok();
        }
        let message = app.get(&emily, "/api/users/search?q=nobody_here").await.assert_error(429, "lookup_budget_spent");
        assert!(message.contains("today"), "{message}");
        app.post(&emily, "/api/contacts/discover", json!({"phone_hashes": [hashes[0]]})).await.assert_error(429, "lookup_budget_spent");
        // Another account on the same address has its own budget, but the address's runs out too.
        let lin = app.register("Lin").await;
        app.post(&lin, "/api/contacts/discover", json!({"phone_hashes": &hashes[..30]})).await.ok();
        app.get(&lin, "/api/users/search?q=nobody_here").await.assert_error(429, "lookup_budget_spent");
        // A new day.
        app.clock.advance_ms(24 * 60 * MINUTE_MS);
        app.get(&emily, "/api/users/search?q=nobody_here").await.ok();
    }
}

/// The mail an SMTP server received: (recipients, raw message).
type Inbox = Arc<Mutex<Vec<(Vec<String>, String)>>>;

#[derive(Clone)]
struct Catcher {
    inbox: Inbox,
    to: Vec<String>,
    body: Vec<u8>,
}

impl mailin_embedded::Handler for Catcher {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> mailin_embedded::Response {
        self.to = to.to_vec();
        self.body.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.body.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let message = String::from_utf8_lossy(&self.body).into_owned();
        self.inbox.lock().unwrap().push((self.to.clone(), message));
        mailin_embedded::response::OK
    }
}

/// A real SMTP server on a free port, for the test's lifetime.
fn smtp_server() -> (u16, Inbox) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox: Inbox = Arc::default();
    let mut server = mailin_embedded::Server::new(Catcher {
        inbox: Arc::clone(&inbox),
        to: Vec::new(),
        body: Vec::new(),
    });
    server.with_name("smtp.test").with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (port, inbox)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_codes_go_through_smtp() {
    let (port, inbox) = smtp_server();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.smtp_from = "Qiao <codes@qiao.test>".into();
    })
    .await;
    let reply = app
        .request(Method::POST, "/api/auth/register", None,
            Some(json!({"email": "lin@example.com", "password": "lin-password-1", "display_name": "林", "region": "CN", "language": "zh-CN"})),
            "zh-CN")
        .await;
    let lin: api::AuthResponse = reply.typed();
    let lin = TestUser {
        id: lin.user.id,
        token: lin.token,
        phone: String::new(),
        password: "lin-password-1".into(),
    };
    let (to, message) = inbox
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("the SMTP server got the mail");
    assert_eq!(to, vec!["lin@example.com".to_owned()]);
    assert!(message.contains("From: Qiao <codes@qiao.test>"), "{message}");
    assert!(
        app.state.outbox.sent_to("lin@example.com").is_empty(),
        "not the sandbox"
    );
    // The body is in the user's language (quoted-printable or base64 on the wire: find the digits).
    let code = message
        .lines()
        .rev()
        .flat_map(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .find(|part| part.len() == 6)
        .or_else(|| {
            use base64::Engine;
            let body = message.split("\r\n\r\n").nth(1)?.replace("\r\n", "");
            let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body).ok()?).ok()?;
            assert!(text.contains("验证码"), "{text}");
            text.split(|c: char| !c.is_ascii_digit())
                .find(|p| p.len() == 6)
                .map(str::to_owned)
        })
        .expect("a six-digit code in the mail");
    let profile: api::Profile = app
        .post(
            &lin,
            "/api/me/verification/confirm",
            json!({"kind": "email", "code": code}),
        )
        .await
        .typed();
    assert_eq!(profile.email.as_deref(), Some("lin@example.com"));
    let auth: api::AuthResponse = app
        .request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"identifier": "lin@example.com", "password": "lin-password-1"})),
            "en-US",
        )
        .await
        .typed();
    assert_eq!(auth.user.id, lin.id);
}
