//! Serving the app on a socket, with every connection bounded.
//!
//! `axum::serve` sets no timer, so hyper's header-read timeout never fires and nothing caps the
//! connections: idle sockets stayed open for minutes and twenty thousand of them exhausted the
//! file descriptors. Here, per connection:
//!
//! 1. at most `max_connections` are open, and at most `max_connections_per_address` from one
//!    client address; one more is answered 503 problem+json and closed, except that a few
//!    connections past the caps ([`HEALTH_RESERVE`]) are kept for `GET /health`, so a load
//!    balancer still sees a live server while one client holds every connection;
//! 2. the request's headers must arrive within `header_read_timeout`, which is also how long an
//!    idle keep-alive connection is kept (hyper starts the timer whenever it waits for a head);
//! 3. a response that cannot be written for `write_timeout` (a client that does not read) cuts
//!    the connection, so its body (a download, holding a slot) is dropped;
//! 4. HTTP/1.1 only, with hyper's read buffer capped at 64 KiB.
//!
//! On shutdown the listener closes, open connections finish their request (keep-alive ends),
//! and whatever still runs after the grace period is cut.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

/// The bounds on connections (see `ServerConfig`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub header_read_timeout: Duration,
    pub write_timeout: Duration,
    pub shutdown_grace: Duration,
}

/// Connections past the caps that may still ask `GET /health` (each with a short header
/// timeout); past these, a connection is refused at once.
pub const HEALTH_RESERVE: usize = 16;
/// Of [`HEALTH_RESERVE`], what one address may hold: a client that holds its share with idle
/// sockets leaves the rest to the others (the load balancer).
const RESERVE_PER_ADDRESS: usize = 2;

/// How long a connection taken on the `/health` reserve may take to send its request.
const RESERVE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Open connections per client address.
type PerAddress = Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>;

/// One open connection of an address, given back when the connection ends.
struct AddressSlot {
    ip: std::net::IpAddr,
    open: PerAddress,
}

impl AddressSlot {
    fn take(open: &PerAddress, ip: std::net::IpAddr, most: usize) -> Option<AddressSlot> {
        let mut map = open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = map.entry(ip).or_insert(0);
        if *n >= most {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            ip,
            open: Arc::clone(open),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut map = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// hyper's read buffer per connection: the longest URL is 16 KiB and headers rarely pass a few.
const MAX_BUF: usize = 64 * 1024;

/// Serves `app` on `listener` until `shutdown` resolves, then drains for the grace period.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let reserve = Arc::new(Semaphore::new(HEALTH_RESERVE));
    let per_address: PerAddress = Arc::default();
    let reserve_per_address: PerAddress = Arc::default();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The client's address rides in each request's extensions. (Layering the router with
        // it per connection rebuilt every route: 188 KiB per open connection.)
        let ip = peer.ip();
        let app = app.clone();
        let app = tower::service_fn(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(super::state::ClientAddr(ip));
                tower::ServiceExt::oneshot(app.clone(), req)
            },
        );
        let slot = AddressSlot::take(
            &per_address,
            peer.ip(),
            limits.max_connections_per_address.max(1),
        );
        let permit = slot
            .is_some()
            .then(|| Arc::clone(&open).try_acquire_owned().ok())
            .flatten();
        let (permit, slot, health_only) = match permit {
            Some(p) => (p, slot, false),
            None => {
                drop(slot);
                let share = AddressSlot::take(&reserve_per_address, peer.ip(), RESERVE_PER_ADDRESS);
                match (share, Arc::clone(&reserve).try_acquire_owned()) {
                    (Some(share), Ok(r)) => (r, Some(share), true),
                    _ => {
                        tokio::spawn(refuse(stream));
                        continue;
                    }
                }
            }
        };
        let io = TokioIo::new(WriteTimeout::new(stream, limits.write_timeout));
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .max_buf_size(MAX_BUF)
            .header_read_timeout(if health_only {
                RESERVE_HEADER_TIMEOUT
            } else {
                limits.header_read_timeout
            });
        if health_only {
            // One request, /health or a 503, then the connection closes.
            builder.keep_alive(false);
            let service =
                tower::service_fn(move |req: axum::extract::Request<hyper::body::Incoming>| {
                    let app = app.clone();
                    async move {
                        let health = (req.method() == axum::http::Method::GET
                            || req.method() == axum::http::Method::HEAD)
                            && req.uri().path() == "/health";
                        if health {
                            tower::ServiceExt::oneshot(app, req).await
                        } else {
                            Ok(over_the_cap())
                        }
                    }
                });
            let conn = builder.serve_connection(io, TowerToHyperService::new(service));
            tokio::spawn(finish(graceful.watch(conn), (permit, slot)));
        } else {
            let conn = builder.serve_connection(io, TowerToHyperService::new(app));
            tokio::spawn(finish(graceful.watch(conn), (permit, slot)));
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("stopped"),
        () = tokio::time::sleep(limits.shutdown_grace) => tracing::warn!(
            grace_s = limits.shutdown_grace.as_secs_f64(),
            "requests still running after the shutdown grace period; cutting their connections"
        ),
    }
    Ok(())
}

/// The problem a connection over the caps is answered with.
const OVER_THE_CAP: &str = r#"{"type":"urn:etown-atlas:problem:too_many_connections","title":"Too many connections","status":503,"detail":"the server has as many open connections as it accepts (from this address, or in all); retry in a few seconds","code":"too_many_connections"}"#;

/// [`OVER_THE_CAP`] as a response, for a request on a `/health` reserve connection.
fn over_the_cap() -> axum::response::Response {
    use axum::http::{header, HeaderValue, StatusCode};
    let mut res = axum::response::Response::new(axum::body::Body::from(OVER_THE_CAP));
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'"),
    );
    res
}

/// Serves a connection to its end, holding what it took (its permit, its address's slot).
async fn finish<E: std::fmt::Display>(conn: impl Future<Output = Result<(), E>>, held: impl Send) {
    let _held = held;
    if let Err(e) = conn.await {
        tracing::debug!("connection ended: {e}");
    }
}

/// The answer to a connection over the cap: a 503 problem, then close.
async fn refuse(mut stream: TcpStream) {
    let body = OVER_THE_CAP;
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nretry-after: 5\r\nconnection: close\r\nx-content-type-options: nosniff\r\ncontent-security-policy: default-src 'none'\r\n\r\n",
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
    tracing::warn!("refused a connection: at the connection limit");
}

/// A socket whose writes fail once they have waited `limit` for the client to read.
struct WriteTimeout {
    inner: TcpStream,
    limit: Duration,
    /// Set while a write waits; reset by any progress.
    waiting: Option<Pin<Box<Sleep>>>,
}

impl WriteTimeout {
    fn new(inner: TcpStream, limit: Duration) -> Self {
        WriteTimeout {
            inner,
            limit,
            waiting: None,
        }
    }

    /// Called when a write is pending: fails once it has been pending too long.
    fn pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let limit = self.limit;
        let timer = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                tracing::warn!(
                    limit_s = limit.as_secs_f64(),
                    "cut a connection whose client stopped reading"
                );
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client did not read the response in time",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for WriteTimeout {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteTimeout {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.pending(cx),
            done => {
                self.waiting = None;
                done
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.pending(cx),
            done => {
                self.waiting = None;
                done
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
