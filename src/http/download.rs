//! Sends a download while it is being written: the writer runs on a blocking thread and hands
//! chunks to the response body through a bounded channel, so memory stays bounded and the
//! client starts receiving at once. If writing fails midway, the body ends with an error and
//! the connection is cut: a client never mistakes a truncated file for a complete one.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use crate::export::{ExportError, Format};

const CHUNK: usize = 64 * 1024;

/// A `Write` that sends 64 KiB chunks down a channel, blocking when the client is slow.
struct ChannelWriter {
    buf: Vec<u8>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
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

/// A streamed response whose body `write` produces, with the format's media type and a
/// `Content-Disposition` naming the file.
pub fn stream<F>(format: Format, file_name: String, content_crs: Option<&str>, write: F) -> Response
where
    F: FnOnce(&mut dyn Write) -> Result<(), ExportError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
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
    let body = Body::from_stream(tokio_stream_from(rx));
    let mut res = body.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(format.media_type()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(crs) = content_crs.and_then(|c| HeaderValue::from_str(&format!("<{c}>")).ok()) {
        h.insert("content-crs", crs);
    }
    res
}

/// The receiver as a `Stream`, without another dependency.
fn tokio_stream_from(
    mut rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
