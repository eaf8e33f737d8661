//! Problem bodies in the reader's language: a client whose `Accept-Language` prefers Chinese gets
//! the `title` and a `detail` that lead in Chinese (built from the problem's stable `code` and
//! its structured members: the parameter, the filter position, the seconds to wait), with the
//! English detail kept in `detail_en` for the technical specifics. English readers get the body
//! as the handlers wrote it. Either way the answer says which (`Content-Language`) and that it
//! depends on the header (`Vary`).
//!
//! Kept apart from `error` so handlers stay language-free: they say what went wrong once, here
//! it is said again for Chinese readers.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};

use super::error::PROBLEM_JSON;
use super::language;
use super::problem::Problem;

/// Problem bodies are small; anything larger is passed on as it is.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

/// The Chinese title of a problem code, and the lead of its detail (from the problem table;
/// a code that is not ours gets the generic one).
fn chinese(code: &str) -> (&'static str, &'static str) {
    let entry = Problem::from_code(code)
        .unwrap_or(Problem::BadRequest)
        .entry();
    (entry.title_zh, entry.lead_zh)
}

/// What a rule of a token's scope limits, in Chinese (`where`, `fields`, `area`).
pub fn scope_rule_zh(rule: &str) -> &'static str {
    match rule {
        "where" => "可编辑的要素范围",
        "fields" => "可修改的属性",
        "area" => "可编辑的地理范围",
        _ => "",
    }
}

/// `body` (a problem) for a Chinese reader; `wait` is its Retry-After, if any.
pub fn to_chinese(mut body: Value, wait: Option<u64>) -> Value {
    let code = body["code"].as_str().unwrap_or_default().to_owned();
    let (title, lead) = chinese(&code);
    let parameter = body["parameter"].as_str().map(|p| format!("“{p}”"));
    let position = body["position"].as_u64().map(|n| (n + 1).to_string());
    let wait = wait.map(|s| s.to_string());
    let rule = body["rule"]
        .as_str()
        .map(|r| format!("{r}：{}", scope_rule_zh(r)));
    // A scope's refusal names the property it may not change, after the rule.
    let parameter = match (&rule, parameter) {
        (Some(_), Some(p)) => Some(format!("：不可修改属性 {p}")),
        (_, p) => p,
    };
    let mut detail = lead
        .replace("{r}", rule.as_deref().unwrap_or(""))
        .replace("{p}", parameter.as_deref().unwrap_or(""))
        .replace("{n}", position.as_deref().unwrap_or("?"))
        .replace("{s}", wait.as_deref().unwrap_or("几"));
    detail.push('。');
    if let Some(en) = body.get("detail").cloned() {
        body["detail_en"] = en;
    }
    body["title"] = json!(title);
    body["detail"] = json!(detail);
    body
}

/// Rewrites problem bodies for readers who prefer Chinese; marks every problem's language.
pub async fn localize_problems(req: Request, next: Next) -> Response {
    let lang = language(req.headers());
    let res = next.run(req).await;
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if !is_problem {
        return res;
    }
    if lang == "zh" {
        return in_chinese(res).await;
    }
    let (mut parts, body) = res.into_parts();
    mark(&mut parts.headers, "en");
    Response::from_parts(parts, body)
}

fn mark(headers: &mut axum::http::HeaderMap, content_language: &'static str) {
    headers.append(header::VARY, HeaderValue::from_static("accept-language"));
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(content_language),
    );
}

/// A problem response (uncompressed) rewritten for a Chinese reader.
pub async fn in_chinese(res: Response) -> Response {
    let (mut parts, body) = res.into_parts();
    mark(&mut parts.headers, "zh-CN");
    parts.headers.remove(header::CONTENT_LENGTH);
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PROBLEM_BYTES).await else {
        // Too large to be one of ours, or cut: the status still says what happened.
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(problem) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let wait = parts
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    Response::from_parts(parts, Body::from(to_chinese(problem, wait).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::problem::TABLE;

    #[test]
    fn a_parameter_problem_leads_in_chinese_and_keeps_the_english() {
        let en = json!({"type": "urn:etown-atlas:problem:invalid_parameter", "title": "Bad Request",
            "status": 400, "code": "invalid_parameter", "parameter": "bbox",
            "detail": "bbox needs 4 or 6 numbers"});
        let zh = to_chinese(en, None);
        assert_eq!(zh["title"], "参数无效");
        assert_eq!(zh["detail"], "参数 “bbox” 的值无法使用。");
        assert_eq!(zh["detail_en"], "bbox needs 4 or 6 numbers");
        assert_eq!(zh["status"], 400);
    }

    #[test]
    fn a_scope_refusal_names_the_rule_and_the_property_in_chinese() {
        let zh = to_chinese(
            json!({"code": "out_of_scope", "rule": "fields", "parameter": "rent_cny_m2_day",
                "detail": "this token may not change \"rent_cny_m2_day\""}),
            None,
        );
        assert_eq!(zh["title"], "超出权限范围");
        assert_eq!(
            zh["detail"],
            "此修改超出令牌的权限范围（规则 fields：可修改的属性）：不可修改属性 “rent_cny_m2_day”。"
        );
        let zh = to_chinese(
            json!({"code": "out_of_scope", "rule": "where", "detail": "x"}),
            None,
        );
        assert_eq!(
            zh["detail"],
            "此修改超出令牌的权限范围（规则 where：可编辑的要素范围）。"
        );
    }

    #[test]
    fn a_busy_problem_says_how_long_to_wait() {
        let zh = to_chinese(json!({"code": "busy", "detail": "retry in 5 s"}), Some(5));
        assert_eq!(zh["detail"], "服务器的并发下载与统计已满，请 5 秒后重试。");
    }

    #[test]
    fn every_code_in_the_table_is_said_in_chinese() {
        for e in TABLE {
            let zh = to_chinese(json!({"code": e.code, "detail": "x"}), Some(3));
            assert_eq!(zh["title"], e.title_zh, "{}", e.code);
            if e.code != "bad_request" {
                assert_ne!(zh["title"], "请求无法处理", "{}", e.code);
            }
            assert_eq!(zh["detail_en"], "x");
        }
    }
}
