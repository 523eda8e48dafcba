//! Measurements: a test or vital-sign name, connecting words, a number (or systolic/diastolic
//! pair) and the unit as written.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::error::NlpError;
use crate::lexicon::{ascii_boundaries_ok, data_lines};
use crate::normalize::NormText;
use crate::types::Measurement;

const NAMES: &str = include_str!("../data/measurement_names.tsv");
const UNITS: &str = include_str!("../data/units.txt");

/// Words allowed between a name and its value (`体温最高39.5℃`, `血钾降至2.9mmol/L`).
const CONNECTORS: &[&str] = &[
    "波动于",
    "波动在",
    "维持在",
    "维持于",
    "控制在",
    "控制于",
    "可达",
    "高至",
    "低至",
    "一度",
    "下降至",
    "上升至",
    "最高达",
    "最低",
    "最高",
    "升至",
    "降至",
    "增至",
    "减至",
    "高达",
    "仍为",
    "约为",
    "复查",
    "测得",
    "结果",
    "监测",
    "为",
    "约",
    "达",
    "示",
    "仍",
    "已",
    "测",
    "是",
    "在",
    ":",
    "：",
    "=",
    " ",
    "\t",
];

/// How many connectors may stand between a name and its value.
const MAX_HOPS: usize = 4;

/// Byte length of the longest connector.
fn max_connector_len() -> usize {
    static LEN: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LEN.get_or_init(|| CONNECTORS.iter().map(|c| c.len()).max().unwrap_or(0))
}

/// Names whose values carry no unit.
const DIMENSIONLESS: &[&str] = &["ph", "inr"];

/// Names whose value is a pair.
const PAIRED: &[&str] = &["blood_pressure"];

/// Measurements whose value may carry a sign (`BE -2mmol/L`).
const SIGNED: &[&str] = &["base_excess"];

/// Name and unit automata.
pub struct MeasurementRules {
    names: AhoCorasick,
    aliases: Vec<(String, String)>,
    /// Units as written (normalised text) and their UCUM codes, longest first.
    units: Vec<(String, String)>,
}

impl MeasurementRules {
    /// Loads the compiled-in name and unit tables.
    pub fn load() -> Result<Self, NlpError> {
        let mut seen: HashMap<String, ()> = HashMap::new();
        let mut aliases = Vec::new();
        for (n, line) in data_lines(NAMES).enumerate() {
            let mut cols = line.split('\t');
            let (Some(alias), Some(name)) = (cols.next(), cols.next()) else {
                return Err(NlpError::BadDataLine {
                    file: "measurement_names.tsv",
                    line: n + 1,
                });
            };
            if seen.insert(alias.to_string(), ()).is_none() {
                aliases.push((alias.to_string(), name.trim().to_string()));
            }
        }
        let names = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            // A few hundred short names: a DFA is small and scans the whole note fastest.
            .kind(Some(AhoCorasickKind::DFA))
            .build(aliases.iter().map(|a| a.0.as_str()))
            .map_err(|e| NlpError::Automaton {
                what: "measurement names",
                reason: e.to_string(),
            })?;
        let mut units = Vec::new();
        for (n, line) in data_lines(UNITS).enumerate() {
            let Some((unit, ucum)) = line.split_once('\t') else {
                return Err(NlpError::BadDataLine {
                    file: "units.txt",
                    line: n + 1,
                });
            };
            units.push((unit.to_string(), ucum.trim().to_string()));
        }
        units.sort_by_key(|(u, _)| std::cmp::Reverse(u.len()));
        Ok(Self {
            names,
            aliases,
            units,
        })
    }

    /// All measurements in a note.
    pub fn find(&self, norm: &NormText<'_>) -> Vec<Measurement> {
        let text = norm.text();
        let mut out: Vec<Measurement> = Vec::new();
        for m in self.names.find_iter(text) {
            let Some((alias, name)) = self.aliases.get(m.pattern().as_usize()) else {
                continue;
            };
            if !name_boundary_ok(text, m.start(), m.end(), alias) {
                continue;
            }
            if let Some(found) = self.read_value(norm, m.start(), m.end(), name)
                && out.last().is_none_or(|l| l.end <= found.start)
            {
                out.push(found);
            }
        }
        out
    }

    fn read_value(
        &self,
        norm: &NormText<'_>,
        s: usize,
        e: usize,
        name: &str,
    ) -> Option<Measurement> {
        let text = norm.text();
        // The value starts with an ASCII digit after at most `MAX_HOPS` connectors; most name
        // matches have none within that reach and need no further look.
        let reach = MAX_HOPS * max_connector_len() + 1;
        if !text
            .as_bytes()
            .iter()
            .skip(e)
            .take(reach)
            .any(u8::is_ascii_digit)
        {
            return None;
        }
        let mut at = e;
        let mut hops = 0;
        while hops < MAX_HOPS {
            let rest = text.get(at..)?;
            match CONNECTORS.iter().find(|c| starts_with_word(rest, c)) {
                Some(c) => at += c.len(),
                None => break,
            }
            hops += 1;
        }
        let rest = text.get(at..)?;
        let sign = rest
            .chars()
            .next()
            .filter(|c| SIGNED.contains(&name) && matches!(c, '-' | '−' | '+'));
        let digits_at = at + sign.map_or(0, char::len_utf8);
        let (number, vlen) = read_number(text.get(digits_at..)?, PAIRED.contains(&name))?;
        let value = match sign {
            Some('-' | '−') => format!("-{number}"),
            _ => number,
        };
        let after_value = digits_at + vlen;
        let tail = text.get(after_value..)?;
        if is_range_or_list(tail) {
            return None;
        }
        let ws = tail.len() - tail.trim_start_matches(' ').len();
        let unit = self
            .units
            .iter()
            .find(|(u, _)| tail.get(ws..).is_some_and(|t| starts_with_word(t, u)));
        let (end_byte, ucum) = match unit {
            Some((u, ucum)) if unit_ends_cleanly(tail.get(ws + u.len()..).unwrap_or(""), u) => {
                (after_value + ws + u.len(), Some(ucum.clone()))
            }
            _ if DIMENSIONLESS.contains(&name) => (after_value, None),
            _ => return None,
        };
        let start = norm.char_at_byte(s);
        let end = norm.char_at_byte(end_byte);
        let unit_start = norm.char_at_byte(after_value + ws);
        let unit_text = if end_byte > after_value {
            norm.original_slice(unit_start, end)
        } else {
            String::new()
        };
        Some(Measurement {
            start,
            end,
            text: norm.original_slice(start, end),
            name: name_for_unit(name, &unit_text).to_string(),
            value,
            unit: unit_text,
            loinc: None,
            ucum: ucum.filter(|c| !c.is_empty()),
        })
    }
}

impl MeasurementRules {
    /// The measurement name an alias stands for (`肌酐`, `Scr` → `creatinine`).
    pub fn name_of(&self, alias: &str) -> Option<&str> {
        self.aliases
            .iter()
            .find(|(a, _)| a == alias)
            .map(|(_, name)| name.as_str())
    }

    /// The aliases of a measurement name (the code tables' tests check their names).
    #[cfg(test)]
    pub(crate) fn aliases_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.aliases
            .iter()
            .filter(move |(_, n)| n == name)
            .map(|(alias, _)| alias.as_str())
    }
}

/// `s.starts_with(word)`, deciding most calls on the first byte without a string comparison.
fn starts_with_word(s: &str, word: &str) -> bool {
    s.as_bytes().first() == word.as_bytes().first() && s.starts_with(word)
}

/// `P` is the pulse, unless its unit is a concentration (then it is serum phosphate).
fn name_for_unit<'n>(name: &'n str, unit: &str) -> &'n str {
    if name == "pulse" && unit.to_ascii_lowercase().contains("mol/l") {
        "phosphate"
    } else {
        name
    }
}

/// A name must stand alone like a lexicon term (so the `T` of `cT2` is no temperature).
fn name_boundary_ok(text: &str, s: usize, e: usize, alias: &str) -> bool {
    let before = text.get(..s).and_then(|t| t.chars().next_back());
    let first = alias.chars().next();
    if first.is_some_and(|c| c.is_ascii_alphanumeric())
        && before.is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return false;
    }
    let after = text.get(e..).and_then(|t| t.chars().next());
    let last = alias.chars().next_back();
    !(last.is_some_and(|c| c.is_ascii_alphabetic())
        && after.is_some_and(|c| c.is_ascii_alphabetic()))
        && (alias.chars().count() > 1 || ascii_boundaries_ok(text, s, e, alias))
}

/// Reads `12`, `12.5` or, when `pair`, `120/80`; returns the value and its byte length.
fn read_number(s: &str, pair: bool) -> Option<(String, usize)> {
    let first = number_len(s)?;
    let mut len = first;
    if pair {
        let rest = s.get(first..)?;
        let second = rest.strip_prefix('/').and_then(number_len)?;
        len += 1 + second;
    }
    s.get(..len).map(|v| (v.to_string(), len))
}

fn number_len(s: &str) -> Option<usize> {
    let int = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if int == 0 {
        return None;
    }
    let rest = s.get(int..)?;
    let frac = rest
        .strip_prefix('.')
        .map(|r| r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len())
        .filter(|&n| n > 0)
        .map_or(0, |n| n + 1);
    Some(int + frac)
}

/// `3-5`, `3~5`, `2.0/3.0` are ranges or ratios, not one measured value.
fn is_range_or_list(tail: &str) -> bool {
    let mut chars = tail.chars();
    matches!(
        (chars.next(), chars.next()),
        (Some('-' | '~' | '～' | '至'), Some(c)) if c.is_ascii_digit()
    )
}

/// A unit must not run on into letters (`m` of `min`, `g` of `g/d` dose written as unit).
fn unit_ends_cleanly(after: &str, unit: &str) -> bool {
    let next = after.chars().next();
    let ends_ascii = unit
        .chars()
        .next_back()
        .is_some_and(|c| c.is_ascii_alphabetic());
    !(ends_ascii && next.is_some_and(|c| c.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Vec<Measurement> {
        MeasurementRules::load().unwrap().find(&NormText::new(text))
    }

    #[test]
    fn vitals_with_connectors_and_pairs() {
        let m = find("体温最高39.5℃，BP 88/50mmHg，HR 126次/分");
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(
            (m[0].name.as_str(), m[0].value.as_str(), m[0].unit.as_str()),
            ("temperature", "39.5", "℃")
        );
        assert_eq!(m[0].text, "体温最高39.5℃");
        assert_eq!((m[1].value.as_str(), m[1].unit.as_str()), ("88/50", "mmHg"));
        assert_eq!(m[2].name, "heart_rate");
    }

    #[test]
    fn full_width_digits_are_converted_and_unit_kept_as_written() {
        let m = find("血压１７２/９４ｍｍＨｇ");
        assert_eq!(m[0].value, "172/94");
        assert_eq!(m[0].unit, "ｍｍＨｇ");
        assert_eq!(m[0].end, 12);
    }

    #[test]
    fn connectors_and_unit_decide_the_reading() {
        let m = find("血压控制在130/80mmHg左右，P 1.2mmol/L，P 88次/分");
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(m[0].value, "130/80");
        assert_eq!(m[1].name, "phosphate");
        assert_eq!(m[2].name, "pulse");
    }

    #[test]
    fn signed_base_excess_and_lower_case_litres() {
        let m = find("BE -2.5mmol/L，血糖7.8mmol/l，Cr 88umol/l");
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(
            (m[0].name.as_str(), m[0].value.as_str()),
            ("base_excess", "-2.5")
        );
        assert_eq!(m[0].text, "BE -2.5mmol/L");
        assert_eq!((m[1].value.as_str(), m[1].unit.as_str()), ("7.8", "mmol/l"));
        assert_eq!(m[2].name, "creatinine");
        // A dash elsewhere is still not a sign.
        assert!(find("血钾 -3.5mmol/L").is_empty());
    }

    #[test]
    fn ranges_and_unitless_values_are_not_measurements() {
        assert!(find("血糖控制在7-10mmol/L").is_empty());
        assert!(find("体重下降5").is_empty());
        let m = find("pH 7.21，INR 2.3");
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].unit, "");
    }
}
