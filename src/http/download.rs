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

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::{mpsc, OwnedSemaphorePermit};

use super::error::ApiError;
use crate::export::{ExportError, Format};

const CHUNK: usize = 64 * 1024;

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

/// Runs `write` (holding `permit` until it is done) and answers with what it writes.
pub async fn send<F>(
    download: Download,
    permit: OwnedSemaphorePermit,
    write: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&mut dyn Write) -> Result<(), ExportError> + Send + 'static,
{
    if download.known_length {
        return spooled(download, permit, write).await;
    }
    let (tx, mut rx) = mpsc::channel::<Chunk>(8);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
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
        Body::from_stream(stream).into_response(),
        &download,
    ))
}

/// HTTP/1.0: the whole file first, in a temporary file, then sent with its length.
async fn spooled<F>(
    download: Download,
    permit: OwnedSemaphorePermit,
    write: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&mut dyn Write) -> Result<(), ExportError> + Send + 'static,
{
    let written = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut file = tempfile::tempfile()?;
        {
            let mut out = std::io::BufWriter::new(&mut file);
            write(&mut out)?;
            out.flush()?;
        }
        let len = file.metadata()?.len();
        std::io::Seek::rewind(&mut file)?;
        Ok::<_, ExportError>((file, len))
    })
    .await;
    let (file, len) = match written {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            tracing::error!("download failed: {e}");
            return Err(failed());
        }
        Err(e) => {
            tracing::error!("download task failed: {e}");
            return Err(failed());
        }
    };
    let stream = file_stream::chunks(tokio::fs::File::from_std(file));
    let mut res = Body::from_stream(stream).into_response();
    res.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(headers(res, &download))
}

fn failed() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "export_failed",
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
