//! The problem contract: every kind of problem the API answers with, in one table. Each has
//! its stable `code` (the body's `code` and the tail of its `type` URN), the status it is
//! usually sent with, and its title in English and Chinese (with the lead of a Chinese detail).
//! The responses (`error`), the language layer (`problem_language`) and the OpenAPI document
//! (`routes::api`) all read this table, so a new kind of problem cannot miss a language.

use axum::http::StatusCode;

/// A kind of problem. Its code, status and titles are in [`TABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Problem {
    InvalidParameter,
    UnknownParameter,
    UnknownProperty,
    InvalidBody,
    InvalidGeometry,
    FilterSyntax,
    FilterTypeMismatch,
    FilterUnsupported,
    FilterTooComplex,
    NoTemporalProperty,
    CollectionNotFound,
    NotFound,
    MethodNotAllowed,
    BodyTooLarge,
    UriTooLong,
    NotAcceptable,
    UnsupportedMediaType,
    BadRequest,
    Timeout,
    Busy,
    Unavailable,
    TooManyConnections,
    ExportFailed,
    Unauthorized,
    Forbidden,
    OutOfScope,
    Conflict,
    InvalidFeature,
    PreconditionRequired,
    PreconditionFailed,
    StorageFailed,
    StoreUnavailable,
    IdempotencyKeyReused,
    RequestInProgress,
    ChangesetHasErrors,
    ChangesetConflict,
    ChangesetState,
    InternalError,
}

/// One row of the contract.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub problem: Problem,
    /// Stable, snake_case, for machines.
    pub code: &'static str,
    /// The status it is usually sent with (a bare status from a lower layer may differ:
    /// `timeout` is 503 from the request budget and 408 or 504 from elsewhere).
    pub status: StatusCode,
    pub title_en: &'static str,
    pub title_zh: &'static str,
    /// The lead of the Chinese detail: `{p}` the parameter, `{s}` the seconds to wait, `{n}`
    /// the 1-based character position in a filter.
    pub lead_zh: &'static str,
}

const fn entry(
    problem: Problem,
    code: &'static str,
    status: StatusCode,
    title_en: &'static str,
    title_zh: &'static str,
    lead_zh: &'static str,
) -> Entry {
    Entry {
        problem,
        code,
        status,
        title_en,
        title_zh,
        lead_zh,
    }
}

use Problem as P;
use StatusCode as S;

/// Every problem, in the order the OpenAPI document lists them.
pub const TABLE: &[Entry] = &[
    entry(
        P::InvalidParameter,
        "invalid_parameter",
        S::BAD_REQUEST,
        "Invalid parameter",
        "参数无效",
        "参数 {p} 的值无法使用",
    ),
    entry(
        P::UnknownParameter,
        "unknown_parameter",
        S::BAD_REQUEST,
        "Unknown parameter",
        "未知参数",
        "此资源不接受参数 {p}",
    ),
    entry(
        P::UnknownProperty,
        "unknown_property",
        S::BAD_REQUEST,
        "Unknown property",
        "未知属性",
        "筛选条件引用了此数据集没有的属性",
    ),
    entry(
        P::InvalidBody,
        "invalid_body",
        S::BAD_REQUEST,
        "Invalid request body",
        "请求体无效",
        "请求体无法按此接口的要求读取",
    ),
    entry(
        P::InvalidGeometry,
        "invalid_geometry",
        S::BAD_REQUEST,
        "Invalid geometry",
        "几何无效",
        "筛选条件中的几何图形无效",
    ),
    entry(
        P::FilterSyntax,
        "filter_syntax",
        S::BAD_REQUEST,
        "Filter syntax error",
        "筛选条件语法错误",
        "筛选条件在第 {n} 个字符处有语法错误",
    ),
    entry(
        P::FilterTypeMismatch,
        "filter_type_mismatch",
        S::BAD_REQUEST,
        "Filter type mismatch",
        "筛选条件类型不符",
        "筛选条件把属性与不同类型的值比较",
    ),
    entry(
        P::FilterUnsupported,
        "filter_unsupported",
        S::BAD_REQUEST,
        "Filter not supported",
        "筛选条件不受支持",
        "筛选条件使用了本服务器不支持的功能",
    ),
    entry(
        P::FilterTooComplex,
        "filter_too_complex",
        S::BAD_REQUEST,
        "Filter too complex",
        "筛选条件过于复杂",
        "筛选条件超出了允许的复杂度，请简化后重试",
    ),
    entry(
        P::NoTemporalProperty,
        "no_temporal_property",
        S::BAD_REQUEST,
        "No temporal property",
        "没有时间属性",
        "此数据集没有可按 datetime 筛选的时间属性",
    ),
    entry(
        P::CollectionNotFound,
        "collection_not_found",
        S::NOT_FOUND,
        "Collection not found",
        "数据集不存在",
        "没有这个数据集，请查看 /collections",
    ),
    entry(
        P::NotFound,
        "not_found",
        S::NOT_FOUND,
        "Not found",
        "未找到",
        "没有这个资源",
    ),
    entry(
        P::MethodNotAllowed,
        "method_not_allowed",
        S::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "方法不允许",
        "此资源不允许这种请求方法",
    ),
    entry(
        P::BodyTooLarge,
        "body_too_large",
        S::PAYLOAD_TOO_LARGE,
        "Request body too large",
        "请求体过大",
        "请求体超过了服务器接受的大小",
    ),
    entry(
        P::UriTooLong,
        "uri_too_long",
        S::URI_TOO_LONG,
        "URL too long",
        "网址过长",
        "请求网址超过了服务器接受的长度；大的筛选条件和几何请用 POST 发送",
    ),
    entry(
        P::NotAcceptable,
        "not_acceptable",
        S::NOT_ACCEPTABLE,
        "No acceptable format",
        "无可用格式",
        "没有与 Accept 请求头相符的格式",
    ),
    entry(
        P::UnsupportedMediaType,
        "unsupported_media_type",
        S::UNSUPPORTED_MEDIA_TYPE,
        "Unsupported media type",
        "不支持的媒体类型",
        "此处不接受该请求体的媒体类型或编码",
    ),
    entry(
        P::BadRequest,
        "bad_request",
        S::BAD_REQUEST,
        "Bad request",
        "请求无法处理",
        "请求无法处理",
    ),
    entry(
        P::Timeout,
        "timeout",
        S::SERVICE_UNAVAILABLE,
        "Request timed out",
        "请求超时",
        "请求耗时过长，已被停止；请缩小范围（更小的区域、更少的条件）或稍后重试",
    ),
    entry(
        P::Busy,
        "busy",
        S::SERVICE_UNAVAILABLE,
        "Server busy",
        "服务器繁忙",
        "服务器的并发下载与统计已满，请 {s} 秒后重试",
    ),
    entry(
        P::Unavailable,
        "unavailable",
        S::SERVICE_UNAVAILABLE,
        "Unavailable",
        "暂时无法服务",
        "服务器现在无法处理此请求，请稍后重试",
    ),
    entry(
        P::TooManyConnections,
        "too_many_connections",
        S::SERVICE_UNAVAILABLE,
        "Too many connections",
        "连接过多",
        "服务器的连接已满，请稍后重试",
    ),
    entry(
        P::ExportFailed,
        "export_failed",
        S::INTERNAL_SERVER_ERROR,
        "Export failed",
        "导出失败",
        "导出文件未能生成",
    ),
    entry(
        P::Unauthorized,
        "unauthorized",
        S::UNAUTHORIZED,
        "Unauthorized",
        "未认证",
        "此操作需要有效的 API 令牌",
    ),
    entry(
        P::Forbidden,
        "forbidden",
        S::FORBIDDEN,
        "Forbidden",
        "无权限",
        "此令牌无权进行此操作",
    ),
    entry(
        P::OutOfScope,
        "out_of_scope",
        S::FORBIDDEN,
        "Outside this token's rights",
        "超出权限范围",
        "此修改超出令牌的权限范围（规则 {r}）{p}",
    ),
    entry(
        P::Conflict,
        "conflict",
        S::CONFLICT,
        "Conflict",
        "冲突",
        "与现有要素冲突",
    ),
    entry(
        P::InvalidFeature,
        "invalid_feature",
        S::BAD_REQUEST,
        "Invalid feature",
        "要素无效",
        "提交的要素不符合此数据集的规则",
    ),
    entry(
        P::PreconditionRequired,
        "precondition_required",
        S::PRECONDITION_REQUIRED,
        "Precondition required",
        "需要前提条件",
        "修改需要 If-Match（要素的 ETag）或 If-Unmodified-Since，以免覆盖未见过的更改",
    ),
    entry(
        P::PreconditionFailed,
        "precondition_failed",
        S::PRECONDITION_FAILED,
        "Precondition failed",
        "前提条件不成立",
        "要素在该版本之后已被修改",
    ),
    entry(
        P::StorageFailed,
        "storage_failed",
        S::SERVICE_UNAVAILABLE,
        "Not saved",
        "保存失败",
        "修改未能保存，没有任何更改",
    ),
    entry(
        P::StoreUnavailable,
        "store_unavailable",
        S::SERVICE_UNAVAILABLE,
        "Store unavailable",
        "存储暂不可用",
        "数据存储暂时无法连接，没有任何更改；请 {s} 秒后重试",
    ),
    entry(
        P::IdempotencyKeyReused,
        "idempotency_key_reused",
        S::UNPROCESSABLE_ENTITY,
        "Idempotency key reused",
        "幂等键已被使用",
        "此 Idempotency-Key 已用于不同的请求体；重试须发送相同的请求体，新请求须用新的键",
    ),
    entry(
        P::RequestInProgress,
        "request_in_progress",
        S::CONFLICT,
        "Request in progress",
        "请求处理中",
        "使用此 Idempotency-Key 的请求正在处理，请在其答复后重试",
    ),
    entry(
        P::ChangesetHasErrors,
        "changeset_has_errors",
        S::UNPROCESSABLE_ENTITY,
        "Change set has errors",
        "变更集有错误",
        "变更集中有错误的行或列，没有任何更改；请修正文件后重新上传",
    ),
    entry(
        P::ChangesetConflict,
        "changeset_conflict",
        S::CONFLICT,
        "Changed since the preview",
        "预览后已被修改",
        "部分要素在预览（或应用）后已被修改，没有任何更改",
    ),
    entry(
        P::ChangesetState,
        "changeset_state",
        S::CONFLICT,
        "Change set not in that state",
        "变更集状态不符",
        "此变更集的状态不允许此操作",
    ),
    entry(
        P::InternalError,
        "internal_error",
        S::INTERNAL_SERVER_ERROR,
        "Server error",
        "服务器错误",
        "服务器未能完成此请求",
    ),
];

impl Problem {
    /// Its row of [`TABLE`].
    pub fn entry(self) -> &'static Entry {
        TABLE
            .iter()
            .find(|e| e.problem == self)
            .unwrap_or(&TABLE[0])
    }

    pub fn code(self) -> &'static str {
        self.entry().code
    }

    /// The problem a body's `code` names, if it is one of ours.
    pub fn from_code(code: &str) -> Option<Problem> {
        TABLE.iter().find(|e| e.code == code).map(|e| e.problem)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn is_chinese(s: &str) -> bool {
        s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_problem_has_one_row_a_code_and_both_languages() {
        let mut problems = HashSet::new();
        let mut codes = HashSet::new();
        for e in TABLE {
            assert!(problems.insert(e.problem), "{:?} has two rows", e.problem);
            assert!(codes.insert(e.code), "{} is used twice", e.code);
            assert!(
                e.code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{} is not snake_case",
                e.code
            );
            assert!(
                !e.title_en.is_empty() && e.title_en.is_ascii(),
                "{}: English title {:?}",
                e.code,
                e.title_en
            );
            assert!(
                is_chinese(e.title_zh),
                "{}: Chinese title {:?}",
                e.code,
                e.title_zh
            );
            assert!(
                is_chinese(e.lead_zh),
                "{}: Chinese lead {:?}",
                e.code,
                e.lead_zh
            );
            assert!(
                e.status.is_client_error() || e.status.is_server_error(),
                "{}",
                e.code
            );
            assert_eq!(Problem::from_code(e.code), Some(e.problem));
            assert_eq!(e.problem.entry().code, e.code);
        }
        // The enum has as many variants as the table rows: a variant without a row would
        // answer with the first row's code (checked by the variant count the compiler knows).
        assert_eq!(TABLE.len(), Problem::InternalError as usize + 1);
    }

    /// Only the generic problem's Chinese title is generic: each other one says what happened.
    #[test]
    fn only_bad_request_has_the_generic_chinese_title() {
        let generic = Problem::BadRequest.entry().title_zh;
        for e in TABLE.iter().filter(|e| e.problem != Problem::BadRequest) {
            assert_ne!(e.title_zh, generic, "{}", e.code);
        }
    }
}
