//! De-identification of a note given its PHI spans: masking, type tags, consistent surrogates
//! (keyed HMAC-SHA256, so the same input gets the same fake value under the same key) and date
//! shifting by a per-patient day offset. Every other occurrence of a detected PHI string is
//! replaced too, and a last pass masks any detected string that the replacements recreated
//! together with their neighbours, so the output never contains a detected string (of two
//! characters or more).

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, MatchKind};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::NlpError;
use crate::types::{PhiSpan, PhiType};

/// How PHI is replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// `＊` for every character.
    Mask,
    /// The type tag, e.g. `[NAME]`.
    Tag,
    /// A realistic fake value derived from `key` and the original string.
    Surrogate { key: Vec<u8> },
    /// Dates moved by `days` (intervals stay intact); other PHI gets surrogates under `key`.
    DateShift { days: i64, key: Vec<u8> },
}

/// Replaces the PHI in `text`. Ages under 90 (`phi == Some(false)`) are kept.
///
/// Guarantee: the result contains none of the detected strings of two characters or more
/// (single characters, such as a surname written alone, are replaced where detected but may
/// occur elsewhere in ordinary words).
pub fn deidentify(text: &str, spans: &[PhiSpan], strategy: &Strategy) -> Result<String, NlpError> {
    let chars: Vec<char> = text.chars().collect();
    let len = chars.len();
    if let Strategy::Surrogate { key } | Strategy::DateShift { key, .. } = strategy
        && key.is_empty()
    {
        return Err(NlpError::EmptyKey);
    }
    let mut targets: Vec<(usize, usize, PhiType)> = Vec::new();
    for s in spans.iter().filter(|s| s.must_remove()) {
        if s.start > s.end || s.end > len {
            return Err(NlpError::SpanOutOfText {
                start: s.start,
                end: s.end,
                len,
            });
        }
        targets.push((s.start, s.end, s.kind));
    }
    let detected = detected_strings(&chars, &targets);
    add_repeats(&chars, &detected, &mut targets);
    targets.sort_by_key(|&(s, e, _)| (s, std::cmp::Reverse(e)));
    let mut out = replace_targets(&chars, &targets, strategy);
    // A surrogate could by chance recreate a detected string; use tags then, which give away
    // nothing about the original.
    if matches!(
        strategy,
        Strategy::Surrogate { .. } | Strategy::DateShift { .. }
    ) && detected.iter().any(|(d, _)| out.contains(d.as_str()))
    {
        out = replace_targets(&chars, &targets, &Strategy::Tag);
    }
    mask_recreated(out, &detected)
}

/// Replaces the sorted `targets` (overlaps resolved in favour of the earlier, longer one).
fn replace_targets(
    chars: &[char],
    targets: &[(usize, usize, PhiType)],
    strategy: &Strategy,
) -> String {
    let mut out = String::with_capacity(chars.len() * 3);
    let mut at = 0;
    for &(s, e, kind) in targets {
        if s < at {
            continue;
        }
        out.extend(chars.get(at..s).unwrap_or(&[]).iter());
        let original: String = chars.get(s..e).unwrap_or(&[]).iter().collect();
        out.push_str(&replacement(kind, &original, strategy));
        at = e;
    }
    out.extend(chars.get(at..).unwrap_or(&[]).iter());
    out
}

/// The distinct detected strings of two characters or more, with the type first seen.
fn detected_strings(chars: &[char], targets: &[(usize, usize, PhiType)]) -> Vec<(String, PhiType)> {
    let mut pats: Vec<(String, PhiType)> = Vec::new();
    let mut seen = HashSet::new();
    for &(s, e, k) in targets {
        let p: String = chars.get(s..e).unwrap_or(&[]).iter().collect();
        if p.chars().count() >= 2 && seen.insert(p.clone()) {
            pats.push((p, k));
        }
    }
    pats
}

/// Characters tried, in order, to mask what the replacements recreated; the first one that no
/// detected string contains is used.
const MASK_FILLS: &[char] = &['＊', '■', '□', '×', '#'];

/// Masks, character for character, every occurrence (overlapping ones included) of a
/// detected string in `out`: text before a replacement plus the replacement can spell a
/// detected string again (`单位地址：` + `[ADDRESS]` recreates the detected `单位地址：[ADDRE`).
///
/// One pass is enough. The fill character `f` occurs in no detected string. Suppose the
/// masked text held a detected string `p` at characters `i..j`: none of them is `f`, so none
/// was masked, so the unmasked text held `p` at `i..j` as well, and that occurrence was
/// masked — a contradiction.
fn mask_recreated(out: String, detected: &[(String, PhiType)]) -> Result<String, NlpError> {
    if detected.is_empty() {
        return Ok(out);
    }
    let used: HashSet<char> = detected.iter().flat_map(|(d, _)| d.chars()).collect();
    // Text of any length holds fewer distinct characters than the code space, so some
    // character is free; the error only makes the impossible case fail closed.
    let fill = MASK_FILLS
        .iter()
        .copied()
        .chain('\u{E000}'..=char::MAX)
        .find(|c| !used.contains(c))
        .ok_or(NlpError::Automaton {
            what: "de-identification re-check",
            reason: "no character is free to mask with".to_string(),
        })?;
    let ac = AhoCorasick::new(detected.iter().map(|(d, _)| d.as_str())).map_err(|e| {
        NlpError::Automaton {
            what: "de-identification re-check",
            reason: e.to_string(),
        }
    })?;
    let mut ranges: Vec<(usize, usize)> = ac
        .find_overlapping_iter(&out)
        .map(|m| (m.start(), m.end()))
        .collect();
    if ranges.is_empty() {
        return Ok(out);
    }
    ranges.sort_unstable();
    // Merged into disjoint byte ranges, in order.
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut masked = String::with_capacity(out.len());
    let mut next = merged.iter().peekable();
    for (b, c) in out.char_indices() {
        while next.next_if(|&&(_, e)| e <= b).is_some() {}
        let covered = next.peek().is_some_and(|&&(s, _)| s <= b);
        masked.push(if covered { fill } else { c });
    }
    Ok(masked)
}

/// Adds every further occurrence of a detected string (two characters or more).
fn add_repeats(
    chars: &[char],
    pats: &[(String, PhiType)],
    targets: &mut Vec<(usize, usize, PhiType)>,
) {
    if pats.is_empty() {
        return;
    }
    let Ok(ac) = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(pats.iter().map(|p| p.0.as_str()))
    else {
        return;
    };
    let text: String = chars.iter().collect();
    let starts: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    let to_char = |b: usize| starts.binary_search(&b).unwrap_or_else(|i| i);
    let mut taken: Vec<(usize, usize)> = targets.iter().map(|&(s, e, _)| (s, e)).collect();
    taken.sort_unstable();
    let overlaps = |s: usize, e: usize| {
        let i = taken.partition_point(|&(ts, _)| ts < e);
        i.checked_sub(1)
            .and_then(|j| taken.get(j))
            .is_some_and(|&(_, te)| te > s)
    };
    let mut extra = Vec::new();
    for m in ac.find_iter(&text) {
        let (s, e) = (to_char(m.start()), to_char(m.end()));
        if let Some((_, k)) = pats.get(m.pattern().as_usize())
            && !overlaps(s, e)
        {
            extra.push((s, e, *k));
        }
    }
    targets.extend(extra);
}

fn replacement(kind: PhiType, original: &str, strategy: &Strategy) -> String {
    match strategy {
        Strategy::Mask => "＊".repeat(original.chars().count()),
        Strategy::Tag => kind.tag().to_string(),
        Strategy::Surrogate { key } => surrogate(kind, original, key, None),
        Strategy::DateShift { days, key } => surrogate(kind, original, key, Some(*days)),
    }
}

fn keyed_bytes(key: &[u8], kind: PhiType, original: &str) -> [u8; 32] {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(kind.tag().as_bytes());
    mac.update(&[0]);
    mac.update(original.as_bytes());
    mac.finalize().into_bytes().into()
}

const FAKE_SURNAMES: &[char] = &[
    '王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙',
];
const FAKE_GIVEN: &[char] = &[
    '明', '华', '伟', '芳', '丽', '强', '静', '敏', '军', '洋', '勇', '艳', '杰', '涛', '超', '霞',
];

fn surrogate(kind: PhiType, original: &str, key: &[u8], date_days: Option<i64>) -> String {
    let h = keyed_bytes(key, kind, original);
    let pick = |i: usize, n: usize| usize::from(h.get(i % 32).copied().unwrap_or(0)) % n.max(1);
    match kind {
        PhiType::Name => {
            let n = original.chars().count().clamp(2, 4);
            let mut s = String::new();
            s.push(
                FAKE_SURNAMES
                    .get(pick(0, FAKE_SURNAMES.len()))
                    .copied()
                    .unwrap_or('王'),
            );
            for i in 1..n {
                s.push(
                    FAKE_GIVEN
                        .get(pick(i, FAKE_GIVEN.len()))
                        .copied()
                        .unwrap_or('明'),
                );
            }
            s
        }
        PhiType::Date => {
            // One offset per key keeps intervals between a patient's dates intact.
            let days = date_days.unwrap_or_else(|| key_days(key));
            crate::deid::shift_date(original, days).unwrap_or_else(|| kind.tag().to_string())
        }
        PhiType::Age => "≥90岁".to_string(),
        PhiType::Email => format!("user{:02x}{:02x}{:02x}@example.org", h[0], h[1], h[2]),
        PhiType::Address => format!("某省某市某区某路{}号", 1 + pick(3, 200)),
        PhiType::Org => format!("某{}", org_suffix(original)),
        PhiType::IdCard => fake_id(&h),
        PhiType::Phone | PhiType::Mrn | PhiType::OtherId => {
            scramble(original, &h, kind == PhiType::Phone)
        }
    }
}

/// The per-key date offset used when dates are surrogated without an explicit shift.
fn key_days(key: &[u8]) -> i64 {
    let h = keyed_bytes(key, PhiType::Date, "date-offset");
    1 + i64::from(u16::from_le_bytes([h[0], h[1]]) % 365)
}

fn org_suffix(original: &str) -> &'static str {
    [
        "社区卫生服务中心",
        "卫生院",
        "养老院",
        "急救中心",
        "诊所",
        "医院",
    ]
    .into_iter()
    .find(|s| original.ends_with(s))
    .unwrap_or("机构")
}

/// Same shape, new characters: digits stay digits and letters letters (phones keep their
/// leading digit so they still look like phones).
fn scramble(original: &str, h: &[u8; 32], keep_first_digit: bool) -> String {
    let mut out = String::with_capacity(original.len());
    let mut first_digit = true;
    for (i, c) in original.chars().enumerate() {
        let b = h.get(i % 32).copied().unwrap_or(0).wrapping_add(i as u8);
        let r = if c.is_ascii_digit() {
            if keep_first_digit && first_digit {
                first_digit = false;
                c
            } else {
                char::from(b'0' + b % 10)
            }
        } else if c.is_ascii_uppercase() {
            char::from(b'A' + b % 26)
        } else if c.is_ascii_lowercase() {
            char::from(b'a' + b % 26)
        } else {
            c
        };
        out.push(r);
    }
    if out == original {
        out.push('0');
    }
    out
}

/// A fake resident ID with a valid GB 11643-1999 check digit.
fn fake_id(h: &[u8; 32]) -> String {
    let mut digits: Vec<u32> = vec![9, 9];
    digits.extend(h.iter().take(4).map(|b| u32::from(*b % 10)));
    let year = 1940 + u32::from(h[4] % 60);
    let month = 1 + u32::from(h[5] % 12);
    let day = 1 + u32::from(h[6] % 28);
    for d in format!("{year:04}{month:02}{day:02}").chars() {
        digits.push(d.to_digit(10).unwrap_or(0));
    }
    digits.extend(h.iter().skip(7).take(3).map(|b| u32::from(*b % 10)));
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2']
        .get((sum % 11) as usize)
        .copied()
        .unwrap_or('0');
    let mut s: String = digits
        .iter()
        .filter_map(|d| char::from_digit(*d, 10))
        .collect();
    s.push(check);
    s
}

/// Shifts a date string by `days`, keeping its format (`2024-02-11`, `2024年3月7日`,
/// `3月7日`, `2024.05`). Returns `None` when the string is not a date.
pub fn shift_date(s: &str, days: i64) -> Option<String> {
    let nums: Vec<(usize, usize)> = number_runs(s);
    let vals: Vec<i64> = nums
        .iter()
        .map(|&(a, b)| s.get(a..b).and_then(|x| x.parse().ok()))
        .collect::<Option<Vec<i64>>>()?;
    let first_is_year = nums.first().is_some_and(|&(a, b)| b - a == 4);
    let (y, m, d, parts) = match (vals.as_slice(), first_is_year) {
        ([y, m, d], true) => (*y, *m, *d, 3),
        ([y, m], true) => (*y, *m, 15, 2),
        ([m, d], false) => (2001, *m, *d, 2),
        _ => return None,
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (ny, nm, nd) = civil_from_days(days_from_civil(y, m, d) + days);
    let new_vals: Vec<i64> = match (parts, first_is_year) {
        (3, _) => vec![ny, nm, nd],
        (_, true) => vec![ny, nm],
        _ => vec![nm, nd],
    };
    let mut out = String::new();
    let mut at = 0;
    for ((a, b), v) in nums.iter().zip(new_vals) {
        out.push_str(s.get(at..*a)?);
        let width = b - a;
        let numeric = !s.contains('月');
        if width == 4 || (width == 2 && (numeric || s.get(*a..a + 1) == Some("0"))) {
            out.push_str(&format!("{v:0width$}"));
        } else {
            out.push_str(&v.to_string());
        }
        at = *b;
    }
    out.push_str(s.get(at..)?);
    Some(out)
}

fn number_runs(s: &str) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        match (c.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(a)) => {
                runs.push((a, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(a) = start {
        runs.push((a, s.len()));
    }
    runs
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str =
        "患者张伟，男，93岁，电话13912345678。张伟于2024-02-28入院，2024年3月1日出院。";

    fn spans() -> Vec<PhiSpan> {
        crate::test_engine().analyze(NOTE).phi
    }

    #[test]
    fn mask_and_tag_remove_every_detected_string() {
        for strategy in [Strategy::Mask, Strategy::Tag] {
            let out = deidentify(NOTE, &spans(), &strategy).unwrap();
            for s in spans() {
                assert!(!out.contains(&s.text), "{} in {out}", s.text);
            }
        }
        let masked = deidentify(NOTE, &spans(), &Strategy::Mask).unwrap();
        assert_eq!(masked.chars().count(), NOTE.chars().count());
        assert!(
            deidentify(NOTE, &spans(), &Strategy::Tag)
                .unwrap()
                .contains("[NAME]于")
        );
    }

    #[test]
    fn surrogates_are_consistent_per_key() {
        let key = Strategy::Surrogate {
            key: b"patient-key-1".to_vec(),
        };
        let a = deidentify(NOTE, &spans(), &key).unwrap();
        let b = deidentify(NOTE, &spans(), &key).unwrap();
        assert_eq!(a, b);
        assert!(!a.contains("张伟") && !a.contains("13912345678"), "{a}");
        let other = Strategy::Surrogate {
            key: b"patient-key-2".to_vec(),
        };
        assert_ne!(a, deidentify(NOTE, &spans(), &other).unwrap());
        assert!(matches!(
            deidentify(NOTE, &spans(), &Strategy::Surrogate { key: vec![] }),
            Err(NlpError::EmptyKey)
        ));
    }

    #[test]
    fn date_shift_keeps_intervals_and_format() {
        assert_eq!(shift_date("2024-02-28", 2).as_deref(), Some("2024-03-01"));
        assert_eq!(
            shift_date("2024年3月1日", -1).as_deref(),
            Some("2024年2月29日")
        );
        assert_eq!(shift_date("12月31日", 1).as_deref(), Some("1月1日"));
        let out = deidentify(
            NOTE,
            &spans(),
            &Strategy::DateShift {
                days: 10,
                key: b"k".to_vec(),
            },
        )
        .unwrap();
        assert!(
            out.contains("2024-03-09") && out.contains("2024年3月11日"),
            "{out}"
        );
    }

    /// Every strategy's output for `text` and the detected strings it must not contain.
    fn outputs_and_detected(text: &str) -> (Vec<String>, Vec<String>) {
        let phi = crate::test_engine().analyze(text).phi;
        let outs = [
            Strategy::Mask,
            Strategy::Tag,
            Strategy::Surrogate {
                key: b"fuzz-key".to_vec(),
            },
            Strategy::DateShift {
                days: -37,
                key: b"fuzz-key".to_vec(),
            },
        ]
        .iter()
        .map(|s| deidentify(text, &phi, s).unwrap())
        .collect();
        let detected = phi
            .into_iter()
            .filter(|p| p.must_remove() && p.text.chars().count() >= 2)
            .map(|p| p.text)
            .collect();
        (outs, detected)
    }

    /// fuzz/regressions/tag-recreates-address: the text before the detected address plus its
    /// tag spelled the detected string again.
    #[test]
    fn text_before_a_tag_cannot_recreate_the_detected_string() {
        let text = "05-30\n单位地址：单位地址：[ADDRE";
        let (outs, detected) = outputs_and_detected(text);
        assert!(
            detected.contains(&"单位地址：[ADDRE".to_string()),
            "{detected:?}"
        );
        for out in &outs {
            for d in &detected {
                assert!(!out.contains(d.as_str()), "{d} in {out}");
            }
        }
        // Only what spelled the string again is masked; the rest of the text stays.
        assert_eq!(outs[1], "05-30\n＊＊＊＊＊＊＊＊＊＊＊SS]");
    }

    #[test]
    fn masking_never_uses_a_character_of_a_detected_string() {
        // Detected strings made of the usual fill character force another one.
        let spans = vec![PhiSpan {
            start: 3,
            end: 7,
            text: "＊＊＊＊".into(),
            kind: PhiType::Address,
            phi: None,
        }];
        let text = "地址：＊＊＊＊，＊＊＊＊";
        for strategy in [Strategy::Mask, Strategy::Tag] {
            let out = deidentify(text, &spans, &strategy).unwrap();
            assert!(!out.contains("＊＊＊＊"), "{out}");
            assert!(out.starts_with("地址："), "{out}");
        }
        assert_eq!(
            deidentify(text, &spans, &Strategy::Mask).unwrap(),
            "地址：■■■■，■■■■"
        );
    }

    #[test]
    fn spans_outside_the_text_are_errors() {
        let bad = vec![PhiSpan {
            start: 3,
            end: 99,
            text: String::new(),
            kind: PhiType::Name,
            phi: None,
        }];
        assert!(matches!(
            deidentify("abc", &bad, &Strategy::Tag),
            Err(NlpError::SpanOutOfText { .. })
        ));
    }
}
