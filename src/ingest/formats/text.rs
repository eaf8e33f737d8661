//! Text encodings of attribute files: UTF-8, or the Chinese national encodings GBK and
//! GB18030 that Chinese desktop GIS and Excel write. Decoding is strict: bytes that are not
//! valid in the encoding are an error naming where they are, never replacement characters.

use std::borrow::Cow;

use encoding_rs::Encoding;

use super::bilingual;

/// The encoding a label names: a `.cpg` file's content (`UTF-8`, `GBK`, `936`, `GB18030`)
/// or a sidecar's `"encoding"`.
pub(crate) fn named(label: &str) -> Result<&'static Encoding, String> {
    let label = label.trim();
    let lower = label.to_ascii_lowercase();
    let known = match lower.as_str() {
        "936" | "cp936" | "ansi 936" | "ms936" | "windows-936" => Some(encoding_rs::GBK),
        "54936" | "cp54936" => Some(encoding_rs::GB18030),
        "65001" | "utf8" | "utf-8" => Some(encoding_rs::UTF_8),
        _ => Encoding::for_label(lower.as_bytes()),
    };
    match known {
        Some(e) if [encoding_rs::UTF_8, encoding_rs::GBK, encoding_rs::GB18030].contains(&e) => {
            Ok(e)
        }
        _ => Err(bilingual(
            &format!("encoding {label:?} is not one of UTF-8, GBK or GB18030"),
            &format!("编码 {label:?} 不受支持（可用 UTF-8、GBK 或 GB18030）"),
        )),
    }
}

/// `bytes` decoded strictly; the error says which encoding failed and how to name another.
pub(crate) fn decode<'b>(
    encoding: &'static Encoding,
    bytes: &'b [u8],
) -> Result<Cow<'b, str>, String> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(|| undecodable(encoding))
}

/// The reason text that does not decode is refused, with the remedy.
pub(crate) fn undecodable(encoding: &'static Encoding) -> String {
    let name = encoding.name();
    let other = if encoding == encoding_rs::UTF_8 {
        "GBK"
    } else {
        "UTF-8"
    };
    bilingual(
        &format!(
            "text that is not valid {name}; if the file is in {other}, say so with the sidecar's \"encoding\" (or a .cpg file)"
        ),
        &format!("文本不是有效的 {name} 编码；若文件为 {other}，请在附属文件中写明 \"encoding\"（或提供 .cpg 文件）"),
    )
}

/// Strips a UTF-8 byte-order mark (Excel writes one in front of CSV).
pub(crate) fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_labels_offices_write_name_the_encodings() {
        assert_eq!(named("GBK").unwrap(), encoding_rs::GBK);
        assert_eq!(named("936").unwrap(), encoding_rs::GBK);
        assert_eq!(named(" utf-8\n").unwrap(), encoding_rs::UTF_8);
        assert_eq!(named("GB18030").unwrap(), encoding_rs::GB18030);
        assert!(named("latin1").unwrap_err().contains("latin1"));
    }

    #[test]
    fn gbk_bytes_are_not_taken_for_utf8() {
        // "园区" in GBK (bytes from the GB 2312 table: 园 D4B0, 区 C7F8).
        let gbk = [0xD4, 0xB0, 0xC7, 0xF8];
        assert!(decode(encoding_rs::UTF_8, &gbk)
            .unwrap_err()
            .contains("GBK"));
        assert_eq!(decode(encoding_rs::GBK, &gbk).unwrap(), "园区");
    }
}
