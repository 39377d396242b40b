//! The server under test: either a child process the benchmark starts itself
//! (`--server-bin`, fresh temporary data directory, so its pid is known and
//! its memory can be read from `/proc`), or an already running server
//! (`--url`, memory figures skipped). Only loopback addresses are accepted.

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
];

pub struct Server {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    pub addr: SocketAddr,
    child: Option<Child>,
    pid: Option<u32>,
    log: Option<PathBuf>,
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
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).context("server log")?;
        // The child runs in the temporary directory, so a relative path must be resolved first.
        let bin = std::fs::canonicalize(bin).with_context(|| format!("finding {}", bin.display()))?;
        let mut command = Command::new(&bin);
        command
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            // No stray qiao.toml from the caller's directory.
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "warn");
        }
        for (key, value) in SERVER_ENV {
            command.env(key, value);
        }
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command.spawn().with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id();
        let dir_path = dir.path().to_owned();
        let mut server = Self {
            base: format!("http://{addr}"),
            addr,
            child: Some(child),
            pid,
            log: Some(log_path),
            _dir: if keep_dir {
                let kept = dir.keep();
                eprintln!("keeping the server's data directory {}", kept.display());
                None
            } else {
                Some(dir)
            },
        };
        eprintln!(
            "started {} (pid {}) on {addr}, data in {}",
            bin.display(),
            pid.unwrap_or(0),
            dir_path.display()
        );
        server.wait_ready().await?;
        Ok(server)
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
    }
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
    fn reads_own_proc_figures() {
        assert!(own_rss_kib().is_some_and(|kib| kib > 0));
        assert!(cpu_ticks("/proc/self/stat").is_some());
    }
}
