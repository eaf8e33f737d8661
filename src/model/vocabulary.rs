use serde::{Deserialize, Serialize};

/// A controlled list of terms (`NAME.vocab.json`), such as the six future industries, with the
/// labels and colours that the web app and the statistics use. One file serves both.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Vocabulary {
    #[serde(default)]
    pub id: String,
    pub title: Option<super::Localized>,
    pub terms: Vec<Term>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub id: String,
    pub zh: String,
    pub en: String,
    /// A CSS colour (`#rrggbb`) for maps and charts.
    pub color: Option<String>,
}

impl Vocabulary {
    pub fn parse(stem: &str, bytes: &[u8]) -> Result<Self, String> {
        let mut v: Vocabulary =
            serde_json::from_slice(bytes).map_err(|e| format!("invalid vocabulary: {e}"))?;
        if v.id.is_empty() {
            v.id = stem.to_owned();
        }
        let mut seen = std::collections::HashSet::new();
        for t in &v.terms {
            if !seen.insert(t.id.as_str()) {
                return Err(format!("duplicate term id {:?}", t.id));
            }
            if let Some(c) = &t.color {
                let hex = c.strip_prefix('#').unwrap_or("");
                if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("term {:?}: colour {c:?} is not #rrggbb", t.id));
                }
            }
        }
        Ok(v)
    }

    pub fn term(&self, id: &str) -> Option<&Term> {
        self.terms.iter().find(|t| t.id == id)
    }
}
