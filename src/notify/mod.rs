//! Webhooks: the change log pushed to other systems and to WeCom or DingTalk group robots.
//!
//! Off unless `[[notify.webhook]]` entries are configured (the server makes no outside request
//! otherwise). Each webhook has a thread of its own that wakes when the store publishes a
//! version, reads the new changes from the change log, keeps those of its collections and
//! operations, and POSTs them: one POST per `digest_s` seconds with everything since the last
//! (robots take at most 20 messages a minute), or, with `digest_s = 0`, as soon as they come but
//! never more than `max_per_minute` POSTs a minute (changes that come faster wait for the next
//! one). Every POST carries `X-Atlas-Signature: sha256=<hex>`, the HMAC-SHA256 of
//! `<X-Atlas-Timestamp>.<body>` under the webhook's secret, so the receiver can check who sent it
//! and refuse an old one played again. A POST that fails (no answer, or not 2xx) is tried again
//! after 1, 2, 4, 8… seconds, `retries` times, then dropped with a log line.
//!
//! Delivery starts at the change the server had when it started: changes made while it was
//! stopped are not sent (the change feed, `GET /changes?since=N`, has them).

mod message;

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::record::Change;
use crate::store::FeatureStore;

pub use message::{signature, Format, Message};

/// The `[notify]` section.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Where changes are POSTed: `[[notify.webhook]]` entries (default none: no outside request).
    #[serde(default)]
    pub webhook: Vec<WebhookConfig>,
}

/// One `[[notify.webhook]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The URL POSTed to (http or https; for a WeCom or DingTalk robot, its webhook address).
    pub url: String,
    /// Only changes of these collections (default: all).
    pub collections: Option<Vec<String>>,
    /// Only these operations: create, replace, update, delete (default: all).
    pub events: Option<Vec<String>>,
    /// The body: `json` (the changes), `wecom` or `dingtalk` (a Markdown message a group robot
    /// shows; default json).
    pub format: Option<String>,
    /// Seconds between digests: everything since the last in one POST (default 60 for wecom and
    /// dingtalk, 0 for json: each change as it comes; 0 to 86400).
    pub digest_s: Option<u64>,
    /// Most POSTs a minute (default 20, a robot's limit; 1 to 600).
    pub max_per_minute: Option<u32>,
    /// The HMAC-SHA256 key of `X-Atlas-Signature` (and of DingTalk's `sign`); default none.
    pub secret: Option<String>,
    /// The name of an environment variable holding the secret instead (kept out of the file).
    pub secret_env: Option<String>,
    /// Tries again after a failure, waiting 1, 2, 4… seconds (default 5; 0 to 10).
    pub retries: Option<u32>,
}

impl WebhookConfig {
    /// Why this webhook cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        let url = self.url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "notify.webhook url {url:?} must start with http:// or https://"
            ));
        }
        self.format()?;
        for e in self.events.iter().flatten() {
            if crate::record::Operation::parse(e).is_err() {
                return Err(format!(
                    "notify.webhook events: {e:?} is not create, replace, update or delete"
                ));
            }
        }
        if self.digest_s.is_some_and(|d| d > 86_400) {
            return Err("notify.webhook digest_s is at most 86400 (a day)".into());
        }
        if self.max_per_minute.is_some_and(|n| !(1..=600).contains(&n)) {
            return Err("notify.webhook max_per_minute is 1 to 600".into());
        }
        if self.retries.is_some_and(|n| n > 10) {
            return Err("notify.webhook retries is at most 10".into());
        }
        if self.secret.is_some() && self.secret_env.is_some() {
            return Err("notify.webhook: give secret or secret_env, not both".into());
        }
        Ok(())
    }

    fn format(&self) -> Result<Format, String> {
        match self.format.as_deref() {
            None | Some("json") => Ok(Format::Json),
            Some("wecom") => Ok(Format::WeCom),
            Some("dingtalk") => Ok(Format::DingTalk),
            Some(other) => Err(format!(
                "notify.webhook format {other:?} is not json, wecom or dingtalk"
            )),
        }
    }

    fn secret(&self) -> Result<Option<String>, String> {
        match &self.secret_env {
            Some(name) => std::env::var(name)
                .map(Some)
                .map_err(|_| format!("notify.webhook secret_env: the variable {name} is not set")),
            None => Ok(self.secret.clone()),
        }
    }

    fn wants(&self, c: &Change) -> bool {
        self.collections
            .as_ref()
            .is_none_or(|cs| cs.iter().any(|x| x == &c.collection))
            && self
                .events
                .as_ref()
                .is_none_or(|es| es.iter().any(|e| e == c.operation.as_str()))
    }
}

/// Sends one body; `Err` says why it did not arrive.
pub type Post = Arc<dyn Fn(&str, &[(String, String)], &[u8]) -> Result<(), String> + Send + Sync>;

/// POSTs over HTTP(S) with a 10-second limit, trusting the operating system's certificates.
pub fn http_post() -> Post {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .tls_config(tls)
        .build()
        .into();
    Arc::new(move |url, headers, body| {
        let mut req = agent.post(url);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let res = req.send(body).map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    })
}

/// Most changes waiting for one webhook; beyond, the oldest are dropped (and counted in the
/// next message).
const MAX_PENDING: usize = 10_000;

/// Starts a thread per webhook that delivers the changes `store` publishes from now on.
pub fn start(
    store: Arc<dyn FeatureStore>,
    hooks: Vec<WebhookConfig>,
    post: Post,
) -> Result<(), String> {
    let Some(editor) = store.editor() else {
        return Err("webhooks need a store that keeps edits (--state or --store)".into());
    };
    for hook in hooks {
        hook.check()?;
        let secret = hook.secret()?;
        let (tell, wake) = mpsc::channel::<i64>();
        editor.on_publish(move |seq| {
            let _ = tell.send(seq);
        });
        let from = store.snapshot().change();
        let (store, post) = (Arc::clone(&store), Arc::clone(&post));
        std::thread::Builder::new()
            .name("webhook".into())
            .spawn(move || Delivery::new(hook, secret, from, post).run(&*store, wake))
            .map_err(|e| format!("cannot start a webhook thread: {e}"))?;
    }
    Ok(())
}

/// One webhook's delivery state.
struct Delivery {
    hook: WebhookConfig,
    format: Format,
    secret: Option<String>,
    post: Post,
    /// The last change read from the log.
    read: i64,
    pending: Vec<Change>,
    dropped: usize,
    last_sent: Option<Instant>,
    /// When the POSTs of the last minute were sent.
    sent: std::collections::VecDeque<Instant>,
}

impl Delivery {
    fn new(hook: WebhookConfig, secret: Option<String>, from: i64, post: Post) -> Self {
        let format = hook.format().unwrap_or(Format::Json);
        Delivery {
            hook,
            format,
            secret,
            post,
            read: from,
            pending: Vec::new(),
            dropped: 0,
            last_sent: None,
            sent: std::collections::VecDeque::new(),
        }
    }

    fn digest(&self) -> Duration {
        let default = match self.format {
            Format::Json => 0,
            Format::WeCom | Format::DingTalk => 60,
        };
        Duration::from_secs(self.hook.digest_s.unwrap_or(default))
    }

    fn run(mut self, store: &dyn FeatureStore, wake: mpsc::Receiver<i64>) {
        loop {
            let wait = self.next_send().map_or(Duration::from_secs(3600), |at| {
                at.saturating_duration_since(Instant::now())
            });
            match wake.recv_timeout(wait) {
                Ok(_) => while wake.try_recv().is_ok() {},
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            self.read_new(store);
            if self.next_send().is_some_and(|at| at <= Instant::now()) {
                self.send();
            }
        }
    }

    /// Reads what the log has after `read`, keeping the changes this webhook wants.
    fn read_new(&mut self, store: &dyn FeatureStore) {
        let Some(editor) = store.editor() else { return };
        loop {
            match editor.changes(self.read, 1000) {
                Ok(page) if page.is_empty() => return,
                Ok(page) => {
                    for mut c in page {
                        self.read = c.seq;
                        if self.hook.wants(&c) {
                            // A message names the change; the features stay in the log.
                            c.before = None;
                            c.after = None;
                            self.pending.push(c);
                        }
                    }
                    if self.pending.len() > MAX_PENDING {
                        let over = self.pending.len() - MAX_PENDING;
                        self.pending.drain(..over);
                        self.dropped += over;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a webhook cannot read the change log; it tries again at the next change");
                    return;
                }
            }
        }
    }

    /// When the next POST may go, if anything waits.
    fn next_send(&mut self) -> Option<Instant> {
        if self.pending.is_empty() && self.dropped == 0 {
            return None;
        }
        let now = Instant::now();
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            self.sent.pop_front();
        }
        let per_minute = self.hook.max_per_minute.unwrap_or(20).max(1) as usize;
        let by_rate = if self.sent.len() >= per_minute {
            self.sent.front().map(|t| *t + Duration::from_secs(60))
        } else {
            None
        };
        let by_digest = self.last_sent.map(|t| t + self.digest());
        Some(
            [by_rate, by_digest]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(now),
        )
    }

    fn send(&mut self) {
        let message = Message {
            changes: std::mem::take(&mut self.pending),
            dropped: std::mem::take(&mut self.dropped),
        };
        let retries = self.hook.retries.unwrap_or(5);
        let mut wait = Duration::from_secs(1);
        for attempt in 0..=retries {
            let (url, headers, body) = message.request(
                self.format,
                &self.hook.url,
                self.secret.as_deref(),
                chrono::Utc::now().timestamp_millis(),
            );
            self.sent.push_back(Instant::now());
            match (self.post)(&url, &headers, &body) {
                Ok(()) => {
                    self.last_sent = Some(Instant::now());
                    return;
                }
                Err(e) if attempt < retries => {
                    tracing::warn!(url = %message::without_query(&self.hook.url), error = %e, attempt = attempt + 1, "a webhook POST failed; trying again");
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(60));
                }
                Err(e) => {
                    tracing::error!(url = %message::without_query(&self.hook.url), error = %e, changes = message.changes.len(), "a webhook POST failed every time; its changes are dropped");
                }
            }
        }
        self.last_sent = Some(Instant::now());
    }
}
