//! `qiao-delay-proxy`: a TCP forwarder that holds every chunk of bytes for a
//! fixed time in each direction, to put a database "far away" from the
//! nodes on one machine. For benchmarks where the kernel has no `netem`
//! qdisc (as on this project's VMs). Order within a connection is kept;
//! tokio's timer rounds each wait up to the next millisecond, so the added
//! round trip is at least twice `--delay-us` (measure it, as
//! `scripts/bench-write-path.sh` does).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Parser, Debug)]
#[command(name = "qiao-delay-proxy", about = "TCP forwarder adding a fixed delay each way")]
struct Cli {
    /// Address to listen on (loopback only).
    #[arg(long)]
    listen: SocketAddr,
    /// Address to forward to.
    #[arg(long)]
    to: SocketAddr,
    /// Delay added to each direction, in microseconds.
    #[arg(long, default_value_t = 1000)]
    delay_us: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    anyhow::ensure!(cli.listen.ip().is_loopback(), "listen on loopback only");
    let delay = Duration::from_micros(cli.delay_us);
    let listener = TcpListener::bind(cli.listen).await.context("bind")?;
    loop {
        let (client, _) = listener.accept().await?;
        let to = cli.to;
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(to).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::join!(
                pipe(client_read, server_write, delay),
                pipe(server_read, client_write, delay)
            );
        });
    }
}

/// Copies `from` to `to`, each chunk no sooner than `delay` after it was read.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration) {
    let (queue, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = async move {
        while let Some((at, bytes)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    let reader = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buffer).await {
            if n == 0 || queue.send((Instant::now() + delay, buffer[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    tokio::join!(reader, writer);
}
