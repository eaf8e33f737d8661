//! What a webhook POSTs: the body in the receiver's format, and the signatures.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::record::Change;

/// The body a receiver understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"changes": [...], "dropped": n}`: for programs.
    Json,
    /// A WeCom (企业微信) group robot's Markdown message.
    WeCom,
    /// A DingTalk (钉钉) group robot's Markdown message, signed as DingTalk asks when a
    /// secret is set.
    DingTalk,
}

/// Changes to send together, and how many were dropped before them (too many waiting).
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub changes: Vec<Change>,
    pub dropped: usize,
}

/// Lines a robot's message lists before "and N more" (its text is capped at 4,096 bytes).
const ROBOT_LINES: usize = 20;

/// `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`: what
/// `X-Atlas-Signature` carries.
pub fn signature(secret: &str, timestamp_ms: i64, body: &[u8]) -> String {
    let mut mac = hmac(secret);
    mac.update(timestamp_ms.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn hmac(secret: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

/// A URL without its query (where robots keep their keys), for the logs.
pub fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

impl Message {
    /// The URL, headers and body of the POST, signed with `secret` at `now_ms`.
    pub fn request(
        &self,
        format: Format,
        url: &str,
        secret: Option<&str>,
        now_ms: i64,
    ) -> (String, Vec<(String, String)>, Vec<u8>) {
        let body = match format {
            Format::Json => json!({
                "changes": self.changes.iter().map(change_json).collect::<Vec<_>>(),
                "dropped": self.dropped,
            }),
            Format::WeCom => {
                json!({"msgtype": "markdown", "markdown": {"content": self.markdown()}})
            }
            Format::DingTalk => json!({"msgtype": "markdown", "markdown": {
                "title": "亦庄产业空间 E-Town Atlas", "text": self.markdown()}}),
        };
        let body = body.to_string().into_bytes();
        let mut headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("x-atlas-timestamp".to_owned(), now_ms.to_string()),
        ];
        let mut url = url.to_owned();
        if let Some(secret) = secret {
            headers.push((
                "x-atlas-signature".to_owned(),
                signature(secret, now_ms, &body),
            ));
            if format == Format::DingTalk {
                // DingTalk's own check: base64 HMAC-SHA256 of "<timestamp>\n<secret>".
                use base64::Engine;
                let mut mac = hmac(secret);
                mac.update(format!("{now_ms}\n{secret}").as_bytes());
                let sign =
                    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
                let sign: String = form_urlencoded::byte_serialize(sign.as_bytes()).collect();
                let sep = if url.contains('?') { '&' } else { '?' };
                url = format!("{url}{sep}timestamp={now_ms}&sign={sign}");
            }
        }
        (url, headers, body)
    }

    /// The changes as a robot shows them, in Chinese and English.
    fn markdown(&self) -> String {
        let n = self.changes.len() + self.dropped;
        let mut text = format!("**亦庄产业空间 · E-Town Atlas**\n{n} 项变更 / {n} changes\n");
        for c in self.changes.iter().take(ROBOT_LINES) {
            let op = match c.operation {
                crate::record::Operation::Create => "新增 created",
                crate::record::Operation::Replace => "替换 replaced",
                crate::record::Operation::Update => "更新 updated",
                crate::record::Operation::Delete => "删除 deleted",
            };
            text.push_str(&format!(
                "- {op} {}/{} · {} · {}\n",
                c.collection, c.feature_id, c.principal, c.at
            ));
        }
        let more = n.saturating_sub(ROBOT_LINES.min(self.changes.len()));
        if more > 0 {
            text.push_str(&format!("- 另有 {more} 项 / and {more} more\n"));
        }
        text
    }
}

fn change_json(c: &Change) -> Value {
    json!({
        "seq": c.seq, "collection": c.collection, "featureId": c.feature_id,
        "operation": c.operation.as_str(), "principal": c.principal, "at": c.at,
        "changeset": c.changeset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_rfc_4231_hmac() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut mac = hmac("Jefe");
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_robot_key_is_not_logged() {
        assert_eq!(
            without_query("https://robot.intranet.test/cgi-bin/webhook/send?key=SECRET"),
            "https://robot.intranet.test/cgi-bin/webhook/send"
        );
    }
}
