//! Sending a download while it is written, so that a client never mistakes a cut or failed
//! file for a complete one.
//!
//! 1. The writer runs on a blocking thread and hands 64 KiB chunks to the response body through
//!    a bounded channel: memory stays bounded, and a slow client slows the writer down.
//! 2. The response head waits for the first chunk: a writer that fails before writing anything
//!    (a GeoPackage that cannot be built) is answered with a 500 problem, not a 200 and an empty
//!    file.
//! 3. Over HTTP/1.1 the body is chunked, and a failure after the first chunk ends it without
//!    its last chunk: every client sees a broken transfer.
//! 4. HTTP/1.0 has no chunks, and a body that ends by closing the connection looks complete
//!    however short it is (nginx talks HTTP/1.0 to its upstreams by default). For HTTP/1.0 the
//!    file is written to a temporary file first and sent with its length, so a cut transfer is
//!    visibly short.
//! 5. The slot is held until the transfer ends (not when the file is written), spooled files
//!    together stay under [`SPOOL_BYTES`] of disk, and a client that reads slower than
//!    [`MIN_RATE`] on average after [`RATE_GRACE`] is cut (visibly, as in 3 and 4): a trickle
//!    reader can neither fill the disk nor hold a slot for the whole download timeout.

use crate::http::problem::Problem;
use std::io::Write;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::error::ApiError;
use crate::export::{ExportError, Format};

const CHUNK: usize = 64 * 1024;

/// Disk that files spooled for HTTP/1.0 clients may take at once, all downloads together.
pub const SPOOL_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// The slowest average a download may be read at, once [`RATE_GRACE`] has passed.
pub const MIN_RATE: u64 = 16 * 1024;
/// How long a download may take before [`MIN_RATE`] applies (a slow start is fine).
pub const RATE_GRACE: Duration = Duration::from_secs(60);

/// Bytes of spooled files on disk now.
static SPOOLED: AtomicU64 = AtomicU64::new(0);

/// What is sent besides the bytes.
pub struct Download {
    pub format: Format,
    pub file_name: String,
    pub content_crs: Option<&'static str>,
    /// Send with a `Content-Length` (spooled first), for clients that cannot see a cut chunked
    /// body (HTTP/1.0).
    pub known_length: bool,
}

type Chunk = Result<Bytes, std::io::Error>;

/// A `Write` that sends 64 KiB chunks down a channel, blocking when the client is slow.
struct ChannelWriter {
    buf: Vec<u8>,
    tx: mpsc::Sender<Chunk>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// Runs `write` and answers with what it writes, holding `permit` until the transfer ends.
pub async fn send<P, F>(download: Download, permit: P, write: F) -> Result<Response, ApiError>
where
    P: Send + 'static,
    F: FnOnce(&mut dyn Write) -> Result<(), ExportError> + Send + 'static,
{
    if download.known_length {
        return spooled(download, permit, write).await;
    }
    let (tx, mut rx) = mpsc::channel::<Chunk>(8);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            buf: Vec::with_capacity(CHUNK),
            tx: tx.clone(),
        };
        let result = write(&mut w).and_then(|()| w.flush().map_err(ExportError::from));
        if let Err(e) = result {
            tracing::error!("download failed midway: {e}");
            let _ = tx.blocking_send(Err(std::io::Error::other(
                "the export failed; the file is incomplete",
            )));
        }
    });
    // The head waits for the first chunk, so an early failure can still be a proper error.
    let first = match rx.recv().await {
        Some(Ok(chunk)) => Some(chunk),
        None => None,
        Some(Err(_)) => return Err(failed()),
    };
    let rest = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let stream = futures_util::StreamExt::chain(futures_util::stream::iter(first.map(Ok)), rest);
    Ok(headers(
        Body::from_stream(rate_floor(stream, permit)).into_response(),
        &download,
    ))
}

/// `stream`, holding `guard` until it ends or is dropped, and ended with an error when the
/// client reads slower than [`MIN_RATE`] on average after [`RATE_GRACE`].
fn rate_floor<S, G>(stream: S, guard: G) -> impl futures_core::Stream<Item = Chunk> + Send
where
    S: futures_core::Stream<Item = Chunk> + Send + Unpin + 'static,
    G: Send + 'static,
{
    let started = Instant::now();
    // Fused: a body may be polled once more after its end.
    let floored =
        futures_util::stream::unfold(Some((stream, guard, 0u64)), move |state| async move {
            let (mut stream, guard, sent) = state?;
            let elapsed = started.elapsed();
            if elapsed > RATE_GRACE && sent < MIN_RATE.saturating_mul(elapsed.as_secs()) {
                tracing::warn!(
                    sent,
                    elapsed_s = elapsed.as_secs(),
                    "cut a download read slower than the minimum rate"
                );
                drop(guard);
                let slow = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client read slower than the minimum transfer rate",
                );
                return Some((Err(slow), None));
            }
            match futures_util::StreamExt::next(&mut stream).await {
                Some(Ok(chunk)) => {
                    let sent = sent + chunk.len() as u64;
                    Some((Ok(chunk), Some((stream, guard, sent))))
                }
                Some(Err(e)) => Some((Err(e), None)),
                None => None,
            }
        });
    futures_util::StreamExt::fuse(floored)
}

/// Bytes counted against [`SPOOL_BYTES`], given back when dropped (with the file).
struct Spooled(u64);

impl Drop for Spooled {
    fn drop(&mut self) {
        SPOOLED.fetch_sub(self.0, Ordering::AcqRel);
    }
}

/// A spool file's writer that counts its bytes against [`SPOOL_BYTES`] and refuses past it.
struct Budgeted<W> {
    inner: W,
    held: Spooled,
}

impl<W: Write> Write for Budgeted<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len() as u64;
        let before = SPOOLED.fetch_add(n, Ordering::AcqRel);
        if before + n > SPOOL_BYTES {
            SPOOLED.fetch_sub(n, Ordering::AcqRel);
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                SpoolFull,
            ));
        }
        self.held.0 += n;
        self.inner.write_all(data)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The spool budget is spent: the download is refused for now (503), not failed.
#[derive(Debug, thiserror::Error)]
#[error("the disk set aside for spooled downloads is in use; retry later")]
struct SpoolFull;

/// HTTP/1.0: the whole file first, in a temporary file, then sent with its length.
async fn spooled<P, F>(download: Download, permit: P, write: F) -> Result<Response, ApiError>
where
    P: Send + 'static,
    F: FnOnce(&mut dyn Write) -> Result<(), ExportError> + Send + 'static,
{
    let written = tokio::task::spawn_blocking(move || {
        let mut file = tempfile::tempfile()?;
        let held = {
            let mut out = std::io::BufWriter::new(Budgeted {
                inner: &mut file,
                held: Spooled(0),
            });
            write(&mut out)?;
            out.flush()?;
            out.into_inner()
                .map_err(|e| ExportError::from(e.into_error()))?
                .held
        };
        let len = file.metadata()?.len();
        std::io::Seek::rewind(&mut file)?;
        Ok::<_, ExportError>((file, len, held))
    })
    .await;
    let (file, len, held) = match written {
        Ok(Ok(done)) => done,
        Ok(Err(e)) if is_spool_full(&e) => {
            tracing::warn!("a spooled download was refused: {e}");
            return Err(ApiError::busy(30));
        }
        Ok(Err(e)) => {
            tracing::error!("download failed: {e}");
            return Err(failed());
        }
        Err(e) => {
            tracing::error!("download task failed: {e}");
            return Err(failed());
        }
    };
    let stream = Box::pin(file_stream::chunks(tokio::fs::File::from_std(file)));
    let mut res = Body::from_stream(rate_floor(stream, (permit, held))).into_response();
    res.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(headers(res, &download))
}

/// Whether `e` is the spool budget's refusal.
fn is_spool_full(e: &ExportError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<SpoolFull>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.get_ref().is_some_and(|inner| inner.is::<SpoolFull>()) {
                return true;
            }
        }
        source = err.source();
    }
    false
}

fn failed() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        Problem::ExportFailed,
        "the file could not be written; nothing was sent (the server log says why)",
    )
}

/// The format's media type and a `Content-Disposition` naming the file.
fn headers(mut res: Response, d: &Download) -> Response {
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(d.format.media_type()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", d.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(crs) = d
        .content_crs
        .and_then(|c| HeaderValue::from_str(&format!("<{c}>")).ok())
    {
        h.insert("content-crs", crs);
    }
    res
}

/// A file read as a stream of chunks, without another dependency.
mod file_stream {
    use axum::body::Bytes;
    use tokio::io::AsyncReadExt;

    pub fn chunks(
        file: tokio::fs::File,
    ) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send {
        futures_util::stream::unfold(Some(file), |file| async move {
            let mut file = file?;
            let mut buf = vec![0u8; super::CHUNK];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}
