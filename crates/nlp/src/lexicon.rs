//! Term lexicons (compiled-in TSV files) and the longest-match automaton over them.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::error::NlpError;
use crate::types::EntityType;

/// Data files in precedence order: a term keeps the type of the first file that lists it.
const FILES: &[(&str, &str)] = &[
    ("curated.tsv", include_str!("../data/curated.tsv")),
    (
        "cmekg_diseases.tsv",
        include_str!("../data/cmekg_diseases.tsv"),
    ),
    (
        "cmekg_symptoms.tsv",
        include_str!("../data/cmekg_symptoms.tsv"),
    ),
    ("cmekg_tests.tsv", include_str!("../data/cmekg_tests.tsv")),
    (
        "cmekg_procedures.tsv",
        include_str!("../data/cmekg_procedures.tsv"),
    ),
    (
        "cmekg_departments.tsv",
        include_str!("../data/cmekg_departments.tsv"),
    ),
    ("cmekg_body.tsv", include_str!("../data/cmekg_body.tsv")),
    (
        "cmekg_microbes.tsv",
        include_str!("../data/cmekg_microbes.tsv"),
    ),
    ("cmekg_drugs.tsv", include_str!("../data/cmekg_drugs.tsv")),
];

/// Terms that the knowledge-graph extraction lists but that are not entities on their own in
/// notes (too generic, or common words).
const STOPLIST: &str = include_str!("../data/lexicon_stoplist.txt");

/// Phrases that are matched (so the shorter terms inside them are not) but reported as nothing.
const BLOCKERS: &str = include_str!("../data/lexicon_blockers.txt");

/// One lexicon term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexEntry {
    pub term: String,
    pub kind: EntityType,
    /// ICD-10 code for diseases (and organisms that imply one), when known.
    pub code: Option<String>,
    /// A phrase that hides the terms inside it and yields no entity.
    pub blocker: bool,
}

/// A lexicon match in char offsets of the normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexMatch {
    pub start: usize,
    pub end: usize,
    pub entry: usize,
}

/// All terms and one leftmost-longest automaton over them.
pub struct Lexicon {
    entries: Vec<LexEntry>,
    automaton: AhoCorasick,
    by_term: HashMap<String, usize>,
}

impl Lexicon {
    /// Loads the compiled-in data files.
    pub fn load() -> Result<Self, NlpError> {
        let stop: std::collections::HashSet<&str> = data_lines(STOPLIST)
            .flat_map(str::split_whitespace)
            .collect();
        let mut entries = Vec::new();
        let mut by_term = HashMap::new();
        for term in data_lines(BLOCKERS).flat_map(str::split_whitespace) {
            by_term.insert(term.to_string(), entries.len());
            entries.push(LexEntry {
                term: term.to_string(),
                kind: EntityType::Sym,
                code: None,
                blocker: true,
            });
        }
        for (name, body) in FILES {
            let curated = *name == "curated.tsv";
            for (line_no, line) in body.lines().enumerate() {
                let Some(entry) = parse_line(line, name, line_no)? else {
                    continue;
                };
                let short = entry.term.chars().count() < 2;
                let short_ascii = entry.term.is_ascii() && entry.term.len() <= 3;
                if (!curated && (short || short_ascii))
                    || stop.contains(entry.term.as_str())
                    || by_term.contains_key(&entry.term)
                {
                    continue;
                }
                by_term.insert(entry.term.clone(), entries.len());
                entries.push(entry);
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(entries.iter().map(|e| e.term.as_str()))
            .map_err(|e| NlpError::Automaton {
                what: "lexicon",
                reason: e.to_string(),
            })?;
        Ok(Self {
            entries,
            automaton,
            by_term,
        })
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the lexicon is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries.
    pub fn entries(&self) -> &[LexEntry] {
        &self.entries
    }

    /// The entry at `i`.
    pub fn entry(&self, i: usize) -> Option<&LexEntry> {
        self.entries.get(i)
    }

    /// Exact lookup of a term.
    pub fn lookup(&self, term: &str) -> Option<&LexEntry> {
        self.by_term
            .get(term)
            .and_then(|&i| self.entries.get(i))
            .filter(|e| !e.blocker)
    }

    /// Leftmost-longest matches in `norm`, in char offsets; ASCII terms must stand alone
    /// (no ASCII letter or digit glued before, no letter after), and single-letter terms must
    /// be followed by a number (`T 38.5℃`, not the T of `T波`).
    pub fn find(&self, norm: &crate::normalize::NormText<'_>) -> Vec<LexMatch> {
        let text = norm.text();
        let mut out = Vec::new();
        for m in self.automaton.find_iter(text) {
            let Some(entry) = self.entries.get(m.pattern().as_usize()) else {
                continue;
            };
            if entry.blocker {
                continue;
            }
            let accepted = if ascii_boundaries_ok(text, m.start(), m.end(), &entry.term) {
                Some((m.end(), m.pattern().as_usize()))
            } else {
                self.shorter_standalone(text, m.start(), &entry.term)
            };
            if let Some((end, idx)) = accepted {
                out.push(LexMatch {
                    start: norm.char_at_byte(m.start()),
                    end: norm.char_at_byte(end),
                    entry: idx,
                });
            }
        }
        out
    }
}

impl Lexicon {
    /// When the longest term at `s` is glued to its neighbours (`T3` in `T37.8℃`), the longest
    /// shorter term at `s` that stands alone (`T`), as (end byte, entry index).
    fn shorter_standalone(&self, text: &str, s: usize, term: &str) -> Option<(usize, usize)> {
        term.char_indices()
            .rev()
            .filter(|&(cut, _)| cut > 0)
            .find_map(|(cut, _)| {
                let prefix = term.get(..cut)?;
                let idx = *self.by_term.get(prefix)?;
                let e = self.entries.get(idx)?;
                (!e.blocker && ascii_boundaries_ok(text, s, s + cut, prefix))
                    .then_some((s + cut, idx))
            })
    }
}

/// Whether a match of `term` at bytes `s..e` of `text` is a standalone token.
pub fn ascii_boundaries_ok(text: &str, s: usize, e: usize, term: &str) -> bool {
    let before = text.get(..s).and_then(|t| t.chars().next_back());
    let after_text = text.get(e..).unwrap_or("");
    let after = after_text.chars().next();
    let first = term.chars().next();
    let last = term.chars().next_back();
    if first.is_some_and(|c| c.is_ascii_alphanumeric())
        && before.is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return false;
    }
    if last.is_some_and(|c| c.is_ascii_alphabetic())
        && after.is_some_and(|c| c.is_ascii_alphabetic())
    {
        return false;
    }
    if last.is_some_and(|c| c.is_ascii_digit()) && after.is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return false;
    }
    if last.is_some_and(|c| c.is_ascii_alphanumeric()) && looks_like_identifier(after_text) {
        return false;
    }
    if term.chars().count() == 1 && first.is_some_and(|c| c.is_ascii_alphabetic()) {
        let rest = after_text.trim_start_matches([' ', ':', '\t']);
        return rest.chars().next().is_some_and(|c| c.is_ascii_digit());
    }
    true
}

/// Whether the text after an ASCII term continues it into a record number (`ICU-11`,
/// `R0627-0451`).
fn looks_like_identifier(after: &str) -> bool {
    let rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    let digits = after.len() - rest.len();
    if digits >= 5 || (digits > 0 && rest.starts_with(|c: char| c.is_ascii_alphabetic())) {
        return true;
    }
    let mut chars = rest.chars();
    matches!((chars.next(), chars.next()), (Some('-' | '_'), Some(c)) if c.is_ascii_alphanumeric())
}

/// Non-empty, non-comment lines of a data file.
pub fn data_lines(body: &str) -> impl Iterator<Item = &str> {
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn parse_line(
    line: &str,
    file: &'static str,
    line_no: usize,
) -> Result<Option<LexEntry>, NlpError> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let mut cols = line.split('\t');
    let term = cols.next().unwrap_or("").trim();
    let kind = cols.next().and_then(|k| EntityType::parse(k.trim()));
    let code = cols.next().map(str::trim).filter(|c| !c.is_empty());
    match kind {
        Some(kind) if !term.is_empty() => Ok(Some(LexEntry {
            term: term.to_string(),
            kind,
            code: code.map(str::to_string),
            blocker: false,
        })),
        _ => Err(NlpError::BadDataLine {
            file,
            line: line_no + 1,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::NormText;

    #[test]
    fn lexicon_is_of_real_size_and_typed() {
        let lex = crate::test_engine().lexicon();
        assert!(lex.len() > 20_000, "{}", lex.len());
        assert_eq!(lex.lookup("高血压").unwrap().kind, EntityType::Dis);
        assert_eq!(lex.lookup("高血压").unwrap().code.as_deref(), Some("I10"));
        assert_eq!(lex.lookup("发热").unwrap().kind, EntityType::Sym);
        assert_eq!(lex.lookup("美罗培南").unwrap().kind, EntityType::Dru);
    }

    #[test]
    fn ascii_terms_need_boundaries() {
        let lex = crate::test_engine().lexicon();
        let n = NormText::new("PCT 2.1ng/mL，T波低平，T 38.5℃，T37.2℃");
        let got: Vec<&str> = lex
            .find(&n)
            .iter()
            .map(|m| lex.entry(m.entry).unwrap().term.as_str())
            .collect();
        assert!(got.contains(&"PCT"));
        assert_eq!(got.iter().filter(|t| **t == "T").count(), 2, "{got:?}");
    }
}
