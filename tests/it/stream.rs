//! The live change stream (issue 30): Server-Sent Events over a real socket, read as a browser's
//! EventSource reads them (events split on blank lines, `id`/`event`/`data` fields). An edit
//! arrives as one `change` event numbered as the edit's `Atlas-Data-Version`; a reconnect with
//! `Last-Event-ID` gets exactly the changes it missed, in order, and then the live ones.

use std::sync::Arc;
use std::time::Duration;

use etown_atlas::http::{app, AppState};
use etown_atlas::record::{tokens, NewToken};
use etown_atlas::sqlite::Journal;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::common::*;

/// One event of a stream: its id, name and data.
#[derive(Debug)]
struct Sse {
    id: Option<String>,
    event: Option<String>,
    data: Value,
}

/// Reads events off an SSE response as they come (comments, the keep-alives, skipped).
struct Events {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl Events {
    fn new(r: reqwest::Response) -> Self {
        Events {
            body: r.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    async fn next(&mut self) -> Sse {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut e = Sse {
                    id: None,
                    event: None,
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        e.id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        e.event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                e.data = serde_json::from_str(&data).unwrap();
                return e;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.body.next())
                .await
                .expect("an event within 30 s")
                .expect("the stream stays open")
                .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_stream_live_and_a_reconnect_gets_exactly_what_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let token = tokens::create(
        &mut Journal::open(dir.path()).unwrap(),
        &NewToken {
            name: "streamer".into(),
            role: "editor".into(),
            collections: None,
            scopes: Default::default(),
            expires_at: None,
        },
        "2026-12-07T00:00:00Z",
    )
    .unwrap()
    .0;
    let (store, _) = etown_atlas::sqlite::open_store(shipped_catalog(), dir.path(), &[]).unwrap();
    let addr = serve(app(AppState::new(
        Arc::new(store),
        etown_atlas::config::ServerConfig::default(),
    )))
    .await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let subscribe = |last: Option<String>| {
        let mut r = http
            .get(format!("{base}/changes/stream"))
            .bearer_auth(&token)
            .header("accept", "text/event-stream");
        if let Some(l) = last {
            r = r.header("last-event-id", l);
        }
        async move {
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert!(r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream"));
            Events::new(r)
        }
    };
    // Each edit's number, from its answer.
    let edit = |id: &'static str, value: i64| {
        let http = http.clone();
        let base = base.clone();
        let token = token.clone();
        async move {
            let url = format!("{base}/collections/spatial-carriers/items/{id}");
            let etag = http.get(&url).send().await.unwrap().headers()["etag"].clone();
            let r = http
                .patch(&url)
                .bearer_auth(&token)
                .header("if-match", etag)
                .header("content-type", "application/merge-patch+json")
                .body(json!({"properties": {"available_floor_area_m2": value}}).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.headers()["atlas-data-version"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };

    // Refused without a token, or with a Last-Event-ID that is not a change number.
    assert_eq!(
        http.get(format!("{base}/changes/stream"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let bad = http
        .get(format!("{base}/changes/stream"))
        .bearer_auth(&token)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // Live: the edit made after subscribing is the next event.
    let mut live = subscribe(None).await;
    let first = edit("carrier-01", 101).await;
    let e = live.next().await;
    assert_eq!(e.event.as_deref(), Some("change"));
    assert_eq!(e.id.as_deref(), Some(first.as_str()));
    assert_eq!(e.data["featureId"], "carrier-01");
    assert_eq!(e.data["principal"], "streamer");
    assert_eq!(e.data["operation"], "update");
    drop(live);

    // Disconnected for three edits; the reconnect gets exactly those, in order, then the live one.
    let missed = [
        edit("carrier-02", 102).await,
        edit("carrier-03", 103).await,
        edit("carrier-01", 104).await,
    ];
    let mut again = subscribe(Some(first.clone())).await;
    for (want, fid) in missed
        .iter()
        .zip(["carrier-02", "carrier-03", "carrier-01"])
    {
        let e = again.next().await;
        assert_eq!(
            (e.id.as_deref(), e.data["featureId"].as_str()),
            (Some(want.as_str()), Some(fid))
        );
    }
    let after = edit("carrier-04", 105).await;
    let e = again.next().await;
    assert_eq!(
        e.id.as_deref(),
        Some(after.as_str()),
        "nothing else came between"
    );
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// 1,000 subscribers that only listen cost the server a bounded amount of memory (measured in
/// its own process, with its own resident size), and an edit still reaches the last of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_subscribers_cost_bounded_memory() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("atlas.toml");
    std::fs::write(
        &config,
        "max_connections = 2048\nmax_connections_per_address = 2048\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_etown-atlas"))
        .args([
            "token", "create", "--name", "listener", "--role", "editor", "--state",
        ])
        .arg(&state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (mut child, addr) = spawn_server(&[
        "--state".as_ref(),
        state.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    let pid = child.id();
    // Warm up the paths a subscriber takes, so what is measured is the subscribers.
    let http = reqwest::Client::new();
    let warm = http
        .get(format!("http://{addr}/changes/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    drop(warm);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(pid);

    let request = format!(
        "GET /changes/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    let mut subscribers = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut head = vec![0u8; 512];
        let n = s.read(&mut head).await.unwrap();
        let head = String::from_utf8_lossy(&head[..n]).to_string();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("text/event-stream"),
            "{head}"
        );
        subscribers.push(s);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid);
    let per = (after.saturating_sub(before)) as f64 / 1000.0;
    eprintln!("1,000 idle subscribers: {before} KiB → {after} KiB ({per:.1} KiB each)");
    assert!(
        per < 64.0,
        "an idle subscriber costs {per:.1} KiB; the bound is 64 KiB"
    );

    // An edit reaches the last subscriber.
    let url = format!("http://{addr}/collections/spatial-carriers/items/carrier-01");
    let etag = http.get(&url).send().await.unwrap().headers()["etag"].clone();
    let r = http
        .patch(&url)
        .bearer_auth(&token)
        .header("if-match", etag)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"properties": {"available_floor_area_m2": 4321}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let last = subscribers.last_mut().unwrap();
    let mut got = String::new();
    let mut buf = vec![0u8; 4096];
    while !got.contains("carrier-01") {
        let n = tokio::time::timeout(Duration::from_secs(10), last.read(&mut buf))
            .await
            .expect("the change within 10 s")
            .unwrap();
        assert!(n > 0, "the stream stays open");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    drop(subscribers);
    child.kill().unwrap();
    child.wait().unwrap();
}
