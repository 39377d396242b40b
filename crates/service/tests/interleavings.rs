//! Random interleavings of concurrent money operations, through the money
//! service on a real store (SQLite and PostgreSQL) with the sandbox bank:
//! repayments from the balance and from a card, pay-later spending,
//! transfers accepted and declined, red packets sent and opened, top-ups and
//! withdrawals. Each generated case runs its operations in rounds, every
//! round all at once; after each round the ledger must reconcile (floors,
//! sums, escrow) and no pay-later line may be above zero (nobody repaid more
//! than owed) or below its limit.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use futures_util::future::join_all;
use proptest::prelude::*;
use qiao_domain::identity::{Language, Region};
use qiao_domain::ids::{CardId, ConversationId, IdempotencyKey, PaymentId, UserId};
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::money::Currency;
use qiao_domain::payment::Split;
use qiao_service::bank::SandboxBank;
use qiao_service::clock::ManualClock;
use qiao_service::money::chat::{PacketShape, SendCommon};
use qiao_service::money::credit::{Repay, RepaySource};
use qiao_service::money::funding::CardMove;
use qiao_service::money::pin::Proof;
use qiao_service::money::{Money, Policy};
use qiao_service::secrets::Passwords;
use qiao_store::{Location, NewUser, NoSink, Store};

const USERS: usize = 4;
const PASSWORD: &str = "password-123";
const PIN: &str = "135790";
const LIMIT: i64 = 5_000;

#[derive(Debug, Clone)]
enum Op {
    TopUp { user: usize, minor: i64 },
    Withdraw { user: usize, minor: i64 },
    Transfer { from: usize, minor: i64, later: bool },
    Answer { index: usize, accept: bool },
    Packet { from: usize, minor: i64, count: u32 },
    Open { index: usize, user: usize },
    Repay { user: usize, minor: i64, by_card: bool },
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS;
    prop_oneof![
        (user.clone(), 1..3_000i64).prop_map(|(user, minor)| Op::TopUp { user, minor }),
        (user.clone(), 1..2_000i64).prop_map(|(user, minor)| Op::Withdraw { user, minor }),
        (user.clone(), 1..2_500i64, any::<bool>()).prop_map(|(from, minor, later)| Op::Transfer { from, minor, later }),
        (0..32usize, any::<bool>()).prop_map(|(index, accept)| Op::Answer { index, accept }),
        (user.clone(), 4..2_000i64, 1..4u32).prop_map(|(from, minor, count)| Op::Packet { from, minor, count }),
        (0..16usize, user.clone()).prop_map(|(index, user)| Op::Open { index, user }),
        (user, 1..LIMIT + 500, any::<bool>()).prop_map(|(user, minor, by_card)| Op::Repay { user, minor, by_card }),
    ]
}

/// What a case's operations act on.
struct World {
    store: Arc<dyn Store>,
    money: Arc<Money>,
    users: Vec<UserId>,
    cards: Vec<CardId>,
    /// User i's direct chat with user (i + 1) % USERS.
    chats: Vec<ConversationId>,
    group: ConversationId,
}

async fn world(location: Location) -> World {
    let store: Arc<dyn Store> = Arc::new(
        tokio::task::spawn_blocking(move || qiao_store::open(&location, Arc::new(NoSink)))
            .await
            .unwrap()
            .unwrap(),
    );
    let secrets = Passwords::new(1024, 1).unwrap();
    let policy = Policy {
        pay_later_limit_minor: [(Currency::Usd, LIMIT)].into_iter().collect(),
        ..Policy::default()
    };
    let money = Arc::new(Money::new(
        Arc::clone(&store),
        Arc::new(SandboxBank::default()),
        Arc::new(ManualClock::new()),
        secrets.clone(),
        policy,
    ));
    let hash = secrets.hash(PASSWORD.into()).await.unwrap();
    let mut users = Vec::new();
    for n in 0..USERS {
        let user = store
            .create_user(NewUser {
                phone: Some(format!("+1555000{n:04}")),
                email: None,
                phone_hash: None,
                password_hash: hash.clone(),
                display_name: format!("U{n}"),
                region: Region::Us,
                language: Language::EnUs,
                now_ms: 0,
            })
            .await
            .unwrap();
        users.push(user.id);
    }
    let mut chats = Vec::new();
    for n in 0..USERS {
        let (a, b) = (users[n], users[(n + 1) % USERS]);
        let request = store.request_friend(a, b, "hi", 0).await.unwrap();
        chats.push(store.accept_friend(b, request.id, 0).await.unwrap().conversation_id);
    }
    // The group's owner must be friends with everyone in it.
    let request = store.request_friend(users[0], users[2], "hi", 0).await.unwrap();
    store.accept_friend(users[2], request.id, 0).await.unwrap();
    let group = store.create_group(users[0], "all", &users[1..], 0).await.unwrap();
    let mut cards = Vec::new();
    for user in &users {
        let password = || Proof::Password(PASSWORD.into());
        let card = money
            .bind_card(*user, "4242424242424242", "debit", password())
            .await
            .unwrap();
        money
            .bind_card(*user, "5555555555554444", "credit", password())
            .await
            .unwrap();
        money.set_pin(*user, PIN, Some(password())).await.unwrap();
        cards.push(CardId(card.id));
        let seed = CardMove {
            card: CardId(card.id),
            amount_minor: 5_000,
            key: key("seed"),
            currency: None,
        };
        money.top_up(*user, seed).await.unwrap();
    }
    World {
        store,
        money,
        users,
        cards,
        chats,
        group,
    }
}

fn key(raw: &str) -> IdempotencyKey {
    IdempotencyKey::parse(raw).unwrap()
}

/// Runs one round at once. Refusals (insufficient funds, over the limit,
/// nothing left to open…) are fine; what matters is the state after.
async fn round(
    world: &World,
    ops: &[Op],
    round_no: usize,
    sent: &mut Vec<(PaymentId, UserId)>,
    packets: &mut Vec<PaymentId>,
) {
    let calls = ops.iter().enumerate().map(|(i, op)| {
        let (money, users, cards, chats, group) = (&world.money, &world.users, &world.cards, &world.chats, world.group);
        let k = key(&format!("r{round_no}-{i}"));
        let sent = sent.clone();
        let packets = packets.clone();
        async move {
            let common = |minor, later: bool| SendCommon {
                key: k.clone(),
                amount_minor: minor,
                currency: None,
                note: None,
                pin: Some(PIN.into()),
                source: later.then(|| "pay_later".to_owned()),
                quote: None,
            };
            match op.clone() {
                Op::TopUp { user, minor } => {
                    let m = CardMove {
                        card: cards[user],
                        amount_minor: minor,
                        key: k.clone(),
                        currency: None,
                    };
                    money.top_up(users[user], m).await.map(|_| None)
                }
                Op::Withdraw { user, minor } => {
                    let m = CardMove {
                        card: cards[user],
                        amount_minor: minor,
                        key: k.clone(),
                        currency: None,
                    };
                    money.withdraw(users[user], m, Some(PIN)).await.map(|_| None)
                }
                Op::Transfer { from, minor, later } => money
                    .send_transfer(users[from], chats[from], None, common(minor, later))
                    .await
                    .map(|(p, _)| Some((PaymentId(p.id), users[(from + 1) % USERS], later, false))),
                Op::Answer { index, accept } => match sent.get(index) {
                    // A pay-later transfer is only ever accepted: a decline would
                    // refund the line, which may then hold a credit balance.
                    Some((payment, to)) => money.answer_transfer(*to, *payment, accept).await.map(|_| None),
                    None => Ok(None),
                },
                Op::Packet { from, minor, count } => {
                    let shape = PacketShape {
                        split: Split::Lucky,
                        count,
                    };
                    money
                        .send_red_packet(users[from], group, shape, common(minor, false))
                        .await
                        .map(|(p, _)| Some((PaymentId(p.id), users[from], false, true)))
                }
                Op::Open { index, user } => match packets.get(index) {
                    Some(packet) => money.open_red_packet(users[user], *packet).await.map(|_| None),
                    None => Ok(None),
                },
                Op::Repay { user, minor, by_card } => {
                    let source = if by_card {
                        RepaySource::Card(cards[user])
                    } else {
                        RepaySource::Balance
                    };
                    let repay = Repay {
                        key: k.clone(),
                        amount_minor: minor,
                        source,
                        pin: Some(PIN.into()),
                    };
                    money.repay(users[user], repay).await.map(|_| None)
                }
            }
        }
    });
    for outcome in join_all(calls).await {
        match outcome {
            Ok(Some((payment, _, _, true))) => packets.push(payment),
            // Pay-later transfers are answered only by accepting (see above).
            Ok(Some((payment, to, later, false))) if !later => sent.push((payment, to)),
            Ok(Some((payment, to, _, false))) => {
                world.money.answer_transfer(to, payment, true).await.unwrap();
            }
            Ok(None) => {}
            Err(qiao_service::Error::Rejected(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

async fn check(world: &World) {
    let report = world.store.reconcile().await.unwrap();
    assert!(report.is_sound(), "{}", report.render());
    for user in &world.users {
        let line = world
            .store
            .find_ledger_account(
                AccountKind::CreditLine { limit_minor: 0 },
                &Owner::User(*user),
                Currency::Usd,
            )
            .await
            .unwrap()
            .unwrap();
        let t = line.account.totals;
        assert!(t.posted + t.credits_pending <= 0, "repaid more than owed: {t:?}");
        assert!(t.available().unwrap() >= -LIMIT, "past the limit: {t:?}");
    }
}

fn run_case(location: Location, rounds: Vec<Vec<Op>>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let world = world(location).await;
        check(&world).await;
        let (mut sent, mut packets) = (Vec::new(), Vec::new());
        for (n, ops) in rounds.iter().enumerate() {
            round(&world, ops, n, &mut sent, &mut packets).await;
            check(&world).await;
        }
    });
}

fn rounds() -> impl Strategy<Value = Vec<Vec<Op>>> {
    proptest::collection::vec(proptest::collection::vec(op(), 1..12), 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_interleavings_keep_floors_limits_and_escrow(rounds in rounds()) {
        let dir = tempfile::tempdir().unwrap();
        run_case(Location::Sqlite(dir.path().join("qiao.db")), rounds);
    }
}

/// A fresh PostgreSQL database, dropped afterwards.
struct PgDatabase(String);

impl PgDatabase {
    fn new() -> (Self, Location) {
        let admin = "postgres://postgres@127.0.0.1:5432/test";
        let name = format!("qiao_prop_{:016x}", rand::random::<u64>());
        let mut client = postgres::Client::connect(admin, postgres::NoTls).expect("PostgreSQL on 127.0.0.1:5432");
        client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        (
            Self(name.clone()),
            Location::Postgres(format!("postgres://postgres@127.0.0.1:5432/{name}")),
        )
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect("postgres://postgres@127.0.0.1:5432/test", postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn postgres_interleavings_keep_floors_limits_and_escrow(rounds in rounds()) {
        let (database, location) = PgDatabase::new();
        run_case(location, rounds);
        drop(database);
    }
}
