//! Setup over HTTP, many calls in flight, with progress: register N users,
//! pair them up as friends (user 2k with 2k+1, one direct conversation per
//! pair), and build groups (users gS … gS+S-1, owned by user gS, who first
//! befriends every member since only friends can be put in a group).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{stream, StreamExt, TryStreamExt};

use crate::api::{Api, User};

/// A conversation the benchmark created, with its members as client indices.
#[derive(Debug, Clone)]
pub struct Conv {
    pub id: i64,
    pub members: Vec<usize>,
}

/// Everything setup produced.
pub struct Population {
    pub users: Vec<User>,
    /// Direct conversations first (pair k is conversation k), then groups.
    pub convs: Vec<Conv>,
    pub pairs: usize,
    pub seconds: f64,
}

impl Population {
    /// Index of group `g` in `convs`.
    pub fn group_conv(&self, g: usize) -> usize {
        self.pairs + g
    }
}

/// Runs `jobs` with `concurrency` in flight, printing progress every 2 s.
async fn run_all<T, F, Fut>(label: &str, count: usize, concurrency: usize, job: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let reporter = {
        let done = Arc::clone(&done);
        let label = label.to_owned();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            tick.tick().await;
            loop {
                tick.tick().await;
                let n = done.load(Ordering::Relaxed);
                let rate = n as f64 / started.elapsed().as_secs_f64();
                eprintln!("  {label}: {n}/{count} ({rate:.0}/s)");
            }
        })
    };
    let results = stream::iter(0..count)
        .map(|i| {
            let done = Arc::clone(&done);
            let fut = job(i);
            async move {
                let out = fut.await;
                done.fetch_add(1, Ordering::Relaxed);
                out
            }
        })
        .buffered(concurrency.max(1))
        .try_collect::<Vec<T>>()
        .await;
    reporter.abort();
    let results = results?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "  {label}: {count} in {secs:.1} s ({:.0}/s)",
        count as f64 / secs.max(1e-9)
    );
    Ok(results)
}

/// Registers `clients` users, their pairs and `groups` groups of `group_size`.
pub async fn build(
    api: &Api,
    run: u32,
    clients: usize,
    groups: usize,
    group_size: usize,
    concurrency: usize,
) -> anyhow::Result<Population> {
    let started = Instant::now();
    eprintln!(
        "setup: {clients} users, {} pairs, {groups} groups of {group_size}",
        clients / 2
    );
    let users = run_all("register", clients, concurrency, |i| {
        let api = api.clone();
        async move {
            api.register(run, i)
                .await
                .with_context(|| format!("registering user {i}"))
        }
    })
    .await?;

    // Friendships: every pair, then every group owner with each group member
    // who is not already the owner's pair partner.
    let pairs = clients / 2;
    let mut friendships: Vec<(usize, usize)> = (0..pairs).map(|k| (2 * k, 2 * k + 1)).collect();
    for g in 0..groups {
        let owner = g * group_size;
        for member in owner + 1..owner + group_size {
            if owner / 2 != member / 2 || member >= 2 * pairs {
                friendships.push((owner, member));
            }
        }
    }
    let users = Arc::new(users);
    let list = Arc::new(friendships);
    let conversations = run_all("befriend", list.len(), concurrency, |i| {
        let (api, users, list) = (api.clone(), Arc::clone(&users), Arc::clone(&list));
        async move {
            let (a, b) = list[i];
            api.befriend(&users[a], &users[b])
                .await
                .with_context(|| format!("befriending users {a} and {b}"))
        }
    })
    .await?;
    let mut convs: Vec<Conv> = (0..pairs)
        .map(|k| Conv {
            id: conversations[k],
            members: vec![2 * k, 2 * k + 1],
        })
        .collect();

    let group_ids = run_all("groups", groups, concurrency.min(8), |g| {
        let (api, users) = (api.clone(), Arc::clone(&users));
        async move {
            let owner = g * group_size;
            let members = (owner + 1..owner + group_size).map(|m| users[m].id).collect();
            api.create_group(&users[owner], format!("bench group {g}"), members)
                .await
                .with_context(|| format!("creating group {g}"))
        }
    })
    .await?;
    for (g, id) in group_ids.into_iter().enumerate() {
        let owner = g * group_size;
        convs.push(Conv {
            id,
            members: (owner..owner + group_size).collect(),
        });
    }
    let users = Arc::try_unwrap(users).unwrap_or_else(|shared| shared.as_ref().clone());
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("setup done in {seconds:.1} s");
    Ok(Population {
        users,
        convs,
        pairs,
        seconds,
    })
}
