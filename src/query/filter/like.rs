//! `LIKE` patterns and the case- and accent-insensitive folds of CQL2.

use std::borrow::Cow;

/// Which folds `CASEI` / `ACCENTI` asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fold {
    pub case: bool,
    pub accent: bool,
}

impl Fold {
    pub fn union(self, other: Fold) -> Fold {
        Fold {
            case: self.case || other.case,
            accent: self.accent || other.accent,
        }
    }

    pub fn apply<'a>(self, s: Cow<'a, str>) -> Cow<'a, str> {
        let s = if self.accent {
            Cow::Owned(strip_accents(&s))
        } else {
            s
        };
        if self.case {
            Cow::Owned(s.to_lowercase())
        } else {
            s
        }
    }
}

/// Removes diacritics: combining marks (via `unaccent`), then the letters that carry their mark
/// in the base character (ø, ł, đ...) or are ligatures (æ, œ, ß), as PostgreSQL's `unaccent`
/// rules do, so that `ACCENTI('København') = ACCENTI('Kobenhavn')`.
fn strip_accents(s: &str) -> String {
    let base = unaccent::unaccent(s);
    let mut out = String::with_capacity(base.len());
    for c in base.chars() {
        match c {
            'ø' => out.push('o'),
            'Ø' => out.push('O'),
            'ł' => out.push('l'),
            'Ł' => out.push('L'),
            'đ' | 'ð' => out.push('d'),
            'Đ' | 'Ð' => out.push('D'),
            'ħ' => out.push('h'),
            'Ħ' => out.push('H'),
            'ı' => out.push('i'),
            'æ' => out.push_str("ae"),
            'Æ' => out.push_str("AE"),
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            'ß' => out.push_str("ss"),
            'þ' => out.push_str("th"),
            'Þ' => out.push_str("TH"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    /// `_`: exactly one character.
    One,
    /// `%`: any run of characters.
    Any,
}

/// A compiled `LIKE` pattern: `%` any run, `_` one character, `\` escapes the next character.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern(Vec<Token>);

impl Pattern {
    /// What the compiled pattern holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        16 + self.0.capacity() * std::mem::size_of::<Token>()
    }

    pub fn new(pattern: &str) -> Self {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '%' => Token::Any,
                '_' => Token::One,
                '\\' => Token::Char(chars.next().unwrap_or('\\')),
                c => Token::Char(c),
            });
        }
        Pattern(tokens)
    }

    /// Iterative wildcard matching with one backtrack point per `%`: linear-ish, never
    /// exponential, whatever the pattern.
    pub fn matches(&self, s: &str) -> bool {
        let text: Vec<char> = s.chars().collect();
        let p = &self.0;
        let (mut ti, mut pi) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while ti < text.len() {
            match p.get(pi) {
                Some(Token::Any) => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                Some(Token::One) => {
                    ti += 1;
                    pi += 1;
                }
                Some(Token::Char(c)) if *c == text[ti] => {
                    ti += 1;
                    pi += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|t| *t == Token::Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_escapes() {
        let p = Pattern::new("B_r%");
        assert!(p.matches("Berlin") && p.matches("Bir") && !p.matches("Br") && !p.matches("Abr"));
        assert!(Pattern::new("%载体%").matches("未来健康产业载体 07"));
        assert!(Pattern::new("100\\%").matches("100%") && !Pattern::new("100\\%").matches("1000"));
        assert!(Pattern::new("%a%b%c").matches("xxaxxbxxc"));
        assert!(!Pattern::new("%a%b%c").matches("xxaxxcxxb"));
        assert!(Pattern::new("").matches("") && !Pattern::new("").matches("x"));
    }

    #[test]
    fn folds() {
        let both = Fold {
            case: true,
            accent: true,
        };
        assert_eq!(both.apply("København".into()), "kobenhavn");
        assert_eq!(
            Fold {
                case: true,
                accent: false
            }
            .apply("ÉTOWN".into()),
            "étown"
        );
    }
}
