//! Character normalisation with a 1:1 character map, and code-point/byte offset conversion.
//!
//! Full-width ASCII forms (U+FF01–U+FF5E) become ASCII, the ideographic space becomes a space
//! and frequent traditional characters become simplified ones; every other character is kept.
//! Because each character maps to exactly one character, a code-point index in the normalised
//! text is the same index in the original.

use std::sync::OnceLock;

const TRAD_SIMP: &str = include_str!("../data/trad_simp.txt");

/// Traditional → simplified pairs, sorted by the traditional character, and a bitset over
/// U+4E00..=U+9FFF of the characters that have a pair (most Han characters do not, and the
/// bitset says so without a search).
struct TradSimp {
    pairs: Vec<(char, char)>,
    has_pair: Vec<u64>,
}

const HAN_FIRST: u32 = 0x4E00;
const HAN_LAST: u32 = 0x9FFF;

fn trad_simp() -> &'static TradSimp {
    static TABLE: OnceLock<TradSimp> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut pairs: Vec<(char, char)> = crate::lexicon::data_lines(TRAD_SIMP)
            .filter_map(|l| {
                let mut it = l.split_whitespace().filter_map(|w| w.chars().next());
                Some((it.next()?, it.next()?))
            })
            .filter(|(t, s)| t != s)
            .collect();
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        let mut has_pair = vec![0u64; ((HAN_LAST - HAN_FIRST) / 64 + 1) as usize];
        for &(t, _) in &pairs {
            if let Some(off) = (t as u32).checked_sub(HAN_FIRST)
                && let Some(word) = has_pair.get_mut((off / 64) as usize)
            {
                *word |= 1 << (off % 64);
            }
        }
        TradSimp { pairs, has_pair }
    })
}

/// Maps one character to its normalised form: full-width ASCII to ASCII, the ideographic
/// space to a space, frequent traditional characters to simplified ones.
pub fn normalize_char(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{4E00}'..='\u{9FFF}' => {
            let table = trad_simp();
            let off = c as u32 - HAN_FIRST;
            let listed = table
                .has_pair
                .get((off / 64) as usize)
                .is_some_and(|w| w & (1 << (off % 64)) != 0);
            if !listed {
                return c;
            }
            table
                .pairs
                .binary_search_by_key(&c, |p| p.0)
                .ok()
                .and_then(|i| table.pairs.get(i))
                .map_or(c, |p| p.1)
        }
        _ => c,
    }
}

/// The original text, its normalised form, its characters and the byte offset of every
/// character, all computed once so that every later lookup is O(1) or O(log n).
#[derive(Debug, Clone)]
pub struct NormText<'a> {
    original: &'a str,
    text: String,
    /// The normalised characters: `chars[i]` is char `i` of `text`.
    chars: Vec<char>,
    /// `starts[i]` is the byte offset of char `i` in `text`; the last entry is `text.len()`.
    starts: Vec<usize>,
    /// Same for the original text.
    orig_starts: Vec<usize>,
}

impl<'a> NormText<'a> {
    /// Normalises `original`.
    pub fn new(original: &'a str) -> Self {
        let n = original.len();
        // Exact sizes up front: normalising never lengthens the text.
        let count = original.chars().count();
        let mut text = String::with_capacity(n);
        let mut chars = Vec::with_capacity(count);
        let mut starts = Vec::with_capacity(count + 1);
        let mut orig_starts = Vec::with_capacity(count + 1);
        for (b, c) in original.char_indices() {
            let c = if c.is_ascii() { c } else { normalize_char(c) };
            orig_starts.push(b);
            starts.push(text.len());
            chars.push(c);
            text.push(c);
        }
        orig_starts.push(n);
        starts.push(text.len());
        Self {
            original,
            text,
            chars,
            starts,
            orig_starts,
        }
    }

    /// The normalised text.
    #[inline]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The normalised characters.
    #[inline]
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// Number of characters.
    #[inline]
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Char index of a byte offset in the normalised text (rounded down to a char start).
    #[inline]
    pub fn char_at_byte(&self, byte: usize) -> usize {
        match self.starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Byte offset of char index `ch` in the normalised text (clamped to the end).
    #[inline]
    pub fn byte_at_char(&self, ch: usize) -> usize {
        self.starts.get(ch).copied().unwrap_or(self.text.len())
    }

    /// Normalised text of chars `start..end`, clamped to the text.
    #[inline]
    pub fn slice(&self, start: usize, end: usize) -> &str {
        let (s, e) = (self.byte_at_char(start), self.byte_at_char(end));
        self.text.get(s..e).unwrap_or("")
    }

    /// Normalised text from char `start` to the end.
    #[inline]
    pub fn rest(&self, start: usize) -> &str {
        self.text.get(self.byte_at_char(start)..).unwrap_or("")
    }

    /// Whether the normalised text holds `word` starting at char `start`.
    #[inline]
    pub fn starts_with_at(&self, start: usize, word: &str) -> bool {
        // The first character decides most calls without a string comparison.
        self.chars.get(start).copied() == word.chars().next() && self.rest(start).starts_with(word)
    }

    /// Whether the normalised text holds `word` ending at char `end`.
    #[inline]
    pub fn ends_with_at(&self, end: usize, word: &str) -> bool {
        if end > self.len() {
            return false;
        }
        let head = self
            .text
            .as_bytes()
            .get(..self.byte_at_char(end))
            .unwrap_or(&[]);
        // UTF-8 last bytes differ far more often than first bytes.
        head.last() == word.as_bytes().last() && head.ends_with(word.as_bytes())
    }

    /// Original text of chars `start..end` (empty when out of range).
    pub fn original_slice(&self, start: usize, end: usize) -> String {
        let s = self.orig_starts.get(start).copied();
        let e = self.orig_starts.get(end).copied();
        match (s, e) {
            (Some(s), Some(e)) => self.original.get(s..e).unwrap_or("").to_string(),
            _ => String::new(),
        }
    }

    /// The normalised char at index `i`.
    #[inline]
    pub fn char_at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }
}

/// Whether `c` is a CJK unified ideograph.
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_characters_become_simplified() {
        let n = NormText::new("診斷：高血壓，腎功能");
        assert_eq!(n.text(), "诊断:高血压,肾功能");
        assert_eq!(n.original_slice(0, 2), "診斷");
    }

    #[test]
    fn full_width_digits_and_punctuation_become_ascii() {
        let n = NormText::new("血压１７２/９４ｍｍＨｇ，心率８０");
        assert_eq!(n.text(), "血压172/94mmHg,心率80");
        assert_eq!(n.len(), 17);
    }

    #[test]
    fn offsets_round_trip() {
        let n = NormText::new("a中ｂ");
        assert_eq!(n.byte_at_char(2), 4);
        assert_eq!(n.char_at_byte(4), 2);
        assert_eq!(n.slice(1, 3), "中b");
        assert_eq!(n.original_slice(1, 3), "中ｂ");
        assert_eq!(n.slice(2, 99), "b");
        assert_eq!(n.slice(5, 9), "");
    }
}
