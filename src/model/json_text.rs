//! JSON text written straight into a byte buffer, for the hot paths that write thousands of
//! values per response (items pages). Every function writes exactly what `serde_json` would
//! write for the same value, so pages stay byte-identical to the serde path; going through
//! serde's map and string machinery per cell was the largest share of an items request.

use serde_json::ser::{CompactFormatter, Formatter};

/// A JSON string literal. Text with nothing to escape (almost every name and code) is copied
/// as it is; anything else goes through `serde_json`'s escaper.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    // No early exit, so the compiler can test many bytes per instruction.
    let needs_escape = s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// An integer, as `serde_json` writes it.
pub fn write_i64(out: &mut Vec<u8>, n: i64) {
    let _ = CompactFormatter.write_i64(out, n);
}

/// A number; non-finite values are `null`, as `serde_json` writes them.
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let _ = CompactFormatter.write_f64(out, v);
    } else {
        out.extend_from_slice(b"null");
    }
}

/// A date (days since the common era) as the string `"YYYY-MM-DD"`.
pub fn write_date(out: &mut Vec<u8>, days: i32) {
    match super::value::date_parts(days) {
        Some((y, m, d)) if (0..=9999).contains(&y) => {
            let digits = |n: u32, width: usize, out: &mut Vec<u8>| {
                let mut buf = [b'0'; 4];
                let mut n = n;
                for slot in buf[..width].iter_mut().rev() {
                    *slot = b'0' + (n % 10) as u8;
                    n /= 10;
                }
                out.extend_from_slice(&buf[..width]);
            };
            out.push(b'"');
            digits(y as u32, 4, out);
            out.push(b'-');
            digits(m, 2, out);
            out.push(b'-');
            digits(d, 2, out);
            out.push(b'"');
        }
        _ => write_str(out, &super::value::format_date(days)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{format_date, parse_date};

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_match_serde_json_escaping() {
        for s in [
            "",
            "plain",
            "火箭大街 12号",
            "quote \" and \\ slash",
            "tab\tnew\nline",
            "\u{1}",
            "</script>",
        ] {
            assert_eq!(
                text(|o| write_str(o, s)),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn numbers_match_serde_json() {
        for v in [
            0.0,
            -0.0,
            1.5,
            1e-7,
            123456789.125,
            f64::MAX,
            f64::MIN_POSITIVE,
            27.1,
        ] {
            assert_eq!(
                text(|o| write_f64(o, v)),
                serde_json::to_string(&v).unwrap()
            );
        }
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(text(|o| write_f64(o, v)), "null");
        }
        for n in [0, -1, i64::MAX, i64::MIN, 10771] {
            assert_eq!(
                text(|o| write_i64(o, n)),
                serde_json::to_string(&n).unwrap()
            );
        }
    }

    #[test]
    fn dates_match_the_text_formatter() {
        for s in [
            "0001-01-01",
            "1999-12-31",
            "2024-02-29",
            "2027-06-30",
            "9999-12-31",
        ] {
            let d = parse_date(s).unwrap();
            assert_eq!(text(|o| write_date(o, d)), format!("\"{s}\""));
        }
        // Outside four-digit years the fast path steps aside for the general formatter.
        for d in [-1000, 4_000_000] {
            assert_eq!(
                text(|o| write_date(o, d)),
                serde_json::to_string(&format_date(d)).unwrap()
            );
        }
    }
}
