use std::fmt;

/// The id of a layer (an OGC API collection), taken from the file stem.
///
/// Restricted to ASCII letters, digits, `-`, `_` and `.` so that it is safe in a URL path segment
/// and in a file name without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayerId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "layer id {0:?} must be 1-64 ASCII letters, digits, '-', '_' or '.', not starting with '.'"
)]
pub struct LayerIdError(pub String);

impl LayerId {
    pub fn new(raw: &str) -> Result<Self, LayerIdError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && !raw.starts_with('.')
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(LayerIdError(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_file_stems_and_rejects_path_tricks() {
        assert!(LayerId::new("spatial-carriers").is_ok());
        assert!(LayerId::new("ne_110m_admin_0_countries").is_ok());
        for bad in ["", "..", ".hidden", "a/b", "a b", "载体", &"x".repeat(65)] {
            assert!(LayerId::new(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
