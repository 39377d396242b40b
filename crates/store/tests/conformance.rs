//! The store conformance suite: every test runs against SQLite and PostgreSQL.
//!
//! Each test body is an `async fn name(store: Arc<dyn Store>, sink: Arc<RecordingSink>)`;
//! `conformance!` turns it into `name::sqlite` and `name::postgres`. SQLite gets
//! a fresh file in a temporary directory, PostgreSQL a fresh database on the
//! local server (`postgres://postgres@127.0.0.1:5432`, trust auth; override the
//! admin URL with `QIAO_TEST_PG_ADMIN_URL`). PostgreSQL being unreachable is a
//! failure, never a skip.
//!
//! Every rejected operation is checked twice: the exact rejection, and that
//! nothing changed (no event appended or published, plus the state it touched).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use qiao_domain::conversation::{Kind, Role};
use qiao_domain::event::EventKind;
use qiao_domain::identity::{Language, Phone, Region};
use qiao_domain::ids::{ClientMsgId, ConversationId, MessageId, SessionId, StreamPos, UserId};
use qiao_domain::limits::{MAX_GROUP_MEMBERS, RECALL_WINDOW_MS};
use qiao_domain::message::{BlobHash, Content, Draft};
use qiao_domain::verification::IdentifierKind;
use qiao_domain::Error;
use qiao_store::{
    CommittedEvent, Confirmed, EventRecord, EventSink, GroupUpdate, Location, MessageRecord, NewUser, ProfileUpdate,
    ReceiptKind, RequestStatus, Store, StoreError, UploadRecord, UserLookup, UserRecord,
};
use serde_json::Value as Json;

// ---------------------------------------------------------------- harness

/// Records every published event, in the order the store published them.
#[derive(Default)]
pub struct RecordingSink {
    events: Mutex<Vec<CommittedEvent>>,
    /// Woken at each publication, as a hub wakes devices.
    published: tokio::sync::Notify,
}

impl EventSink for RecordingSink {
    fn publish(&self, events: &[CommittedEvent]) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(events);
        self.published.notify_waiters();
    }
}

impl RecordingSink {
    fn all(&self) -> Vec<CommittedEvent> {
        self.events.lock().unwrap().clone()
    }

    fn len(&self) -> usize {
        self.events.lock().unwrap().len()
    }

    /// Events published after the first `mark`.
    fn since(&self, mark: usize) -> Vec<CommittedEvent> {
        self.events.lock().unwrap()[mark..].to_vec()
    }
}

const PG_ADMIN_URLS: [&str; 2] = [
    "postgres://postgres@127.0.0.1:5432/test",
    "postgres://root@127.0.0.1:5432/test",
];

/// A connection to the maintenance database, and the URL it answered on.
fn pg_admin() -> (::postgres::Client, String) {
    let urls: Vec<String> = match std::env::var("QIAO_TEST_PG_ADMIN_URL") {
        Ok(url) => vec![url],
        Err(_) => PG_ADMIN_URLS.iter().map(|u| u.to_string()).collect(),
    };
    let mut errors = Vec::new();
    for url in urls {
        match ::postgres::Client::connect(&url, ::postgres::NoTls) {
            Ok(client) => return (client, url),
            Err(e) => errors.push(format!("{url}: {e}")),
        }
    }
    panic!(
        "PostgreSQL is unreachable; the conformance suite needs it: {}",
        errors.join("; ")
    );
}

/// Drops its test database (forcibly, from a thread of its own) when dropped.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let dropped = ::postgres::Client::connect(&url, ::postgres::NoTls)
                .and_then(|mut admin| admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
            if let Err(e) = dropped {
                eprintln!("could not drop test database {name}: {e:?}");
            }
        })
        .join();
    }
}

pub enum Engine {
    Sqlite,
    Postgres,
}

/// One store on a fresh database, and what to clean up after it.
pub struct Harness {
    store: Option<Arc<dyn Store>>,
    sink: Arc<RecordingSink>,
    location: Location,
    _sqlite_dir: Option<tempfile::TempDir>,
    _pg_database: Option<PgDatabase>,
}

impl Harness {
    pub async fn new(engine: Engine) -> Self {
        let sink = Arc::new(RecordingSink::default());
        let publish_to: Arc<dyn EventSink> = sink.clone();
        let (store, location, sqlite_dir, pg_database) = match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let location = Location::Sqlite(dir.path().join("qiao.db"));
                let at = location.clone();
                let store = tokio::task::spawn_blocking(move || qiao_store::open(&at, publish_to))
                    .await
                    .unwrap()
                    .unwrap();
                (store, location, Some(dir), None)
            }
            Engine::Postgres => tokio::task::spawn_blocking(move || {
                let (mut admin, admin_url) = pg_admin();
                let name = format!("qiao_test_{}", uuid::Uuid::new_v4().simple());
                admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                let database = PgDatabase {
                    admin_url: admin_url.clone(),
                    name: name.clone(),
                };
                let (server, _) = admin_url.rsplit_once('/').unwrap();
                let location = Location::Postgres(format!("{server}/{name}"));
                let store = qiao_store::open(&location, publish_to).unwrap();
                (store, location, None, Some(database))
            })
            .await
            .unwrap(),
        };
        Harness {
            store: Some(Arc::new(store)),
            sink,
            location,
            _sqlite_dir: sqlite_dir,
            _pg_database: pg_database,
        }
    }

    /// A second store on the same database, as a second node (PostgreSQL) or
    /// process (SQLite) would open it, publishing to the same sink.
    pub async fn open_second(&self) -> Arc<dyn Store> {
        let (location, publish_to) = (self.location.clone(), self.sink.clone() as Arc<dyn EventSink>);
        let store = tokio::task::spawn_blocking(move || qiao_store::open(&location, publish_to))
            .await
            .unwrap()
            .unwrap();
        Arc::new(store)
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone().unwrap()
    }

    pub fn sink(&self) -> Arc<RecordingSink> {
        self.sink.clone()
    }

    /// Checks that hold after any test: the sink saw strictly increasing
    /// positions and the stream's head is the last of them. Then drops the
    /// store inside the runtime, as a server does at shutdown.
    pub async fn finish(mut self) {
        let store = self.store.take().unwrap();
        let published = self.sink.all();
        assert_increasing(published.iter().map(|e| e.pos), "published events");
        let head = store.head().await.unwrap();
        assert_eq!(
            head,
            published.last().map_or(StreamPos(0), |e| e.pos),
            "head is the last published position"
        );
        drop(store);
    }
}

/// Generates `name::sqlite` and `name::postgres` for each test body `name`.
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let harness = super::Harness::new(super::Engine::Sqlite).await;
                super::$name(harness.store(), harness.sink()).await;
                harness.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let harness = super::Harness::new(super::Engine::Postgres).await;
                super::$name(harness.store(), harness.sink()).await;
                harness.finish().await;
            }
        }
    )+};
}

/// Like `conformance!`, for bodies that also get a second store on the same
/// database: `async fn name(store, sink, second: Arc<dyn Store>)`.
macro_rules! conformance_two_writers {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            /// A SQLite file has one writing process: a second store on it is refused.
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let harness = super::Harness::new(super::Engine::Sqlite).await;
                let (location, sink) = (harness.location.clone(), harness.sink() as std::sync::Arc<dyn qiao_store::EventSink>);
                let second = tokio::task::spawn_blocking(move || qiao_store::open(&location, sink)).await.unwrap();
                match second {
                    Err(qiao_store::StoreError::Backend(message)) => assert!(message.contains("in use"), "{message}"),
                    Err(other) => panic!("unexpected error {other:?}"),
                    Ok(_) => panic!("a second writer opened the same SQLite file"),
                }
                harness.finish().await;
            }

            /// Several nodes write one PostgreSQL database.
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let harness = super::Harness::new(super::Engine::Postgres).await;
                super::$name(harness.store(), harness.sink(), harness.open_second().await).await;
                harness.finish().await;
            }
        }
    )+};
}

/// Asserts `$op` is rejected with exactly `$want`, and that it appended and
/// published no event.
macro_rules! assert_rejected {
    ($store:expr, $sink:expr, $op:expr, $want:expr $(,)?) => {{
        let head_before = $store.head().await.unwrap();
        let published_before = $sink.len();
        match $op.await {
            Err(StoreError::Rejected(got)) => {
                assert_eq!(got, $want, "wrong rejection from {}", stringify!($op))
            }
            other => panic!("{}: expected Rejected({:?}), got {:?}", stringify!($op), $want, other),
        }
        assert_eq!(
            $store.head().await.unwrap(),
            head_before,
            "rejected {} appended events",
            stringify!($op)
        );
        assert_eq!(
            $sink.len(),
            published_before,
            "rejected {} published events",
            stringify!($op)
        );
    }};
}

conformance!(
    users_create_and_find,
    users_duplicates_rejected,
    users_qiao_id,
    users_update_profile,
    users_discover,
    claims_and_codes,
    sessions_lifecycle,
    contacts_request,
    contacts_accept,
    contacts_decline,
    contacts_remark_and_delete,
    contacts_block,
    groups_create_and_invite,
    groups_governance,
    groups_full,
    messages_seq_has_no_gaps,
    messages_idempotent_send,
    messages_history_paging,
    messages_recall,
    messages_receipts,
    messages_conversation_views,
    messages_reply_and_mentions,
    uploads_access,
    sync_membership_window,
    sync_paging,
    concurrent_sends,
    ledger_posting_and_floors,
    ledger_idempotency,
    ledger_pending_settles_once,
    ledger_concurrent_transfers_conserve,
    ledger_money_going_round_never_exhausts_shared_accounts,
    ledger_reports_accounts_near_the_numeric_limit,
    ledger_a_batch_checks_keys_against_itself,
    ledger_daily_caps_count_in_the_writer,
    ledger_a_retry_through_another_shard_is_the_same_request,
    payments_a_member_opens_once_even_within_one_batch,
    payments_transfer_lifecycle,
    payments_red_packet_concurrent_opens,
    payments_expire_refunds_the_rest,
    pins_lock_and_limit,
    merchants_orders_pay_refund_and_reconcile,
    merchants_a_crowd_pays_one_order_once,
    merchants_payment_codes_work_once,
    merchants_notifications_lease_and_retry,
);
conformance_two_writers!(two_writers_share_one_database);

// ---------------------------------------------------------------- helpers

const T0: i64 = 1_700_000_000_000;

fn phone(n: u32) -> String {
    format!("+86139{n:08}")
}

fn new_user(n: u32, name: &str) -> NewUser {
    let phone = phone(n);
    NewUser {
        phone_hash: Some(Phone::parse(&phone).unwrap().discovery_hash()),
        phone: Some(phone),
        email: Some(format!("user{n}@example.com")),
        password_hash: format!("$argon2id$fake${n}"),
        display_name: name.to_owned(),
        region: Region::Cn,
        language: Language::ZhCn,
        now_ms: T0,
    }
}

/// Proves a claimed phone or email with a code whose hash the test chose.
async fn prove(store: &dyn Store, user: UserId, kind: IdentifierKind) -> UserRecord {
    store.record_code(user, kind, "code-hash", T0).await.unwrap();
    let claims = store.claims(user).await.unwrap();
    let claim = claims.iter().find(|c| c.kind == kind).unwrap();
    let phone_hash = (kind == IdentifierKind::Phone).then(|| Phone::parse(&claim.value).unwrap().discovery_hash());
    match store
        .confirm_claim(user, kind, "code-hash", phone_hash.as_deref(), T0)
        .await
        .unwrap()
    {
        Confirmed::Proven(user) => user,
        Confirmed::Wrong => panic!("the code was right"),
    }
}

/// A user whose phone and email are proven.
async fn mk_user(store: &dyn Store, n: u32) -> UserRecord {
    let user = store.create_user(new_user(n, &format!("User {n}"))).await.unwrap();
    prove(store, user.id, IdentifierKind::Phone).await;
    prove(store, user.id, IdentifierKind::Email).await
}

async fn mk_users(store: &dyn Store, ns: std::ops::RangeInclusive<u32>) -> Vec<UserId> {
    let mut ids = Vec::new();
    for n in ns {
        ids.push(mk_user(store, n).await.id);
    }
    ids
}

/// Makes `a` and `b` friends; returns their direct conversation.
async fn befriend(store: &dyn Store, a: UserId, b: UserId) -> ConversationId {
    let request = store.request_friend(a, b, "hi", T0).await.unwrap();
    store.accept_friend(b, request.id, T0).await.unwrap().conversation_id
}

fn text(body: &str) -> Draft {
    Draft::new(Content::text(body).unwrap(), None, Vec::new()).unwrap()
}

fn cmid(raw: &str) -> ClientMsgId {
    ClientMsgId::parse(raw).unwrap()
}

async fn say(store: &dyn Store, sender: UserId, conv: ConversationId, client_id: &str, body: &str) -> MessageRecord {
    say_at(store, sender, conv, client_id, body, T0).await
}

async fn say_at(
    store: &dyn Store,
    sender: UserId,
    conv: ConversationId,
    client_id: &str,
    body: &str,
    now_ms: i64,
) -> MessageRecord {
    let sent = store
        .send(sender, conv, cmid(client_id), text(body), now_ms)
        .await
        .unwrap();
    assert!(sent.created, "{client_id} was not created");
    sent.message
}

fn seqs(messages: &[MessageRecord]) -> Vec<i64> {
    messages.iter().map(|m| m.seq).collect()
}

fn json(data: &str) -> Json {
    serde_json::from_str(data).unwrap()
}

fn sorted(ids: &[UserId]) -> Vec<UserId> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids
}

fn assert_increasing(positions: impl Iterator<Item = StreamPos>, what: &str) {
    let mut last = StreamPos(0);
    for pos in positions {
        assert!(pos > last, "{what}: position {pos:?} follows {last:?}");
        last = pos;
    }
}

async fn member_ids(store: &dyn Store, viewer: UserId, conv: ConversationId) -> BTreeSet<UserId> {
    store
        .conversation(viewer, conv)
        .await
        .unwrap()
        .1
        .iter()
        .map(|m| m.user.id)
        .collect()
}

async fn role_of(store: &dyn Store, viewer: UserId, conv: ConversationId, user: UserId) -> Option<Role> {
    let (_, members) = store.conversation(viewer, conv).await.unwrap();
    members.iter().find(|m| m.user.id == user).map(|m| m.role)
}

async fn all_events(store: &dyn Store, user: UserId) -> Vec<EventRecord> {
    store.events_since(user, StreamPos(0), 1_000_000).await.unwrap()
}

fn kinds_in(events: &[EventRecord], conv: ConversationId) -> Vec<EventKind> {
    events
        .iter()
        .filter(|e| e.conversation_id == Some(conv))
        .map(|e| e.kind)
        .collect()
}

/// What a user's sync returns must be exactly what the sink published to them:
/// same positions, kinds, conversations, times and payloads, same order.
async fn assert_sync_matches_sink(store: &dyn Store, sink: &RecordingSink, users: &[UserId]) {
    let published = sink.all();
    for &user in users {
        let synced = all_events(store, user).await;
        assert_increasing(synced.iter().map(|e| e.pos), "events_since");
        let expected: Vec<_> = published.iter().filter(|e| e.recipients.contains(&user)).collect();
        let got: Vec<_> = synced
            .iter()
            .map(|e| (e.pos, e.kind, e.conversation_id, e.at_ms))
            .collect();
        let want: Vec<_> = expected
            .iter()
            .map(|e| (e.pos, e.kind, e.conversation_id, e.at_ms))
            .collect();
        assert_eq!(
            got, want,
            "user {user}: events_since differs from what was published to them"
        );
        for (s, e) in synced.iter().zip(expected) {
            // A recall rewrites the stored payload of `message.new`; live delivery had the original.
            let recalled = s.kind == EventKind::MessageNew && json(&s.data)["recalled"] == Json::Bool(true);
            if !recalled {
                assert_eq!(s.data, *e.data, "user {user}: payload at {:?}", s.pos);
            }
        }
    }
}

// ---------------------------------------------------------------- users

async fn users_create_and_find(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let phone_a = phone(1);
    let a = store
        .create_user(NewUser {
            phone: Some(phone_a.clone()),
            email: Some("alice@example.com".into()),
            phone_hash: Some(Phone::parse(&phone_a).unwrap().discovery_hash()),
            password_hash: "hash-a".into(),
            display_name: "Alice".into(),
            region: Region::Cn,
            language: Language::ZhCn,
            now_ms: T0,
        })
        .await
        .unwrap();
    // Claimed, not proven: the account has them only once their codes come back.
    assert_eq!((a.phone.clone(), a.email.clone()), (None, None));
    let claims: Vec<(IdentifierKind, String)> = store
        .claims(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.kind, c.value))
        .collect();
    assert_eq!(
        claims,
        vec![
            (IdentifierKind::Email, "alice@example.com".to_owned()),
            (IdentifierKind::Phone, phone_a.clone())
        ]
    );
    assert_eq!(store.find_user(UserLookup::Phone(phone_a.clone())).await.unwrap(), None);
    prove(&*store, a.id, IdentifierKind::Phone).await;
    let a = prove(&*store, a.id, IdentifierKind::Email).await;
    assert_eq!(a.phone.as_deref(), Some(phone_a.as_str()));
    assert_eq!(a.email.as_deref(), Some("alice@example.com"));
    assert!(store.claims(a.id).await.unwrap().is_empty());
    assert_eq!(a.password_hash, "hash-a");
    assert_eq!(a.display_name, "Alice");
    assert_eq!((a.region, a.language), (Region::Cn, Language::ZhCn));
    assert_eq!((a.qiao_id.clone(), a.avatar.clone(), a.created_at_ms), (None, None, T0));

    // Email only, and a second user without a phone: NULLs are not duplicates.
    let email_only = |email: &str, name: &str| NewUser {
        phone: None,
        email: Some(email.into()),
        phone_hash: None,
        password_hash: "hash".into(),
        display_name: name.into(),
        region: Region::Us,
        language: Language::EnUs,
        now_ms: T0 + 1,
    };
    let b = store.create_user(email_only("bob@example.com", "Bob")).await.unwrap();
    let b = prove(&*store, b.id, IdentifierKind::Email).await;
    let c = store
        .create_user(email_only("carol@example.com", "Carol"))
        .await
        .unwrap();
    let c = prove(&*store, c.id, IdentifierKind::Email).await;
    assert_eq!(b.phone, None);
    assert_eq!((b.region, b.language), (Region::Us, Language::EnUs));
    assert!(a.id != b.id && b.id != c.id && a.id != c.id);

    assert_eq!(store.user(a.id).await.unwrap(), a);
    assert_eq!(
        store.users(&[c.id, a.id, UserId(999_999), b.id]).await.unwrap(),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert!(store.users(&[]).await.unwrap().is_empty());

    assert_eq!(
        store.find_user(UserLookup::Phone(phone_a)).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        store
            .find_user(UserLookup::Email("bob@example.com".into()))
            .await
            .unwrap(),
        Some(b.clone())
    );
    assert_eq!(store.find_user(UserLookup::Phone(phone(2))).await.unwrap(), None);
    assert_eq!(
        store
            .find_user(UserLookup::Email("nobody@example.com".into()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.find_user(UserLookup::QiaoId("alice_q".into())).await.unwrap(),
        None
    );
    let a = store.set_qiao_id(a.id, "alice_q").await.unwrap();
    assert_eq!(
        store.find_user(UserLookup::QiaoId("alice_q".into())).await.unwrap(),
        Some(a.clone())
    );

    assert_rejected!(store, sink, store.user(UserId(999_999)), Error::UserNotFound);
    // Accounts are not events.
    assert_eq!(sink.len(), 0);
}

async fn users_duplicates_rejected(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let a = mk_user(&*store, 1).await;

    let mut same_phone = new_user(2, "Phone Thief");
    same_phone.phone = a.phone.clone();
    assert_rejected!(store, sink, store.create_user(same_phone), Error::PhoneTaken);
    assert_eq!(
        store
            .find_user(UserLookup::Email("user2@example.com".into()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.find_user(UserLookup::Phone(phone(1))).await.unwrap(),
        Some(a.clone())
    );

    let mut same_email = new_user(3, "Email Thief");
    same_email.email = a.email.clone();
    assert_rejected!(store, sink, store.create_user(same_email), Error::EmailTaken);
    assert_eq!(store.find_user(UserLookup::Phone(phone(3))).await.unwrap(), None);
    assert_eq!(
        store
            .find_user(UserLookup::Email("user1@example.com".into()))
            .await
            .unwrap(),
        Some(a.clone())
    );

    // Neither rejection burned anything a later registration could trip over.
    let b = mk_user(&*store, 2).await;
    assert_eq!(store.find_user(UserLookup::Phone(phone(2))).await.unwrap(), Some(b));
    assert_eq!(store.user(a.id).await.unwrap(), a);
}

async fn users_qiao_id(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let a = mk_user(&*store, 1).await;
    let b = mk_user(&*store, 2).await;

    let a_set = store.set_qiao_id(a.id, "alice_q").await.unwrap();
    assert_eq!(a_set.qiao_id.as_deref(), Some("alice_q"));
    assert_eq!(
        a_set,
        UserRecord {
            qiao_id: Some("alice_q".into()),
            ..a.clone()
        }
    );

    assert_rejected!(store, sink, store.set_qiao_id(a.id, "alice_2"), Error::QiaoIdAlreadySet);
    assert_eq!(store.user(a.id).await.unwrap().qiao_id.as_deref(), Some("alice_q"));
    assert_eq!(
        store.find_user(UserLookup::QiaoId("alice_2".into())).await.unwrap(),
        None
    );

    assert_rejected!(store, sink, store.set_qiao_id(b.id, "alice_q"), Error::QiaoIdTaken);
    assert_eq!(store.user(b.id).await.unwrap().qiao_id, None);
    assert_eq!(
        store
            .find_user(UserLookup::QiaoId("alice_q".into()))
            .await
            .unwrap()
            .map(|u| u.id),
        Some(a.id)
    );

    assert_rejected!(
        store,
        sink,
        store.set_qiao_id(UserId(999_999), "ghost_q"),
        Error::UserNotFound
    );
    assert_eq!(
        store.find_user(UserLookup::QiaoId("ghost_q".into())).await.unwrap(),
        None
    );

    let b_set = store.set_qiao_id(b.id, "bob_q").await.unwrap();
    assert_eq!(b_set.qiao_id.as_deref(), Some("bob_q"));
}

async fn users_update_profile(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let a = mk_user(&*store, 1).await;
    let avatar = "a".repeat(64);

    let updated = store
        .update_profile(
            a.id,
            ProfileUpdate {
                display_name: Some("Alice W".into()),
                avatar: Some(Some(avatar.clone())),
                language: Some(Language::EnUs),
            },
        )
        .await
        .unwrap();
    let expected = UserRecord {
        display_name: "Alice W".into(),
        avatar: Some(avatar.clone()),
        language: Language::EnUs,
        ..a.clone()
    };
    assert_eq!(updated, expected);
    assert_eq!(store.user(a.id).await.unwrap(), expected);

    // An empty update changes nothing.
    assert_eq!(
        store.update_profile(a.id, ProfileUpdate::default()).await.unwrap(),
        expected
    );

    // `Some(None)` clears the avatar and leaves the rest.
    let cleared = store
        .update_profile(
            a.id,
            ProfileUpdate {
                avatar: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        cleared,
        UserRecord {
            avatar: None,
            ..expected.clone()
        }
    );

    assert_rejected!(
        store,
        sink,
        store.update_profile(
            UserId(999_999),
            ProfileUpdate {
                display_name: Some("Ghost".into()),
                ..Default::default()
            }
        ),
        Error::UserNotFound
    );
    assert_eq!(store.user(a.id).await.unwrap(), cleared);
}

async fn users_discover(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    let a = mk_user(&*store, 1).await;
    let b = mk_user(&*store, 2).await;
    let mut no_phone = new_user(3, "No Phone");
    (no_phone.phone, no_phone.phone_hash) = (None, None);
    store.create_user(no_phone).await.unwrap();
    // A claimed, unproven number is never discovered.
    store.create_user(new_user(4, "Unproven")).await.unwrap();

    let hash = |n| Phone::parse(&phone(n)).unwrap().discovery_hash();
    let found = store
        .discover(&[hash(2), hash(1), hash(9), "deadbeef".into()])
        .await
        .unwrap();
    assert_eq!(found, vec![(hash(1), a.clone()), (hash(2), b.clone())]);
    assert_eq!(store.discover(&[hash(2)]).await.unwrap(), vec![(hash(2), b)]);
    assert!(store.discover(&[]).await.unwrap().is_empty());
    assert!(store.discover(&[hash(3)]).await.unwrap().is_empty());
    assert!(store.discover(&[hash(4)]).await.unwrap().is_empty());
}

async fn claims_and_codes(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    use qiao_domain::verification::{CODE_TTL_MS, MAX_CODE_TRIES, RESEND_AFTER_MS};
    let a = store.create_user(new_user(1, "A")).await.unwrap().id;
    let b = store.create_user(new_user(2, "B")).await.unwrap().id;
    let phone_a = phone(1);
    assert_rejected!(
        store,
        sink,
        store.confirm_claim(a, IdentifierKind::Phone, "x", None, T0),
        Error::VerificationCodeExpired
    );
    store.record_code(a, IdentifierKind::Phone, "h1", T0).await.unwrap();
    assert_rejected!(
        store,
        sink,
        store.record_code(a, IdentifierKind::Phone, "h2", T0 + RESEND_AFTER_MS - 1),
        Error::CodeSentRecently
    );
    // Wrong codes are counted (an answer, not an error, so the count stays).
    for _ in 0..MAX_CODE_TRIES {
        let wrong = store
            .confirm_claim(a, IdentifierKind::Phone, "bad", None, T0 + 1)
            .await
            .unwrap();
        assert_eq!(wrong, Confirmed::Wrong);
    }
    assert_rejected!(
        store,
        sink,
        store.confirm_claim(a, IdentifierKind::Phone, "h1", None, T0 + 2),
        Error::VerificationCodeExpired
    );
    // A new code starts afresh, and expires in its time.
    store
        .record_code(a, IdentifierKind::Phone, "h3", T0 + RESEND_AFTER_MS)
        .await
        .unwrap();
    assert_rejected!(
        store,
        sink,
        store.confirm_claim(a, IdentifierKind::Phone, "h3", None, T0 + RESEND_AFTER_MS + CODE_TTL_MS),
        Error::VerificationCodeExpired
    );
    store
        .record_code(a, IdentifierKind::Phone, "h4", T0 + 2 * RESEND_AFTER_MS)
        .await
        .unwrap();
    // B claims A's number too; A proves it first; B's proof is then refused.
    let mut same = new_user(3, "B2");
    same.phone = Some(phone_a.clone());
    let b2 = store.create_user(same).await.unwrap().id;
    store.record_code(b2, IdentifierKind::Phone, "hb", T0).await.unwrap();
    let proven = store
        .confirm_claim(
            a,
            IdentifierKind::Phone,
            "h4",
            Some("hash-of-a"),
            T0 + 2 * RESEND_AFTER_MS + 1,
        )
        .await
        .unwrap();
    assert!(matches!(proven, Confirmed::Proven(ref u) if u.phone.as_deref() == Some(phone_a.as_str())));
    assert_rejected!(
        store,
        sink,
        store.confirm_claim(b2, IdentifierKind::Phone, "hb", Some("hash-of-a"), T0 + 1),
        Error::PhoneTaken
    );
    let mut email_only = new_user(4, "Mail");
    (email_only.phone, email_only.phone_hash) = (None, None);
    let mail = store.create_user(email_only).await.unwrap().id;
    assert_rejected!(
        store,
        sink,
        store.record_code(mail, IdentifierKind::Phone, "x", T0),
        Error::NothingToVerify
    );
    assert_eq!(store.claims(b).await.unwrap().len(), 2, "B's own claims are untouched");
    // Daily budgets.
    assert_eq!(store.spend_budget("lookup:user:1", 7, 3, 5).await.unwrap(), 2);
    assert_rejected!(
        store,
        sink,
        store.spend_budget("lookup:user:1", 7, 3, 5),
        Error::LookupBudgetSpent
    );
    assert_eq!(store.spend_budget("lookup:user:1", 7, 2, 5).await.unwrap(), 0);
    assert_eq!(
        store.spend_budget("lookup:user:1", 8, 5, 5).await.unwrap(),
        0,
        "a new day"
    );
    assert_eq!(
        store.spend_budget("lookup:user:2", 7, 1, 5).await.unwrap(),
        4,
        "another budget"
    );
}

// ---------------------------------------------------------------- sessions

async fn sessions_lifecycle(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let a = mk_user(&*store, 1).await.id;
    let b = mk_user(&*store, 2).await.id;

    let a1 = store.create_session(a, "tok-a1", "Phone", T0).await.unwrap();
    let a2 = store.create_session(a, "tok-a2", "Laptop", T0 + 1).await.unwrap();
    let b1 = store.create_session(b, "tok-b1", "Tablet", T0 + 2).await.unwrap();
    assert_eq!(
        (
            a1.user_id,
            a1.device_name.as_str(),
            a1.created_at_ms,
            a1.last_seen_at_ms
        ),
        (a, "Phone", T0, T0)
    );
    assert_ne!(a1.id, a2.id);

    assert_eq!(store.session_by_token("tok-a1").await.unwrap(), Some(a1.clone()));
    assert_eq!(store.session_by_token("tok-b1").await.unwrap(), Some(b1.clone()));
    assert_eq!(store.session_by_token("tok-nope").await.unwrap(), None);
    assert_eq!(store.sessions(a).await.unwrap(), vec![a1.clone(), a2.clone()]);
    assert_eq!(store.sessions(b).await.unwrap(), vec![b1.clone()]);

    store.touch_session(a2.id, T0 + 500).await.unwrap();
    let a2 = store.session_by_token("tok-a2").await.unwrap().unwrap();
    assert_eq!((a2.created_at_ms, a2.last_seen_at_ms), (T0 + 1, T0 + 500));

    // Someone else's session, or none at all, is not found.
    assert_rejected!(store, sink, store.revoke_session(a, b1.id, T0), Error::NotFound);
    assert_eq!(store.session_by_token("tok-b1").await.unwrap(), Some(b1.clone()));
    assert_rejected!(
        store,
        sink,
        store.revoke_session(a, SessionId(999_999), T0),
        Error::NotFound
    );
    assert_eq!(store.sessions(a).await.unwrap().len(), 2);

    store.revoke_session(a, a1.id, T0).await.unwrap();
    assert_eq!(store.session_by_token("tok-a1").await.unwrap(), None);
    assert_eq!(store.sessions(a).await.unwrap(), vec![a2.clone()]);
    assert_rejected!(store, sink, store.revoke_session(a, a1.id, T0), Error::NotFound);
    assert_eq!(store.sessions(b).await.unwrap(), vec![b1.clone()]);

    // The account's devices hear of each new sign-in and each end, and nobody else does.
    let mark = sink.len();
    let a3 = store.create_session(a, "tok-a3", "Watch", T0 + 600).await.unwrap();
    store.revoke_session(a, a3.id, T0 + 601).await.unwrap();
    let heard: Vec<(EventKind, Vec<UserId>, i64)> = sink
        .since(mark)
        .iter()
        .map(|e| {
            let data: serde_json::Value = serde_json::from_str(&e.data).unwrap();
            (e.kind, e.recipients.to_vec(), data["id"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(
        heard,
        vec![
            (EventKind::SessionNew, vec![a], a3.id.0),
            (EventKind::SessionEnded, vec![a], a3.id.0)
        ]
    );

    // Idle sessions end together; a session seen since stays.
    store.touch_session(b1.id, T0 + 10_000).await.unwrap();
    let ended = store.expire_sessions(T0 + 1_000, T0 + 20_000).await.unwrap();
    assert_eq!(ended.iter().map(|s| s.id).collect::<Vec<_>>(), vec![a2.id]);
    assert_eq!(store.session_by_token("tok-a2").await.unwrap(), None);
    assert!(store.session_by_token("tok-b1").await.unwrap().is_some());
    assert!(store.expire_sessions(T0 + 1_000, T0 + 20_001).await.unwrap().is_empty());
}

// ---------------------------------------------------------------- contacts

async fn contacts_request(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let a = mk_user(&*store, 1).await;
    let b = mk_user(&*store, 2).await;

    assert_rejected!(
        store,
        sink,
        store.request_friend(a.id, a.id, "me?", T0),
        Error::CannotAddSelf
    );
    assert_rejected!(
        store,
        sink,
        store.request_friend(a.id, UserId(999_999), "hi", T0),
        Error::UserNotFound
    );
    assert!(store.friend_requests(a.id).await.unwrap().is_empty());

    let mark = sink.len();
    let request = store.request_friend(a.id, b.id, "hello", T0 + 10).await.unwrap();
    assert_eq!(
        (
            request.from.id,
            request.to.id,
            request.greeting.as_str(),
            request.status,
            request.created_at_ms
        ),
        (a.id, b.id, "hello", RequestStatus::Pending, T0 + 10)
    );
    assert_eq!(request.from, a);
    // Both sides' devices hear of it, each alone.
    let published = sink.since(mark);
    assert_eq!(published.len(), 2);
    let mut heard = Vec::new();
    for event in &published {
        assert_eq!((event.kind, event.conversation_id), (EventKind::FriendRequest, None));
        assert_eq!(json(&event.data)["id"], Json::from(request.id.0));
        assert_eq!(event.recipients.len(), 1);
        heard.push(event.recipients[0]);
    }
    assert_eq!(sorted(&heard), sorted(&[a.id, b.id]));

    assert_eq!(store.friend_requests(b.id).await.unwrap(), vec![request.clone()]);
    assert_eq!(store.friend_requests(a.id).await.unwrap(), vec![request.clone()]);

    // Asking again refreshes the pending request instead of adding one.
    let again = store.request_friend(a.id, b.id, "hello again", T0 + 20).await.unwrap();
    assert_eq!(again.id, request.id);
    assert_eq!((again.greeting.as_str(), again.created_at_ms), ("hello again", T0 + 20));
    assert_eq!(store.friend_requests(b.id).await.unwrap(), vec![again]);
    assert!(store.contacts(a.id).await.unwrap().is_empty());
}

async fn contacts_accept(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let a = mk_user(&*store, 1).await.id;
    let b = mk_user(&*store, 2).await.id;
    let c = mk_user(&*store, 3).await.id;

    let request = store.request_friend(a, b, "hi", T0).await.unwrap();
    let mark = sink.len();
    let friendship = store.accept_friend(b, request.id, T0 + 5).await.unwrap();
    let conv = friendship.conversation_id;
    assert_eq!(
        (friendship.request.id, friendship.request.status),
        (request.id, RequestStatus::Accepted)
    );

    // Friends both ways, sharing the direct conversation.
    let a_contacts = store.contacts(a).await.unwrap();
    let b_contacts = store.contacts(b).await.unwrap();
    assert_eq!(a_contacts.len(), 1);
    assert_eq!(b_contacts.len(), 1);
    assert_eq!(
        (
            a_contacts[0].user.id,
            a_contacts[0].conversation_id,
            a_contacts[0].since_ms
        ),
        (b, conv, T0 + 5)
    );
    assert_eq!(
        (
            b_contacts[0].user.id,
            b_contacts[0].conversation_id,
            b_contacts[0].remark.clone()
        ),
        (a, conv, None)
    );

    let (view, members) = store.conversation(a, conv).await.unwrap();
    assert_eq!(
        (view.kind, view.member_count, view.last_seq, view.unread),
        (Kind::Direct, 2, 0, 0)
    );
    assert_eq!(view.peer.map(|p| p.id), Some(b));
    assert_eq!(
        members.iter().map(|m| (m.user.id, m.role)).collect::<BTreeSet<_>>(),
        BTreeSet::from([(a, Role::Member), (b, Role::Member)])
    );
    assert_eq!(store.conversation(b, conv).await.unwrap().0.peer.map(|p| p.id), Some(a));
    assert_eq!(
        store
            .conversations(b)
            .await
            .unwrap()
            .iter()
            .map(|v| v.id)
            .collect::<Vec<_>>(),
        vec![conv]
    );
    assert_eq!(store.open_direct(a, b, T0 + 6).await.unwrap(), conv);
    assert_eq!(store.open_direct(b, a, T0 + 6).await.unwrap(), conv);

    // Events: the conversation for both, then friend.accepted to each alone.
    let published = sink.since(mark);
    assert_eq!(
        published.iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![
            EventKind::ConversationCreated,
            EventKind::FriendAccepted,
            EventKind::FriendAccepted
        ]
    );
    assert_eq!(published[0].conversation_id, Some(conv));
    assert_eq!(sorted(&published[0].recipients), sorted(&[a, b]));
    let mut accepted_to = Vec::new();
    for event in &published[1..] {
        assert_eq!(event.conversation_id, Some(conv));
        assert_eq!(event.recipients.len(), 1);
        let me = event.recipients[0];
        let data = json(&event.data);
        let friend = if me == a { b } else { a };
        assert_eq!(
            data["user_id"],
            Json::from(friend.0),
            "friend.accepted to {me} names the other"
        );
        assert_eq!(data["conversation_id"], Json::from(conv.0));
        assert_eq!(data["request_id"], Json::from(request.id.0));
        accepted_to.push(me);
    }
    assert_eq!(sorted(&accepted_to), sorted(&[a, b]));

    // Accepting twice.
    assert_rejected!(
        store,
        sink,
        store.accept_friend(b, request.id, T0 + 7),
        Error::FriendRequestHandled
    );
    assert_rejected!(
        store,
        sink,
        store.decline_friend(b, request.id, T0 + 7),
        Error::FriendRequestHandled
    );
    assert_eq!(store.contacts(a).await.unwrap().len(), 1);
    assert_eq!(store.conversations(a).await.unwrap().len(), 1);
    assert_rejected!(
        store,
        sink,
        store.request_friend(a, b, "again?", T0 + 8),
        Error::AlreadyFriends
    );

    // Only the addressee may answer.
    let to_b = store.request_friend(c, b, "hey b", T0 + 10).await.unwrap();
    assert_rejected!(
        store,
        sink,
        store.accept_friend(a, to_b.id, T0 + 11),
        Error::FriendRequestNotFound
    );
    assert_rejected!(
        store,
        sink,
        store.accept_friend(c, to_b.id, T0 + 11),
        Error::FriendRequestNotFound
    );
    assert_rejected!(
        store,
        sink,
        store.decline_friend(a, to_b.id, T0 + 11),
        Error::FriendRequestNotFound
    );
    assert_rejected!(
        store,
        sink,
        store.accept_friend(b, qiao_domain::ids::FriendRequestId(999_999), T0 + 11),
        Error::FriendRequestNotFound
    );
    let pending = store.friend_requests(b).await.unwrap();
    assert_eq!(
        pending.iter().find(|r| r.id == to_b.id).map(|r| r.status),
        Some(RequestStatus::Pending)
    );
    assert!(store.contacts(c).await.unwrap().is_empty());
    assert!(store.conversations(c).await.unwrap().is_empty());
    assert_rejected!(store, sink, store.open_direct(a, c, T0 + 12), Error::NotFriends);

    // A request the other way is answered by the acceptance too.
    let c_to_a = store.request_friend(c, a, "hi a", T0 + 20).await.unwrap();
    let a_to_c = store.request_friend(a, c, "hi c", T0 + 21).await.unwrap();
    store.accept_friend(a, c_to_a.id, T0 + 22).await.unwrap();
    assert_rejected!(
        store,
        sink,
        store.accept_friend(c, a_to_c.id, T0 + 23),
        Error::FriendRequestHandled
    );
    assert_eq!(store.contacts(c).await.unwrap().len(), 1);
}

async fn contacts_decline(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let a = mk_user(&*store, 1).await.id;
    let b = mk_user(&*store, 2).await.id;

    let request = store.request_friend(a, b, "hi", T0).await.unwrap();
    let mark = sink.len();
    store.decline_friend(b, request.id, T0 + 1).await.unwrap();
    let published = sink.since(mark);
    assert_eq!(published.len(), 1);
    assert_eq!(
        (published[0].kind, &*published[0].recipients),
        (EventKind::FriendDeclined, &[b][..])
    );
    assert_eq!(json(&published[0].data)["user_id"], Json::from(a.0));

    let requests = store.friend_requests(b).await.unwrap();
    assert_eq!(
        requests.iter().map(|r| (r.id, r.status)).collect::<Vec<_>>(),
        vec![(request.id, RequestStatus::Declined)]
    );

    assert_rejected!(
        store,
        sink,
        store.accept_friend(b, request.id, T0 + 2),
        Error::FriendRequestHandled
    );
    assert_rejected!(
        store,
        sink,
        store.decline_friend(b, request.id, T0 + 2),
        Error::FriendRequestHandled
    );
    assert!(store.contacts(a).await.unwrap().is_empty());
    assert!(store.contacts(b).await.unwrap().is_empty());
    assert!(store.conversations(a).await.unwrap().is_empty());

    // The asker may try again: a fresh pending request.
    let again = store.request_friend(a, b, "please", T0 + 3).await.unwrap();
    assert_ne!(again.id, request.id);
    assert_eq!(again.status, RequestStatus::Pending);
    store.accept_friend(b, again.id, T0 + 4).await.unwrap();
    assert_eq!(store.contacts(a).await.unwrap().len(), 1);
}

async fn contacts_remark_and_delete(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let a = mk_user(&*store, 1).await.id;
    let b = mk_user(&*store, 2).await.id;
    let c = mk_user(&*store, 3).await.id;
    let conv = befriend(&*store, a, b).await;
    say(&*store, a, conv, "m1", "hi bob").await;

    let contact = store.set_remark(a, b, Some("Bobby")).await.unwrap();
    assert_eq!((contact.user.id, contact.remark.as_deref()), (b, Some("Bobby")));
    assert_eq!(store.contacts(a).await.unwrap()[0].remark.as_deref(), Some("Bobby"));
    assert_eq!(store.contacts(b).await.unwrap()[0].remark, None);
    let view = store.conversation(a, conv).await.unwrap().0;
    assert_eq!(view.peer_remark.as_deref(), Some("Bobby"));
    assert_eq!(store.conversation(b, conv).await.unwrap().0.peer_remark, None);

    assert_rejected!(store, sink, store.set_remark(a, c, Some("Stranger")), Error::NotFriends);
    assert!(store.contacts(a).await.unwrap().iter().all(|k| k.user.id != c));

    let cleared = store.set_remark(a, b, None).await.unwrap();
    assert_eq!(cleared.remark, None);

    let mark = sink.len();
    store.delete_contact(a, b, T0 + 100).await.unwrap();
    let published = sink.since(mark);
    assert_eq!(published.len(), 1);
    assert_eq!(
        (published[0].kind, &*published[0].recipients),
        (EventKind::FriendRemoved, &[a][..])
    );
    assert!(store.contacts(a).await.unwrap().is_empty());
    assert!(store.contacts(b).await.unwrap().is_empty());

    // The conversation stays, but nobody can send in it.
    assert_rejected!(
        store,
        sink,
        store.send(a, conv, cmid("m2"), text("still there?"), T0 + 101),
        Error::NotFriends
    );
    assert_rejected!(
        store,
        sink,
        store.send(b, conv, cmid("m3"), text("hello?"), T0 + 101),
        Error::NotFriends
    );
    assert_eq!(seqs(&store.history(a, conv, None, 10).await.unwrap()), vec![1]);
    assert_rejected!(store, sink, store.delete_contact(a, b, T0 + 102), Error::NotFriends);
    assert_rejected!(store, sink, store.open_direct(a, b, T0 + 102), Error::NotFriends);

    // Befriending again reuses the conversation and its numbering.
    assert_eq!(befriend(&*store, b, a).await, conv);
    assert_eq!(say(&*store, b, conv, "m4", "back").await.seq, 2);
}

async fn contacts_block(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let a = mk_user(&*store, 1).await.id;
    let b = mk_user(&*store, 2).await.id;
    let c = mk_user(&*store, 3).await.id;
    let conv = befriend(&*store, a, b).await;
    say(&*store, b, conv, "b1", "hi").await;

    assert_rejected!(store, sink, store.block(a, a, T0), Error::CannotAddSelf);
    assert_rejected!(store, sink, store.block(a, UserId(999_999), T0), Error::UserNotFound);
    assert!(store.blocked(a).await.unwrap().is_empty());

    store.block(a, c, T0 + 1).await.unwrap();
    assert_eq!(store.blocked(a).await.unwrap(), vec![c]);
    assert!(store.blocked(c).await.unwrap().is_empty());
    assert_rejected!(
        store,
        sink,
        store.request_friend(c, a, "let me in", T0 + 2),
        Error::Blocked
    );
    assert_rejected!(
        store,
        sink,
        store.request_friend(a, c, "changed my mind", T0 + 2),
        Error::Blocked
    );
    assert!(store
        .friend_requests(a)
        .await
        .unwrap()
        .iter()
        .all(|r| r.from.id != c && r.to.id != c));

    store.block(a, b, T0 + 3).await.unwrap();
    store.block(a, b, T0 + 4).await.unwrap(); // blocking twice is harmless
    assert_eq!(store.blocked(a).await.unwrap(), vec![c, b]);
    assert_rejected!(
        store,
        sink,
        store.send(b, conv, cmid("b2"), text("why?"), T0 + 5),
        Error::Blocked
    );
    assert_rejected!(
        store,
        sink,
        store.send(a, conv, cmid("a1"), text("bye"), T0 + 5),
        Error::Blocked
    );
    assert_eq!(seqs(&store.history(a, conv, None, 10).await.unwrap()), vec![1]);
    // Still friends: a block is not a deletion.
    assert_eq!(store.contacts(b).await.unwrap().len(), 1);

    store.unblock(a, b).await.unwrap();
    assert_eq!(store.blocked(a).await.unwrap(), vec![c]);
    assert_eq!(say(&*store, b, conv, "b2", "why?").await.seq, 2);
    assert_eq!(say(&*store, a, conv, "a1", "sorry").await.seq, 3);
}

// ---------------------------------------------------------------- groups

async fn groups_create_and_invite(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [o, f1, f2, f3, s] = mk_users(&*store, 1..=5).await[..] else {
        unreachable!()
    };
    let direct_f1 = befriend(&*store, o, f1).await;
    befriend(&*store, o, f2).await;
    befriend(&*store, o, f3).await;
    let conversations_before = store.conversations(o).await.unwrap();

    assert_rejected!(store, sink, store.create_group(o, "G", &[f1, s], T0), Error::NotFriends);
    assert_rejected!(
        store,
        sink,
        store.create_group(o, "G", &[f1, UserId(999_999)], T0),
        Error::UserNotFound
    );
    assert_eq!(store.conversations(o).await.unwrap(), conversations_before);
    assert!(store
        .conversations(f1)
        .await
        .unwrap()
        .iter()
        .all(|v| v.kind == Kind::Direct));

    let mark = sink.len();
    // Duplicates and the owner in the list are fine.
    let g = store.create_group(o, "G", &[f1, f2, o, f1], T0 + 1).await.unwrap();
    let (view, members) = store.conversation(f1, g).await.unwrap();
    assert_eq!(
        (view.kind, view.name.as_str(), view.owner_id, view.member_count),
        (Kind::Group, "G", Some(o), 3)
    );
    assert_eq!(view.peer, None);
    let roles: BTreeSet<_> = members.iter().map(|m| (m.user.id, m.role)).collect();
    assert_eq!(
        roles,
        BTreeSet::from([(o, Role::Owner), (f1, Role::Member), (f2, Role::Member)])
    );
    let published = sink.since(mark);
    assert_eq!(published.len(), 1);
    assert_eq!(
        (published[0].kind, published[0].conversation_id),
        (EventKind::ConversationCreated, Some(g))
    );
    assert_eq!(sorted(&published[0].recipients), sorted(&[o, f1, f2]));
    let data = json(&published[0].data);
    assert_eq!(
        data["user_ids"],
        Json::from(sorted(&[o, f1, f2]).iter().map(|u| u.0).collect::<Vec<_>>())
    );
    assert_eq!(data["name"], Json::from("G"));

    // Any member may invite, but only their own friends.
    assert_rejected!(store, sink, store.invite(f1, g, &[f3], T0 + 2), Error::NotFriends);
    assert_rejected!(store, sink, store.invite(s, g, &[f3], T0 + 2), Error::NotMember);
    assert_rejected!(store, sink, store.invite(o, g, &[f1], T0 + 2), Error::AlreadyMember);
    assert_rejected!(store, sink, store.invite(o, g, &[f3, o], T0 + 2), Error::AlreadyMember);
    assert_rejected!(store, sink, store.invite(o, direct_f1, &[f2], T0 + 2), Error::Forbidden);
    assert_rejected!(
        store,
        sink,
        store.invite(o, ConversationId(999_999), &[f2], T0 + 2),
        Error::ConversationNotFound
    );
    assert_eq!(member_ids(&*store, o, g).await, BTreeSet::from([o, f1, f2]));
    assert_eq!(member_ids(&*store, o, direct_f1).await, BTreeSet::from([o, f1]));
    assert_rejected!(store, sink, store.conversation(f3, g), Error::NotMember);

    let mark = sink.len();
    store.invite(o, g, &[f3], T0 + 3).await.unwrap();
    let published = sink.since(mark);
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].kind, EventKind::MemberJoined);
    assert_eq!(sorted(&published[0].recipients), sorted(&[o, f1, f2, f3]));
    assert_eq!(json(&published[0].data)["user_ids"], Json::from(vec![f3.0]));
    assert_eq!(store.conversation(f3, g).await.unwrap().0.member_count, 4);
    assert!(store.conversations(f3).await.unwrap().iter().any(|v| v.id == g));
}

async fn groups_governance(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [o, a, x, m1, m2] = mk_users(&*store, 1..=5).await[..] else {
        unreachable!()
    };
    let mut direct = ConversationId(0);
    for friend in [a, x, m1, m2] {
        direct = befriend(&*store, o, friend).await;
    }
    let g = store.create_group(o, "Team", &[a, x, m1, m2], T0).await.unwrap();

    // Roles: only the owner manages them, and never to or from owner.
    store.set_role(o, g, a, Role::Admin, T0 + 1).await.unwrap();
    store.set_role(o, g, x, Role::Admin, T0 + 1).await.unwrap();
    assert_eq!(role_of(&*store, o, g, a).await, Some(Role::Admin));
    assert_rejected!(
        store,
        sink,
        store.set_role(a, g, m1, Role::Admin, T0 + 2),
        Error::Forbidden
    );
    assert_rejected!(
        store,
        sink,
        store.set_role(o, g, m1, Role::Owner, T0 + 2),
        Error::InvalidRequest
    );
    assert_rejected!(
        store,
        sink,
        store.set_role(o, g, o, Role::Member, T0 + 2),
        Error::InvalidRequest
    );
    assert_eq!(role_of(&*store, o, g, m1).await, Some(Role::Member));
    assert_eq!(role_of(&*store, o, g, o).await, Some(Role::Owner));

    // Removal: owner anyone, admin plain members only, members nobody.
    assert_rejected!(store, sink, store.remove_member(a, g, x, T0 + 3), Error::Forbidden);
    assert_rejected!(store, sink, store.remove_member(a, g, o, T0 + 3), Error::Forbidden);
    assert_rejected!(store, sink, store.remove_member(m1, g, m2, T0 + 3), Error::Forbidden);
    assert_rejected!(
        store,
        sink,
        store.remove_member(o, direct, m2, T0 + 3),
        Error::Forbidden
    );
    assert_eq!(member_ids(&*store, o, g).await, BTreeSet::from([o, a, x, m1, m2]));

    let mark = sink.len();
    store.remove_member(a, g, m2, T0 + 4).await.unwrap();
    let published = sink.since(mark);
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].kind, EventKind::MemberRemoved);
    // The removed member hears of it.
    assert_eq!(sorted(&published[0].recipients), sorted(&[o, a, x, m1, m2]));
    assert_eq!(member_ids(&*store, o, g).await, BTreeSet::from([o, a, x, m1]));
    assert_rejected!(store, sink, store.conversation(m2, g), Error::NotMember);
    assert_rejected!(store, sink, store.remove_member(o, g, m2, T0 + 5), Error::NotMember);
    assert_eq!(member_ids(&*store, o, g).await, BTreeSet::from([o, a, x, m1]));

    // Group info: owner and admins.
    assert_rejected!(
        store,
        sink,
        store.update_group(
            m1,
            g,
            GroupUpdate {
                name: Some("Mine".into()),
                announcement: None
            },
            T0 + 6
        ),
        Error::Forbidden
    );
    assert_eq!(store.conversation(o, g).await.unwrap().0.name, "Team");
    store
        .update_group(
            a,
            g,
            GroupUpdate {
                name: Some("Team 2".into()),
                announcement: Some("Read me".into()),
            },
            T0 + 7,
        )
        .await
        .unwrap();
    let view = store.conversation(m1, g).await.unwrap().0;
    assert_eq!(
        (view.name.as_str(), view.announcement.as_deref()),
        ("Team 2", Some("Read me"))
    );
    store
        .update_group(
            o,
            g,
            GroupUpdate {
                name: None,
                announcement: Some(String::new()),
            },
            T0 + 8,
        )
        .await
        .unwrap();
    let view = store.conversation(m1, g).await.unwrap().0;
    assert_eq!((view.name.as_str(), view.announcement), ("Team 2", None));
    assert_rejected!(
        store,
        sink,
        store.update_group(o, direct, GroupUpdate::default(), T0 + 8),
        Error::Forbidden
    );

    // Leaving: the owner must hand over first.
    assert_rejected!(store, sink, store.leave(o, g, T0 + 9), Error::OwnerMustTransfer);
    assert_rejected!(
        store,
        sink,
        store.remove_member(o, g, o, T0 + 9),
        Error::OwnerMustTransfer
    );
    assert_rejected!(store, sink, store.transfer_owner(a, g, m1, T0 + 9), Error::Forbidden);
    assert_rejected!(
        store,
        sink,
        store.transfer_owner(o, g, o, T0 + 9),
        Error::InvalidRequest
    );
    assert_rejected!(store, sink, store.transfer_owner(o, g, m2, T0 + 9), Error::NotMember);
    assert_rejected!(store, sink, store.leave(o, direct, T0 + 9), Error::Forbidden);
    assert_eq!(role_of(&*store, o, g, o).await, Some(Role::Owner));
    assert_eq!(store.conversation(o, g).await.unwrap().0.owner_id, Some(o));

    let mark = sink.len();
    store.transfer_owner(o, g, m1, T0 + 10).await.unwrap();
    let published = sink.since(mark);
    assert_eq!(
        published.iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![EventKind::MemberRoleChanged; 2]
    );
    assert_eq!(role_of(&*store, o, g, m1).await, Some(Role::Owner));
    assert_eq!(role_of(&*store, o, g, o).await, Some(Role::Member));
    assert_eq!(store.conversation(o, g).await.unwrap().0.owner_id, Some(m1));
    assert_rejected!(
        store,
        sink,
        store.set_role(o, g, a, Role::Member, T0 + 11),
        Error::Forbidden
    );
    assert_eq!(role_of(&*store, o, g, a).await, Some(Role::Admin));

    let mark = sink.len();
    store.leave(o, g, T0 + 12).await.unwrap();
    let published = sink.since(mark);
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].kind, EventKind::MemberLeft);
    assert!(published[0].recipients.contains(&o));
    assert_eq!(member_ids(&*store, m1, g).await, BTreeSet::from([a, x, m1]));
    assert!(store.conversations(o).await.unwrap().iter().all(|v| v.id != g));
    assert_rejected!(store, sink, store.leave(o, g, T0 + 13), Error::NotMember);
    assert_eq!(member_ids(&*store, m1, g).await, BTreeSet::from([a, x, m1]));

    assert_sync_matches_sink(&*store, &sink, &[o, a, x, m1, m2]).await;
}

async fn groups_full(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let owner = mk_user(&*store, 0).await.id;
    // MAX_GROUP_MEMBERS friends of the owner: one more than fits beside them.
    let tasks: Vec<_> = (1..=MAX_GROUP_MEMBERS as u32)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let user = store
                    .create_user(NewUser {
                        phone: None,
                        email: Some(format!("bulk{n}@example.com")),
                        phone_hash: None,
                        password_hash: "x".into(),
                        display_name: format!("Bulk {n}"),
                        region: Region::Us,
                        language: Language::EnUs,
                        now_ms: T0,
                    })
                    .await
                    .unwrap();
                befriend(&*store, owner, user.id).await;
                user.id
            })
        })
        .collect();
    let mut friends = Vec::new();
    for task in tasks {
        friends.push(task.await.unwrap());
    }
    friends.sort();
    let conversations_before = store.conversations(owner).await.unwrap().len();
    assert_eq!(conversations_before, MAX_GROUP_MEMBERS);

    // All of them plus the owner is one too many.
    assert_rejected!(
        store,
        sink,
        store.create_group(owner, "Too big", &friends, T0 + 1),
        Error::GroupFull
    );
    assert_eq!(store.conversations(owner).await.unwrap().len(), conversations_before);

    let (last, fitting) = friends.split_last().unwrap();
    let g = store.create_group(owner, "Big", &fitting[..99], T0 + 2).await.unwrap();
    store.invite(owner, g, &fitting[99..], T0 + 3).await.unwrap();
    assert_eq!(
        store.conversation(owner, g).await.unwrap().0.member_count,
        MAX_GROUP_MEMBERS as i64
    );

    assert_rejected!(store, sink, store.invite(owner, g, &[*last], T0 + 4), Error::GroupFull);
    assert_eq!(
        store.conversation(owner, g).await.unwrap().0.member_count,
        MAX_GROUP_MEMBERS as i64
    );
    assert_rejected!(store, sink, store.conversation(*last, g), Error::NotMember);

    // Room for one once someone goes.
    store.remove_member(owner, g, fitting[0], T0 + 5).await.unwrap();
    store.invite(owner, g, &[*last], T0 + 6).await.unwrap();
    let (view, members) = store.conversation(*last, g).await.unwrap();
    assert_eq!(
        (view.member_count, members.len()),
        (MAX_GROUP_MEMBERS as i64, MAX_GROUP_MEMBERS)
    );
}

// ---------------------------------------------------------------- messages

async fn messages_seq_has_no_gaps(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [a, b, c] = mk_users(&*store, 1..=3).await[..] else {
        unreachable!()
    };
    let d = befriend(&*store, a, b).await;
    befriend(&*store, a, c).await;
    let g = store.create_group(a, "G", &[c], T0).await.unwrap();
    let in_group = say(&*store, a, g, "g1", "group one").await;
    assert_eq!(in_group.seq, 1);

    assert_eq!(say(&*store, a, d, "d1", "one").await.seq, 1);
    assert_rejected!(
        store,
        sink,
        store.send(c, d, cmid("c1"), text("let me in"), T0),
        Error::NotMember
    );
    assert_eq!(say(&*store, b, d, "d2", "two").await.seq, 2);
    let quote_elsewhere = Draft::new(Content::text("re").unwrap(), Some(in_group.id), Vec::new()).unwrap();
    assert_rejected!(
        store,
        sink,
        store.send(b, d, cmid("d3x"), quote_elsewhere, T0),
        Error::MessageNotFound
    );
    assert_eq!(say(&*store, b, d, "d3", "three").await.seq, 3);
    assert_rejected!(
        store,
        sink,
        store.send(a, d, cmid("d1"), text("not one"), T0),
        Error::IdempotencyConflict
    );
    let mention_outsider = Draft::new(Content::text("@c").unwrap(), None, vec![c]).unwrap();
    assert_rejected!(
        store,
        sink,
        store.send(a, d, cmid("d4x"), mention_outsider, T0),
        Error::NotMember
    );
    let missing_blob = Draft::new(
        Content::Image {
            blob: BlobHash::parse(&"b".repeat(64)).unwrap(),
        },
        None,
        vec![],
    )
    .unwrap();
    assert_rejected!(
        store,
        sink,
        store.send(a, d, cmid("d4y"), missing_blob, T0),
        Error::UploadNotFound
    );
    assert_rejected!(
        store,
        sink,
        store.send(a, ConversationId(999_999), cmid("zz"), text("?"), T0),
        Error::ConversationNotFound
    );
    assert_eq!(say(&*store, a, d, "d4", "four").await.seq, 4);
    // A retry returns the old message and does not consume a number.
    assert!(!store.send(a, d, cmid("d1"), text("one"), T0).await.unwrap().created);
    assert_eq!(say(&*store, b, d, "d5", "five").await.seq, 5);

    // Each conversation has its own numbering.
    assert_eq!(say(&*store, c, g, "g2", "group two").await.seq, 2);

    let history = store.history(a, d, None, 100).await.unwrap();
    assert_eq!(seqs(&history), vec![5, 4, 3, 2, 1]);
    assert_eq!(
        history
            .iter()
            .rev()
            .map(|m| m.text.clone().unwrap())
            .collect::<Vec<_>>(),
        vec!["one", "two", "three", "four", "five"]
    );
    assert_eq!(store.conversation(a, d).await.unwrap().0.last_seq, 5);
    assert_eq!(seqs(&store.history(c, g, None, 100).await.unwrap()), vec![2, 1]);
    assert_rejected!(store, sink, store.history(c, d, None, 10), Error::NotMember);

    // The published message.new events carry the same numbers, in order.
    let published: Vec<i64> = sink
        .all()
        .iter()
        .filter(|e| e.kind == EventKind::MessageNew && e.conversation_id == Some(d))
        .map(|e| json(&e.data)["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(published, vec![1, 2, 3, 4, 5]);
}

async fn messages_idempotent_send(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [a, b, m] = mk_users(&*store, 1..=3).await[..] else {
        unreachable!()
    };
    let d = befriend(&*store, a, b).await;
    befriend(&*store, a, m).await;
    let g = store.create_group(a, "G", &[m], T0).await.unwrap();

    let mark = sink.len();
    let first = store.send(a, d, cmid("same-1"), text("hello"), T0).await.unwrap();
    assert!(first.created);
    assert_eq!(first.message.seq, 1);
    assert_eq!(sink.len(), mark + 1);

    let head = store.head().await.unwrap();
    let retry = store
        .send(a, d, cmid("same-1"), text("hello"), T0 + 1000)
        .await
        .unwrap();
    assert!(!retry.created);
    assert_eq!(retry.message, first.message);
    assert_eq!(store.head().await.unwrap(), head, "a retry appended an event");
    assert_eq!(sink.len(), mark + 1, "a retry published an event");

    assert_rejected!(
        store,
        sink,
        store.send(a, d, cmid("same-1"), text("goodbye"), T0),
        Error::IdempotencyConflict
    );
    assert_rejected!(
        store,
        sink,
        store.send(a, g, cmid("same-1"), text("hello"), T0),
        Error::IdempotencyConflict
    );
    let quoting = Draft::new(Content::text("hello").unwrap(), Some(first.message.id), Vec::new()).unwrap();
    assert_rejected!(
        store,
        sink,
        store.send(a, d, cmid("same-1"), quoting, T0),
        Error::IdempotencyConflict
    );
    assert_eq!(
        store.history(a, d, None, 10).await.unwrap(),
        vec![first.message.clone()]
    );
    assert!(store.history(a, g, None, 10).await.unwrap().is_empty());

    // The key belongs to the sender: someone else may use the same one.
    let other = store.send(b, d, cmid("same-1"), text("hello"), T0).await.unwrap();
    assert!(other.created);
    assert_eq!((other.message.seq, other.message.sender_id), (2, b));

    // A retry after leaving still gets its first answer; a new send does not.
    let in_group = store
        .send(m, g, cmid("m-1"), text("bye all"), T0)
        .await
        .unwrap()
        .message;
    store.leave(m, g, T0 + 1).await.unwrap();
    let late = store.send(m, g, cmid("m-1"), text("bye all"), T0 + 2).await.unwrap();
    assert!(!late.created);
    assert_eq!(late.message, in_group);
    assert_rejected!(
        store,
        sink,
        store.send(m, g, cmid("m-2"), text("wait"), T0 + 3),
        Error::NotMember
    );
    assert_eq!(seqs(&store.history(a, g, None, 10).await.unwrap()), vec![1]);
}

async fn messages_history_paging(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [a, b, c, s] = mk_users(&*store, 1..=4).await[..] else {
        unreachable!()
    };
    let d = befriend(&*store, a, b).await;
    for i in 1..=10 {
        let sender = if i % 2 == 0 { b } else { a };
        say_at(&*store, sender, d, &format!("h{i}"), &format!("message {i}"), T0 + i).await;
    }

    let page = store.history(a, d, None, 3).await.unwrap();
    assert_eq!(seqs(&page), vec![10, 9, 8]);
    assert_eq!(page[0].text.as_deref(), Some("message 10"));
    assert_eq!(page[0].sender_id, b);
    assert_eq!(seqs(&store.history(b, d, Some(8), 3).await.unwrap()), vec![7, 6, 5]);
    assert_eq!(seqs(&store.history(b, d, Some(5), 3).await.unwrap()), vec![4, 3, 2]);
    assert_eq!(seqs(&store.history(b, d, Some(2), 3).await.unwrap()), vec![1]);
    assert!(store.history(b, d, Some(1), 3).await.unwrap().is_empty());
    assert_eq!(
        seqs(&store.history(a, d, None, 100).await.unwrap()),
        (1..=10).rev().collect::<Vec<_>>()
    );
    assert_eq!(seqs(&store.history(a, d, Some(1000), 2).await.unwrap()), vec![10, 9]);

    assert_rejected!(store, sink, store.history(s, d, None, 10), Error::NotMember);
    assert_rejected!(
        store,
        sink,
        store.history(a, ConversationId(999_999), None, 10),
        Error::ConversationNotFound
    );

    // Someone invited later sees only what was said after they joined.
    befriend(&*store, a, c).await;
    let g = store.create_group(a, "G", &[b], T0 + 100).await.unwrap();
    for i in 1..=3 {
        say(&*store, b, g, &format!("early{i}"), "before c").await;
    }
    store.invite(a, g, &[c], T0 + 200).await.unwrap();
    for i in 1..=2 {
        say(&*store, b, g, &format!("late{i}"), "after c").await;
    }
    assert_eq!(seqs(&store.history(c, g, None, 100).await.unwrap()), vec![5, 4]);
    assert_eq!(seqs(&store.history(c, g, Some(5), 100).await.unwrap()), vec![4]);
    assert_eq!(
        seqs(&store.history(a, g, None, 100).await.unwrap()),
        vec![5, 4, 3, 2, 1]
    );
    let view = store.conversation(c, g).await.unwrap().0;
    assert_eq!(
        (view.unread, view.last_seq, view.last_message.map(|m| m.seq)),
        (2, 5, Some(5))
    );
}

async fn messages_recall(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [a, b, c] = mk_users(&*store, 1..=3).await[..] else {
        unreachable!()
    };
    let d = befriend(&*store, a, b).await;
    let secret = say_at(&*store, a, d, "s1", "the secret", T0).await;
    let kept = say_at(&*store, a, d, "k1", "keep me", T0).await;
    let edge = say_at(&*store, a, d, "e1", "edge", T0).await;

    assert_rejected!(store, sink, store.recall(b, secret.id, T0 + 1000), Error::Forbidden);
    assert_rejected!(
        store,
        sink,
        store.recall(c, secret.id, T0 + 1000),
        Error::MessageNotFound
    );
    assert_rejected!(
        store,
        sink,
        store.recall(a, MessageId(999_999), T0 + 1000),
        Error::MessageNotFound
    );
    assert_rejected!(
        store,
        sink,
        store.recall(a, secret.id, T0 + RECALL_WINDOW_MS + 1),
        Error::RecallWindowPassed
    );
    assert_eq!(store.history(b, d, None, 10).await.unwrap()[2], secret);

    let mark = sink.len();
    let recalled = store.recall(a, secret.id, T0 + 60_000).await.unwrap();
    assert!(recalled.recalled);
    assert_eq!((recalled.id, recalled.seq, recalled.text.clone()), (secret.id, 1, None));
    let published = sink.since(mark);
    assert_eq!(published.len(), 1);
    assert_eq!(
        (published[0].kind, published[0].conversation_id),
        (EventKind::MessageRecalled, Some(d))
    );
    assert_eq!(sorted(&published[0].recipients), sorted(&[a, b]));
    let data = json(&published[0].data);
    assert_eq!(
        (data["message_id"].clone(), data["seq"].clone()),
        (Json::from(secret.id.0), Json::from(1))
    );

    assert_rejected!(
        store,
        sink,
        store.recall(a, secret.id, T0 + 61_000),
        Error::AlreadyRecalled
    );
    // Exactly at the end of the window is still inside it.
    store.recall(a, edge.id, T0 + RECALL_WINDOW_MS).await.unwrap();

    let history = store.history(b, d, None, 10).await.unwrap();
    assert_eq!(seqs(&history), vec![3, 2, 1]);
    assert!(history[2].recalled && history[2].text.is_none());
    assert!(history[0].recalled && history[0].text.is_none());
    assert_eq!(history[1], kept);

    // Sync never replays recalled content.
    for user in [a, b] {
        let events = all_events(&*store, user).await;
        assert!(
            events.iter().all(|e| !e.data.contains("the secret")),
            "recalled text replayed to {user}"
        );
        let new_secret = events
            .iter()
            .find(|e| e.kind == EventKind::MessageNew && json(&e.data)["id"] == secret.id.0)
            .unwrap();
        let payload = json(&new_secret.data);
        assert_eq!(
            (payload["text"].clone(), payload["recalled"].clone()),
            (Json::Null, Json::Bool(true))
        );
        let new_kept = events
            .iter()
            .find(|e| e.kind == EventKind::MessageNew && json(&e.data)["id"] == kept.id.0)
            .unwrap();
        assert_eq!(json(&new_kept.data)["text"], Json::from("keep me"));
        assert_eq!(
            events.iter().filter(|e| e.kind == EventKind::MessageRecalled).count(),
            2
        );
    }

    // A retry of the recalled send answers with the recalled message.
    let retry = store
        .send(a, d, cmid("s1"), text("the secret"), T0 + 70_000)
        .await
        .unwrap();
    assert!(!retry.created);
    assert!(retry.message.recalled && retry.message.text.is_none());

    assert_sync_matches_sink(&*store, &sink, &[a, b, c]).await;
}

async fn messages_receipts(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [a, b, c] = mk_users(&*store, 1..=3).await[..] else {
        unreachable!()
    };
    let d = befriend(&*store, a, b).await;
    for i in 1..=3 {
        say(&*store, a, d, &format!("r{i}"), "ping").await;
    }
    let marks = |store: Arc<dyn Store>| async move {
        let (_, members) = store.conversation(a, d).await.unwrap();
        let me = members.iter().find(|m| m.user.id == b).unwrap();
        (me.last_delivered_seq, me.last_read_seq)
    };
    assert_eq!(marks(store.clone()).await, (0, 0));

    let mark = sink.len();
    store.receipt(b, d, ReceiptKind::Delivered, 2, T0 + 1).await.unwrap();
    let published = sink.since(mark);
    assert_eq!(published.len(), 1);
    assert_eq!(
        (published[0].kind, published[0].conversation_id),
        (EventKind::ReceiptDelivered, Some(d))
    );
    assert_eq!(sorted(&published[0].recipients), sorted(&[a, b]));
    let data = json(&published[0].data);
    assert_eq!(
        (data["user_id"].clone(), data["up_to_seq"].clone()),
        (Json::from(b.0), Json::from(2))
    );
    assert_eq!(marks(store.clone()).await, (2, 0));

    // Marks never move back, and not moving emits nothing.
    let head = store.head().await.unwrap();
    store.receipt(b, d, ReceiptKind::Delivered, 1, T0 + 2).await.unwrap();
    store.receipt(b, d, ReceiptKind::Delivered, 2, T0 + 2).await.unwrap();
    store.receipt(b, d, ReceiptKind::Read, 0, T0 + 2).await.unwrap();
    assert_eq!(store.head().await.unwrap(), head);
    assert_eq!(marks(store.clone()).await, (2, 0));

    assert_rejected!(
        store,
        sink,
        store.receipt(b, d, ReceiptKind::Delivered, 4, T0 + 3),
        Error::InvalidRequest
    );
    assert_rejected!(
        store,
        sink,
        store.receipt(b, d, ReceiptKind::Read, 4, T0 + 3),
        Error::InvalidRequest
    );
    assert_rejected!(
        store,
        sink,
        store.receipt(b, d, ReceiptKind::Read, -1, T0 + 3),
        Error::InvalidRequest
    );
    assert_rejected!(
        store,
        sink,
        store.receipt(c, d, ReceiptKind::Read, 1, T0 + 3),
        Error::NotMember
    );
    assert_eq!(marks(store.clone()).await, (2, 0));
    assert_eq!(store.conversation(b, d).await.unwrap().0.unread, 3);

    store.receipt(b, d, ReceiptKind::Read, 1, T0 + 4).await.unwrap();
    assert_eq!(marks(store.clone()).await, (2, 1));
    assert_eq!(store.conversation(b, d).await.unwrap().0.unread, 2);

    // Read implies delivered, with a single read event.
    let mark = sink.len();
    store.receipt(b, d, ReceiptKind::Read, 3, T0 + 5).await.unwrap();
    assert_eq!(
        sink.since(mark).iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![EventKind::ReceiptRead]
    );
    assert_eq!(marks(store.clone()).await, (3, 3));
    assert_eq!(store.conversation(b, d).await.unwrap().0.unread, 0);
    store.receipt(b, d, ReceiptKind::Delivered, 3, T0 + 6).await.unwrap();
    assert_eq!(sink.len(), mark + 1);
}

async fn messages_conversation_views(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    let [a, b, c] = mk_users(&*store, 1..=3).await[..] else {
        unreachable!()
    };
    let with_b = befriend(&*store, a, b).await;
    let with_c = befriend(&*store, a, c).await;
    let g = store.create_group(a, "G", &[b, c], T0 + 1).await.unwrap();

    say_at(&*store, b, with_b, "b1", "hi a", T0 + 10).await;
    say_at(&*store, b, with_b, "b2", "you there?", T0 + 11).await;
    let recalled = say_at(&*store, b, with_b, "b3", "oops", T0 + 12).await;
    store.recall(b, recalled.id, T0 + 13).await.unwrap();
    say_at(&*store, a, with_b, "a1", "yes", T0 + 14).await;
    say_at(&*store, c, g, "c1", "group hello", T0 + 20).await;
    say_at(&*store, a, with_c, "a2", "hello c", T0 + 30).await;

    let views = store.conversations(a).await.unwrap();
    // Newest activity first.
    assert_eq!(views.iter().map(|v| v.id).collect::<Vec<_>>(), vec![with_c, g, with_b]);
    let by_id = |id| views.iter().find(|v| v.id == id).unwrap().clone();
    // Own messages and recalled ones are not unread.
    assert_eq!((by_id(with_b).unread, by_id(with_b).last_seq), (2, 4));
    assert_eq!(by_id(with_b).last_message.map(|m| m.text), Some(Some("yes".to_owned())));
    assert_eq!((by_id(g).unread, by_id(g).member_count), (1, 3));
    assert_eq!(by_id(with_c).unread, 0);
    assert_eq!(by_id(with_c).peer.map(|p| p.id), Some(c));

    let b_views = store.conversations(b).await.unwrap();
    assert_eq!(
        b_views.iter().map(|v| (v.id, v.unread)).collect::<Vec<_>>(),
        vec![(g, 1), (with_b, 1)]
    );
    assert_eq!(
        store
            .conversations(c)
            .await
            .unwrap()
            .iter()
            .map(|v| (v.id, v.unread))
            .collect::<Vec<_>>(),
        vec![(with_c, 1), (g, 0)]
    );
}

async fn messages_reply_and_mentions(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [a, b, c] = mk_users(&*store, 1..=3).await[..] else {
        unreachable!()
    };
    let d = befriend(&*store, a, b).await;
    befriend(&*store, a, c).await;
    let g = store.create_group(a, "G", &[b, c], T0).await.unwrap();
    let in_d = say(&*store, a, d, "d1", "direct").await;
    let in_g = say(&*store, b, g, "g1", "group").await;

    let reply = Draft::new(Content::text("re: group").unwrap(), Some(in_g.id), vec![b, c, b]).unwrap();
    let sent = store.send(c, g, cmid("g2"), reply, T0).await.unwrap().message;
    assert_eq!(
        (sent.reply_to, sent.mentions.clone(), sent.seq),
        (Some(in_g.id), vec![b, c], 2)
    );
    assert_eq!(store.history(a, g, None, 1).await.unwrap(), vec![sent]);

    let foreign = Draft::new(Content::text("re: direct").unwrap(), Some(in_d.id), Vec::new()).unwrap();
    assert_rejected!(
        store,
        sink,
        store.send(c, g, cmid("g3"), foreign, T0),
        Error::MessageNotFound
    );
    let missing = Draft::new(Content::text("re: ?").unwrap(), Some(MessageId(999_999)), Vec::new()).unwrap();
    assert_rejected!(
        store,
        sink,
        store.send(c, g, cmid("g4"), missing, T0),
        Error::MessageNotFound
    );
    let outsider = mk_user(&*store, 4).await.id;
    let mention = Draft::new(Content::text("@someone").unwrap(), None, vec![outsider]).unwrap();
    assert_rejected!(store, sink, store.send(c, g, cmid("g5"), mention, T0), Error::NotMember);
    assert_eq!(seqs(&store.history(a, g, None, 10).await.unwrap()), vec![2, 1]);
    assert_eq!(say(&*store, c, g, "g3", "after the rejections").await.seq, 3);
}

// ---------------------------------------------------------------- uploads

async fn uploads_access(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [a, m, s, b] = mk_users(&*store, 1..=4).await[..] else {
        unreachable!()
    };
    befriend(&*store, a, m).await;
    let g = store.create_group(a, "G", &[m], T0).await.unwrap();
    let hash = "c".repeat(64);
    let upload = UploadRecord {
        hash: hash.clone(),
        mime: "image/png".into(),
        size: 1234,
        kind: "image".into(),
        uploader_id: a,
        created_at_ms: T0,
    };
    store.put_upload(upload.clone()).await.unwrap();
    assert_eq!(store.upload(&hash).await.unwrap(), Some(upload.clone()));
    assert_eq!(store.upload(&"d".repeat(64)).await.unwrap(), None);

    assert!(store.may_read_upload(a, &hash).await.unwrap());
    assert!(!store.may_read_upload(s, &hash).await.unwrap());
    assert!(!store.may_read_upload(m, &hash).await.unwrap());

    let image = || {
        Draft::new(
            Content::Image {
                blob: BlobHash::parse(&hash).unwrap(),
            },
            None,
            vec![],
        )
        .unwrap()
    };
    // Someone who can't read the blob can't send it either.
    assert_rejected!(
        store,
        sink,
        store.send(m, g, cmid("m-img"), image(), T0),
        Error::UploadNotFound
    );
    assert!(!store.may_read_upload(m, &hash).await.unwrap());

    let sent = store.send(a, g, cmid("a-img"), image(), T0 + 1).await.unwrap().message;
    assert_eq!(
        (
            sent.kind.as_str(),
            sent.blob.as_deref(),
            sent.mime.as_deref(),
            sent.size,
            sent.text.clone()
        ),
        ("image", Some(hash.as_str()), Some("image/png"), Some(1234), None)
    );
    assert!(store.may_read_upload(m, &hash).await.unwrap());
    assert!(!store.may_read_upload(s, &hash).await.unwrap());
    // Now m may forward it.
    assert!(store.send(m, g, cmid("m-img"), image(), T0 + 2).await.unwrap().created);

    store.leave(m, g, T0 + 3).await.unwrap();
    assert!(!store.may_read_upload(m, &hash).await.unwrap());
    assert!(store.may_read_upload(a, &hash).await.unwrap());

    // The same bytes uploaded again: one blob, read access for the second uploader.
    store
        .put_upload(UploadRecord {
            uploader_id: b,
            created_at_ms: T0 + 4,
            ..upload.clone()
        })
        .await
        .unwrap();
    assert_eq!(store.upload(&hash).await.unwrap(), Some(upload));
    assert!(store.may_read_upload(b, &hash).await.unwrap());

    // A file can't be sent as an image.
    let doc = "e".repeat(64);
    store
        .put_upload(UploadRecord {
            hash: doc.clone(),
            mime: "application/pdf".into(),
            size: 10,
            kind: "file".into(),
            uploader_id: a,
            created_at_ms: T0,
        })
        .await
        .unwrap();
    let as_image = Draft::new(
        Content::Image {
            blob: BlobHash::parse(&doc).unwrap(),
        },
        None,
        vec![],
    )
    .unwrap();
    assert_rejected!(
        store,
        sink,
        store.send(a, g, cmid("a-doc"), as_image, T0 + 5),
        Error::UnsupportedMediaType
    );
    let as_file = Content::file(BlobHash::parse(&doc).unwrap(), "report.pdf").unwrap();
    let file = store
        .send(a, g, cmid("a-doc"), Draft::new(as_file, None, vec![]).unwrap(), T0 + 6)
        .await
        .unwrap();
    assert_eq!(
        (file.message.kind.as_str(), file.message.file_name.as_deref()),
        ("file", Some("report.pdf"))
    );

    // An avatar is readable by anyone.
    assert!(!store.may_read_upload(s, &doc).await.unwrap());
    store
        .update_profile(
            a,
            ProfileUpdate {
                avatar: Some(Some(doc.clone())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(store.may_read_upload(s, &doc).await.unwrap());
}

// ---------------------------------------------------------------- sync

async fn sync_membership_window(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [o, f1, f2, f3] = mk_users(&*store, 1..=4).await[..] else {
        unreachable!()
    };
    for friend in [f1, f2, f3] {
        befriend(&*store, o, friend).await;
    }
    let g = store.create_group(o, "G", &[f1], T0 + 1).await.unwrap();
    say(&*store, o, g, "m1", "one").await;
    say(&*store, f1, g, "m2", "two").await;
    store.invite(o, g, &[f2], T0 + 2).await.unwrap();
    say(&*store, o, g, "m3", "three").await;
    say(&*store, f1, g, "m4", "four").await;
    store.remove_member(o, g, f1, T0 + 3).await.unwrap();
    say(&*store, o, g, "m5", "five").await;
    store
        .update_group(
            o,
            g,
            GroupUpdate {
                name: Some("G2".into()),
                announcement: None,
            },
            T0 + 4,
        )
        .await
        .unwrap();

    use EventKind::*;
    let f1_events = all_events(&*store, f1).await;
    assert_eq!(
        kinds_in(&f1_events, g),
        vec![
            ConversationCreated,
            MessageNew,
            MessageNew,
            MemberJoined,
            MessageNew,
            MessageNew,
            MemberRemoved
        ]
    );
    let f2_events = all_events(&*store, f2).await;
    assert_eq!(
        kinds_in(&f2_events, g),
        vec![
            MemberJoined,
            MessageNew,
            MessageNew,
            MemberRemoved,
            MessageNew,
            ConversationUpdated
        ]
    );
    let texts: Vec<Json> = f2_events
        .iter()
        .filter(|e| e.kind == MessageNew && e.conversation_id == Some(g))
        .map(|e| json(&e.data)["text"].clone())
        .collect();
    assert_eq!(texts, vec![Json::from("three"), Json::from("four"), Json::from("five")]);
    assert!(all_events(&*store, f3)
        .await
        .iter()
        .all(|e| e.conversation_id != Some(g)));
    assert_eq!(kinds_in(&all_events(&*store, o).await, g).len(), 9);

    // User-targeted events reach only their user: f1 sees the friendship with o, nothing of f2's or f3's.
    let personal: Vec<_> = f1_events
        .iter()
        .filter(|e| matches!(e.kind, FriendRequest | FriendAccepted))
        .collect();
    assert_eq!(
        personal.iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![FriendRequest, FriendAccepted]
    );
    assert_eq!(json(&personal[0].data)["to"]["id"], Json::from(f1.0));
    assert_eq!(json(&personal[1].data)["user_id"], Json::from(o.0));
    let o_personal = all_events(&*store, o)
        .await
        .into_iter()
        .filter(|e| matches!(e.kind, FriendRequest | FriendAccepted));
    assert_eq!(o_personal.count(), 6);

    // A conversation event inside the window but before `since` is not repeated.
    let joined_at = f2_events.iter().find(|e| e.conversation_id == Some(g)).unwrap().pos;
    let after = store.events_since(f2, joined_at, 100).await.unwrap();
    assert_eq!(
        kinds_in(&after, g),
        vec![MessageNew, MessageNew, MemberRemoved, MessageNew, ConversationUpdated]
    );

    assert_sync_matches_sink(&*store, &sink, &[o, f1, f2, f3]).await;
}

async fn sync_paging(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [a, b, c] = mk_users(&*store, 1..=3).await[..] else {
        unreachable!()
    };
    let d = befriend(&*store, a, b).await;
    befriend(&*store, a, c).await;
    let g = store.create_group(a, "G", &[b, c], T0).await.unwrap();
    for i in 0..10 {
        say(&*store, a, d, &format!("d{i}"), "direct").await;
        say(&*store, c, g, &format!("g{i}"), "group").await;
    }
    store.receipt(b, d, ReceiptKind::Read, 10, T0).await.unwrap();

    let full = all_events(&*store, a).await;
    // Per friendship: friend.request, conversation.created, friend.accepted; then the group, 20 messages, a receipt.
    assert_eq!(full.len(), 3 + 3 + 1 + 20 + 1);
    assert_increasing(full.iter().map(|e| e.pos), "events_since");

    let mut paged = Vec::new();
    let mut cursor = StreamPos(0);
    loop {
        let page = store.events_since(a, cursor, 4).await.unwrap();
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        cursor = last.pos;
        paged.extend(page);
    }
    assert_eq!(paged, full);
    assert_eq!(
        store.events_since(a, full[5].pos, 1000).await.unwrap(),
        full[6..].to_vec()
    );
    let head = store.head().await.unwrap();
    assert_eq!(head, sink.all().last().unwrap().pos);
    assert!(store.events_since(a, head, 10).await.unwrap().is_empty());
    assert!(store
        .events_since(a, StreamPos(head.0 + 1000), 10)
        .await
        .unwrap()
        .is_empty());
    store.ping().await.unwrap();

    assert_sync_matches_sink(&*store, &sink, &[a, b, c]).await;
}

// ---------------------------------------------------------------- concurrency

async fn concurrent_sends(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    let [a, b, stranger] = mk_users(&*store, 1..=3).await[..] else {
        unreachable!()
    };
    let d = befriend(&*store, a, b).await;
    let mark = sink.len();

    // 200 sends from two users, with rejected ones from a stranger mixed into the same batches.
    let mut sends = Vec::new();
    let mut rejected = Vec::new();
    for i in 0..200 {
        let sending = store.clone();
        let sender = if i % 2 == 0 { a } else { b };
        sends.push(tokio::spawn(async move {
            sending
                .send(sender, d, cmid(&format!("c{i}")), text(&format!("message {i}")), T0 + i)
                .await
                .unwrap()
        }));
        if i % 10 == 0 {
            let intruding = store.clone();
            rejected.push(tokio::spawn(async move {
                intruding
                    .send(stranger, d, cmid(&format!("x{i}")), text("intruder"), T0)
                    .await
            }));
        }
    }
    let mut seen = Vec::new();
    for send in sends {
        let sent = send.await.unwrap();
        assert!(sent.created);
        seen.push(sent.message.seq);
    }
    for attempt in rejected {
        assert!(matches!(
            attempt.await.unwrap(),
            Err(StoreError::Rejected(Error::NotMember))
        ));
    }
    seen.sort();
    assert_eq!(seen, (1..=200).collect::<Vec<_>>());

    let history = store.history(a, d, None, 1000).await.unwrap();
    assert_eq!(seqs(&history), (1..=200).rev().collect::<Vec<_>>());
    assert!(history.iter().all(|m| m.sender_id != stranger));

    let synced: Vec<i64> = all_events(&*store, a)
        .await
        .iter()
        .filter(|e| e.kind == EventKind::MessageNew)
        .map(|e| json(&e.data)["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(synced, (1..=200).collect::<Vec<_>>());
    let published = sink.since(mark);
    assert_eq!(published.len(), 200);
    assert!(published
        .iter()
        .all(|e| e.kind == EventKind::MessageNew && sorted(&e.recipients) == sorted(&[a, b])));
    let published_seqs: Vec<i64> = published
        .iter()
        .map(|e| json(&e.data)["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(published_seqs, (1..=200).collect::<Vec<_>>());

    // Ten concurrent retries of one send create exactly one message.
    let retries: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.send(b, d, cmid("dup"), text("once"), T0 + 999).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    let mut ids = BTreeSet::new();
    for retry in retries {
        let sent = retry.await.unwrap();
        created += usize::from(sent.created);
        ids.insert((sent.message.id, sent.message.seq));
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    assert_eq!(ids.first().unwrap().1, 201);
    assert_eq!(sink.len(), mark + 201);

    assert_sync_matches_sink(&*store, &sink, &[a, b, stranger]).await;
}

// ---------------------------------------------------------------- two writers

/// Two stores on one database (PostgreSQL nodes, or SQLite processes) must see
/// each other's writes: numbering continues, and a friendship or membership
/// ended through one is ended for the other.
async fn two_writers_share_one_database(store: Arc<dyn Store>, sink: Arc<RecordingSink>, second: Arc<dyn Store>) {
    let [a, b, m] = mk_users(&*store, 1..=3).await[..] else {
        unreachable!()
    };
    let d = befriend(&*store, a, b).await;
    for i in 1..=6 {
        let (node, sender) = if i % 2 == 0 { (&second, b) } else { (&store, a) };
        assert_eq!(say(&**node, sender, d, &format!("n{i}"), "hop").await.seq, i);
    }
    assert_eq!(
        seqs(&second.history(a, d, None, 10).await.unwrap()),
        (1..=6).rev().collect::<Vec<_>>()
    );

    // Each writer's own retry and conflict checks see the other's messages.
    assert!(!second.send(a, d, cmid("n1"), text("hop"), T0).await.unwrap().created);
    assert_rejected!(
        store,
        sink,
        second.send(a, d, cmid("n1"), text("other"), T0),
        Error::IdempotencyConflict
    );

    store.delete_contact(a, b, T0 + 1).await.unwrap();
    assert_rejected!(
        store,
        sink,
        second.send(b, d, cmid("late-b"), text("still friends?"), T0 + 2),
        Error::NotFriends
    );
    befriend(&*second, b, a).await;
    assert_eq!(say(&*store, a, d, "n7", "friends again").await.seq, 7);
    second.block(b, a, T0 + 3).await.unwrap();
    assert_rejected!(
        store,
        sink,
        store.send(a, d, cmid("n8"), text("blocked?"), T0 + 4),
        Error::Blocked
    );
    second.unblock(b, a).await.unwrap();
    assert_eq!(say(&*store, a, d, "n8", "unblocked").await.seq, 8);

    befriend(&*store, a, m).await;
    let g = store.create_group(a, "G", &[m], T0 + 5).await.unwrap();
    assert_eq!(say(&*second, m, g, "m1", "hi").await.seq, 1);
    store.remove_member(a, g, m, T0 + 6).await.unwrap();
    assert_rejected!(
        store,
        sink,
        second.send(m, g, cmid("m2"), text("still here?"), T0 + 7),
        Error::NotMember
    );
    assert_eq!(say(&*second, a, g, "a1", "bye m").await.seq, 2);

    assert_sync_matches_sink(&*second, &sink, &[a, b, m]).await;
}

// ---------------------------------------------------------------- ledger

mod ledger_support {
    use super::*;
    pub use qiao_domain::ledger::AccountKind;
    pub use qiao_domain::money::{Amount, Currency};
    pub use qiao_store::{LedgerAccount, NewTransfer};

    pub use qiao_domain::ids::PaymentId;
    pub use qiao_domain::journal::{LedgerKey, Memo};
    pub use qiao_domain::ledger::Owner;

    /// `owner` as stored: `user:1`, `connector:sandbox`, `escrow:chat`.
    pub async fn account(store: &dyn Store, kind: AccountKind, owner: &str) -> LedgerAccount {
        let owner = Owner::parse(owner).expect("a valid owner");
        store.ledger_account(kind, &owner, Currency::Cny, T0).await.unwrap()
    }

    pub fn cny(minor: i64) -> Amount {
        Amount::new(minor, Currency::Cny).unwrap()
    }

    /// A client-chosen key (as user 0's chat send) from a short test name.
    pub fn key(name: &str) -> LedgerKey {
        LedgerKey::ChatSend {
            user: UserId(0),
            client: cmid(name),
        }
    }

    pub fn memo() -> Memo {
        Memo::Transfer { payment: PaymentId(0) }
    }

    pub fn posted(name: &str, from: &LedgerAccount, to: &LedgerAccount, minor: i64) -> NewTransfer {
        NewTransfer::posted(key(name), from.id, to.id, cny(minor), memo())
    }

    pub async fn balance(store: &dyn Store, a: &LedgerAccount) -> i64 {
        store
            .ledger_account_by_id(a.id)
            .await
            .unwrap()
            .account
            .totals
            .posted_balance()
    }

    pub async fn assert_sound(store: &dyn Store) {
        let report = store.reconcile().await.unwrap();
        assert!(report.is_sound(), "{}", report.render());
    }
}

async fn ledger_posting_and_floors(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use ledger_support::*;
    let bank = account(&*store, AccountKind::BankClearing, "connector:sandbox").await;
    let lin = account(&*store, AccountKind::Wallet, "user:1").await;
    let emily = account(&*store, AccountKind::Wallet, "user:2").await;
    let credit = account(&*store, AccountKind::CreditLine { limit_minor: 5_000 }, "user:2").await;
    assert_eq!(
        account(&*store, AccountKind::Wallet, "user:1").await.id,
        lin.id,
        "opened once"
    );

    store.transfer(posted("top-up", &bank, &lin, 10_000), T0).await.unwrap();
    store.transfer(posted("pay", &lin, &emily, 2_500), T0).await.unwrap();
    assert_eq!(
        (
            balance(&*store, &bank).await,
            balance(&*store, &lin).await,
            balance(&*store, &emily).await
        ),
        (-10_000, 7_500, 2_500)
    );

    // Refused transfers change nothing.
    let overdraw = store.transfer(posted("overdraw", &lin, &emily, 7_501), T0).await;
    assert!(
        matches!(overdraw, Err(StoreError::Rejected(Error::InsufficientFunds))),
        "{overdraw:?}"
    );
    store
        .transfer(posted("on-credit", &credit, &emily, 5_000), T0)
        .await
        .unwrap();
    let past_limit = store.transfer(posted("past-limit", &credit, &emily, 1), T0).await;
    assert!(
        matches!(past_limit, Err(StoreError::Rejected(Error::CreditLimitExceeded))),
        "{past_limit:?}"
    );
    let usd = store
        .ledger_account(AccountKind::Wallet, &Owner::User(UserId(1)), Currency::Usd, T0)
        .await
        .unwrap();
    let mixed = store.transfer(posted("mixed", &lin, &usd, 1), T0).await;
    assert!(
        matches!(mixed, Err(StoreError::Rejected(Error::CurrencyMismatch))),
        "{mixed:?}"
    );
    let itself = store.transfer(posted("itself", &lin, &lin, 1), T0).await;
    assert!(
        matches!(itself, Err(StoreError::Rejected(Error::InvalidRequest))),
        "{itself:?}"
    );
    assert_eq!(
        (
            balance(&*store, &lin).await,
            balance(&*store, &emily).await,
            balance(&*store, &credit).await
        ),
        (7_500, 7_500, -5_000)
    );
    assert_sound(&*store).await;
}

async fn ledger_idempotency(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use ledger_support::*;
    let bank = account(&*store, AccountKind::BankClearing, "connector:sandbox").await;
    let lin = account(&*store, AccountKind::Wallet, "user:1").await;
    let first = store.transfer(posted("k1", &bank, &lin, 100), T0).await.unwrap();
    let retry = store.transfer(posted("k1", &bank, &lin, 100), T0 + 5).await.unwrap();
    assert_eq!(first, retry, "a retry returns the first result");
    let other = store.transfer(posted("k1", &bank, &lin, 101), T0).await;
    assert!(
        matches!(other, Err(StoreError::Rejected(Error::IdempotencyConflict))),
        "{other:?}"
    );
    assert_eq!(balance(&*store, &lin).await, 100, "moved once");
    assert_eq!(store.reconcile().await.unwrap().transfers, 1);

    // Concurrent identical retries (likely coalesced into one batch) move money once.
    let mut retries = Vec::new();
    for _ in 0..20 {
        let (store, bank, lin) = (store.clone(), bank.clone(), lin.clone());
        retries.push(tokio::spawn(async move {
            store.transfer(posted("k2", &bank, &lin, 7), T0).await
        }));
    }
    let conflicting = {
        let (store, bank, lin) = (store.clone(), bank.clone(), lin.clone());
        tokio::spawn(async move { store.transfer(posted("k2", &bank, &lin, 8), T0).await })
    };
    let mut outcomes = vec![(8, conflicting.await.unwrap())];
    for retry in retries {
        outcomes.push((7, retry.await.unwrap()));
    }
    let mut ids = BTreeSet::new();
    let (mut sevens, mut eights, mut conflicts) = (0, 0, 0);
    for (amount, outcome) in outcomes {
        match outcome {
            Ok(t) => {
                ids.insert(t.id);
                assert_eq!(t.amount_minor, amount);
                if amount == 7 {
                    sevens += 1
                } else {
                    eights += 1
                }
            }
            Err(StoreError::Rejected(Error::IdempotencyConflict)) => conflicts += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(ids.len(), 1, "every accepted request names the same transfer");
    // Whichever parameters came first win; the others conflict.
    assert!((sevens, eights, conflicts) == (20, 0, 1) || (sevens, eights, conflicts) == (0, 1, 20));
    let moved = balance(&*store, &lin).await - 100;
    assert_eq!(moved, if sevens == 20 { 7 } else { 8 }, "moved once");
    assert_eq!(store.reconcile().await.unwrap().transfers, 2);
}

async fn ledger_pending_settles_once(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use ledger_support::*;
    let bank = account(&*store, AccountKind::BankClearing, "connector:sandbox").await;
    let lin = account(&*store, AccountKind::Wallet, "user:1").await;
    let escrow = account(&*store, AccountKind::Wallet, "user:2").await;
    store.transfer(posted("top-up", &bank, &lin, 1_000), T0).await.unwrap();
    let hold = NewTransfer {
        pending: true,
        ..posted("hold", &lin, &escrow, 600)
    };
    store.transfer(hold, T0).await.unwrap();
    // Reserved money cannot be spent twice.
    let spend = store.transfer(posted("spend", &lin, &escrow, 401), T0).await;
    assert!(
        matches!(spend, Err(StoreError::Rejected(Error::InsufficientFunds))),
        "{spend:?}"
    );
    let posted_hold = store.settle(&key("hold"), true, &memo(), T0).await.unwrap();
    assert_eq!(
        store.settle(&key("hold"), true, &memo(), T0).await.unwrap(),
        posted_hold,
        "a retried settle is idempotent"
    );
    let void = store.settle(&key("hold"), false, &memo(), T0).await;
    assert!(
        matches!(void, Err(StoreError::Rejected(Error::AlreadySettled))),
        "{void:?}"
    );
    assert_eq!(
        (balance(&*store, &lin).await, balance(&*store, &escrow).await),
        (400, 600)
    );

    let second = NewTransfer {
        pending: true,
        ..posted("hold-2", &lin, &escrow, 300)
    };
    store.transfer(second, T0).await.unwrap();
    store.settle(&key("hold-2"), false, &memo(), T0).await.unwrap();
    let late_post = store.settle(&key("hold-2"), true, &memo(), T0).await;
    assert!(
        matches!(late_post, Err(StoreError::Rejected(Error::AlreadySettled))),
        "{late_post:?}"
    );
    assert_eq!(balance(&*store, &lin).await, 400, "a voided hold gives the money back");
    let unknown = store.settle(&key("no-such-hold"), true, &memo(), T0).await;
    assert!(
        matches!(unknown, Err(StoreError::Rejected(Error::NotFound))),
        "{unknown:?}"
    );
    assert_sound(&*store).await;
}

/// Hole 3 of the outside review: totals that summed history overflowed
/// after about a hundred huge top-ups withdrawn again. Nets don't grow.
async fn ledger_money_going_round_never_exhausts_shared_accounts(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use ledger_support::*;
    let bank = account(&*store, AccountKind::BankClearing, "connector:sandbox").await;
    let lin = account(&*store, AccountKind::Wallet, "user:1").await;
    let huge = i64::MAX / 4;
    for round in 0..200 {
        store
            .transfer(posted(&format!("in-{round}"), &bank, &lin, huge), T0)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        let out = NewTransfer {
            pending: true,
            ..posted(&format!("out-{round}"), &lin, &bank, huge)
        };
        store.transfer(out, T0).await.unwrap();
        store
            .settle(&key(&format!("out-{round}")), true, &memo(), T0)
            .await
            .unwrap();
    }
    let after = store.ledger_account_by_id(bank.id).await.unwrap();
    assert_eq!(after.account.totals, Default::default(), "back where it started");
    assert_sound(&*store).await;
}

/// Reconcile reports an account that came within reach of the numeric
/// limit, through the real transfer path (no caps at this layer).
async fn ledger_reports_accounts_near_the_numeric_limit(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use ledger_support::*;
    let bank = account(&*store, AccountKind::BankClearing, "connector:sandbox").await;
    let lin = account(&*store, AccountKind::Wallet, "user:1").await;
    let edge = qiao_domain::ledger::NUMERIC_ALARM_MINOR;
    store.transfer(posted("edge", &bank, &lin, edge), T0).await.unwrap();
    assert_sound(&*store).await;
    store.transfer(posted("past", &bank, &lin, 1), T0).await.unwrap();
    let report = store.reconcile().await.unwrap();
    let near: Vec<&String> = report
        .problems
        .iter()
        .filter(|p| p.contains("within reach of the numeric limit"))
        .collect();
    assert_eq!(near.len(), 2, "the bank and the wallet: {}", report.render());
}

/// Hole 10: a conflicting key inside one batch was never exercised (the
/// test's conflicting request never landed in the same batch). Here it does.
async fn ledger_a_batch_checks_keys_against_itself(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use ledger_support::*;
    let bank = account(&*store, AccountKind::BankClearing, "connector:sandbox").await;
    let lin = account(&*store, AccountKind::Wallet, "user:1").await;
    let emily = account(&*store, AccountKind::Wallet, "user:2").await;
    let answers = store
        .transfers(
            vec![
                posted("k", &bank, &lin, 5),
                posted("k", &bank, &lin, 6),
                posted("k", &bank, &emily, 5),
                posted("k", &bank, &lin, 5),
                posted("other", &bank, &emily, 7),
            ],
            T0,
        )
        .await
        .unwrap();
    let first = answers[0].as_ref().unwrap().clone();
    for conflicting in &answers[1..3] {
        assert!(
            matches!(conflicting, Err(StoreError::Rejected(Error::IdempotencyConflict))),
            "{conflicting:?}"
        );
    }
    assert_eq!(
        answers[3].as_ref().unwrap(),
        &first,
        "the same request again is the first one"
    );
    assert!(answers[4].is_ok());
    assert_eq!((balance(&*store, &lin).await, balance(&*store, &emily).await), (5, 7));
    // And again in a later batch: the stored row decides.
    let later = store
        .transfers(vec![posted("k", &bank, &lin, 6), posted("k", &bank, &lin, 5)], T0)
        .await
        .unwrap();
    assert!(matches!(
        later[0],
        Err(StoreError::Rejected(Error::IdempotencyConflict))
    ));
    assert_eq!(later[1].as_ref().unwrap(), &first);
    // A batch whose transfers overdraw in order: each sees what the earlier left.
    let spend = store
        .transfers(
            vec![
                posted("s1", &lin, &emily, 4),
                posted("s2", &lin, &emily, 2),
                posted("s3", &lin, &emily, 1),
            ],
            T0,
        )
        .await
        .unwrap();
    assert!(spend[0].is_ok() && spend[2].is_ok());
    assert!(matches!(spend[1], Err(StoreError::Rejected(Error::InsufficientFunds))));
    assert_eq!(balance(&*store, &lin).await, 0);
    assert_sound(&*store).await;
}

/// Hole 10: a member opening one packet twice inside one batch (the old
/// test opened everyone once before trying twice, so the batch never had it).
async fn payments_a_member_opens_once_even_within_one_batch(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use payment_support::*;
    let owner = mk_user(&*store, 1).await.id;
    let members = mk_users(&*store, 2..=4).await;
    for m in &members {
        befriend(&*store, owner, *m).await;
    }
    let group = store.create_group(owner, "G", &members, T0).await.unwrap();
    fund(&*store, owner, 1_000).await;
    let (packet, _) = store
        .send_payment(payment(owner, "rp", group, PaymentKind::RedPacket, 300, 3), T0 + 1)
        .await
        .unwrap();
    let (m1, m2) = (members[0], members[1]);
    let answers = store
        .open_red_packets(
            vec![(m1, packet.id), (m1, packet.id), (m2, packet.id), (m2, packet.id)],
            T0 + 2,
        )
        .await
        .unwrap();
    assert!(answers[0].is_ok() && answers[2].is_ok(), "{answers:?}");
    for again in [&answers[1], &answers[3]] {
        assert!(
            matches!(again, Err(StoreError::Rejected(Error::RedPacketAlreadyOpened))),
            "{again:?}"
        );
    }
    let after = store.payment(owner, packet.id).await.unwrap();
    assert_eq!((after.opened_count, after.opened.len()), (2, 2));
    ledger_support::assert_sound(&*store).await;
}

/// Concurrent transfers that ask for more than there is: five senders with
/// 10.00 each send ten transfers of 1.50 at once, so exactly six of each go
/// through whatever the order, every sender ends with 1.00, and nothing is
/// created or lost. An overdraft would show as a seventh transfer.
async fn ledger_concurrent_transfers_conserve(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use ledger_support::*;
    let bank = account(&*store, AccountKind::BankClearing, "connector:sandbox").await;
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for i in 0..5 {
        let sender = account(&*store, AccountKind::Wallet, &format!("user:{i}")).await;
        store
            .transfer(posted(&format!("fund-{i}"), &bank, &sender, 1_000), T0)
            .await
            .unwrap();
        senders.push(sender);
        receivers.push(account(&*store, AccountKind::Wallet, &format!("user:{}", i + 5)).await);
    }
    let mut tasks = Vec::new();
    for n in 0..50usize {
        let (store, from, to) = (store.clone(), senders[n % 5].clone(), receivers[(n * 3) % 5].clone());
        tasks.push(tokio::spawn(async move {
            store.transfer(posted(&format!("t-{n}"), &from, &to, 150), T0).await
        }));
    }
    let mut done = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => done += 1,
            Err(StoreError::Rejected(Error::InsufficientFunds)) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(done, 30, "six transfers of 1.50 fit in 10.00, for each of five senders");
    for sender in &senders {
        assert_eq!(balance(&*store, sender).await, 100);
    }
    let mut received = 0;
    for receiver in &receivers {
        received += balance(&*store, receiver).await;
    }
    assert_eq!(received, 30 * 150, "money is neither created nor lost");
    let report = store.reconcile().await.unwrap();
    assert!(report.is_sound(), "{}", report.render());
    assert_eq!(report.transfers, 5 + done);
    assert_eq!(report.sums.get("CNY"), Some(&(0, 0)));
}

// ---------------------------------------------------------------- chat payments and PINs

mod payment_support {
    use super::ledger_support::*;
    use super::*;
    pub use qiao_domain::payment::{PaymentKind, PaymentStatus, Split, PAYMENT_TTL_MS};
    pub use qiao_store::{NewPayment, PaySource};

    /// Puts `minor` into `user`'s CNY wallet from the bank.
    pub async fn fund(store: &dyn Store, user: UserId, minor: i64) -> LedgerAccount {
        let bank = account(store, AccountKind::BankClearing, "connector:sandbox").await;
        let wallet = account(store, AccountKind::Wallet, &format!("user:{}", user.0)).await;
        store
            .transfer(posted(&format!("fund-{}", user.0), &bank, &wallet, minor), T0)
            .await
            .unwrap();
        wallet
    }

    pub fn payment(
        sender: UserId,
        key: &str,
        conversation: ConversationId,
        kind: PaymentKind,
        minor: i64,
        count: u32,
    ) -> NewPayment {
        NewPayment {
            sender,
            client_key: cmid(key),
            conversation,
            recipient: None,
            kind,
            split: (kind == PaymentKind::RedPacket).then_some(Split::Lucky),
            amount: cny(minor),
            count,
            note: "note".into(),
            source: PaySource::Balance,
            seed: 42,
            cap: None,
            pricing: None,
            quote: None,
        }
    }
}

async fn payments_transfer_lifecycle(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    use ledger_support::*;
    use payment_support::*;
    let (a, b, c) = (
        mk_user(&*store, 1).await.id,
        mk_user(&*store, 2).await.id,
        mk_user(&*store, 3).await.id,
    );
    let conv = befriend(&*store, a, b).await;
    let wallet_a = fund(&*store, a, 1_000).await;
    let (sent, created) = store
        .send_payment(payment(a, "t1", conv, PaymentKind::Transfer, 300, 1), T0 + 1)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(
        (sent.status, sent.recipient_id, sent.total_minor),
        (PaymentStatus::Pending, Some(b), 300)
    );
    assert_eq!(sent.expires_at_ms, T0 + 1 + PAYMENT_TTL_MS);
    let message = store.history(b, conv, None, 1).await.unwrap().remove(0);
    assert_eq!((message.kind.as_str(), message.payment_id), ("transfer", Some(sent.id)));
    assert_eq!(balance(&*store, &wallet_a).await, 700);
    // The same key: the first payment, nothing moved; other parameters: a conflict.
    let (again, created) = store
        .send_payment(payment(a, "t1", conv, PaymentKind::Transfer, 300, 1), T0 + 2)
        .await
        .unwrap();
    assert!(!created && again.id == sent.id);
    assert_rejected!(
        store,
        sink,
        store.send_payment(payment(a, "t1", conv, PaymentKind::Transfer, 301, 1), T0 + 2),
        Error::IdempotencyConflict
    );
    assert_rejected!(
        store,
        sink,
        store.send_payment(payment(a, "t2", conv, PaymentKind::Transfer, 701, 1), T0 + 2),
        Error::InsufficientFunds
    );
    assert_rejected!(
        store,
        sink,
        store.send_payment(payment(c, "t3", conv, PaymentKind::Transfer, 1, 1), T0 + 2),
        Error::NotMember
    );
    assert_eq!(balance(&*store, &wallet_a).await, 700);

    assert_rejected!(
        store,
        sink,
        store.answer_transfer(a, sent.id, true, T0 + 3),
        Error::Forbidden
    );
    assert_rejected!(
        store,
        sink,
        store.answer_transfer(c, sent.id, true, T0 + 3),
        Error::PaymentNotFound
    );
    let accepted = store.answer_transfer(b, sent.id, true, T0 + 3).await.unwrap();
    assert_eq!(accepted.status, PaymentStatus::Accepted);
    assert_rejected!(
        store,
        sink,
        store.answer_transfer(b, sent.id, true, T0 + 4),
        Error::PaymentHandled
    );
    assert_rejected!(
        store,
        sink,
        store.answer_transfer(b, sent.id, false, T0 + 4),
        Error::PaymentHandled
    );
    let wallet_b = account(&*store, AccountKind::Wallet, &format!("user:{}", b.0)).await;
    assert_eq!(balance(&*store, &wallet_b).await, 300);

    let (second, _) = store
        .send_payment(payment(a, "t4", conv, PaymentKind::Transfer, 200, 1), T0 + 5)
        .await
        .unwrap();
    store.answer_transfer(b, second.id, false, T0 + 6).await.unwrap();
    assert_eq!(balance(&*store, &wallet_a).await, 700);
    assert_sound(&*store).await;
}

async fn payments_red_packet_concurrent_opens(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use ledger_support::*;
    use payment_support::*;
    let owner = mk_user(&*store, 1).await.id;
    let members = mk_users(&*store, 2..=61).await;
    for m in &members {
        befriend(&*store, owner, *m).await;
    }
    let group = store.create_group(owner, "G", &members, T0).await.unwrap();
    fund(&*store, owner, 100_000).await;
    let (packet, _) = store
        .send_payment(payment(owner, "rp", group, PaymentKind::RedPacket, 5_000, 40), T0 + 1)
        .await
        .unwrap();
    assert_eq!((packet.status, packet.shares), (PaymentStatus::Open, 40));
    // 60 members open at once, each twice: 40 shares, each to one member, none lost.
    let opens = members.iter().chain(members.iter()).map(|m| {
        let (store, m) = (Arc::clone(&store), *m);
        tokio::spawn(async move { (m, store.open_red_packet(m, packet.id, T0 + 2).await) })
    });
    let mut got = std::collections::HashMap::new();
    for joined in futures_util::future::join_all(opens).await {
        let (member, result) = joined.unwrap();
        match result {
            Ok((_, share)) => assert!(got.insert(member, share).is_none(), "{member:?} opened twice"),
            Err(StoreError::Rejected(Error::RedPacketEmpty | Error::RedPacketAlreadyOpened)) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(got.len(), 40);
    assert_eq!(got.values().sum::<i64>(), 5_000);
    let done = store.payment(owner, packet.id).await.unwrap();
    assert_eq!(
        (done.status, done.opened_count, done.opened.len()),
        (PaymentStatus::Finished, 40, 40)
    );
    assert_sound(&*store).await;
}

async fn payments_expire_refunds_the_rest(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    use ledger_support::*;
    use payment_support::*;
    let owner = mk_user(&*store, 1).await.id;
    let members = mk_users(&*store, 2..=4).await;
    for m in &members {
        befriend(&*store, owner, *m).await;
    }
    let group = store.create_group(owner, "G", &members, T0).await.unwrap();
    let wallet = fund(&*store, owner, 1_000).await;
    let (packet, _) = store
        .send_payment(payment(owner, "rp", group, PaymentKind::RedPacket, 900, 3), T0)
        .await
        .unwrap();
    let (_, share) = store.open_red_packet(members[0], packet.id, T0 + 1).await.unwrap();
    assert!(store
        .expire_payments(T0 + PAYMENT_TTL_MS - 1, 10)
        .await
        .unwrap()
        .is_empty());
    assert_rejected!(
        store,
        sink,
        store.open_red_packet(members[1], packet.id, T0 + PAYMENT_TTL_MS),
        Error::PaymentExpired
    );
    let refunded = store.expire_payments(T0 + PAYMENT_TTL_MS, 10).await.unwrap();
    assert_eq!(refunded.len(), 1);
    assert_eq!(refunded[0].status, PaymentStatus::Refunded);
    assert_eq!(balance(&*store, &wallet).await, 1_000 - share);
    assert!(
        store
            .expire_payments(T0 + 2 * PAYMENT_TTL_MS, 10)
            .await
            .unwrap()
            .is_empty(),
        "refunded once"
    );
    assert_rejected!(
        store,
        sink,
        store.open_red_packet(members[1], packet.id, T0 + PAYMENT_TTL_MS),
        Error::PaymentExpired
    );
    assert_sound(&*store).await;
}

async fn pins_lock_and_limit(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    let user = mk_user(&*store, 1).await.id;
    assert!(store.pin(user).await.unwrap().is_none());
    assert!(matches!(
        store.record_pin_try(user, true, T0, 60_000).await,
        Err(StoreError::Rejected(Error::PinNotSet))
    ));
    store.set_pin(user, "$argon2id$hash", false, T0).await.unwrap();
    for _ in 0..4 {
        store.record_pin_try(user, false, T0, 60_000).await.unwrap();
    }
    let locked = store.record_pin_try(user, false, T0, 60_000).await.unwrap();
    assert_eq!(locked.state.locked_until_ms, Some(T0 + 60_000));
    assert!(matches!(
        store.record_pin_try(user, true, T0 + 1, 60_000).await,
        Err(StoreError::Rejected(Error::PinLocked))
    ));
    assert!(matches!(
        store.set_pin(user, "$argon2id$other", false, T0 + 1).await,
        Err(StoreError::Rejected(Error::PinLocked))
    ));
    let after = store.record_pin_try(user, true, T0 + 60_000, 60_000).await.unwrap();
    assert_eq!(after.state, Default::default());
    assert_eq!(store.set_no_pin_limit(user, 500).await.unwrap().no_pin_limit_minor, 500);
    let other = mk_user(&*store, 2).await.id;
    assert!(matches!(
        store.set_no_pin_limit(other, 500).await,
        Err(StoreError::Rejected(Error::PinNotSet))
    ));
}

// ---------------------------------------------------------------- reconcile, seen to fail
//
// Each check of reconcile is proven here: a sound ledger (reconcile says so)
// is broken in exactly one way with raw SQL on the real database, behind the
// store's back, and reconcile must name that breakage. Checks are separate
// on purpose, so that switching any one off makes its test fail.

/// Runs raw SQL on the harness's database, outside the store, on one
/// connection (a marker from [`unguard`] first switches a guard off).
fn raw_sql(location: &Location, statements: &[&str]) {
    let statements: Vec<&str> = statements
        .iter()
        .flat_map(|s| {
            let guards = unguard(location, s);
            if guards.is_empty() {
                vec![*s]
            } else {
                guards
            }
        })
        .collect();
    match location {
        Location::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).unwrap();
            for sql in &statements {
                conn.execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
        Location::Postgres(url) => {
            let url = url.clone();
            let statements: Vec<String> = statements.iter().map(|s| s.to_string()).collect();
            std::thread::spawn(move || {
                let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
                for sql in &statements {
                    client.batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                }
            })
            .join()
            .unwrap();
        }
    }
}

/// The ids a broken ledger is built from.
struct Sound {
    bank: i64,
    a: i64,
    b: i64,
    usd: i64,
    /// A posted transfer from A, and a pending one nobody settled yet.
    posted: i64,
    pending_open: i64,
    /// A live chat transfer holding money in escrow.
    payment: i64,
    /// A USD order paid from a CNY wallet at a quote, half refunded, and its refund.
    order: i64,
    refund: i64,
}

/// A small ledger with every kind of row, reconciled sound.
async fn sound_ledger(store: &dyn Store) -> Sound {
    use ledger_support::*;
    use payment_support::*;
    let (u1, u2) = (mk_user(store, 1).await.id, mk_user(store, 2).await.id);
    let conv = befriend(store, u1, u2).await;
    let bank = account(store, AccountKind::BankClearing, "connector:sandbox").await;
    let a = fund(store, u1, 10_000).await;
    let b = account(store, AccountKind::Wallet, &format!("user:{}", u2.0)).await;
    let usd = store
        .ledger_account(AccountKind::Wallet, &Owner::User(u2), Currency::Usd, T0)
        .await
        .unwrap();
    let paid = store.transfer(posted("p", &a, &b, 1_000), T0).await.unwrap();
    let hold = |name: &str, minor| NewTransfer {
        pending: true,
        ..posted(name, &a, &b, minor)
    };
    store.transfer(hold("h1", 500), T0).await.unwrap();
    store.settle(&key("h1"), true, &memo(), T0).await.unwrap();
    let open = store.transfer(hold("h2", 200), T0).await.unwrap();
    let (payment, _) = store
        .send_payment(payment(u1, "pay", conv, PaymentKind::Transfer, 300, 1), T0)
        .await
        .unwrap();
    let (order, refund) = merchant_support::paid_and_half_refunded(store, u1).await;
    assert_sound(store).await;
    Sound {
        order: order.0,
        refund: refund.0,
        bank: bank.id.0,
        a: a.id.0,
        b: b.id.0,
        usd: usd.id.0,
        posted: paid.id.0,
        pending_open: open.id.0,
        payment: payment.id.0,
    }
}

/// Builds a sound ledger, breaks it with `breaking`, and expects reconcile to
/// report a problem containing `expected` (and, on the side, no other check
/// to be needed for it).
async fn reconcile_catches(engine: Engine, breaking: impl FnOnce(&Sound) -> Vec<String>, expected: &str) {
    let harness = Harness::new(engine).await;
    let store = harness.store();
    let sound = sound_ledger(&*store).await;
    let sql = breaking(&sound);
    let statements: Vec<&str> = sql.iter().map(String::as_str).collect();
    raw_sql(&harness.location, &statements);
    let report = store.reconcile().await.unwrap();
    assert!(!report.is_sound(), "a broken ledger passed: {}", report.render());
    assert!(
        report.problems.iter().any(|p| p.contains(expected)),
        "expected a problem containing {expected:?}: {}",
        report.render()
    );
    // The command-line check reads the same database and fails too.
    let at = harness.location.clone();
    let offline = tokio::task::spawn_blocking(move || qiao_store::reconcile_at(&at))
        .await
        .unwrap()
        .unwrap();
    assert!(offline.problems.iter().any(|p| p.contains(expected)));
    harness.finish().await;
}

/// One journal row written behind the store's back.
fn journal_row(debit: i64, credit: i64, minor: i64, currency: &str, phase: &str, pending: Option<i64>) -> String {
    let pending = pending.map_or("NULL".to_owned(), |p| p.to_string());
    format!(
        "INSERT INTO ledger_transfers (idempotency_key, debit_account_id, credit_account_id, amount_minor, currency, phase,
             pending_id, memo, created_at_ms)
         VALUES ('raw-{debit}-{credit}-{minor}-{phase}', {debit}, {credit}, {minor}, '{currency}', '{phase}', {pending}, 'raw', {T0})"
    )
}

macro_rules! reconcile_check {
    ($($name:ident: $breaking:expr => $expected:expr;)+) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::reconcile_catches(super::Engine::Sqlite, $breaking, $expected).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::reconcile_catches(super::Engine::Postgres, $breaking, $expected).await;
            }
        }
    )+};
}

reconcile_check! {
    // A stored total that the journal does not explain.
    reconcile_checks_totals_against_the_journal: |s: &Sound| vec![
        format!("UPDATE ledger_accounts SET posted_balance = posted_balance + 1 WHERE id = {}", s.a),
    ] => "stored totals";
    // The same +1: the stored totals of the currency no longer sum to zero,
    // which this check sees even if the one above were switched off.
    reconcile_checks_that_stored_totals_sum_to_zero: |s: &Sound| vec![
        format!("UPDATE ledger_accounts SET posted_balance = posted_balance + 1 WHERE id = {}", s.a),
    ] => "CNY does not sum to zero";
    // A pending net created from nothing.
    reconcile_checks_that_pending_totals_sum_to_zero: |s: &Sound| vec![
        format!("UPDATE ledger_accounts SET credits_pending = credits_pending + 7 WHERE id = {}", s.b),
    ] => "pending to 7";
    // Money moved out of a wallet past zero, journal and totals agreeing.
    reconcile_checks_floors_by_the_journal: |s: &Sound| vec![
        journal_row(s.a, s.b, 1_000_000, "CNY", "posted", None),
        format!("UPDATE ledger_accounts SET posted_balance = posted_balance - 1000000 WHERE id = {}", s.a),
        format!("UPDATE ledger_accounts SET posted_balance = posted_balance + 1000000 WHERE id = {}", s.b),
    ] => "below its floor by its journal totals";
    // A reservation of more than the wallet holds: its pending debit, not its
    // posted balance, takes it below the floor.
    reconcile_checks_floors_count_pending_debits: |s: &Sound| vec![
        journal_row(s.a, s.b, 1_000_000, "CNY", "pending", None),
        format!("UPDATE ledger_accounts SET debits_pending = debits_pending + 1000000 WHERE id = {}", s.a),
        format!("UPDATE ledger_accounts SET credits_pending = credits_pending + 1000000 WHERE id = {}", s.b),
    ] => "below its floor by its journal totals";
    // Stored totals below the floor (balanced against another account).
    reconcile_checks_floors_by_the_stored_totals: |s: &Sound| vec![
        format!("UPDATE ledger_accounts SET posted_balance = -5 WHERE id = {}", s.b),
    ] => "below its floor by its stored totals";
    reconcile_checks_for_negative_pending_totals: |s: &Sound| vec![
        format!("UPDATE ledger_accounts SET debits_pending = -3, credits_pending = credits_pending - 3 WHERE id = {}", s.bank),
    ] => "negative pending totals";
    // A transfer that moves nothing (the database's CHECK switched off first).
    reconcile_checks_amounts_are_positive: |s: &Sound| vec![
        "PRAGMA_OR_DROP_AMOUNT_CHECK".to_owned(),
        journal_row(s.a, s.b, 0, "CNY", "posted", None),
    ] => "non-positive amount";
    reconcile_checks_currencies: |s: &Sound| vec![
        journal_row(s.b, s.usd, 1, "CNY", "posted", None),
        format!("UPDATE ledger_accounts SET posted_balance = posted_balance - 1 WHERE id = {}", s.b),
        format!("UPDATE ledger_accounts SET posted_balance = posted_balance + 1 WHERE id = {}", s.usd),
    ] => "is in CNY but account";
    reconcile_checks_accounts_exist: |s: &Sound| vec![
        "DROP_FOREIGN_KEYS".to_owned(),
        journal_row(s.a, 999_999, 1, "CNY", "posted", None),
        format!("UPDATE ledger_accounts SET posted_balance = posted_balance - 1 WHERE id = {}", s.a),
    ] => "names missing account";
    reconcile_checks_a_transfer_has_two_sides: |s: &Sound| vec![
        journal_row(s.a, s.a, 1, "CNY", "posted", None),
    ] => "same account";
    reconcile_checks_settlements_settle_a_pending_transfer: |s: &Sound| vec![
        journal_row(s.a, s.b, 1_000, "CNY", "post_pending", Some(s.posted)),
    ] => "names no pending transfer";
    reconcile_checks_settlements_match_their_pending_transfer: |s: &Sound| vec![
        journal_row(s.a, s.b, 199, "CNY", "void_pending", Some(s.pending_open)),
    ] => "does not match its pending transfer";
    reconcile_checks_money_rows_name_no_pending_transfer: |s: &Sound| vec![
        journal_row(s.b, s.a, 1, "CNY", "posted", Some(s.pending_open)),
    ] => "names a pending transfer";
    // A transfer marked accepted without its money leaving escrow.
    // An order written down as paid with no money behind it.
    reconcile_checks_paid_orders_have_their_money: |s: &Sound| vec![
        format!("INSERT INTO merchant_orders (merchant_id, kind, out_trade_no, token, amount_minor, currency, description,
                     status, expires_at_ms, created_at_ms, payer_currency, payer_debit_minor, payer_fee_minor)
                 SELECT merchant_id, kind, 'forged', 'forged-token', 100, currency, 'x', 'paid', expires_at_ms, created_at_ms,
                     payer_currency, 100, 0 FROM merchant_orders WHERE id = {}", s.order),
    ] => "has no payment in the journal";
    // Money moved for an order that, by its row, was never paid.
    reconcile_checks_money_for_unpaid_orders: |s: &Sound| vec![
        format!("UPDATE merchant_orders SET status = 'closed' WHERE id = {}", s.order),
    ] => "which is not paid";
    // Refund totals the refunds do not explain.
    reconcile_checks_refund_totals: |s: &Sound| vec![
        format!("UPDATE merchant_orders SET refunded_minor = refunded_minor + 1 WHERE id = {}", s.order),
    ] => "but its refunds add up to";
    // A refund whose recorded amount is not what its money moved.
    reconcile_checks_refund_legs: |s: &Sound| vec![
        format!("UPDATE merchant_refunds SET amount_minor = amount_minor - 1 WHERE id = {}", s.refund),
        format!("UPDATE merchant_orders SET refunded_minor = refunded_minor - 1 WHERE id = {}", s.order),
    ] => "but order";
    // A payer's debit the journal does not match.
    reconcile_checks_payment_legs: |s: &Sound| vec![
        format!("UPDATE merchant_orders SET payer_debit_minor = payer_debit_minor + 1 WHERE id = {}", s.order),
    ] => "but order";
    reconcile_checks_escrow_against_live_payments: |s: &Sound| vec![
        format!("UPDATE chat_payments SET status = 'accepted' WHERE id = {}", s.payment),
    ] => "chat escrow holds";
}

/// The breakages above that need the database's own guards off first.
fn unguard(location: &Location, marker: &str) -> Vec<&'static str> {
    match (location, marker) {
        (Location::Sqlite(_), "PRAGMA_OR_DROP_AMOUNT_CHECK") => vec!["PRAGMA ignore_check_constraints = ON"],
        (Location::Postgres(_), "PRAGMA_OR_DROP_AMOUNT_CHECK") => {
            vec!["ALTER TABLE ledger_transfers DROP CONSTRAINT ledger_transfers_amount_minor_check"]
        }
        (Location::Sqlite(_), "DROP_FOREIGN_KEYS") => vec!["PRAGMA foreign_keys = OFF"],
        (Location::Postgres(_), "DROP_FOREIGN_KEYS") => vec![
            "ALTER TABLE ledger_transfers DROP CONSTRAINT ledger_transfers_debit_account_id_fkey",
            "ALTER TABLE ledger_transfers DROP CONSTRAINT ledger_transfers_credit_account_id_fkey",
        ],
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------- merchants

mod merchant_support {
    use super::*;
    use qiao_domain::fx::{self, Pricing, Rate};
    use qiao_domain::ids::{CardId, OrderId, RefundId};
    use qiao_domain::money::{Amount, Currency};
    pub use qiao_store::{
        CardRecord, MerchantRecord, NewMerchant, NewOrder, NewQuote, NewRefund, OrderRef, PayOrder, QuoteRecord,
    };

    pub async fn merchant(store: &dyn Store, owner: UserId, currency: Currency) -> MerchantRecord {
        let card = store
            .add_card(CardRecord {
                id: CardId(0),
                user_id: owner,
                connector: "sandbox".into(),
                token: format!("tok-{}", owner.0),
                last4: "4242".into(),
                brand: "visa".into(),
                funding: qiao_domain::card::Funding::Debit,
                created_at_ms: T0,
                fingerprint: None,
            })
            .await
            .unwrap();
        store
            .create_merchant(
                NewMerchant {
                    owner,
                    legal_name: "Lucky Noodle LLC".into(),
                    display_name: "Lucky Noodle".into(),
                    country: "US".into(),
                    city: "Las Vegas".into(),
                    mcc: "5812".into(),
                    currency,
                    settlement_card: card.id,
                    notify_url: Some("https://lucky.example/notify".into()),
                    signing_secret: "whsec_test".into(),
                },
                T0,
            )
            .await
            .unwrap()
    }

    pub fn order(m: &MerchantRecord, number: &str, minor: i64) -> NewOrder {
        NewOrder {
            merchant: m.id,
            shop: None,
            out_trade_no: number.into(),
            token: format!("token-{number}-{}", m.id.0),
            amount_minor: minor,
            currency: m.currency,
            description: "Dinner".into(),
            notify_url: None,
            expires_at_ms: T0 + 900_000,
        }
    }

    /// A quote for `payer` (CNY) to pay `price` (USD) at 7.1 less 50 bps, plus 1%.
    pub async fn quote(store: &dyn Store, payer: UserId, price: i64) -> QuoteRecord {
        let mid = Rate::parse(Currency::Usd, Currency::Cny, "7.1")
            .unwrap()
            .inverse()
            .unwrap();
        let conversion = fx::to_receive(
            mid,
            Amount::new(price, Currency::Usd).unwrap(),
            Pricing::new(50, 100).unwrap(),
        )
        .unwrap();
        store
            .create_quote(
                NewQuote {
                    user: payer,
                    conversion,
                    expires_at_ms: T0 + 120_000,
                },
                T0,
            )
            .await
            .unwrap()
    }

    pub fn pay(payer: UserId, key: &str, quote: Option<&QuoteRecord>) -> PayOrder {
        PayOrder {
            payer,
            payer_key: key.into(),
            currency: Currency::Cny,
            quote: quote.map(|q| q.id),
            cap: None,
        }
    }

    /// A $5.00 order of a new USD merchant, paid by `payer` from CNY, half refunded.
    pub async fn paid_and_half_refunded(store: &dyn Store, payer: UserId) -> (OrderId, RefundId) {
        let owner = super::mk_user(store, 900).await.id;
        let m = merchant(store, owner, Currency::Usd).await;
        let (o, _) = store.create_order(order(&m, "S-1", 500), T0).await.unwrap();
        let q = quote(store, payer, 500).await;
        store.pay_order(o.id, pay(payer, "sound", Some(&q)), T0).await.unwrap();
        let refund = NewRefund {
            merchant: m.id,
            order: OrderRef::Id(o.id),
            out_refund_no: "R-1".into(),
            amount_minor: 250,
            reason: String::new(),
            by: None,
        };
        let (r, _) = store.refund(refund, T0).await.unwrap();
        (o.id, r.id)
    }
}

async fn merchants_orders_pay_refund_and_reconcile(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use ledger_support::*;
    use merchant_support::*;
    use payment_support::fund;
    let owner = mk_user(&*store, 1).await.id;
    let payer = mk_user(&*store, 2).await.id;
    let wallet = fund(&*store, payer, 100_000).await;
    let m = merchant(&*store, owner, qiao_domain::money::Currency::Usd).await;
    let (o, fresh) = store.create_order(order(&m, "T-1", 2372), T0).await.unwrap();
    assert!(fresh);
    let (again, fresh) = store.create_order(order(&m, "T-1", 2372), T0).await.unwrap();
    assert_eq!((again.id, fresh), (o.id, false));
    assert_rejected!(
        store,
        _sink,
        store.create_order(order(&m, "T-1", 1), T0),
        Error::OrderNumberTaken
    );

    // Across currencies a quote is needed, and must be the payer's and match.
    assert_rejected!(
        store,
        _sink,
        store.pay_order(o.id, pay(payer, "k", None), T0),
        Error::QuoteNotFound
    );
    let wrong = quote(&*store, payer, 100).await;
    assert_rejected!(
        store,
        _sink,
        store.pay_order(o.id, pay(payer, "k", Some(&wrong)), T0),
        Error::QuoteNotFound
    );
    let q = quote(&*store, payer, 2372).await;
    let paid = store.pay_order(o.id, pay(payer, "k", Some(&q)), T0).await.unwrap();
    assert_eq!(paid.status, qiao_domain::merchant::OrderStatus::Paid);
    assert_eq!(balance(&*store, &wallet).await, 100_000 - q.debit_minor);
    // The same payer and key is the same payment; another key is refused.
    assert_eq!(
        store.pay_order(o.id, pay(payer, "k", Some(&q)), T0).await.unwrap().id,
        o.id
    );
    let q2 = quote(&*store, payer, 2372).await;
    assert_rejected!(
        store,
        _sink,
        store.pay_order(o.id, pay(payer, "k2", Some(&q2)), T0),
        Error::OrderAlreadyPaid
    );
    assert_rejected!(
        store,
        _sink,
        store.pay_order(o.id, pay(payer, "k3", Some(&q)), T0),
        Error::OrderAlreadyPaid
    );

    // Refunds: idempotent by number, never above what is left, the last one exact.
    let refund = |no: &str, minor| NewRefund {
        merchant: m.id,
        order: OrderRef::OutTradeNo("T-1".into()),
        out_refund_no: no.into(),
        amount_minor: minor,
        reason: String::new(),
        by: None,
    };
    let (r1, _) = store.refund(refund("R-1", 1000), T0).await.unwrap();
    let (r1b, _) = store.refund(refund("R-1", 1000), T0).await.unwrap();
    assert_eq!(r1, r1b);
    assert_rejected!(
        store,
        _sink,
        store.refund(refund("R-1", 999), T0),
        Error::IdempotencyConflict
    );
    assert_rejected!(
        store,
        _sink,
        store.refund(refund("R-2", 1373), T0),
        Error::RefundExceedsPaid
    );
    let (r2, after) = store.refund(refund("R-2", 1372), T0).await.unwrap();
    assert_eq!(after.status, qiao_domain::merchant::OrderStatus::Refunded);
    assert_eq!(
        r1.payer_amount_minor + r2.payer_amount_minor,
        q.debit_minor,
        "every fen back, fee included"
    );
    assert_eq!(balance(&*store, &wallet).await, 100_000);
    // Another merchant can't see or refund it.
    let other = merchant(&*store, owner, qiao_domain::money::Currency::Usd).await;
    assert_rejected!(
        store,
        _sink,
        store.order(other.id, OrderRef::OutTradeNo("T-1".into())),
        Error::OrderNotFound
    );
    assert_sound(&*store).await;
}

async fn merchants_a_crowd_pays_one_order_once(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use ledger_support::assert_sound;
    use merchant_support::*;
    use payment_support::fund;
    let owner = mk_user(&*store, 1).await.id;
    let m = merchant(&*store, owner, qiao_domain::money::Currency::Cny).await;
    let (o, _) = store.create_order(order(&m, "C-1", 500), T0).await.unwrap();
    let payers = mk_users(&*store, 10..=29).await;
    for p in &payers {
        fund(&*store, *p, 1_000).await;
    }
    let tries = payers.iter().map(|p| {
        let store = Arc::clone(&store);
        let p = *p;
        async move { store.pay_order(o.id, pay(p, "crowd", None), T0).await }
    });
    let results = futures_util::future::join_all(tries).await;
    let paid = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(paid, 1, "exactly one of twenty concurrent payers pays");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(refused, StoreError::Rejected(Error::OrderAlreadyPaid)),
            "{refused:?}"
        );
    }
    assert_sound(&*store).await;
}

async fn merchants_payment_codes_work_once(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use merchant_support::*;
    use qiao_store::{CodeCharge, CodeOwner};
    let owner = mk_user(&*store, 1).await.id;
    let payer = mk_user(&*store, 2).await.id;
    let m = merchant(&*store, owner, qiao_domain::money::Currency::Cny).await;
    let device = CodeOwner {
        user: payer,
        session: SessionId(7),
    };
    store
        .issue_payment_code(device, "hash-1", T0, T0 + 90_000)
        .await
        .unwrap();
    let charge = |no: &str, hash: &str| CodeCharge {
        merchant: m.id,
        shop: None,
        out_trade_no: no.into(),
        token: format!("t-{no}"),
        code_hash: hash.into(),
        amount_minor: 100,
        description: "Gum".into(),
        notify_url: None,
        expires_at_ms: T0 + 300_000,
        settle: None,
    };
    let o = store.charge_code(charge("P-1", "hash-1"), T0).await.unwrap();
    assert_eq!(o.payer_id, Some(payer));
    assert_eq!(
        store.charge_code(charge("P-1", "hash-1"), T0).await.unwrap().id,
        o.id,
        "a retry"
    );
    assert_rejected!(
        store,
        _sink,
        store.charge_code(charge("P-2", "hash-1"), T0),
        Error::PaymentCodeUsed
    );
    assert_rejected!(
        store,
        _sink,
        store.charge_code(charge("P-3", "nope"), T0),
        Error::PaymentCodeInvalid
    );
    store
        .issue_payment_code(device, "hash-2", T0, T0 + 90_000)
        .await
        .unwrap();
    store
        .issue_payment_code(device, "hash-3", T0, T0 + 90_000)
        .await
        .unwrap();
    assert_rejected!(
        store,
        _sink,
        store.charge_code(charge("P-4", "hash-2"), T0),
        Error::PaymentCodeExpired
    );
    assert_rejected!(
        store,
        _sink,
        store.charge_code(charge("P-5", "hash-3"), T0 + 90_000),
        Error::PaymentCodeExpired
    );
    // The order is its payer's: nobody else may pay it.
    let mallory = mk_user(&*store, 3).await.id;
    assert_rejected!(
        store,
        _sink,
        store.pay_order(o.id, pay(mallory, "m", None), T0),
        Error::OrderNotFound
    );
}

async fn merchants_notifications_lease_and_retry(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use merchant_support::*;
    use payment_support::fund;
    use qiao_store::Attempt;
    let owner = mk_user(&*store, 1).await.id;
    let payer = mk_user(&*store, 2).await.id;
    fund(&*store, payer, 1_000).await;
    let m = merchant(&*store, owner, qiao_domain::money::Currency::Cny).await;
    let (o, _) = store.create_order(order(&m, "N-1", 100), T0).await.unwrap();
    store.pay_order(o.id, pay(payer, "n", None), T0).await.unwrap();
    let due = store.lease_notifications(T0, 60_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(due[0].body.contains("payment.succeeded"));
    assert!(
        store.lease_notifications(T0, 60_000, 10).await.unwrap().is_empty(),
        "leased"
    );
    let failed = store
        .record_attempt(
            due[0].id,
            Attempt::Failed {
                status: Some(500),
                error: "boom".into(),
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!((failed.attempts, failed.next_at_ms), (1, Some(T0 + 15_000)));
    assert!(store
        .lease_notifications(T0 + 14_999, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    let due = store.lease_notifications(T0 + 15_000, 60_000, 10).await.unwrap();
    let done = store
        .record_attempt(due[0].id, Attempt::Delivered { status: 200 }, T0 + 15_000)
        .await
        .unwrap();
    assert_eq!(
        (done.attempts, done.next_at_ms, done.delivered_at_ms),
        (2, None, Some(T0 + 15_000))
    );
    // The first try and fifteen waits: then it is given up.
    let resent = store.resend_notification(m.id, done.id, T0 + 20_000).await.unwrap();
    assert_eq!(resent.next_at_ms, Some(T0 + 20_000));
    let mut at = T0 + 20_000;
    for _ in 0..16 {
        let due = store.lease_notifications(at, 1, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        let n = store
            .record_attempt(
                due[0].id,
                Attempt::Failed {
                    status: None,
                    error: "down".into(),
                },
                at,
            )
            .await
            .unwrap();
        match n.next_at_ms {
            Some(next) => at = next,
            None => break,
        }
    }
    let listed = store.notifications(m.id, 10).await.unwrap();
    // The schedule counts every attempt (these two before the resend too):
    // after the sixteenth, nothing is due any more.
    assert_eq!(
        (listed[0].attempts, listed[0].next_at_ms),
        (16, None),
        "given up after the schedule"
    );
}

/// A bank movement retried on another node (or after a restart) names
/// that writer's clearing shard: it is the same request, answered with the
/// first transfer. Another connector, or another amount, is a conflict.
async fn ledger_a_retry_through_another_shard_is_the_same_request(store: Arc<dyn Store>, sink: Arc<RecordingSink>) {
    use ledger_support::*;
    let user = mk_user(&*store, 1).await.id;
    let clearing = |name: &str, n| Owner::Connector {
        name: name.into(),
        shard: qiao_domain::ledger::Shard::new(n).unwrap(),
    };
    let open = |owner: Owner| {
        let store = store.clone();
        async move {
            store
                .ledger_account(AccountKind::BankClearing, &owner, Currency::Cny, T0)
                .await
                .unwrap()
        }
    };
    let (here, there, elsewhere) = (
        open(clearing("sandbox", 3)).await,
        open(clearing("sandbox", 9)).await,
        open(clearing("other", 3)).await,
    );
    let wallet = account(&*store, AccountKind::Wallet, &format!("user:{}", user.0)).await;
    let top_up = |from: &LedgerAccount, minor| {
        NewTransfer::posted(
            LedgerKey::TopUp {
                user,
                client: cmid("once"),
            },
            from.id,
            wallet.id,
            cny(minor),
            memo(),
        )
    };
    let first = store.transfer(top_up(&here, 500), T0).await.unwrap();
    let retried = store.transfer(top_up(&there, 500), T0 + 1).await.unwrap();
    assert_eq!(retried.id, first.id);
    assert_eq!(retried.debit, here.id, "the first attempt's shard");
    assert_rejected!(
        store,
        sink,
        store.transfer(top_up(&elsewhere, 500), T0 + 2),
        Error::IdempotencyConflict
    );
    assert_rejected!(
        store,
        sink,
        store.transfer(top_up(&there, 501), T0 + 2),
        Error::IdempotencyConflict
    );
    assert_eq!(balance(&*store, &wallet).await, 500);
    assert_eq!(balance(&*store, &there).await, 0);
    assert_sound(&*store).await;
}

async fn ledger_daily_caps_count_in_the_writer(store: Arc<dyn Store>, _sink: Arc<RecordingSink>) {
    use ledger_support::*;
    use qiao_domain::caps::{CapKind, Caps, DailyCap};
    use qiao_domain::ids::CardId;
    use qiao_store::CapCheck;
    let user = mk_user(&*store, 1).await.id;
    let bank = account(&*store, AccountKind::BankClearing, "connector:sandbox").await;
    let wallet = account(&*store, AccountKind::Wallet, &format!("user:{}", user.0)).await;
    let caps = Caps {
        per_operation_minor: 1000,
        per_day_minor: 1000,
    };
    let top_up = |k: &str, minor| NewTransfer {
        pending: true,
        cap: Some(CapCheck {
            user,
            cap: DailyCap {
                kind: CapKind::TopUp,
                caps,
            },
        }),
        ..NewTransfer::posted(
            LedgerKey::TopUp { user, client: cmid(k) },
            bank.id,
            wallet.id,
            cny(minor),
            Memo::TopUp { card: CardId(1) },
        )
    };
    let used = |at: i64| {
        let store = Arc::clone(&store);
        async move { store.daily_used(user, Currency::Cny, CapKind::TopUp, at).await.unwrap() }
    };
    store.transfer(top_up("a", 600), T0).await.unwrap();
    assert_eq!(used(T0).await, 600);
    assert_rejected!(
        store,
        _sink,
        store.transfer(top_up("b", 401), T0),
        Error::DailyLimitReached
    );
    assert_eq!(used(T0).await, 600, "a refusal counts nothing");
    store.transfer(top_up("c", 400), T0).await.unwrap();
    assert_eq!(used(T0).await, 1000, "exactly the cap is allowed");
    // A retry is the first transfer, not a second count.
    store.transfer(top_up("c", 400), T0).await.unwrap();
    assert_eq!(used(T0).await, 1000);
    // A voided reservation gives its amount back, on the day it was made;
    // a posted one keeps counting.
    let key = |k: &str| LedgerKey::TopUp { user, client: cmid(k) };
    let void = Memo::BankVoided {
        reason: Error::CardDeclined,
    };
    store.settle(&key("a"), false, &void, T0 + 1).await.unwrap();
    assert_eq!(used(T0).await, 400);
    let posted = Memo::BankPosted { reference: "r".into() };
    store.settle(&key("c"), true, &posted, T0 + 1).await.unwrap();
    assert_eq!(used(T0).await, 400);
    // Other kinds and days have their own totals.
    assert_eq!(
        store
            .daily_used(user, Currency::Cny, CapKind::Withdrawal, T0)
            .await
            .unwrap(),
        0
    );
    let next_day = T0 + 86_400_000;
    assert_eq!(used(next_day).await, 0);
    store.transfer(top_up("d", 1000), next_day).await.unwrap();
    assert_eq!(used(next_day).await, 1000);
    assert_eq!(used(T0).await, 400);
    assert_sound(&*store).await;
}

/// A database a newer Qiao migrated is refused, not misread: opening it
/// fails with a message that says so, on both engines.
mod a_newer_schema_is_refused {
    use super::*;

    async fn check(engine: Engine) {
        let mut harness = Harness::new(engine).await;
        drop(harness.store.take());
        let location = harness.location.clone();
        let message = tokio::task::spawn_blocking(move || {
            let mark = "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (9999, 0)";
            match &location {
                Location::Sqlite(path) => {
                    rusqlite::Connection::open(path).unwrap().execute_batch(mark).unwrap();
                }
                Location::Postgres(url) => {
                    postgres::Client::connect(url, postgres::NoTls)
                        .unwrap()
                        .batch_execute(mark)
                        .unwrap();
                }
            }
            match qiao_store::open(&location, Arc::new(qiao_store::NoSink)) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("a database of schema 9999 was opened"),
            }
        })
        .await
        .unwrap();
        assert!(message.contains("newer than this qiao knows"), "{message}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        check(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        check(Engine::Postgres).await;
    }
}

// ---------------------------------------------------------------- parallel writers (PostgreSQL)

/// Writers on several PostgreSQL nodes commit messages of different
/// conversations in parallel, while every reader's cursor stays exact.
mod parallel_writers {
    use super::*;

    /// A node's batch in flight in one conversation, opened by hand: the
    /// writer lock shared, the conversation's lock, a transaction id, and (on
    /// `append`) one event at the position a writer would give it.
    struct InFlightBatch {
        client: Option<::postgres::Client>,
        /// Held while the batch is open (see [`OPEN_BATCHES`]).
        _turn: tokio::sync::MutexGuard<'static, ()>,
    }

    /// One batch opened by hand at a time, across these tests: an open
    /// transaction holds back what readers see on the whole PostgreSQL
    /// cluster (every test database on it), so one test's batch would make
    /// every answer of another test's wait up to 5 s, and a test that
    /// bounds its waits would fail by chance.
    static OPEN_BATCHES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    /// A failed test drops the batch on an async thread, where the blocking
    /// client may not be dropped: hand it to a thread of its own.
    impl Drop for InFlightBatch {
        fn drop(&mut self) {
            if let Some(client) = self.client.take() {
                let _ = std::thread::spawn(move || drop(client)).join();
            }
        }
    }

    impl InFlightBatch {
        /// A batch holding these (class, key) locks, as a writer names
        /// conversations (7184), users (7185), escrow shards (7186) and
        /// merchants (7187), once no other test has one open.
        async fn begin(location: &Location, locks: Vec<(i32, i64)>) -> Self {
            let turn = OPEN_BATCHES.lock().await;
            let Location::Postgres(url) = location.clone() else {
                unreachable!()
            };
            let client = tokio::task::spawn_blocking(move || {
                let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
                let mut sql = String::from("BEGIN; SELECT pg_advisory_xact_lock_shared(7183);");
                for (class, key) in locks {
                    sql.push_str(&format!(" SELECT pg_advisory_xact_lock({class}, {key});"));
                }
                sql.push_str(" SELECT pg_current_xact_id();");
                client.batch_execute(&sql).unwrap();
                client
            })
            .await
            .unwrap();
            Self {
                client: Some(client),
                _turn: turn,
            }
        }

        /// [`InFlightBatch::commit`], from an async test.
        async fn end(self) {
            tokio::task::spawn_blocking(move || self.commit()).await.unwrap()
        }

        fn client(&mut self) -> &mut ::postgres::Client {
            self.client.as_mut().unwrap()
        }

        fn append(&mut self, conversation: ConversationId) -> i64 {
            self.client()
                .query_one(
                    "INSERT INTO events (pos, kind, conversation_id, at_ms, data)
                     VALUES (qiao_event_pos(0), 'message.recalled', $1, 0, '{}') RETURNING pos",
                    &[&conversation.0],
                )
                .unwrap()
                .get(0)
        }

        fn commit(mut self) {
            self.client().batch_execute("COMMIT").unwrap();
        }
    }

    /// The number `query` (a `SELECT COUNT(*)` over `$1`, `$2` …) counts,
    /// read on a connection of its own.
    fn count(location: &Location, query: &str, values: &[i64]) -> i64 {
        let Location::Postgres(url) = location else {
            unreachable!()
        };
        let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
        let params: Vec<&(dyn ::postgres::types::ToSql + Sync)> = values
            .iter()
            .map(|v| v as &(dyn ::postgres::types::ToSql + Sync))
            .collect();
        client.query_one(query, &params).unwrap().get(0)
    }

    /// Waits (bounded) until `query` counts at least one row; `what`
    /// names the wait in the failure.
    async fn until_counted(location: &Location, query: String, values: Vec<i64>, what: String) {
        let location = location.clone();
        tokio::time::timeout(std::time::Duration::from_secs(20), async {
            loop {
                let (at, query, values) = (location.clone(), query.clone(), values.clone());
                if tokio::task::spawn_blocking(move || count(&at, &query, &values))
                    .await
                    .unwrap()
                    >= 1
                {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{what}"));
    }

    /// Waits until a row of `table` matching `condition` (`$1` = `value`)
    /// is committed.
    async fn until_committed(location: &Location, table: &str, condition: &str, value: i64, what: &str) {
        let query = format!("SELECT COUNT(*) FROM {table} WHERE {condition}");
        until_counted(
            location,
            query,
            vec![value],
            format!("{what} waited for the open batch"),
        )
        .await;
    }

    /// Waits until some batch waits for the advisory lock (`class`, `key`):
    /// what a node does when another holds it.
    async fn until_waiting_for(location: &Location, class: i32, key: i64, what: &str) {
        let query = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                       AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 2";
        until_counted(
            location,
            query.to_owned(),
            vec![i64::from(class), key],
            format!("{what} never waited for the lock"),
        )
        .await;
    }

    /// With a batch of conversation X open on one node, another node commits a
    /// message of conversation Y (a global writer lock would hold it until X
    /// ends). Readers do not see Y's message while X's batch, which began
    /// first, may still append below it; once X commits they see both, in
    /// order, and a cursor taken in between skips nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_in_flight_holds_back_what_readers_see_not_other_writes() {
        let harness = Harness::new(Engine::Postgres).await;
        let store = harness.store();
        let second = harness.open_second().await;
        let [a, b, c] = mk_users(&*store, 1..=3).await[..] else {
            unreachable!()
        };
        befriend(&*store, a, b).await;
        befriend(&*store, a, c).await;
        let x = store.create_group(a, "X", &[b], T0).await.unwrap();
        let y = store.create_group(a, "Y", &[c], T0).await.unwrap();
        let cursor = store.head().await.unwrap();

        let mut in_flight = InFlightBatch::begin(&harness.location, vec![(7184, x.0)]).await;
        let sending = tokio::spawn({
            let second = second.clone();
            async move { second.send(a, y, cmid("y1"), text("in parallel"), T0).await }
        });
        // The message commits while X's batch is open, and so does a sign-in.
        until_committed(
            &harness.location,
            "messages",
            "conversation_id = $1",
            y.0,
            "a message of another conversation",
        )
        .await;
        let signing_in = tokio::spawn({
            let second = second.clone();
            async move { second.create_session(c, "parallel-token", "phone", T0).await }
        });
        until_committed(
            &harness.location,
            "sessions",
            "user_id = $1 AND token_hash = 'parallel-token'",
            c.0,
            "a sign-in",
        )
        .await;

        assert!(
            store.events_since(a, cursor, 100).await.unwrap().is_empty(),
            "a reader saw past a batch still in flight"
        );
        assert_eq!(
            store.head().await.unwrap(),
            cursor,
            "the head moved past a batch in flight"
        );
        assert!(
            !sending.is_finished(),
            "the sender was answered before readers could see its message"
        );

        let x_pos = tokio::task::spawn_blocking(move || {
            let pos = in_flight.append(x);
            in_flight.commit();
            pos
        })
        .await
        .unwrap();
        let sent = sending.await.unwrap().unwrap();
        signing_in.await.unwrap().unwrap();
        let seen = store.events_since(a, cursor, 100).await.unwrap();
        let kinds: Vec<(EventKind, Option<ConversationId>)> =
            seen.iter().map(|e| (e.kind, e.conversation_id)).collect();
        assert_eq!(
            kinds,
            [(EventKind::MessageRecalled, Some(x)), (EventKind::MessageNew, Some(y))]
        );
        assert_eq!(seen[0].pos.0, x_pos);
        assert!(seen[0].pos < seen[1].pos);
        assert_eq!(json(&seen[1].data)["id"], sent.message.id.0);
        assert!(
            store.head().await.unwrap() >= seen[1].pos,
            "the sign-in's event may be newer"
        );
        drop(second);
        drop(store);
    }

    /// Two nodes send hundreds of messages into eight groups at once, while
    /// friend requests (batches that lock everything) interleave. Each user's
    /// device tails the stream with a cursor, reading when woken; what it
    /// collects is exactly what a full read from the start returns: every
    /// event once, in order, none skipped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_in_parallel_every_cursor_sees_each_event_once_in_order() {
        const GROUPS: usize = 8;
        const PER_GROUP: usize = 40;
        let harness = Harness::new(Engine::Postgres).await;
        let store = harness.store();
        let second = harness.open_second().await;
        let sink = harness.sink();
        let users = mk_users(&*store, 1..=6).await;
        let strangers = mk_users(&*store, 7..=10).await;
        for (i, &a) in users.iter().enumerate() {
            for &b in &users[i + 1..] {
                befriend(&*store, a, b).await;
            }
        }
        let mut groups = Vec::new();
        for g in 0..GROUPS {
            let members = [users[g % 6], users[(g + 1) % 6], users[(g + 3) % 6]];
            groups.push((
                store.create_group(members[0], "g", &members[1..], T0).await.unwrap(),
                members,
            ));
        }
        let start = store.head().await.unwrap();
        let expected = |user: UserId| groups.iter().filter(|(_, m)| m.contains(&user)).count() * PER_GROUP;

        let mut tails = Vec::new();
        for &user in &users {
            let (store, sink, want) = (store.clone(), sink.clone(), expected(user));
            tails.push(tokio::spawn(async move {
                let mut seen: Vec<EventRecord> = Vec::new();
                let mut cursor = start;
                loop {
                    let woken = sink.published.notified();
                    tokio::pin!(woken);
                    woken.as_mut().enable();
                    let page = store.events_since(user, cursor, 50).await.unwrap();
                    if let Some(last) = page.last() {
                        cursor = last.pos;
                    }
                    let full_page = page.len() == 50;
                    seen.extend(page);
                    if seen.iter().filter(|e| e.kind == EventKind::MessageNew).count() >= want {
                        return (user, seen);
                    }
                    if !full_page {
                        tokio::time::timeout(std::time::Duration::from_secs(30), woken)
                            .await
                            .expect("a device was never woken for events it has not seen");
                    }
                }
            }));
        }

        let mut sends = Vec::new();
        for i in 0..PER_GROUP {
            for (g, (conversation, members)) in groups.iter().enumerate() {
                let node = if (i + g) % 2 == 0 {
                    store.clone()
                } else {
                    second.clone()
                };
                let (conversation, sender) = (*conversation, members[i % 3]);
                sends.push(tokio::spawn(async move {
                    let sent = node
                        .send(sender, conversation, cmid(&format!("m{g}-{i}")), text("hi"), T0)
                        .await
                        .unwrap();
                    assert!(sent.created);
                }));
            }
            if i % 10 == 0 {
                let (node, from, to) = (second.clone(), users[i % 6], strangers[i / 10]);
                sends.push(tokio::spawn(async move {
                    node.request_friend(from, to, "hello", T0).await.unwrap();
                }));
            }
        }
        for send in sends {
            send.await.unwrap();
        }
        for tail in tails {
            let (user, seen) = tail.await.unwrap();
            let mut all = Vec::new();
            let mut cursor = start;
            loop {
                let page = store.events_since(user, cursor, 500).await.unwrap();
                let Some(last) = page.last() else { break };
                cursor = last.pos;
                all.extend(page);
            }
            let positions: Vec<StreamPos> = seen.iter().map(|e| e.pos).collect();
            assert_increasing(positions.iter().copied(), "a device's events");
            let all_positions: Vec<StreamPos> = all.iter().map(|e| e.pos).collect();
            assert_eq!(
                positions[..],
                all_positions[..positions.len()],
                "what a device collected by cursor differs from a full read"
            );
            assert_eq!(
                all.iter().filter(|e| e.kind == EventKind::MessageNew).count(),
                expected(user)
            );
        }
    }

    /// With a batch open that holds one conversation and one user (as a
    /// node paying from that user would), another node sends and accepts a
    /// transfer, sends and opens a red packet, and sets and tries a PIN, for
    /// two other people: all commit meanwhile (in an exclusive batch they
    /// would wait for the open one). A payment from
    /// the held user, in a conversation nobody holds, waits for the user's
    /// lock, and commits once the batch ends. The ledger reconciles.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn payments_of_other_people_commit_beside_a_batch_in_flight() {
        use ledger_support::*;
        use payment_support::*;
        let harness = Harness::new(Engine::Postgres).await;
        let store = harness.store();
        let second = harness.open_second().await;
        let [a, b, c, d] = mk_users(&*store, 1..=4).await[..] else {
            unreachable!()
        };
        let x = befriend(&*store, a, b).await;
        let y = befriend(&*store, c, d).await;
        let z = befriend(&*store, a, c).await;
        fund(&*store, a, 1_000).await;
        fund(&*store, c, 1_000).await;

        let in_flight = InFlightBatch::begin(&harness.location, vec![(7184, x.0), (7185, a.0)]).await;
        // Each answer waits (at most 5 s) until readers can see past the
        // open batch; the two chains run at once so the test waits once.
        let beside = std::time::Duration::from_secs(20);
        let transfer = async {
            let (sent, created) = second
                .send_payment(payment(c, "beside", y, PaymentKind::Transfer, 300, 1), T0)
                .await
                .unwrap();
            assert!(created);
            second.answer_transfer(d, sent.id, true, T0 + 1).await.unwrap()
        };
        let packet = async {
            let (packet, _) = second
                .send_payment(payment(c, "packet", y, PaymentKind::RedPacket, 100, 1), T0)
                .await
                .unwrap();
            second.open_red_packet(d, packet.id, T0 + 1).await.unwrap()
        };
        let pin = async {
            second.set_pin(d, "pin-hash", false, T0).await.unwrap();
            second.record_pin_try(d, false, T0 + 1, 60_000).await.unwrap()
        };
        let (accepted, (opened, share), tried) =
            tokio::time::timeout(beside, async { tokio::join!(transfer, packet, pin) })
                .await
                .expect("payments and PIN tries of other people waited for the open batch");
        assert_eq!(tried.state.wrong_tries, 1);
        assert_eq!(accepted.status, PaymentStatus::Accepted);
        assert_eq!((opened.status, share), (PaymentStatus::Finished, 100));
        assert_eq!(second.writer_stats().escalated, 0, "nothing reached past its locks");

        let held_user = tokio::spawn({
            let second = second.clone();
            async move {
                second
                    .send_payment(payment(a, "after", z, PaymentKind::Transfer, 200, 1), T0 + 2)
                    .await
            }
        });
        until_waiting_for(&harness.location, 7185, a.0, "a payment from the held user").await;
        assert!(!held_user.is_finished());
        in_flight.end().await;
        let (after, created) = held_user.await.unwrap().unwrap();
        assert!(created && after.status == PaymentStatus::Pending);

        let wallet = |user: UserId| format!("user:{}", user.0);
        let balances = [
            balance(&*store, &account(&*store, AccountKind::Wallet, &wallet(a)).await).await,
            balance(&*store, &account(&*store, AccountKind::Wallet, &wallet(c)).await).await,
            balance(&*store, &account(&*store, AccountKind::Wallet, &wallet(d)).await).await,
        ];
        assert_eq!(balances, [800, 600, 400]);
        assert_sound(&*store).await;
        drop(second);
        drop(store);
    }

    /// With a batch open that holds one user and one merchant (as a node
    /// taking that user's payment to that merchant would), another node
    /// moves money of other people and another merchant: a bank top-up into
    /// its own clearing shard (reserved under a daily cap, then posted), an
    /// order paid across currencies and half refunded, a currency
    /// conversion, a payment code charged, a new order, and the
    /// notifications of that payment and refund are leased and answered.
    /// All commit meanwhile, none in an exclusive batch. A payment to the held
    /// merchant waits for the merchant's lock and commits once the batch
    /// ends. The ledger reconciles.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wallet_and_merchant_money_of_others_commits_beside_a_batch_in_flight() {
        use ledger_support::*;
        use merchant_support::*;
        use payment_support::fund;
        use qiao_domain::caps::{CapKind, Caps, DailyCap};
        use qiao_store::{CapCheck, CodeCharge, CodeOwner};
        let harness = Harness::new(Engine::Postgres).await;
        let store = harness.store();
        let second = harness.open_second().await;
        let [a, b, c, d, e] = mk_users(&*store, 1..=5).await[..] else {
            unreachable!()
        };
        let held_merchant = merchant(&*store, b, Currency::Cny).await;
        let other = merchant(&*store, e, Currency::Usd).await;
        fund(&*store, c, 100_000).await;
        let (abroad, _) = store.create_order(order(&other, "A-1", 500), T0).await.unwrap();
        let (at_held, _) = store.create_order(order(&held_merchant, "H-1", 300), T0).await.unwrap();
        let pay_quote = quote(&*store, c, 500).await;
        let convert_quote = quote(&*store, c, 200).await;
        let code = CodeOwner {
            user: c,
            session: SessionId(7),
        };
        store
            .issue_payment_code(code, "hash-beside", T0, T0 + 90_000)
            .await
            .unwrap();
        let clearing = second
            .ledger_account(
                AccountKind::BankClearing,
                &Owner::Connector {
                    name: "sandbox".into(),
                    shard: second.shard(),
                },
                Currency::Cny,
                T0,
            )
            .await
            .unwrap();
        let d_wallet = account(&*store, AccountKind::Wallet, &format!("user:{}", d.0)).await;
        let held = vec![(7185, a.0), (7187, held_merchant.id.0)];
        let in_flight = InFlightBatch::begin(&harness.location, held).await;

        let top_up = async {
            let key = LedgerKey::TopUp {
                user: d,
                client: cmid("beside"),
            };
            let reserve = NewTransfer {
                pending: true,
                cap: Some(CapCheck {
                    user: d,
                    cap: DailyCap {
                        kind: CapKind::TopUp,
                        caps: Caps {
                            per_operation_minor: 10_000,
                            per_day_minor: 10_000,
                        },
                    },
                }),
                ..NewTransfer::posted(key.clone(), clearing.id, d_wallet.id, cny(700), memo())
            };
            second.transfer(reserve, T0).await.unwrap();
            second.settle(&key, true, &memo(), T0 + 1).await.unwrap()
        };
        let pay_and_refund = async {
            second
                .pay_order(abroad.id, pay(c, "beside", Some(&pay_quote)), T0)
                .await
                .unwrap();
            let refund = NewRefund {
                merchant: other.id,
                order: OrderRef::Id(abroad.id),
                out_refund_no: "R-beside".into(),
                amount_minor: 250,
                reason: String::new(),
                by: None,
            };
            second.refund(refund, T0 + 1).await.unwrap()
        };
        let convert = second.convert(c, "beside", convert_quote.id, None, T0);
        let charge = second.charge_code(
            CodeCharge {
                merchant: other.id,
                shop: None,
                out_trade_no: "P-beside".into(),
                token: "t-beside".into(),
                code_hash: "hash-beside".into(),
                amount_minor: 100,
                description: "Gum".into(),
                notify_url: None,
                expires_at_ms: T0 + 300_000,
                settle: None,
            },
            T0,
        );
        let create = second.create_order(order(&other, "A-2", 900), T0);
        let (settled, (_, refunded), converted, charged, created) =
            tokio::time::timeout(std::time::Duration::from_secs(20), async {
                tokio::join!(top_up, pay_and_refund, convert, charge, create)
            })
            .await
            .expect("money of other people waited for the open batch");
        assert_eq!(settled.amount_minor, 700);
        assert_eq!(refunded.refunded_minor, 250);
        converted.unwrap();
        assert_eq!(charged.unwrap().payer_id, Some(c));
        assert!(created.unwrap().1);
        // The notifications those payments queued are leased and answered
        // beside the open batch too (under the outbox's lock).
        let delivered = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            let leased = second.lease_notifications(T0 + 10, 60_000, 10).await.unwrap();
            assert_eq!(leased.len(), 2, "the payment's and the refund's");
            let first = leased[0].id;
            second
                .record_attempt(first, qiao_store::Attempt::Delivered { status: 200 }, T0 + 11)
                .await
                .unwrap()
        })
        .await
        .expect("the notification deliverer waited for the open batch");
        assert!(delivered.delivered_at_ms.is_some());
        assert_eq!(second.writer_stats().escalated, 0, "nothing reached past its locks");

        let to_held = tokio::spawn({
            let second = second.clone();
            async move { second.pay_order(at_held.id, pay(c, "held", None), T0 + 2).await }
        });
        until_waiting_for(
            &harness.location,
            7187,
            held_merchant.id.0,
            "a payment to the held merchant",
        )
        .await;
        assert!(!to_held.is_finished());
        in_flight.end().await;
        let paid = to_held.await.unwrap().unwrap();
        assert_eq!(paid.status, qiao_domain::merchant::OrderStatus::Paid);

        assert_eq!(balance(&*store, &d_wallet).await, 700);
        assert_eq!(
            balance(&*store, &clearing).await,
            -700,
            "the top-up went through this node's shard"
        );
        assert_sound(&*store).await;
        drop(second);
        drop(store);
    }

    /// With a batch open that holds conversation X, another node changes
    /// group Y's membership: invites c, renames the group, makes d an admin,
    /// removes b, and d leaves. All commit meanwhile, under Y's lock. The
    /// newcomer's stream holds Y from the join on (the join, the message
    /// after it, not the one before); the removed member's ends at the
    /// removal. A change to X waits for X's lock and commits once the batch
    /// ends.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn membership_of_other_groups_changes_beside_a_batch_in_flight() {
        use qiao_store::GroupUpdate;
        let harness = Harness::new(Engine::Postgres).await;
        let store = harness.store();
        let second = harness.open_second().await;
        let [a, b, c, d] = mk_users(&*store, 1..=4).await[..] else {
            unreachable!()
        };
        for other in [b, c, d] {
            befriend(&*store, a, other).await;
        }
        let x = store.create_group(a, "X", &[b], T0).await.unwrap();
        let y = store.create_group(a, "Y", &[b, d], T0).await.unwrap();
        say(&*store, a, y, "before", "before c").await;
        let start = store.head().await.unwrap();
        let in_flight = InFlightBatch::begin(&harness.location, vec![(7184, x.0)]).await;

        // Each answer waits (at most 5 s) until readers can see past the
        // open batch; seven in a row take up to 35 s. In an exclusive batch
        // they would wait for the open one, which never ends on its own.
        tokio::time::timeout(std::time::Duration::from_secs(60), async {
            second.invite(a, y, &[c], T0 + 1).await.unwrap();
            say(&*second, a, y, "after", "after c").await;
            let rename = GroupUpdate {
                name: Some("Y2".into()),
                announcement: None,
            };
            second.update_group(a, y, rename, T0 + 2).await.unwrap();
            second.set_role(a, y, d, Role::Admin, T0 + 2).await.unwrap();
            second.remove_member(a, y, b, T0 + 3).await.unwrap();
            second.leave(d, y, T0 + 4).await.unwrap();
        })
        .await
        .expect("membership of another group waited for the open batch");
        assert_eq!(second.writer_stats().escalated, 0, "nothing reached past its locks");

        let in_x = tokio::spawn({
            let second = second.clone();
            async move { second.invite(a, x, &[c], T0 + 5).await }
        });
        until_waiting_for(&harness.location, 7184, x.0, "an invitation to the held group").await;
        assert!(!in_x.is_finished());
        in_flight.end().await;
        in_x.await.unwrap().unwrap();

        let kinds_in_y = |events: Vec<EventRecord>| -> Vec<EventKind> {
            events
                .into_iter()
                .filter(|e| e.conversation_id == Some(y))
                .map(|e| e.kind)
                .collect()
        };
        let of_c = kinds_in_y(store.events_since(c, start, 500).await.unwrap());
        assert_eq!(
            of_c,
            [
                EventKind::MemberJoined,
                EventKind::MessageNew,
                EventKind::ConversationUpdated,
                EventKind::MemberRoleChanged,
                EventKind::MemberRemoved,
                EventKind::MemberLeft
            ]
        );
        let of_b = kinds_in_y(store.events_since(b, start, 500).await.unwrap());
        assert_eq!(of_b.last(), Some(&EventKind::MemberRemoved), "{of_b:?}");
        assert!(!of_b.contains(&EventKind::MemberLeft));
        let (view, members) = store.conversation(a, y).await.unwrap();
        assert_eq!(view.name, "Y2");
        assert_eq!(members.len(), 2, "a and c");
    }

    /// A transfer to someone whose wallet holds another currency converts
    /// through the house's FX position, which no user's lock guards: its
    /// accept, tried in a shared batch, rolls back there and runs again in
    /// an exclusive one, and lands once, right.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_payment_that_reaches_past_its_locks_runs_again_exclusively() {
        use ledger_support::*;
        use payment_support::*;
        let harness = Harness::new(Engine::Postgres).await;
        let store = harness.store();
        let a = mk_user(&*store, 1).await.id;
        let b = store
            .create_user(NewUser {
                region: Region::Us,
                ..new_user(2, "Bo")
            })
            .await
            .unwrap()
            .id;
        let x = befriend(&*store, a, b).await;
        fund(&*store, a, 10_000).await;
        store
            .set_rate(Currency::Cny, Currency::Usd, 14_000_000, false, T0)
            .await
            .unwrap();
        let mut new = payment(a, "abroad", x, PaymentKind::Transfer, 1_000, 1);
        new.pricing = Some(qiao_domain::fx::Pricing {
            spread_bps: 0,
            fee_bps: 0,
        });
        let (sent, _) = store.send_payment(new, T0).await.unwrap();
        assert_eq!(store.writer_stats().escalated, 0);
        let accepted = store.answer_transfer(b, sent.id, true, T0 + 1).await.unwrap();
        assert_eq!(accepted.status, PaymentStatus::Accepted);
        assert_eq!(store.writer_stats().escalated, 1, "the accept ran again exclusively");
        let usd = store
            .ledger_account(AccountKind::Wallet, &Owner::User(b), Currency::Usd, T0)
            .await
            .unwrap();
        assert_eq!(balance(&*store, &usd).await, 140);
        assert_sound(&*store).await;
    }

    /// Two nodes move money among six people at once, each node in its own
    /// half of their fifteen conversations (so only the people's locks keep
    /// the nodes' batches apart): transfers both ways, each accepted on the
    /// node that sent it, all concurrently. No total is lost to a concurrent
    /// write: every wallet ends with what it got minus what it sent, and the
    /// ledger reconciles (the journal against each account's totals, escrow
    /// against live payments).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_moving_money_among_the_same_people_lose_nothing() {
        use ledger_support::*;
        use payment_support::*;
        const ROUNDS: usize = 8;
        let harness = Harness::new(Engine::Postgres).await;
        let store = harness.store();
        let second = harness.open_second().await;
        let users = mk_users(&*store, 1..=6).await;
        let mut pairs = Vec::new();
        for (i, &a) in users.iter().enumerate() {
            fund(&*store, a, 100_000).await;
            for &b in &users[i + 1..] {
                pairs.push((a, b, befriend(&*store, a, b).await));
            }
        }
        let mut moves = Vec::new();
        for round in 0..ROUNDS {
            for (k, &(a, b, conversation)) in pairs.iter().enumerate() {
                let (from, to) = if (round + k) % 2 == 0 { (a, b) } else { (b, a) };
                let amount = 1 + (round * 7 + k) as i64;
                let node = if k % 2 == 0 { store.clone() } else { second.clone() };
                moves.push(tokio::spawn(async move {
                    let key = format!("r{round}-{k}");
                    let (sent, _) = node
                        .send_payment(payment(from, &key, conversation, PaymentKind::Transfer, amount, 1), T0)
                        .await
                        .unwrap();
                    node.answer_transfer(to, sent.id, true, T0 + 1).await.unwrap();
                    (from, to, amount)
                }));
            }
        }
        let mut expected: std::collections::HashMap<UserId, i64> = users.iter().map(|u| (*u, 100_000)).collect();
        for moved in moves {
            let (from, to, amount) = moved.await.unwrap();
            *expected.get_mut(&from).unwrap() -= amount;
            *expected.get_mut(&to).unwrap() += amount;
        }
        for user in &users {
            let wallet = account(&*store, AccountKind::Wallet, &format!("user:{}", user.0)).await;
            assert_eq!(balance(&*store, &wallet).await, expected[user], "user {}", user.0);
        }
        assert_sound(&*store).await;
        assert_eq!(store.writer_stats().escalated + second.writer_stats().escalated, 0);
    }

    /// Two nodes take payments to the same merchant at once, refund some,
    /// and top the payers' wallets up from the bank through their own
    /// clearing shards; each payer pays through one node, so only the
    /// merchant's lock keeps the nodes' batches apart. The merchant and every
    /// wallet end with exactly what they were paid, the ledger reconciles,
    /// and nothing ran exclusively. Seen to fail (the merchant lost half its
    /// takings to overwritten totals) with the merchant's lock left out and
    /// the checks off.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_paying_one_merchant_lose_nothing() {
        use ledger_support::*;
        use merchant_support::*;
        use payment_support::fund;
        const ROUNDS: usize = 20;
        let harness = Harness::new(Engine::Postgres).await;
        let store = harness.store();
        let second = harness.open_second().await;
        let payers = mk_users(&*store, 1..=8).await;
        let owners = mk_users(&*store, 9..=9).await;
        let mut merchants = Vec::new();
        for &owner in &owners {
            merchants.push(merchant(&*store, owner, Currency::Cny).await);
        }
        for &payer in &payers {
            fund(&*store, payer, 100_000).await;
        }
        let mut moves = Vec::new();
        for round in 0..ROUNDS {
            for (p, &payer) in payers.iter().enumerate() {
                for (m, shop) in merchants.iter().enumerate() {
                    let node = if p % 2 == 0 { store.clone() } else { second.clone() };
                    let (shop, amount) = (shop.clone(), 10 + (round * 8 + p * 2 + m) as i64);
                    let refund = (round + p) % 3 == 0;
                    moves.push(tokio::spawn(async move {
                        let number = format!("r{round}-p{p}-m{m}");
                        let (o, _) = node.create_order(order(&shop, &number, amount), T0).await.unwrap();
                        node.pay_order(o.id, pay(payer, &number, None), T0).await.unwrap();
                        let back = if refund { amount / 2 } else { 0 };
                        if refund {
                            let refund = NewRefund {
                                merchant: shop.id,
                                order: OrderRef::Id(o.id),
                                out_refund_no: number,
                                amount_minor: back,
                                reason: String::new(),
                                by: None,
                            };
                            node.refund(refund, T0 + 1).await.unwrap();
                        }
                        (payer, Some(shop.id), amount - back, 0)
                    }));
                }
                let node = if p % 2 == 0 { store.clone() } else { second.clone() };
                moves.push(tokio::spawn(async move {
                    let clearing = Owner::Connector {
                        name: "sandbox".into(),
                        shard: node.shard(),
                    };
                    let bank = node
                        .ledger_account(AccountKind::BankClearing, &clearing, Currency::Cny, T0)
                        .await
                        .unwrap();
                    let wallet = node
                        .ledger_account(AccountKind::Wallet, &Owner::User(payer), Currency::Cny, T0)
                        .await
                        .unwrap();
                    let key = LedgerKey::TopUp {
                        user: payer,
                        client: cmid(&format!("r{round}")),
                    };
                    let reserve = NewTransfer {
                        pending: true,
                        ..NewTransfer::posted(key.clone(), bank.id, wallet.id, cny(1_000), memo())
                    };
                    node.transfer(reserve, T0).await.unwrap();
                    node.settle(&key, true, &memo(), T0 + 1).await.unwrap();
                    (payer, None, 0, 1_000)
                }));
            }
        }
        let mut wallets: std::collections::HashMap<UserId, i64> = payers.iter().map(|u| (*u, 100_000)).collect();
        let mut takings: std::collections::HashMap<qiao_domain::ids::MerchantId, i64> =
            merchants.iter().map(|m| (m.id, 0)).collect();
        for moved in moves {
            let (payer, merchant, paid, topped_up) = moved.await.unwrap();
            *wallets.get_mut(&payer).unwrap() += topped_up - paid;
            if let Some(merchant) = merchant {
                *takings.get_mut(&merchant).unwrap() += paid;
            }
        }
        for payer in &payers {
            let wallet = account(&*store, AccountKind::Wallet, &format!("user:{}", payer.0)).await;
            assert_eq!(balance(&*store, &wallet).await, wallets[payer], "payer {}", payer.0);
        }
        for m in &merchants {
            let account = account(
                &*store,
                AccountKind::MerchantSettlement,
                &format!("merchant:{}", m.id.0),
            )
            .await;
            assert_eq!(balance(&*store, &account).await, takings[&m.id], "merchant {}", m.id.0);
        }
        assert_sound(&*store).await;
        assert_eq!(store.writer_stats().escalated + second.writer_stats().escalated, 0);
    }

    /// A transfer sent through one node and accepted through another: the
    /// money enters the first writer's escrow shard and leaves from the
    /// second's, which goes below zero. Escrow has no floor per shard; the
    /// shards together hold what live payments owe (nothing, here), and the
    /// ledger reconciles.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn money_entering_one_shard_may_leave_from_another() {
        use ledger_support::assert_sound;
        use payment_support::*;
        let harness = Harness::new(Engine::Postgres).await;
        let store = harness.store();
        let second = harness.open_second().await;
        let [a, b] = mk_users(&*store, 1..=2).await[..] else {
            unreachable!()
        };
        let x = befriend(&*store, a, b).await;
        fund(&*store, a, 1_000).await;
        let (sent, _) = store
            .send_payment(payment(a, "across", x, PaymentKind::Transfer, 300, 1), T0)
            .await
            .unwrap();
        let accepted = second.answer_transfer(b, sent.id, true, T0 + 1).await.unwrap();
        assert_eq!(accepted.status, PaymentStatus::Accepted);

        let location = harness.location.clone();
        let shards: Vec<(String, i64)> = tokio::task::spawn_blocking(move || {
            let Location::Postgres(url) = &location else {
                unreachable!()
            };
            let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
            client
                .query(
                    "SELECT owner, posted_balance FROM ledger_accounts WHERE owner LIKE 'escrow:chat%' ORDER BY owner",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect()
        })
        .await
        .unwrap();
        assert_eq!(shards.iter().map(|(_, v)| v).sum::<i64>(), 0, "{shards:?}");
        // Two writers pick the same shard one time in 63: then it is one account at zero.
        let mut balances: Vec<i64> = shards.iter().map(|(_, v)| *v).collect();
        balances.sort_unstable();
        assert!(balances == [-300, 300] || balances == [0], "{shards:?}");
        assert_sound(&*store).await;
    }
}
