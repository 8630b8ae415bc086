//! The daemon's connections: how they are accepted, bounded and timed out, and how HTTP/2
//! sees their writes.
//!
//! **Bounds.** [`Incoming`] accepts at most [`max_connections`] at once, a number kept below
//! the process's file limit (read at every accept, so `prlimit` on a running daemon counts):
//! past it a connection is accepted and closed at once, and the refusal logged with its peer
//! at most every [`REFUSAL_LOG_EVERY`]. An accept error (out of file descriptors) is logged
//! the same way and backs off [`ACCEPT_BACKOFF`] instead of spinning. Every connection is
//! [`Guarded`]: it must send its first bytes (the HTTP/2 preface, or a TLS ClientHello)
//! within [`HANDSHAKE_DEADLINE`], and is closed after [`IDLE_TIMEOUT`] without a byte either
//! way (the server's HTTP/2 keepalive pings keep live clients busy well within it). So idle
//! sockets cannot hold every descriptor and lock new clients out.
//!
//! **Writes.** h2 copies a DATA frame into its write buffer only when the payload is small,
//! and sends a larger one by itself, then flushes before it buffers anything else. The
//! cut-off is 256 bytes when the connection says it can write vectored, 1024 otherwise.
//! Most recert answers (a holder's compliance, a page of courses) are a few hundred bytes,
//! so with the 256-byte cut-off every answer cost its own `writev`; answers ready together
//! could not share one. [`Unvectored`] makes the connection say it writes plain buffers, so
//! h2 copies answers up to 1 KiB and writes the answers of one pass together
//! (BENCHMARKS.md).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How long a new connection may stay silent before its first bytes.
pub const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(5);
/// How long a connection may go without a byte read or written.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// The interval of the server's HTTP/2 keepalive pings (a live client answers each).
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
/// How long a keepalive ping may go unanswered before the connection is closed.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Concurrent HTTP/2 streams per connection (calls, `WatchAlerts` streams).
pub const MAX_STREAMS_PER_CONNECTION: u32 = 256;
/// Connections at most, whatever the file limit.
pub const MAX_CONNECTIONS: usize = 4096;
/// File descriptors kept free of connections: the store, the database pool, deliveries,
/// backups, logs.
pub const RESERVED_FDS: u64 = 128;
/// How long the accept loop rests after an accept error.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Refusals and accept errors are logged at most this often (with how many were not).
pub const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);
/// Bytes a connection must send to pass the handshake deadline: the HTTP/2 preface.
const PREFACE_LEN: usize = 24;

/// The file limit's soft value (`RLIMIT_NOFILE`), if it can be read.
fn file_limit() -> Option<u64> {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

/// Raises the soft file limit to the hard one, as far as allowed; returns the soft limit now
/// in force. Called once at start-up: connections are capped below it.
pub fn raise_file_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Some(hard);
    }
    Some(soft)
}

/// How many connections may be open at once under the file limit `limit`: all but
/// [`RESERVED_FDS`] of it (half of a tiny one), at most [`MAX_CONNECTIONS`].
pub fn max_connections(limit: Option<u64>) -> usize {
    let Some(limit) = limit else {
        return MAX_CONNECTIONS;
    };
    let usable = if limit > 2 * RESERVED_FDS {
        limit - RESERVED_FDS
    } else {
        limit / 2
    };
    usize::try_from(usable).map_or(MAX_CONNECTIONS, |n| n.clamp(1, MAX_CONNECTIONS))
}

/// A listener [`Incoming`] can accept from.
pub trait Accept: Send + Unpin + 'static {
    /// The accepted stream, ready for tonic.
    type Stream: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static;
    /// Polls for the next connection and a printable peer.
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Self::Stream, String)>>;
}

impl Accept for tokio::net::TcpListener {
    type Stream = Unvectored;
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Unvectored, String)>> {
        tokio::net::TcpListener::poll_accept(self, cx).map_ok(|(stream, peer)| {
            // Nagle's algorithm would hold back every response over a few hundred bytes.
            let _ = stream.set_nodelay(true);
            (Unvectored(stream), peer.to_string())
        })
    }
}

impl Accept for tokio::net::UnixListener {
    type Stream = tokio::net::UnixStream;
    fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(tokio::net::UnixStream, String)>> {
        tokio::net::UnixListener::poll_accept(self, cx).map_ok(|(stream, _)| {
            let peer = stream.peer_cred().map_or_else(
                |_| "unix socket".to_string(),
                |c| format!("unix socket, uid {}", c.uid()),
            );
            (stream, peer)
        })
    }
}

/// Logs an event at most every [`REFUSAL_LOG_EVERY`], counting the ones it did not log.
#[derive(Debug, Default)]
struct RateLimited {
    last: Option<Instant>,
    unlogged: u64,
}

impl RateLimited {
    /// Whether to log now; if so, also how many went unlogged since the last one.
    fn admit(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self.last.is_some_and(|at| now < at + REFUSAL_LOG_EVERY) {
            self.unlogged += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

/// The connections a listener accepts, bounded and guarded (see the module doc): a stream
/// for tonic's `serve_with_incoming`.
pub struct Incoming<L> {
    listener: L,
    open: Arc<AtomicUsize>,
    backoff: Option<Pin<Box<Sleep>>>,
    refusals: RateLimited,
    errors: RateLimited,
}

impl<L: Accept> Incoming<L> {
    /// Accepts from `listener`.
    pub fn new(listener: L) -> Self {
        Incoming {
            listener,
            open: Arc::new(AtomicUsize::new(0)),
            backoff: None,
            refusals: RateLimited::default(),
            errors: RateLimited::default(),
        }
    }
}

impl<L: Accept> tokio_stream::Stream for Incoming<L> {
    type Item = io::Result<Guarded<L::Stream>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(backoff) = &mut this.backoff {
                if backoff.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.backoff = None;
            }
            match this.listener.poll_accept(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => {
                    if let Some(unlogged) = this.errors.admit() {
                        tracing::warn!(%error, unlogged, "cannot accept a connection; backing off");
                    }
                    this.backoff = Some(Box::pin(tokio::time::sleep(ACCEPT_BACKOFF)));
                }
                Poll::Ready(Ok((stream, peer))) => {
                    let cap = max_connections(file_limit());
                    let open = this.open.fetch_add(1, Ordering::AcqRel);
                    if open >= cap {
                        this.open.fetch_sub(1, Ordering::AcqRel);
                        drop(stream);
                        if let Some(unlogged) = this.refusals.admit() {
                            tracing::warn!(%peer, open, cap, unlogged, "refused a connection: too many open");
                        }
                        continue;
                    }
                    return Poll::Ready(Some(Ok(Guarded::new(
                        stream,
                        Slot(this.open.clone()),
                        peer,
                    ))));
                }
            }
        }
    }
}

/// One place among the open connections, given back when the connection is dropped.
#[derive(Debug)]
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An accepted connection with a handshake deadline and an idle timeout: a read fails with
/// `TimedOut` once either passes, which ends the connection.
#[derive(Debug)]
pub struct Guarded<T> {
    inner: T,
    _slot: Slot,
    peer: String,
    /// Bytes read so far, up to [`PREFACE_LEN`]; the handshake deadline holds until then.
    greeted: usize,
    /// Fires at the handshake deadline, then at the idle timeout.
    timer: Pin<Box<Sleep>>,
    last_active: Instant,
}

impl<T> Guarded<T> {
    fn new(inner: T, slot: Slot, peer: String) -> Self {
        let now = Instant::now();
        Guarded {
            inner,
            _slot: slot,
            peer,
            greeted: 0,
            timer: Box::pin(tokio::time::sleep_until(now + HANDSHAKE_DEADLINE)),
            last_active: now,
        }
    }

    /// Whether the deadline that applies now has passed (re-arming the idle timer when there
    /// was activity since it was set).
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<&'static str> {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return None;
            }
            if self.greeted < PREFACE_LEN {
                return Some("no HTTP/2 preface in time");
            }
            let due = self.last_active + IDLE_TIMEOUT;
            if Instant::now() >= due {
                return Some("idle for too long");
            }
            self.timer.as_mut().reset(due);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = buf.filled().len() - before;
                if read > 0 {
                    self.last_active = Instant::now();
                    if self.greeted < PREFACE_LEN {
                        self.greeted = (self.greeted + read).min(PREFACE_LEN);
                        if self.greeted == PREFACE_LEN {
                            let due = self.last_active + IDLE_TIMEOUT;
                            self.timer.as_mut().reset(due);
                        }
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match self.expired(cx) {
                Some(why) => {
                    tracing::debug!(peer = %self.peer, why, "closing a connection");
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)))
                }
                None => Poll::Pending,
            },
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            self.last_active = Instant::now();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            self.last_active = Instant::now();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl<T: Connected> Connected for Guarded<T> {
    type ConnectInfo = T::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

/// An accepted TCP connection that reports no vectored writes.
#[derive(Debug)]
pub struct Unvectored(pub TcpStream);

impl AsyncRead for Unvectored {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Unvectored {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

impl Connected for Unvectored {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.0.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::Unvectored;
    use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

    #[tokio::test]
    async fn carries_bytes_both_ways_and_reports_plain_writes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            c.write_all(b"ping").await.unwrap();
            let mut back = [0u8; 4];
            c.read_exact(&mut back).await.unwrap();
            back
        });
        let (stream, _) = listener.accept().await.unwrap();
        let mut conn = Unvectored(stream);
        assert!(!conn.is_write_vectored());
        let mut got = [0u8; 4];
        conn.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        conn.write_all(b"pong").await.unwrap();
        assert_eq!(&client.await.unwrap(), b"pong");
    }
}
