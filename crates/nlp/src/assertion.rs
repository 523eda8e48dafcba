//! ConText-style assertion detection for diseases and symptoms: negated, uncertain,
//! historical and family, from a trigger table (data file) and the enclosing section.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored, Input, MatchKind, StartKind};

use crate::error::NlpError;
use crate::lexicon::data_lines;
use crate::normalize::NormText;
use crate::types::{Entity, Section};

const TRIGGERS: &str = include_str!("../data/assertion_triggers.tsv");

/// Characters that end a clause, and so the scope of every trigger.
const CLAUSE_ENDS: &[char] = &['。', ';', '；', ',', '!', '！', '\n', ':', '\r'];

/// Characters allowed between an entity and a post trigger that covers a list
/// (`高血压、糖尿病病史`).
const LIST_GLUE: &[char] = &['、', '和', '及', '或', '与', '/', ' '];

/// Sections whose findings are past history by default.
const HISTORY_SECTIONS: &[&str] = &[
    "既往史",
    "既往",
    "过去史",
    "手术史",
    "过敏史",
    "输血史",
    "传染病史",
    "病史",
];

/// Sections about relatives.
const FAMILY_SECTIONS: &[&str] = &["家族史"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Category {
    Negated,
    Uncertain,
    Historical,
    Family,
    Pseudo,
    Terminator,
    TerminatorAll,
}

impl Category {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "negated" => Self::Negated,
            "uncertain" => Self::Uncertain,
            "historical" => Self::Historical,
            "family" => Self::Family,
            "pseudo" => Self::Pseudo,
            "terminator" => Self::Terminator,
            "terminator_all" => Self::TerminatorAll,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default)]
struct TriggerSet {
    pre: Vec<Category>,
    post: Vec<Category>,
}

/// The trigger automaton and its table.
pub struct AssertionRules {
    automaton: AhoCorasick,
    triggers: Vec<TriggerSet>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Flags {
    negated: bool,
    uncertain: bool,
    historical: bool,
    family: bool,
}

impl AssertionRules {
    /// Loads the compiled-in trigger table.
    pub fn load() -> Result<Self, NlpError> {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut terms: Vec<String> = Vec::new();
        let mut triggers: Vec<TriggerSet> = Vec::new();
        for (n, line) in data_lines(TRIGGERS).enumerate() {
            let cols: Vec<&str> = line.split('\t').collect();
            let bad = || NlpError::BadDataLine {
                file: "assertion_triggers.tsv",
                line: n + 1,
            };
            let (Some(term), Some(cat), Some(dir)) = (cols.first(), cols.get(1), cols.get(2))
            else {
                return Err(bad());
            };
            let cat = Category::parse(cat.trim()).ok_or_else(bad)?;
            let i = *index.entry((*term).to_string()).or_insert_with(|| {
                terms.push((*term).to_string());
                triggers.push(TriggerSet::default());
                triggers.len() - 1
            });
            let set = triggers.get_mut(i).ok_or_else(bad)?;
            match dir.trim() {
                "pre" => set.pre.push(cat),
                "post" => set.post.push(cat),
                _ => return Err(bad()),
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            // Anchored searches ask "does a trigger start exactly here?" without scanning on.
            .start_kind(StartKind::Both)
            // A few hundred short triggers: a DFA is small and fastest.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&terms)
            .map_err(|e| NlpError::Automaton {
                what: "assertion triggers",
                reason: e.to_string(),
            })?;
        Ok(Self {
            automaton,
            triggers,
        })
    }

    /// Sets the four flags on every disease and symptom in `entities`.
    pub fn apply(&self, norm: &NormText<'_>, sections: &[Section], entities: &mut [Entity]) {
        let occupied: Vec<(usize, usize, bool)> = entities
            .iter()
            .map(|e| (e.start, e.end, e.kind.takes_assertions()))
            .collect();
        let clauses = Clauses::new(norm);
        for e in entities.iter_mut() {
            if !e.kind.takes_assertions() {
                continue;
            }
            let mut f = self.pre_flags(norm, &clauses, e.start, &occupied);
            let post = self.post_flags(norm, &clauses, e.end, &occupied);
            f.negated |= post.negated;
            f.uncertain |= post.uncertain;
            f.historical |= post.historical;
            f.family |= post.family;
            if let Some(title) = section_title(sections, e.start) {
                if HISTORY_SECTIONS.contains(&title) {
                    f.historical = true;
                }
                if FAMILY_SECTIONS.contains(&title) {
                    f.family = true;
                }
            }
            if f.family {
                f.historical = false;
            }
            e.negated = f.negated;
            e.uncertain = f.uncertain;
            e.historical = f.historical;
            e.family = f.family;
        }
    }

    fn pre_flags(
        &self,
        norm: &NormText<'_>,
        clauses: &Clauses,
        start: usize,
        occupied: &[(usize, usize, bool)],
    ) -> Flags {
        let clause_start = clauses.start(start);
        let window = norm.slice(clause_start, start);
        let base = norm.byte_at_char(clause_start);
        let mut last = LastSeen::default();
        for m in self.automaton.find_iter(window) {
            let at = norm.char_at_byte(base + m.start());
            if covering(occupied, at).is_some() {
                continue;
            }
            let Some(set) = self.triggers.get(m.pattern().as_usize()) else {
                continue;
            };
            for &c in &set.pre {
                last.insert(c, at);
            }
        }
        let cut_all = last.get(Category::TerminatorAll);
        let cut = last.get(Category::Terminator).max(cut_all);
        let live = |c: Category, limit: Option<usize>| {
            last.get(c).is_some_and(|at| limit.is_none_or(|l| at > l))
        };
        Flags {
            negated: live(Category::Negated, cut),
            uncertain: live(Category::Uncertain, cut),
            historical: live(Category::Historical, cut_all),
            family: live(Category::Family, cut_all),
        }
    }

    /// The longest trigger that starts exactly at the start of `window`.
    fn trigger_at_start(&self, window: &str) -> Option<aho_corasick::Match> {
        self.automaton
            .try_find(Input::new(window).anchored(Anchored::Yes))
            .ok()
            .flatten()
    }

    /// Whether a trigger within the clause starts exactly at char `i`.
    fn trigger_starts_at(&self, norm: &NormText<'_>, clauses: &Clauses, i: usize) -> bool {
        self.trigger_at_start(norm.slice(i, clauses.end(i)))
            .is_some()
    }

    /// Where a post trigger for the mention ending at `end` would start: after any further
    /// listed mentions (`高血压、糖尿病病史`) and bracketed asides, or inside a bracket that
    /// holds the trigger (`肺结核（待排）`).
    fn post_trigger_position(
        &self,
        norm: &NormText<'_>,
        clauses: &Clauses,
        end: usize,
        occupied: &[(usize, usize, bool)],
    ) -> usize {
        let mut at = end;
        while at < norm.len() {
            if let Some(&(_, e, true)) = starting_at(occupied, at) {
                at = e;
            } else if norm.char_at(at).is_some_and(|c| LIST_GLUE.contains(&c)) {
                at += 1;
            } else if self.trigger_starts_at(norm, clauses, at) {
                break;
            } else if matches!(norm.char_at(at), Some('(' | '（'))
                && self.trigger_starts_at(norm, clauses, at + 1)
            {
                return at + 1;
            } else if let Some(close) = parenthetical_end(norm, at) {
                at = close;
            } else {
                break;
            }
        }
        at
    }

    fn post_flags(
        &self,
        norm: &NormText<'_>,
        clauses: &Clauses,
        end: usize,
        occupied: &[(usize, usize, bool)],
    ) -> Flags {
        let at = self.post_trigger_position(norm, clauses, end, occupied);
        let rest_end = clauses.end(at);
        let window = norm.slice(at, rest_end);
        let mut f = Flags {
            historical: time_since(norm.slice(end, rest_end)) || etc_history(window),
            ..Flags::default()
        };
        let post = self
            .trigger_at_start(window)
            .and_then(|m| self.triggers.get(m.pattern().as_usize()))
            .map(|t| t.post.as_slice())
            .unwrap_or(&[]);
        for c in post {
            match c {
                Category::Negated => f.negated = true,
                Category::Uncertain => f.uncertain = true,
                Category::Historical => f.historical = true,
                Category::Family => f.family = true,
                _ => {}
            }
        }
        f
    }
}

/// `高血压、糖尿病等慢性病史`: a list closed by `等…史` is history.
fn etc_history(after_list: &str) -> bool {
    after_list.strip_prefix('等').is_some_and(|rest| {
        rest.chars()
            .take(8)
            .collect::<String>()
            .split_inclusive('史')
            .next()
            .is_some_and(|w| w.ends_with('史'))
    })
}

/// `脑梗死后1年`, `心梗后3个月`: the event lies in the past.
fn time_since(after: &str) -> bool {
    let Some(rest) = after.strip_prefix('后') else {
        return false;
    };
    let num = rest.trim_start_matches(|c: char| {
        c.is_ascii_digit() || "一二三四五六七八九十半余多".contains(c)
    });
    num.len() < rest.len()
        && (num.starts_with('年') || num.starts_with("个月") || num.starts_with('月'))
}

/// End (after the closing bracket) of a short parenthetical starting at `at`: a post trigger
/// may follow it (`急性脑梗死（右侧大脑中动脉供血区）可能`).
fn parenthetical_end(norm: &NormText<'_>, at: usize) -> Option<usize> {
    if !matches!(norm.char_at(at), Some('(' | '（')) {
        return None;
    }
    (at + 1..(at + 30).min(norm.len()))
        .find(|&i| matches!(norm.char_at(i), Some(')' | '）')))
        .map(|i| i + 1)
}

/// The entity covering char `at` (`occupied` is sorted and non-overlapping).
fn covering(occupied: &[(usize, usize, bool)], at: usize) -> Option<&(usize, usize, bool)> {
    let i = occupied.partition_point(|&(s, _, _)| s <= at);
    i.checked_sub(1)
        .and_then(|j| occupied.get(j))
        .filter(|&&(_, e, _)| at < e)
}

/// The entity starting exactly at char `at`.
fn starting_at(occupied: &[(usize, usize, bool)], at: usize) -> Option<&(usize, usize, bool)> {
    covering(occupied, at).filter(|&&(s, _, _)| s == at)
}

/// The positions of the clause-ending characters of a note, found once per note.
struct Clauses {
    ends: Vec<usize>,
    len: usize,
}

impl Clauses {
    fn new(norm: &NormText<'_>) -> Self {
        let ends = norm
            .chars()
            .iter()
            .enumerate()
            .filter(|(_, c)| CLAUSE_ENDS.contains(c))
            .map(|(i, _)| i)
            .collect();
        Self {
            ends,
            len: norm.len(),
        }
    }

    /// Start of the clause holding char `at`: just after the last clause end before it.
    fn start(&self, at: usize) -> usize {
        let i = self.ends.partition_point(|&e| e < at);
        i.checked_sub(1)
            .and_then(|j| self.ends.get(j))
            .map_or(0, |&e| e + 1)
    }

    /// End of the clause holding char `at`: the first clause end at or after it.
    fn end(&self, at: usize) -> usize {
        let i = self.ends.partition_point(|&e| e < at);
        self.ends.get(i).copied().unwrap_or(self.len.max(at))
    }
}

/// The last position seen of each trigger category in a window.
#[derive(Default)]
struct LastSeen([Option<usize>; 7]);

impl LastSeen {
    fn slot(c: Category) -> usize {
        match c {
            Category::Negated => 0,
            Category::Uncertain => 1,
            Category::Historical => 2,
            Category::Family => 3,
            Category::Pseudo => 4,
            Category::Terminator => 5,
            Category::TerminatorAll => 6,
        }
    }

    fn insert(&mut self, c: Category, at: usize) {
        if let Some(s) = self.0.get_mut(Self::slot(c)) {
            *s = Some(at);
        }
    }

    fn get(&self, c: Category) -> Option<usize> {
        self.0.get(Self::slot(c)).copied().flatten()
    }
}

fn section_title(sections: &[Section], at: usize) -> Option<&str> {
    let i = sections.partition_point(|s| s.start <= at);
    i.checked_sub(1)
        .and_then(|j| sections.get(j))
        .filter(|s| at < s.end.max(s.start + 1))
        .map(|s| s.title.as_str())
}

#[cfg(test)]
mod tests {

    fn flags(text: &str, target: &str) -> (bool, bool, bool, bool) {
        let engine = crate::test_engine();
        let a = engine.analyze(text);
        let e = a
            .entities
            .iter()
            .find(|e| e.text == target)
            .unwrap_or_else(|| panic!("{target} not found in {:?}", a.entities));
        (e.negated, e.uncertain, e.historical, e.family)
    }

    #[test]
    fn negation_and_history_combine() {
        assert_eq!(
            flags("否认高血压、糖尿病病史。", "高血压"),
            (true, false, true, false)
        );
        assert_eq!(
            flags("否认高血压、糖尿病病史。", "糖尿病"),
            (true, false, true, false)
        );
    }

    #[test]
    fn pseudo_trigger_does_not_negate() {
        assert_eq!(
            flags("无明显诱因出现发热，无咳嗽。", "发热"),
            (false, false, false, false)
        );
        assert_eq!(
            flags("无明显诱因出现发热，无咳嗽。", "咳嗽"),
            (true, false, false, false)
        );
    }

    #[test]
    fn uncertainty_before_and_after() {
        assert!(flags("诊断：横纹肌溶解？", "横纹肌溶解").1);
        assert!(flags("考虑社区获得性肺炎。", "社区获得性肺炎").1);
    }

    #[test]
    fn bracketed_signs_and_bracketed_asides() {
        assert!(flags("麦氏点压痛（－），双肺湿啰音（＋）", "麦氏点压痛").0);
        assert!(!flags("麦氏点压痛（－），双肺湿啰音（＋）", "双肺湿啰音").0);
        assert!(flags("急性脑梗死（右侧大脑中动脉供血区）可能", "急性脑梗死").1);
        assert!(flags("诊断：肺结核（待排）", "肺结核").1);
        assert!(!flags("患儿母亲发现其发热2天。", "发热").3);
    }

    #[test]
    fn list_closed_by_etc_history() {
        assert_eq!(
            flags("否认高血压、糖尿病等慢性病史。", "糖尿病"),
            (true, false, true, false)
        );
        assert_eq!(
            flags("否认高血压、糖尿病等慢性病史。", "高血压"),
            (true, false, true, false)
        );
    }

    #[test]
    fn family_is_not_historical() {
        assert_eq!(
            flags("父亲有高血压病史。", "高血压"),
            (false, false, false, true)
        );
    }
}
