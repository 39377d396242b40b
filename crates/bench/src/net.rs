//! The clients' TCP stream, with an optional diagnostic: `--client-quickack`
//! re-arms `TCP_QUICKACK` after every read, so the client acknowledges each
//! segment at once instead of delaying the ACK (Linux: up to 40 ms). A server
//! socket without `TCP_NODELAY` holds a small write back (Nagle) until the
//! previous one is acknowledged; with quick ACKs that stall disappears, which
//! tells the two causes of a 40 ms latency step apart. Real clients do not do
//! this, so benchmark figures are taken without it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

pub struct ClientStream {
    inner: TcpStream,
    quickack: bool,
}

impl ClientStream {
    pub fn new(inner: TcpStream, quickack: bool) -> io::Result<Self> {
        if quickack {
            SockRef::from(&inner).set_tcp_quickack(true)?;
        }
        Ok(Self { inner, quickack })
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.quickack && matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let _ = SockRef::from(&self.inner).set_tcp_quickack(true);
        }
        polled
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
