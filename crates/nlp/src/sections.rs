//! Section headers (`主诉：`, `既往史:`, `一、现病史`, a header alone on its line).

use crate::error::NlpError;
use crate::lexicon::data_lines;
use crate::normalize::NormText;
use crate::types::Section;

const HEADERS: &str = include_str!("../data/section_headers.txt");

/// Known headers, grouped by first character (a line start is checked only against the
/// headers that begin with its character), longest first within a group so that `出院诊断`
/// wins over `出院`.
pub struct SectionRules {
    by_first: Vec<(char, Vec<String>)>,
}

impl SectionRules {
    /// Loads the compiled-in header list.
    pub fn load() -> Result<Self, NlpError> {
        let mut headers: Vec<String> = data_lines(HEADERS)
            .flat_map(str::split_whitespace)
            .map(str::to_string)
            .collect();
        headers.sort_by_key(|h| std::cmp::Reverse(h.chars().count()));
        headers.dedup();
        let mut by_first: Vec<(char, Vec<String>)> = Vec::new();
        for h in headers {
            let Some(first) = h.chars().next() else {
                continue;
            };
            match by_first.iter_mut().find(|(c, _)| *c == first) {
                Some((_, group)) => group.push(h),
                None => by_first.push((first, vec![h])),
            }
        }
        by_first.sort_by_key(|(c, _)| *c);
        Ok(Self { by_first })
    }

    /// Headed sections of a note, in order.
    pub fn find(&self, norm: &NormText<'_>) -> Vec<Section> {
        let len = norm.len();
        let mut heads: Vec<(usize, String)> = Vec::new();
        let mut at_line_start = true;
        for (i, &c) in norm.chars().iter().enumerate() {
            if at_line_start && !c.is_whitespace() {
                if let Some(h) = self.header_at(norm, i) {
                    heads.push((i, h));
                }
                at_line_start = false;
            }
            if c == '\n' || c == '。' {
                at_line_start = true;
            }
        }
        let mut out = Vec::with_capacity(heads.len());
        for (k, (start, title)) in heads.iter().enumerate() {
            let next = heads.get(k + 1).map_or(len, |h| h.0);
            let body = norm.slice(*start, next);
            let trimmed = body.trim_end().chars().count();
            out.push(Section {
                title: title.clone(),
                start: *start,
                end: start + trimmed,
            });
        }
        out
    }

    /// The header starting at `i` (after optional numbering), followed by a colon or by the end
    /// of the line.
    fn header_at(&self, norm: &NormText<'_>, i: usize) -> Option<String> {
        let rest = norm.slice(i, (i + 24).min(norm.len()));
        let body = strip_numbering(rest);
        let first = body.chars().next()?;
        let group = self
            .by_first
            .binary_search_by_key(&first, |(c, _)| *c)
            .ok()
            .and_then(|i| self.by_first.get(i))
            .map_or(&[][..], |(_, g)| g.as_slice());
        for h in group {
            if let Some(after) = body.strip_prefix(h.as_str()) {
                let next = after.chars().next();
                let colon = matches!(next, Some(':' | '：'));
                let alone = next.is_none_or(|c| c == '\n' || c == '\r');
                if colon || alone {
                    return Some(h.clone());
                }
            }
        }
        None
    }
}

/// Drops list numbering such as `1.`, `2、`, `一、`, `(3)` from the start of a line.
fn strip_numbering(s: &str) -> &str {
    let t =
        s.trim_start_matches(|c: char| c.is_ascii_digit() || "一二三四五六七八九十".contains(c));
    let t = t.trim_start_matches(['.', '、', ')', '）']);
    if t.len() == s.len() {
        let u = s.trim_start_matches(['(', '（']);
        if u.len() != s.len() {
            return strip_numbering(u);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_with_and_without_colons() {
        let rules = SectionRules::load().unwrap();
        let text = "主诉：咳嗽3天。\n既往史:高血压。\n体格检查\nT 37℃\n1.初步诊断：肺炎\n";
        let n = NormText::new(text);
        let s = rules.find(&n);
        let titles: Vec<&str> = s.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, vec!["主诉", "既往史", "体格检查", "初步诊断"]);
        assert_eq!(s[0].start, 0);
        assert_eq!(s[0].end, 8);
        assert_eq!(s[3].end, text.chars().count() - 1);
    }
}
