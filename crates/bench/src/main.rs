//! `qiao-bench`: the chat load benchmark. Starts (or reaches) a Qiao server,
//! registers N users, makes friends and groups, connects N WebSocket clients,
//! then measures delivered messages per second, send→receive latency, group
//! fan-out deliveries per second and server memory per idle connection, and
//! checks that every message reached every online recipient exactly once.
//!
//! Bounded in time and count, stops by itself, talks only to 127.0.0.x.
//! `--smoke` is a few-second run for CI that exits non-zero on any loss,
//! duplicate or error.

mod api;
mod load;
mod net;
mod server;
mod setup;
mod track;
mod wire;
mod ws;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use serde::Serialize;

use crate::load::{Ctx, PhaseReport, Pick};
use crate::server::Server;
use crate::track::{Tracker, Verdict};

#[derive(Parser, Debug)]
#[command(name = "qiao-bench", about = "Chat load benchmark for the Qiao server")]
struct Cli {
    /// Start this `qiao` binary on a fresh temporary data directory (memory is measured).
    #[arg(long, conflicts_with = "url", required_unless_present = "url")]
    server_bin: Option<PathBuf>,
    /// Use a server already running at this loopback URL (memory is not measured).
    #[arg(long)]
    url: Option<String>,
    /// A short CI run: 50 clients, a few seconds, exit 1 on any loss, duplicate or error.
    #[arg(long)]
    smoke: bool,
    /// WebSocket clients (one user each) [default: 1000; smoke: 50].
    #[arg(long)]
    clients: Option<usize>,
    /// Seconds of the closed-loop direct-message phase [default: 15; smoke: 2].
    #[arg(long)]
    duration: Option<f64>,
    /// Direct-message sends in flight in the closed-loop phase [default: 1024; smoke: 16].
    #[arg(long)]
    window: Option<usize>,
    /// Offered rate (messages/s) of the paced direct phase; 0 skips it [default: half the closed-loop rate].
    #[arg(long)]
    paced_rate: Option<f64>,
    /// Seconds of the paced phase [default: 10; smoke: 1].
    #[arg(long)]
    paced_duration: Option<f64>,
    /// Open-loop senders of the paced phase, sharing the rate [default: 64; smoke: 4].
    #[arg(long)]
    paced_senders: Option<usize>,
    /// Members per group, owner included (at most 500) [default: 500; smoke: 25].
    #[arg(long)]
    group_size: Option<usize>,
    /// Groups; 0 skips the fan-out phase [default: clients / group size].
    #[arg(long)]
    groups: Option<usize>,
    /// Sends in flight per group owner in the fan-out phase [default: 16; smoke: 2].
    #[arg(long)]
    group_window: Option<usize>,
    /// Seconds of the fan-out phase [default: 10; smoke: 2].
    #[arg(long)]
    group_duration: Option<f64>,
    /// Setup calls in flight.
    #[arg(long, default_value_t = 64)]
    setup_concurrency: usize,
    /// WebSocket handshakes in flight.
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
    /// How messages are sent: over the sender's WebSocket, or over HTTP.
    #[arg(long, value_enum, default_value = "ws")]
    send_via: load::Via,
    /// Characters per message text.
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// Seconds to wait after a phase for its last deliveries.
    #[arg(long, default_value_t = 15.0)]
    drain_timeout: f64,
    /// Extra environment for a started server, e.g. `QIAO_WS_QUEUE_DEPTH=4096` (repeatable).
    #[arg(long, value_parser = parse_env)]
    server_env: Vec<(String, String)>,
    /// Keep the started server's data directory.
    #[arg(long)]
    keep_data: bool,
    /// Diagnostic: clients acknowledge every TCP segment at once (TCP_QUICKACK),
    /// which hides a server's missing TCP_NODELAY. Not for benchmark figures.
    #[arg(long)]
    client_quickack: bool,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Give up (exit 2) after this many seconds in all.
    #[arg(long, default_value_t = 1800)]
    max_seconds: u64,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))?;
    Ok((k.to_owned(), v.to_owned()))
}

/// The settings a run uses, defaults resolved.
#[derive(Debug, Clone, Serialize)]
struct Settings {
    smoke: bool,
    clients: usize,
    duration: f64,
    window: usize,
    paced_rate: Option<f64>,
    paced_duration: f64,
    paced_senders: usize,
    group_size: usize,
    groups: usize,
    group_window: usize,
    group_duration: f64,
    payload: usize,
    send_via: load::Via,
    client_quickack: bool,
}

impl Settings {
    fn resolve(cli: &Cli) -> anyhow::Result<Self> {
        let smoke = cli.smoke;
        let pick = |v: Option<f64>, normal: f64, small: f64| v.unwrap_or(if smoke { small } else { normal });
        let clients = cli.clients.unwrap_or(if smoke { 50 } else { 1000 });
        if clients < 2 {
            bail!("--clients must be at least 2");
        }
        let group_size = cli.group_size.unwrap_or(if smoke { 25 } else { 500 }).min(clients);
        if !(2..=500).contains(&group_size) {
            bail!("--group-size must be 2..=500 (the server's group limit)");
        }
        let groups = cli.groups.unwrap_or(clients / group_size);
        if groups * group_size > clients {
            bail!("{groups} groups of {group_size} need {} clients", groups * group_size);
        }
        Ok(Self {
            smoke,
            clients,
            duration: pick(cli.duration, 15.0, 2.0),
            window: cli.window.unwrap_or(if smoke { 16 } else { 1024 }).max(1),
            paced_rate: cli.paced_rate,
            paced_duration: pick(cli.paced_duration, 10.0, 1.0),
            paced_senders: cli.paced_senders.unwrap_or(if smoke { 4 } else { 64 }).max(1),
            group_size,
            groups,
            group_window: cli.group_window.unwrap_or(if smoke { 2 } else { 16 }).max(1),
            group_duration: pick(cli.group_duration, 10.0, 2.0),
            payload: cli.payload,
            send_via: cli.send_via,
            client_quickack: cli.client_quickack,
        })
    }
}

/// Server memory before and after connecting the idle clients.
#[derive(Debug, Clone, Serialize)]
struct Memory {
    rss_before_kib: u64,
    rss_after_kib: u64,
    bytes_per_connection: f64,
    rss_end_kib: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    settings: Settings,
    setup_seconds: f64,
    connect_seconds: f64,
    memory: Option<Memory>,
    phases: Vec<PhaseReport>,
    verdict: Verdict,
    error_samples: Vec<String>,
    bench_rss_kib: Option<u64>,
}

const PHASE_DIRECT: usize = 0;
const PHASE_PACED: usize = 1;
const PHASE_GROUP: usize = 2;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("qiao-bench: tokio runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let limit = Duration::from_secs(cli.max_seconds);
    let outcome = runtime.block_on(async { tokio::time::timeout(limit, run(cli)).await });
    runtime.shutdown_timeout(Duration::from_secs(2));
    match outcome {
        Ok(Ok(true)) => std::process::ExitCode::SUCCESS,
        Ok(Ok(false)) => {
            eprintln!("qiao-bench: FAILED: messages were lost, duplicated or not sent (see above)");
            std::process::ExitCode::from(1)
        }
        Ok(Err(e)) => {
            eprintln!("qiao-bench: {e:#}");
            std::process::ExitCode::from(2)
        }
        Err(_) => {
            eprintln!("qiao-bench: gave up after {} s (--max-seconds)", limit.as_secs());
            std::process::ExitCode::from(2)
        }
    }
}

/// Runs the benchmark; `Ok(false)` when the delivery check failed.
async fn run(cli: Cli) -> anyhow::Result<bool> {
    let settings = Settings::resolve(&cli)?;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => eprintln!("open files limit: {n}"),
        Err(e) => eprintln!("could not raise the open files limit: {e}"),
    }
    let mut server = match (&cli.server_bin, &cli.url) {
        (Some(bin), _) => Server::spawn(bin, &cli.server_env, cli.keep_data).await?,
        (None, Some(url)) => Server::external(url).await?,
        (None, None) => bail!("give --server-bin or --url"),
    };
    let result = bench(&cli, &settings, &mut server).await;
    if server.exited() {
        eprintln!("the server exited during the run:\n{}", server.log_tail());
    }
    server.stop().await;
    let report = result?;
    print_report(&report);
    if let Some(path) = &cli.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let drained = report.phases.iter().all(|p| p.drained);
    Ok(report.verdict.ok() && drained)
}

async fn bench(cli: &Cli, settings: &Settings, server: &mut Server) -> anyhow::Result<Report> {
    let run = u32::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() % 900_000)
            .unwrap_or(0),
    )? + 100_000;
    let setup_http = api::http_client(0, Duration::from_secs(120))?;
    let setup_api = api::Api {
        http: setup_http,
        base: server.base.clone(),
    };
    let population = setup::build(
        &setup_api,
        run,
        settings.clients,
        settings.groups,
        settings.group_size,
        cli.setup_concurrency,
    )
    .await?;
    let population = Arc::new(population);
    if server.rss_kib().is_some() {
        eprintln!("restarting the server on the same data (fresh process for the memory figure)");
        server.restart().await?;
    }
    let server: &Server = server;
    let tracker = Arc::new(Tracker::new(&population, 3, settings.smoke)?);

    // Memory per idle connection: the server's RSS before and after.
    let rss_before = settled_rss(server, settings.smoke).await;
    eprintln!("connecting {} WebSocket clients", settings.clients);
    let clients = ws::connect_all(
        server.addr,
        &population.users,
        &tracker,
        cli.connect_concurrency,
        settings.client_quickack,
    )
    .await?;
    let rss_after = settled_rss(server, settings.smoke).await;
    let memory = match (rss_before, rss_after) {
        (Some(before), Some(after)) => Some(Memory {
            rss_before_kib: before,
            rss_after_kib: after,
            bytes_per_connection: after.saturating_sub(before) as f64 * 1024.0 / settings.clients as f64,
            rss_end_kib: None,
        }),
        _ => None,
    };
    if let Some(m) = &memory {
        eprintln!(
            "server RSS {} KiB -> {} KiB with {} idle connections: {:.0} bytes each",
            m.rss_before_kib, m.rss_after_kib, settings.clients, m.bytes_per_connection
        );
    }

    let http = (0..usize::from(api::SOURCE_ADDRESSES))
        .map(|i| api::http_client(i, Duration::from_secs(60)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ctx = Arc::new(Ctx {
        via: settings.send_via,
        base: server.base.clone(),
        population: Arc::clone(&population),
        tracker: Arc::clone(&tracker),
        http,
        run,
        payload_len: settings.payload,
        next_msg: AtomicU64::new(0),
        error_samples: std::sync::Mutex::new(Vec::new()),
    });
    let drain = Duration::from_secs_f64(cli.drain_timeout);

    let mut phases = Vec::new();
    let started = Instant::now();
    let direct = load::run_phase(
        &ctx,
        PHASE_DIRECT,
        "direct (closed loop)",
        vec![Pick::Direct; settings.window],
        Duration::from_secs_f64(settings.duration),
        None,
        drain,
        server,
    )
    .await?;
    let paced_rate = settings.paced_rate.unwrap_or((direct.acked_per_second / 2.0).floor());
    phases.push(direct);
    if paced_rate > 0.0 {
        let senders = settings.paced_senders;
        let period = Duration::from_secs_f64(senders as f64 / paced_rate);
        phases.push(
            load::run_phase(
                &ctx,
                PHASE_PACED,
                &format!("direct (paced at {paced_rate:.0}/s)"),
                vec![Pick::Direct; senders],
                Duration::from_secs_f64(settings.paced_duration),
                Some(period),
                drain,
                server,
            )
            .await?,
        );
    }
    if settings.groups > 0 {
        let senders = (0..settings.groups)
            .flat_map(|g| std::iter::repeat_n(Pick::Group(g), settings.group_window))
            .collect();
        phases.push(
            load::run_phase(
                &ctx,
                PHASE_GROUP,
                &format!("group fan-out ({} groups of {})", settings.groups, settings.group_size),
                senders,
                Duration::from_secs_f64(settings.group_duration),
                None,
                drain,
                server,
            )
            .await?,
        );
    }
    eprintln!("load phases done in {:.1} s", started.elapsed().as_secs_f64());

    let verdict = tracker.verify();
    let rss_end = server.rss_kib();
    let connect_seconds = clients.connect_seconds;
    clients.close().await;
    let error_samples = ctx.error_samples.lock().map(|s| s.clone()).unwrap_or_default();
    Ok(Report {
        settings: settings.clone(),
        setup_seconds: population.seconds,
        connect_seconds,
        memory: memory.map(|m| Memory {
            rss_end_kib: rss_end,
            ..m
        }),
        phases,
        verdict,
        error_samples,
        bench_rss_kib: server::own_rss_kib(),
    })
}

/// The server's RSS once it has stopped moving: read every second until the
/// last 12 readings (2 in a smoke run) are within 1 MiB of each other (at most 90 s). Setup
/// leaves idle blocking threads (argon2 hashing) that exit after tokio's 10 s
/// keep-alive and give their memory back; measuring before that would be wrong.
async fn settled_rss(server: &Server, smoke: bool) -> Option<u64> {
    let stable = if smoke { 2 } else { 12 };
    let mut readings: Vec<u64> = Vec::new();
    for _ in 0..90 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        readings.push(server.rss_kib()?);
        if let Some(last) = readings.len().checked_sub(stable).map(|from| &readings[from..]) {
            let (low, high) = (last.iter().min()?, last.iter().max()?);
            if high - low <= 1024 {
                return readings.last().copied();
            }
        }
    }
    readings.last().copied()
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn print_report(r: &Report) {
    let s = &r.settings;
    println!("== qiao-bench results ==");
    println!(
        "sends over {}{}",
        match s.send_via {
            load::Via::Ws => "the sender's WebSocket",
            load::Via::Http => "HTTP",
        },
        if s.client_quickack {
            "; DIAGNOSTIC: clients set TCP_QUICKACK (not a benchmark figure)"
        } else {
            ""
        }
    );
    println!(
        "clients: {} connected in {:.1} s; setup {:.1} s; {} pairs, {} groups of {}",
        s.clients,
        r.connect_seconds,
        r.setup_seconds,
        s.clients / 2,
        s.groups,
        s.group_size
    );
    let scale = if s.clients >= 10_000 {
        String::new()
    } else {
        format!(" (at {} clients; the target is for 10,000)", s.clients)
    };
    match &r.memory {
        Some(m) => println!(
            "memory: server RSS {} KiB -> {} KiB with {} idle connections = {:.1} KiB per connection{}; RSS at the end {} KiB",
            m.rss_before_kib,
            m.rss_after_kib,
            s.clients,
            m.bytes_per_connection / 1024.0,
            if s.smoke {
                String::new()
            } else {
                format!(" [target <= 16 KiB: {}{scale}]", met(m.bytes_per_connection <= 16.0 * 1024.0))
            },
            m.rss_end_kib.map_or_else(|| "?".to_owned(), |k| k.to_string())
        ),
        None => println!("memory: not measured (server not started by the benchmark)"),
    }
    for p in &r.phases {
        println!("{}:", p.name);
        println!(
            "  sent {:.1} s, until last delivery {:.1} s; acked {} ({:.0}/s), errors {}; deliveries to others {}/{}{}; echoes to senders {}",
            p.send_seconds,
            p.total_seconds,
            p.acked,
            p.acked_per_second,
            p.errors,
            p.deliveries,
            p.expected_deliveries,
            if p.drained { "" } else { " (NOT all delivered before the drain timeout)" },
            p.echoes
        );
        println!(
            "  messages stored and delivered: {:.0}/s; deliveries: {:.0}/s",
            p.delivered_messages_per_second, p.deliveries_per_second
        );
        let l = &p.latency_us;
        println!(
            "  send->receive latency: p50 {} p90 {} p99 {} p99.9 {} max {} ({} samples)",
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p999),
            ms(l.max),
            l.count
        );
        let a = &p.ack_latency_us;
        println!(
            "  send->ack (stored) latency: p50 {} p90 {} p99 {} max {}",
            ms(a.p50),
            ms(a.p90),
            ms(a.p99),
            ms(a.max)
        );
        println!(
            "  CPU: server {} cores, load generator {} cores",
            p.server_cores.map_or_else(|| "?".to_owned(), |c| format!("{c:.2}")),
            p.bench_cores.map_or_else(|| "?".to_owned(), |c| format!("{c:.2}"))
        );
        let threads: Vec<String> = p
            .server_threads
            .iter()
            .take(6)
            .map(|(n, c)| format!("{n} {c:.2}"))
            .collect();
        println!("  server threads (cores): {}", threads.join(", "));
    }
    if s.smoke {
        // A smoke run checks delivery, not speed.
    } else if let Some(direct) = r.phases.first() {
        println!(
            "target >= 50,000 messages/s stored and delivered: {} ({:.0}/s{scale})",
            met(direct.drained && direct.delivered_messages_per_second >= 50_000.0),
            direct.delivered_messages_per_second
        );
        let direct_phases: Vec<&PhaseReport> = r.phases.iter().filter(|p| p.name.starts_with("direct")).collect();
        let figures: Vec<String> = direct_phases
            .iter()
            .map(|p| {
                format!(
                    "{}: p99 {} at {:.0} msgs/s",
                    p.name,
                    ms(p.latency_us.p99),
                    p.delivered_messages_per_second
                )
            })
            .collect();
        println!(
            "target p99 send->receive < 20 ms: {} ({}{scale})",
            met(direct_phases.iter().any(|p| p.latency_us.p99 < 20_000)),
            figures.join("; ")
        );
    }
    if let Some(group) = r.phases.iter().find(|p| !s.smoke && p.name.starts_with("group")) {
        println!(
            "target >= 200,000 fan-out deliveries/s: {} ({:.0}/s)",
            met(group.drained && group.deliveries_per_second >= 200_000.0),
            group.deliveries_per_second
        );
    }
    let v = &r.verdict;
    println!(
        "delivery check: {} — {} (client, message) deliveries expected; lost {}, extra {}, out of order {}, bad frames {}, connections lost {}, send errors {}",
        if v.ok() { "OK, every acked message reached every online member exactly once, in order" } else { "FAILED" },
        v.expected,
        v.lost,
        v.extra,
        v.out_of_order,
        v.bad_frames,
        v.connections_lost,
        v.send_errors
    );
    for e in &r.error_samples {
        println!("  send error: {e}");
    }
    if let Some(kib) = r.bench_rss_kib {
        println!("load generator RSS: {} MiB", kib / 1024);
    }
}
