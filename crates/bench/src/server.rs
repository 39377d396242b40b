//! The server under test: either a child process the benchmark starts itself
//! (`--server-bin`, fresh temporary data directory, so its pid is known and
//! its memory can be read from `/proc`), or an already running server
//! (`--url`, memory figures skipped). Only loopback addresses are accepted.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

/// Settings the benchmark gives a server it starts. The argon2 settings only
/// make *registration* of thousands of benchmark users cheap (setup speed);
/// the rate limits are lifted because every client comes from 127.0.0.x.
pub const SERVER_ENV: &[(&str, &str)] = &[
    ("QIAO_ARGON2_MEMORY_KIB", "1024"),
    ("QIAO_ARGON2_ITERATIONS", "1"),
    ("QIAO_PUBLIC_PER_ADDRESS_PER_MINUTE", "1000000"),
    ("QIAO_LOGIN_PER_ADDRESS_PER_MINUTE", "1000000"),
    // A load generator sends far faster than one person may.
    ("QIAO_MESSAGES_PER_USER_PER_SECOND", "1000000"),
    ("QIAO_MESSAGE_BURST_PER_USER", "1000000"),
];

/// How to start the server again (same binary, data, port, environment).
struct Launch {
    bin: PathBuf,
    dir: PathBuf,
    env: Vec<(String, String)>,
}

pub struct Server {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    pub addr: SocketAddr,
    child: Option<Child>,
    pid: Option<u32>,
    log: Option<PathBuf>,
    launch: Option<Launch>,
    /// Kept so the data directory lives as long as the server.
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts `bin serve` on a free loopback port with a fresh data directory.
    pub async fn spawn(bin: &Path, extra_env: &[(String, String)], keep_dir: bool) -> anyhow::Result<Self> {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
            probe.local_addr()?.port()
        };
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        let dir = tempfile::Builder::new()
            .prefix("qiao-bench-")
            .tempdir()
            .context("temporary data directory")?;
        // The child runs in the temporary directory, so a relative path must be resolved first.
        let bin = std::fs::canonicalize(bin).with_context(|| format!("finding {}", bin.display()))?;
        let mut env: Vec<(String, String)> = SERVER_ENV.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if std::env::var_os("RUST_LOG").is_none() {
            env.push(("RUST_LOG".into(), "warn".into()));
        }
        env.extend(extra_env.iter().cloned());
        // The same settings as a config file too: `qiao serve` (at cacf589) drops
        // every QIAO_* variable (its filter compares the upper-case variable
        // name with lower-case field names), and a file works either way.
        std::fs::write(dir.path().join("qiao.toml"), config_toml(&env)).context("writing qiao.toml")?;
        let launch = Launch {
            bin,
            dir: dir.path().to_owned(),
            env,
        };
        let mut server = Self {
            base: format!("http://{addr}"),
            addr,
            child: None,
            pid: None,
            log: Some(dir.path().join("server.log")),
            launch: Some(launch),
            _dir: if keep_dir {
                let kept = dir.keep();
                eprintln!("keeping the server's data directory {}", kept.display());
                None
            } else {
                Some(dir)
            },
        };
        server.start().await?;
        Ok(server)
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let launch = self.launch.as_ref().context("not a server the benchmark started")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(launch.dir.join("server.log"))
            .context("server log")?;
        let mut command = Command::new(&launch.bin);
        command
            .arg("serve")
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--data-dir")
            .arg(launch.dir.join("data"))
            .arg("--config")
            .arg(launch.dir.join("qiao.toml"))
            // No stray qiao.toml from the caller's directory.
            .current_dir(&launch.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true);
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", launch.bin.display()))?;
        self.pid = child.id();
        eprintln!(
            "started {} (pid {}) on {}, data in {}",
            launch.bin.display(),
            self.pid.unwrap_or(0),
            self.addr,
            launch.dir.display()
        );
        self.child = Some(child);
        self.wait_ready().await
    }

    /// Kills the server we started and starts it again on the same data, so
    /// what follows is measured on a process without setup's leftovers (and
    /// everything setup stored must have survived the kill).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await;
        self.start().await
    }

    /// Uses a server that is already running; it must be on a loopback address.
    pub async fn external(url: &str) -> anyhow::Result<Self> {
        let base = url.trim_end_matches('/').to_owned();
        let authority = base
            .strip_prefix("http://")
            .context("--url must be http://HOST:PORT")?
            .to_owned();
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&authority)
            .await
            .with_context(|| format!("resolving {authority}"))?
            .collect();
        let addr = addrs
            .into_iter()
            .find(|a| matches!(a.ip(), IpAddr::V4(ip) if ip.is_loopback()))
            .context("the benchmark only talks to 127.0.0.x: --url must be an IPv4 loopback address")?;
        let mut server = Self {
            base,
            addr,
            child: None,
            pid: None,
            log: None,
            launch: None,
            _dir: None,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let url = format!("{}/healthz", self.base);
        for _ in 0..300 {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("the server exited ({status}) before it was ready:\n{}", self.log_tail());
                }
            }
            if let Ok(response) = http.get(&url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the server did not answer {url} within 30 s:\n{}", self.log_tail())
    }

    /// The end of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let Some(path) = &self.log else { return String::new() };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The server's resident memory in KiB (`VmRSS`), when we started it.
    pub fn rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid?, "VmRSS:")
    }

    /// CPU time (user + system) the server has used, in clock ticks.
    pub fn cpu_ticks(&self) -> Option<u64> {
        cpu_ticks(&format!("/proc/{}/stat", self.pid?))
    }

    /// Whether the server process we started has exited.
    pub fn exited(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| !matches!(c.try_wait(), Ok(None)))
    }

    /// Stops a server we started (SIGKILL to our own child, by pid).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        self.pid = None;
    }

    /// CPU ticks per thread name (threads of one name summed).
    pub fn thread_ticks(&self) -> HashMap<String, u64> {
        let mut ticks = HashMap::new();
        let Some(pid) = self.pid else { return ticks };
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return ticks;
        };
        for task in tasks.flatten() {
            let path = task.path();
            let name = std::fs::read_to_string(path.join("comm"))
                .unwrap_or_default()
                .trim()
                .to_owned();
            if let Some(t) = cpu_ticks(&path.join("stat").to_string_lossy()) {
                *ticks.entry(name).or_insert(0) += t;
            }
        }
        ticks
    }
}

/// The `QIAO_*` settings among `env` as a TOML config file: `QIAO_WS_QUEUE_DEPTH=4096`
/// becomes `ws_queue_depth = 4096` (numbers and booleans bare, anything else quoted).
fn config_toml(env: &[(String, String)]) -> String {
    let mut toml = String::new();
    for (key, value) in env {
        let Some(field) = key.strip_prefix("QIAO_") else {
            continue;
        };
        let bare = value.parse::<f64>().is_ok() || value == "true" || value == "false";
        let value = if bare { value.clone() } else { format!("{value:?}") };
        toml.push_str(&format!("{} = {value}\n", field.to_lowercase()));
    }
    toml
}

/// A `kB` field of `/proc/<pid>/status`.
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// utime + stime from a `/proc/.../stat` file.
pub fn cpu_ticks(path: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second of `/proc` CPU times (`USER_HZ`, 100 on Linux).
pub const TICKS_PER_SECOND: f64 = 100.0;

/// This process's resident memory in KiB.
pub fn own_rss_kib() -> Option<u64> {
    proc_status_kib(std::process::id(), "VmRSS:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_become_a_config_file() {
        let env = [
            ("QIAO_WS_QUEUE_DEPTH".to_owned(), "4096".to_owned()),
            ("QIAO_LOG_JSON".to_owned(), "true".to_owned()),
            ("QIAO_NATS_SUBJECT".to_owned(), "a.b".to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        assert_eq!(
            config_toml(&env),
            "ws_queue_depth = 4096\nlog_json = true\nnats_subject = \"a.b\"\n"
        );
    }

    #[test]
    fn reads_own_proc_figures() {
        assert!(own_rss_kib().is_some_and(|kib| kib > 0));
        assert!(cpu_ticks("/proc/self/stat").is_some());
    }
}
