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

/// Problem bodies are small; anything larger is passed on as it is.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

/// The Chinese title of a problem code, and the lead of its detail (`{p}` the parameter,
/// `{s}` seconds to wait, `{n}` a character position).
fn chinese(code: &str) -> (&'static str, &'static str) {
    match code {
        "invalid_parameter" => ("参数无效", "参数 {p} 的值无法使用"),
        "unknown_parameter" => ("未知参数", "此资源不接受参数 {p}"),
        "unknown_property" => ("未知属性", "筛选条件引用了此数据集没有的属性"),
        "invalid_body" => ("请求体无效", "请求体无法按此接口的要求读取"),
        "invalid_geometry" => ("几何无效", "筛选条件中的几何图形无效"),
        "filter_syntax" => ("筛选条件语法错误", "筛选条件在第 {n} 个字符处有语法错误"),
        "filter_type_mismatch" => ("筛选条件类型不符", "筛选条件把属性与不同类型的值比较"),
        "filter_unsupported" => ("筛选条件不受支持", "筛选条件使用了本服务器不支持的功能"),
        "filter_too_complex" => (
            "筛选条件过于复杂",
            "筛选条件超出了允许的复杂度，请简化后重试",
        ),
        "no_temporal_property" => ("没有时间属性", "此数据集没有可按 datetime 筛选的时间属性"),
        "collection_not_found" => ("数据集不存在", "没有这个数据集，请查看 /collections"),
        "not_found" => ("未找到", "没有这个资源"),
        "method_not_allowed" => ("方法不允许", "此资源不允许这种请求方法"),
        "body_too_large" => ("请求体过大", "请求体超过了服务器接受的大小"),
        "uri_too_long" => (
            "网址过长",
            "请求网址超过了服务器接受的长度；大的筛选条件和几何请用 POST 发送",
        ),
        "not_acceptable" => ("无可用格式", "没有与 Accept 请求头相符的格式"),
        "unsupported_media_type" => ("不支持的媒体类型", "此处不接受该请求体的媒体类型或编码"),
        "timeout" => (
            "请求超时",
            "请求耗时过长，已被停止；请缩小范围（更小的区域、更少的条件）或稍后重试",
        ),
        "busy" => ("服务器繁忙", "服务器的并发下载与统计已满，请 {s} 秒后重试"),
        "unavailable" => ("暂时无法服务", "服务器现在无法处理此请求，请稍后重试"),
        "too_many_connections" => ("连接过多", "服务器的连接已满，请稍后重试"),
        "export_failed" => ("导出失败", "导出文件未能生成"),
        "unauthorized" => ("未认证", "此操作需要有效的 API 令牌"),
        "forbidden" => ("无权限", "此令牌无权进行此操作"),
        "conflict" => ("冲突", "与现有要素冲突"),
        "invalid_feature" => ("要素无效", "提交的要素不符合此数据集的规则"),
        "precondition_required" => (
            "需要前提条件",
            "修改需要 If-Match（要素的 ETag）或 If-Unmodified-Since，以免覆盖未见过的更改",
        ),
        "precondition_failed" => ("前提条件不成立", "要素在该版本之后已被修改"),
        "storage_failed" => ("保存失败", "修改未能保存，没有任何更改"),
        "store_unavailable" => (
            "存储暂不可用",
            "数据存储暂时无法连接，没有任何更改；请 {s} 秒后重试",
        ),
        "idempotency_key_reused" => (
            "幂等键已被使用",
            "此 Idempotency-Key 已用于不同的请求体；重试须发送相同的请求体，新请求须用新的键",
        ),
        "request_in_progress" => (
            "请求处理中",
            "使用此 Idempotency-Key 的请求正在处理，请在其答复后重试",
        ),
        "internal_error" => ("服务器错误", "服务器未能完成此请求"),
        _ => ("请求无法处理", "请求无法处理"),
    }
}

/// `body` (a problem) for a Chinese reader; `wait` is its Retry-After, if any.
pub fn to_chinese(mut body: Value, wait: Option<u64>) -> Value {
    let code = body["code"].as_str().unwrap_or_default().to_owned();
    let (title, lead) = chinese(&code);
    let parameter = body["parameter"].as_str().map(|p| format!("“{p}”"));
    let position = body["position"].as_u64().map(|n| (n + 1).to_string());
    let wait = wait.map(|s| s.to_string());
    let mut detail = lead
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
    fn a_busy_problem_says_how_long_to_wait() {
        let zh = to_chinese(json!({"code": "busy", "detail": "retry in 5 s"}), Some(5));
        assert_eq!(zh["detail"], "服务器的并发下载与统计已满，请 5 秒后重试。");
    }

    #[test]
    fn every_code_the_server_uses_has_a_chinese_title() {
        for code in [
            "invalid_parameter",
            "unknown_parameter",
            "unknown_property",
            "invalid_body",
            "invalid_geometry",
            "filter_syntax",
            "filter_type_mismatch",
            "filter_unsupported",
            "filter_too_complex",
            "no_temporal_property",
            "collection_not_found",
            "not_found",
            "method_not_allowed",
            "body_too_large",
            "uri_too_long",
            "not_acceptable",
            "unsupported_media_type",
            "timeout",
            "busy",
            "unavailable",
            "too_many_connections",
            "export_failed",
            "internal_error",
        ] {
            assert_ne!(chinese(code).0, "请求无法处理", "{code}");
        }
    }
}
