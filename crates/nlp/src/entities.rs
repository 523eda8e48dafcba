//! Entity recognition: leftmost-longest lexicon matches, then rules for productive patterns
//! (modifiers, body part + finding, organism + disease, stages, imaging suffixes).

use regex::Regex;
use std::sync::OnceLock;

use crate::lexicon::Lexicon;
use crate::normalize::{NormText, is_han};
use crate::types::{Entity, EntityType, Section};

/// A working span in char offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    kind: EntityType,
}

/// Qualifiers that belong to a disease or symptom mention when written directly before it.
const MODIFIERS: &[&str] = &[
    "广泛前壁",
    "极重度",
    "亚急性",
    "多发性",
    "阵发性",
    "持续性",
    "永久性",
    "复发性",
    "原发性",
    "继发性",
    "陈旧性",
    "弥漫性",
    "局限性",
    "进行性",
    "间歇性",
    "双侧",
    "左侧",
    "右侧",
    "急性",
    "慢性",
    "重症",
    "重度",
    "中度",
    "轻度",
    "多发",
    "前壁",
    "下壁",
    "侧壁",
    "新发",
    "间断",
    "活动后",
    "劳累后",
    "夜间",
    "晨起",
    "III度",
    "II度",
    "I度",
    "Ⅲ度",
    "Ⅱ度",
    "Ⅰ度",
    "三度",
    "二度",
    "一度",
    "高分化",
    "中分化",
    "低分化",
    "未分化",
    "斑片状",
    "条索状",
    "结节状",
    "团块状",
    "暗红色",
    "鲜红色",
    "淡红色",
    "黄白色",
    "黄绿色",
    "红色",
    "黄色",
    "白色",
    "褐色",
    "左",
    "右",
    "双",
];

/// Words that may stand between a body part and its finding without splitting the mention
/// (degree, grade, sub-location, differentiation): `咽部明显充血`, `胆总管下段结石`.
const BODY_FINDING_GAPS: &[&str] = &[
    "区",
    "明显",
    "轻度",
    "中度",
    "重度",
    "轻微",
    "稍",
    "略",
    "散在",
    "弥漫",
    "多发",
    "小",
    "巨大",
    "Ⅰ度",
    "Ⅱ度",
    "Ⅲ度",
    "I度",
    "II度",
    "III度",
    "左缘",
    "右缘",
    "上段",
    "中段",
    "下段",
    "收缩期",
    "舒张期",
    "高分化",
    "中分化",
    "低分化",
    "未分化",
    "中-低分化",
];

/// Dosage forms written after a drug name, part of the mention (`二甲双胍缓释片`).
const DOSAGE_FORMS: &[&str] = &[
    "缓释胶囊",
    "肠溶胶囊",
    "缓释片",
    "控释片",
    "肠溶片",
    "分散片",
    "咀嚼片",
    "注射液",
    "混悬液",
    "口服液",
    "栓剂",
    "栓",
    "气雾剂",
    "吸入剂",
    "粉雾剂",
    "滴眼液",
    "眼膏",
    "软膏",
    "乳膏",
    "颗粒",
    "胶囊",
    "片",
];

/// Findings written right after a body part that are no entities on their own (`左房增大`).
const BODY_FINDINGS: &[&str] = &[
    "游离气体",
    "闷压感",
    "压迫感",
    "烧灼感",
    "紧缩感",
    "憋闷感",
    "沉重感",
    "增大",
    "扩大",
    "增厚",
    "减弱",
    "减低",
    "增宽",
    "狭窄",
    "扩张",
    "肿大",
    "积液",
    "积气",
    "充血",
    "水肿",
    "萎缩",
    "钙化",
    "闭塞",
    "受压",
];

/// Imaging attributes of a body part that a change word turns into a finding
/// (`双肺纹理增多`, `右肺实变范围扩大`, `胆囊周围脂肪间隙模糊`).
const IMAGING_ATTRIBUTES: &[&str] = &[
    "周围脂肪间隙",
    "脂肪间隙",
    "实变范围",
    "透亮度",
    "纹理",
    "密度",
    "间隙",
    "实变",
    "回声",
    "信号",
    "管径",
    "内径",
    "轮廓",
    "边缘",
    "形态",
    "体积",
];

/// Change words that end an imaging finding.
const IMAGING_CHANGES: &[&str] = &[
    "欠光整",
    "不规则",
    "增多",
    "增粗",
    "紊乱",
    "扩大",
    "增大",
    "缩小",
    "增高",
    "减低",
    "降低",
    "模糊",
    "增强",
    "减弱",
    "增厚",
    "不清",
    "消失",
    "毛糙",
    "异常",
];

/// End of `attribute + change` written at `at`, if any.
fn imaging_finding_end(norm: &NormText<'_>, at: usize) -> Option<usize> {
    if let Some(end) = muscle_power_end(norm, at) {
        return Some(end);
    }
    let attr = IMAGING_ATTRIBUTES
        .iter()
        .find(|a| starts_with_at(norm, at, a))?;
    let after = at + attr.chars().count();
    let change = IMAGING_CHANGES
        .iter()
        .find(|c| starts_with_at(norm, after, c))?;
    Some(after + change.chars().count())
}

/// End of a muscle power grade at `at` (`肌力5-级`, `肌力Ⅳ级`), if any.
fn muscle_power_end(norm: &NormText<'_>, at: usize) -> Option<usize> {
    if !starts_with_at(norm, at, "肌力") {
        return None;
    }
    let mut i = at + 2;
    let grade_start = i;
    while norm
        .char_at(i)
        .is_some_and(|c| c.is_ascii_digit() || "0123456ⅠⅡⅢⅣⅤ+-".contains(c))
        && i < grade_start + 3
    {
        i += 1;
    }
    (i > grade_start && norm.char_at(i) == Some('级')).then_some(i + 1)
}

/// Operations and examinations written right after a body part (`髋关节置换术`).
const BODY_PROCEDURES: &[&str] = &[
    "置换术",
    "切除术",
    "成形术",
    "修补术",
    "固定术",
    "移植术",
    "引流术",
    "置管术",
    "减压术",
    "造影",
    "穿刺术",
    "穿刺",
    "活检",
    "切开术",
    "重建术",
    "吻合术",
];

/// Problems of a device that make the device mention a finding (`尿管引流不畅`).
const DEVICE_PROBLEMS: &[&str] = &["引流不畅", "堵塞", "脱出", "移位", "漏液", "打折"];

/// Characters that never start the adjective of an `XX性` qualifier (they are function words
/// or triggers, e.g. `无…`, `伴…`).
const NOT_QUALIFIER: &[char] = &[
    '无', '未', '否', '不', '伴', '有', '及', '和', '与', '或', '的', '是', '为', '在', '因', '示',
    '见', '致', '出', '现', '诉', '查', '考', '虑', '行', '予', '并', '后', '前', '期',
];

/// Text after a disease that still belongs to it.
const DIS_SUFFIXES: &[&str] = &[
    "急性加重",
    "急性发作",
    "后遗症",
    "穿孔",
    "并感染",
    "伴感染",
    "合并感染",
    "伴咯血",
    "伴出血",
    "破裂出血",
    "失代偿期",
    "代偿期",
];

/// Text after an imaging/procedure mention that still belongs to it.
const PRO_SUFFIXES: &[&str] = &["增强扫描", "平扫", "增强", "引流术", "切除术", "术"];

/// Suffixes turning an organism into a lab item (`军团菌抗原`).
const MIC_TO_ITE: &[&str] = &[
    "快速抗原",
    "抗原",
    "抗体",
    "DNA",
    "RNA",
    "核酸",
    "IgM",
    "IgG",
    "培养",
];

/// Specimen prefixes of a lab item (`尿军团菌抗原`).
const SPECIMENS: &[&str] = &["咽拭子", "尿", "血", "痰"];

/// Finds entities in a normalised note.
pub fn recognize(lexicon: &Lexicon, norm: &NormText<'_>, sections: &[Section]) -> Vec<Entity> {
    let mut spans: Vec<Span> = lexicon
        .find(norm)
        .into_iter()
        .filter_map(|m| {
            lexicon.entry(m.entry).map(|e| Span {
                start: m.start,
                end: m.end,
                kind: e.kind,
            })
        })
        .collect();
    split_negated_prefix(lexicon, norm, &mut spans);
    add_pattern_entities(norm, &mut spans);
    add_drug_stems(norm, &mut spans);
    body_parts_ending_in_diseases(lexicon, norm, &mut spans);
    for _ in 0..3 {
        let before = spans.clone();
        organism_lab_items(norm, &mut spans);
        resolve_overlaps(&mut spans);
        extend_prefixes(norm, &mut spans);
        extend_suffixes(norm, &mut spans);
        resolve_overlaps(&mut spans);
        bridge_body_findings(norm, &mut spans);
        merge_adjacent(norm, &mut spans);
        clinic_departments(norm, &mut spans);
        resolve_overlaps(&mut spans);
        if spans == before {
            break;
        }
    }
    trim_history_suffix(lexicon, norm, &mut spans);
    spans
        .into_iter()
        .filter(|s| s.end > s.start && !inside_header(sections, s))
        .map(|s| Entity {
            start: s.start,
            end: s.end,
            text: norm.original_slice(s.start, s.end),
            kind: s.kind,
            negated: false,
            uncertain: false,
            historical: false,
            family: false,
            icd10: None,
            atc: None,
            loinc: None,
        })
        .collect()
}

/// `无尿频`: longest match reads `无尿` (anuria), but when the text after `无` starts a longer
/// term the `无` is a negation and the longer term is the mention.
fn split_negated_prefix(lexicon: &Lexicon, norm: &NormText<'_>, spans: &mut Vec<Span>) {
    for span in spans.iter_mut() {
        if !matches!(norm.char_at(span.start), Some('无' | '未' | '不')) {
            continue;
        }
        let from = span.start + 1;
        let longer = (span.end + 1..=from + 8)
            .rev()
            .filter(|&to| to <= norm.len())
            .find_map(|to| lexicon.lookup(norm.slice(from, to)).map(|e| (to, e.kind)));
        if let Some((to, kind)) = longer {
            span.start = from;
            span.end = to;
            span.kind = kind;
        }
    }
    resolve_overlaps(spans);
}

/// Longest-match can swallow the start of a disease into a body part (`右下肺` + `炎` of
/// `右下肺炎`); when the body part's last characters begin a disease term that runs past it,
/// the whole stretch is that disease.
fn body_parts_ending_in_diseases(lexicon: &Lexicon, norm: &NormText<'_>, spans: &mut Vec<Span>) {
    for span in spans.iter_mut().filter(|s| s.kind == EntityType::Bod) {
        let best = (1..=2usize)
            .filter_map(|k| span.end.checked_sub(k).filter(|&s| s >= span.start))
            .flat_map(|from| (span.end + 1..=span.end + 6).map(move |to| (from, to)))
            .filter(|&(from, to)| {
                to <= norm.len()
                    && lexicon
                        .lookup(norm.slice(from, to))
                        .is_some_and(|e| e.kind == EntityType::Dis)
            })
            .map(|(_, to)| to)
            .max();
        if let Some(end) = best {
            span.end = end;
            span.kind = EntityType::Dis;
        }
    }
    resolve_overlaps(spans);
}

/// Header words (`体格检查：`, `病理诊断：`) are structure, not mentions.
fn inside_header(sections: &[Section], s: &Span) -> bool {
    let i = sections.partition_point(|h| h.start <= s.start);
    i.checked_sub(1)
        .and_then(|j| sections.get(j))
        .is_some_and(|h| s.end <= h.start + h.title.chars().count())
}

/// Keeps, among overlapping spans, the one starting first (the longer on ties); rules that
/// extend a span over a neighbour thereby absorb it.
fn resolve_overlaps(spans: &mut Vec<Span>) {
    let key = |s: &Span| (s.start, std::cmp::Reverse(s.end));
    // Most calls find the spans already in order; the sort is stable, so skipping it then
    // changes nothing.
    if !spans.is_sorted_by_key(key) {
        spans.sort_by_key(key);
    }
    let mut last_end: Option<usize> = None;
    spans.retain(|s| {
        if last_end.is_some_and(|e| s.start < e) {
            return false;
        }
        last_end = Some(s.end);
        true
    });
}

/// `高血压病史`: the `病` belongs to the history trigger `病史`, not to the disease, when what
/// is left is a disease term itself; in `冠心病史` and `糖尿病史` it belongs to the disease.
fn trim_history_suffix(lexicon: &Lexicon, norm: &NormText<'_>, spans: &mut [Span]) {
    for s in spans.iter_mut().filter(|s| s.kind == EntityType::Dis) {
        if s.end >= s.start + 3
            && norm.char_at(s.end - 1) == Some('病')
            && norm.char_at(s.end) == Some('史')
            && lexicon
                .lookup(norm.slice(s.start, s.end - 1))
                .is_some_and(|e| e.kind == EntityType::Dis)
        {
            s.end -= 1;
        }
    }
}

/// Joins a body part and a finding separated only by a degree, grade or sub-location word.
fn bridge_body_findings(norm: &NormText<'_>, spans: &mut Vec<Span>) {
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans.drain(..) {
        if let Some(last) = out.last_mut() {
            let gap = norm.slice(last.end, span.start);
            let finding = matches!(span.kind, EntityType::Sym | EntityType::Dis);
            if last.kind == EntityType::Bod && finding && BODY_FINDING_GAPS.contains(&gap) {
                last.end = span.end;
                last.kind = span.kind;
                continue;
            }
        }
        out.push(span);
    }
    *spans = out;
}

/// Productive patterns the lexicon cannot list: sputum and haemoptysis phrases
/// (`咳黄绿色脓痰`, `咯鲜血`) and named scores (`CURB-65评分`). Each comes with a string that
/// every match contains, so that notes without it are not scanned.
fn patterns() -> &'static [(Regex, EntityType, &'static str)] {
    static RE: OnceLock<Vec<(Regex, EntityType, &'static str)>> = OnceLock::new();
    RE.get_or_init(|| {
        [
            (
                r"咳[\p{Han}]{1,5}?痰|咯[鲜暗]?红?血|咳[\p{Han}]{0,3}?血痰",
                EntityType::Sym,
                "",
            ),
            (
                r"[A-Za-z][A-Za-z0-9\-]*(?:跌倒)?评分",
                EntityType::Ite,
                "评分",
            ),
            // ECG findings with their leads: `V4-V6导联T波低平`, `II、III、aVF导联ST段抬高`.
            (
                r"(?:aV[RLF]|V\d{1,2}|I{1,3})(?:[-~、,](?:aV[RLF]|V\d{1,2}|I{1,3}))*导联(?:ST段(?:抬高|压低)|T波(?:低平|倒置|高尖|双向)|病理性Q波|Q波)",
                EntityType::Sym,
                "导联",
            ),
        ]
        .into_iter()
        .filter_map(|(p, k, needed)| Regex::new(p).ok().map(|r| (r, k, needed)))
        .collect()
    })
}

/// Pattern matches win over the shorter lexicon pieces they cover.
fn add_pattern_entities(norm: &NormText<'_>, spans: &mut Vec<Span>) {
    for (re, kind, needed) in patterns() {
        if !norm.text().contains(needed) {
            continue;
        }
        for m in re.find_iter(norm.text()) {
            spans.push(Span {
                start: norm.char_at_byte(m.start()),
                end: norm.char_at_byte(m.end()),
                kind: *kind,
            });
        }
    }
    resolve_overlaps(spans);
}

/// Endings of drug names by pharmacological stem (INN stems in Chinese: `替尼` kinase
/// inhibitors, `单抗` antibodies, `沙坦`, `普利`, `洛尔`, `地平`, `他汀` …), for drugs the lexicon
/// does not list yet.
const DRUG_STEMS: &[&str] = &[
    "格列净",
    "格列汀",
    "格鲁肽",
    "替尼",
    "单抗",
    "沙坦",
    "普利",
    "洛尔",
    "地平",
    "他汀",
    "西林",
    "霉素",
    "沙星",
    "康唑",
    "拉唑",
    "培南",
    "曲塞",
    "他赛",
    "比星",
    "司琼",
    "洛芬",
    "昔布",
    "膦酸",
    "瑞林",
    "西泮",
    "唑仑",
    "帕米",
    "肝素",
];

/// Characters that end a drug-name stem scan: verbs and words of dosing prose.
const NOT_IN_DRUG: &str = "服予用给注射静滴联合加换停行及和并改为以等类的与或在后前口次每日天续继开始调整减增量入吸喷贴含泵推示见无有未";

fn drug_stems() -> Option<&'static aho_corasick::AhoCorasick> {
    static AC: OnceLock<Option<aho_corasick::AhoCorasick>> = OnceLock::new();
    AC.get_or_init(|| aho_corasick::AhoCorasick::new(DRUG_STEMS).ok())
        .as_ref()
}

/// Adds `dru` spans for unknown names ending in a drug stem (`奥希替尼`, `培美曲塞`).
fn add_drug_stems(norm: &NormText<'_>, spans: &mut Vec<Span>) {
    let Some(ac) = drug_stems() else { return };
    let mut added = Vec::new();
    for m in ac.find_iter(norm.text()) {
        let (s, e) = (norm.char_at_byte(m.start()), norm.char_at_byte(m.end()));
        let i = spans.partition_point(|x| x.start < e);
        let floor = i
            .checked_sub(1)
            .and_then(|j| spans.get(j))
            .map_or(0, |x| x.end);
        if floor > s {
            continue;
        }
        let mut start = s;
        while start > floor
            && s - start < 4
            && norm
                .char_at(start - 1)
                .is_some_and(|c| is_han(c) && !NOT_IN_DRUG.contains(c))
        {
            start -= 1;
        }
        if s - start >= 2 {
            added.push(Span {
                start,
                end: e,
                kind: EntityType::Dru,
            });
        }
    }
    spans.extend(added);
    resolve_overlaps(spans);
}

fn ends_with_at(norm: &NormText<'_>, end: usize, word: &str) -> bool {
    norm.ends_with_at(end, word)
}

fn starts_with_at(norm: &NormText<'_>, start: usize, word: &str) -> bool {
    norm.starts_with_at(start, word)
}

fn prev_end(spans: &[Span], i: usize) -> usize {
    i.checked_sub(1)
        .and_then(|p| spans.get(p))
        .map_or(0, |s| s.end)
}

fn next_start(spans: &[Span], i: usize, len: usize) -> usize {
    spans.get(i + 1).map_or(len, |s| s.start)
}

fn extend_prefixes(norm: &NormText<'_>, spans: &mut [Span]) {
    for i in 0..spans.len() {
        let floor = prev_end(spans, i);
        let Some(span) = spans.get(i) else { continue };
        if !span.kind.takes_assertions() {
            continue;
        }
        let mut start = span.start;
        loop {
            let before = start.checked_sub(1).and_then(|i| norm.char_at(i));
            let modifier = modifiers_ending_in(before)
                .iter()
                .find(|m| ends_with_at(norm, start, m) && start - m.chars().count() >= floor);
            if let Some(m) = modifier {
                start -= m.chars().count();
                continue;
            }
            if let Some(q) = qualifier_before(norm, start, floor) {
                start = q;
                continue;
            }
            break;
        }
        if let Some(span) = spans.get_mut(i) {
            span.start = start;
        }
    }
}

/// The [`MODIFIERS`] whose last character is `last`, in list order (only they can end where
/// that character stands).
fn modifiers_ending_in(last: Option<char>) -> &'static [&'static str] {
    static BY_LAST: OnceLock<Vec<(char, Vec<&'static str>)>> = OnceLock::new();
    let table = BY_LAST.get_or_init(|| {
        let mut table: Vec<(char, Vec<&'static str>)> = Vec::new();
        for m in MODIFIERS {
            let Some(c) = m.chars().next_back() else {
                continue;
            };
            match table.iter_mut().find(|(k, _)| *k == c) {
                Some((_, group)) => group.push(m),
                None => table.push((c, vec![m])),
            }
        }
        table.sort_by_key(|(k, _)| *k);
        table
    });
    last.and_then(|c| table.binary_search_by_key(&c, |(k, _)| *k).ok())
        .and_then(|i| table.get(i))
        .map_or(&[], |(_, group)| group.as_slice())
}

/// Start of an `XX性`/`XX型` qualifier ending at `at` (`凹陷性`, `放射性`, `隆起型`), if free
/// text holds one.
fn qualifier_before(norm: &NormText<'_>, at: usize, floor: usize) -> Option<usize> {
    if at < floor + 3 || !matches!(norm.char_at(at - 1), Some('性' | '型')) {
        return None;
    }
    let a = norm.char_at(at - 3)?;
    let b = norm.char_at(at - 2)?;
    let ok = |c: char| is_han(c) && !NOT_QUALIFIER.contains(&c);
    // `黄白色脓性`: a character that ends another modifier (`…色`, `…状`) leaves a one-character
    // qualifier, so that the modifier can attach in turn.
    if ok(b) && "色状样部区".contains(a) {
        return Some(at - 2);
    }
    (ok(a) && ok(b)).then_some(at - 3)
}

fn extend_suffixes(norm: &NormText<'_>, spans: &mut [Span]) {
    let len = norm.len();
    for i in 0..spans.len() {
        let ceiling = next_start(spans, i, len);
        let Some(span) = spans.get_mut(i) else {
            continue;
        };
        let _ = ceiling;
        let suffixes: &[&str] = match span.kind {
            EntityType::Dis => DIS_SUFFIXES,
            EntityType::Pro => PRO_SUFFIXES,
            EntityType::Dru => DOSAGE_FORMS,
            EntityType::Equ => DEVICE_PROBLEMS,
            _ => &[],
        };
        if span.kind == EntityType::Bod {
            if starts_with_at(norm, span.end, "感染") {
                span.end += 2;
                span.kind = EntityType::Dis;
            } else if let Some(end) = imaging_finding_end(norm, span.end) {
                span.end = end;
                span.kind = EntityType::Sym;
            } else if let Some(f) = BODY_FINDINGS
                .iter()
                .find(|f| starts_with_at(norm, span.end, f))
            {
                span.end += f.chars().count();
                span.kind = EntityType::Sym;
            } else if let Some(p) = BODY_PROCEDURES
                .iter()
                .find(|p| starts_with_at(norm, span.end, p))
            {
                span.end += p.chars().count();
                span.kind = EntityType::Pro;
            }
        }
        if let Some(s) = suffixes.iter().find(|s| starts_with_at(norm, span.end, s)) {
            span.end += s.chars().count();
            if span.kind == EntityType::Equ {
                span.kind = EntityType::Sym;
            }
        }
        if span.kind == EntityType::Dis {
            span.end = stage_end(norm, span.end);
        }
        if span.kind == EntityType::Ite && starts_with_at(norm, span.end, "评分") {
            span.end += 2;
        }
    }
}

/// End of a stage or grade written after a disease (`病3级`, `4期`, `Ⅱ度`).
fn stage_end(norm: &NormText<'_>, end: usize) -> usize {
    let mut i = end;
    if norm.char_at(i) == Some('病') {
        i += 1;
    }
    let digits_start = i;
    while norm
        .char_at(i)
        .is_some_and(|c| c.is_ascii_digit() || "一二三四五ⅠⅡⅢⅣⅤ".contains(c))
    {
        i += 1;
    }
    // Sub-stages such as `3a期`.
    if i > digits_start && matches!(norm.char_at(i), Some('a' | 'b')) {
        i += 1;
    }
    if i > digits_start && i - digits_start <= 3 && matches!(norm.char_at(i), Some('级' | '期')) {
        i + 1
    } else {
        end
    }
}

/// End of a serotype or genotype such as `71型`, `H1N1`, `B型` at `at` (or `at` itself).
fn type_designation_end(norm: &NormText<'_>, at: usize) -> usize {
    let mut i = at;
    while norm.char_at(i).is_some_and(|c| c.is_ascii_alphanumeric()) && i < at + 8 {
        i += 1;
    }
    if i > at && norm.char_at(i) == Some('型') {
        i + 1
    } else {
        at
    }
}

fn organism_lab_items(norm: &NormText<'_>, spans: &mut [Span]) {
    for i in 0..spans.len() {
        let floor = prev_end(spans, i);
        let Some(span) = spans.get_mut(i) else {
            continue;
        };
        if span.kind != EntityType::Mic {
            continue;
        }
        if starts_with_at(norm, span.end, "感染") {
            span.end += 2;
            span.kind = EntityType::Dis;
            continue;
        }
        // An optional type designation may stand between (`肠道病毒71型核酸`).
        let typed = type_designation_end(norm, span.end);
        let Some(suffix) = MIC_TO_ITE.iter().find(|s| starts_with_at(norm, typed, s)) else {
            continue;
        };
        span.end = typed + suffix.chars().count();
        span.kind = EntityType::Ite;
        if let Some(p) = SPECIMENS
            .iter()
            .find(|p| ends_with_at(norm, span.start, p) && span.start - p.chars().count() >= floor)
        {
            span.start -= p.chars().count();
        }
    }
}

/// Joins directly adjacent spans that the annotation guide treats as one mention.
fn merge_adjacent(norm: &NormText<'_>, spans: &mut Vec<Span>) {
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans.drain(..) {
        if let Some(last) = out.last_mut() {
            let glued = last.end == span.start;
            let linked = !glued && related_link(norm, last.end, span.start);
            if (glued || linked)
                && let Some(kind) = merged_kind(last.kind, span.kind, linked)
            {
                last.end = span.end;
                last.kind = kind;
                continue;
            }
        }
        out.push(span);
    }
    *spans = out;
}

/// Whether the text between two spans is the `相关` of `导管相关…感染`.
fn related_link(norm: &NormText<'_>, end: usize, start: usize) -> bool {
    matches!(norm.slice(end, start), "相关" | "相关性" | "性")
}

fn merged_kind(a: EntityType, b: EntityType, linked: bool) -> Option<EntityType> {
    use EntityType::*;
    if linked {
        // `导管相关…感染`, `喘息性支气管炎`
        return matches!((a, b), (Equ | Pro | Sym | Dis, Dis)).then_some(Dis);
    }
    match (a, b) {
        (Bod, Sym) => Some(Sym),
        (Bod, Dis) | (Mic, Dis) | (Dis, Dis) => Some(Dis),
        (Bod, Pro) => Some(Pro),
        (Bod, Equ) => Some(Equ),
        _ => None,
    }
}

/// `卒中随访门诊`, `心力衰竭门诊`: a disease named clinic is a department.
fn clinic_departments(norm: &NormText<'_>, spans: &mut [Span]) {
    for i in 0..spans.len() {
        let Some(span) = spans.get_mut(i) else {
            continue;
        };
        if !span.kind.takes_assertions() {
            continue;
        }
        for suffix in ["随访门诊", "专病门诊", "门诊"] {
            let n = suffix.chars().count();
            if starts_with_at(norm, span.end, suffix) {
                span.end += n;
                span.kind = EntityType::Dep;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<(String, EntityType)> {
        let lex = crate::test_engine().lexicon();
        let n = NormText::new(text);
        recognize(lex, &n, &[])
            .into_iter()
            .map(|e| (e.text, e.kind))
            .collect()
    }

    #[test]
    fn the_bing_of_a_history_belongs_to_the_disease_unless_a_term_is_left() {
        let got = run("有高血压病史，冠心病史5年，糖尿病史3年。");
        for disease in ["高血压", "冠心病", "糖尿病"] {
            assert!(
                got.contains(&(disease.into(), EntityType::Dis)),
                "{disease}: {got:?}"
            );
        }
    }

    #[test]
    fn negation_word_is_not_swallowed_and_body_suffixes() {
        let got = run("无尿频尿急，腹腔感染，行髋关节置换术");
        assert!(got.contains(&("尿频".into(), EntityType::Sym)), "{got:?}");
        assert!(
            got.contains(&("腹腔感染".into(), EntityType::Dis)),
            "{got:?}"
        );
        assert!(
            got.contains(&("髋关节置换术".into(), EntityType::Pro)),
            "{got:?}"
        );
    }

    #[test]
    fn imaging_findings_of_body_parts() {
        let got = run("胸片：双肺纹理增多，右肺实变范围扩大。右下肢肌力5-级，升结肠见隆起型肿物。");
        assert!(
            got.contains(&("右下肢肌力5-级".into(), EntityType::Sym)),
            "{got:?}"
        );
        assert!(
            got.contains(&("隆起型肿物".into(), EntityType::Sym)),
            "{got:?}"
        );
        assert!(
            got.contains(&("双肺纹理增多".into(), EntityType::Sym)),
            "{got:?}"
        );
        assert!(
            got.contains(&("右肺实变范围扩大".into(), EntityType::Sym)),
            "{got:?}"
        );
    }

    #[test]
    fn unknown_drugs_by_stem_and_named_scores() {
        let got = run("口服奥希替尼，予培美曲塞化疗；CURB-65评分 2分");
        assert!(
            got.contains(&("奥希替尼".into(), EntityType::Dru)),
            "{got:?}"
        );
        assert!(
            got.contains(&("培美曲塞".into(), EntityType::Dru)),
            "{got:?}"
        );
        assert!(
            got.contains(&("CURB-65评分".into(), EntityType::Ite)),
            "{got:?}"
        );
    }

    #[test]
    fn body_part_plus_finding_is_one_symptom() {
        let got = run("查体：双踝部凹陷性水肿，耻骨上区压痛。");
        assert!(
            got.contains(&("双踝部凹陷性水肿".into(), EntityType::Sym)),
            "{got:?}"
        );
        assert!(
            got.contains(&("耻骨上区压痛".into(), EntityType::Sym)),
            "{got:?}"
        );
    }

    #[test]
    fn words_between_keep_body_part_and_finding_apart() {
        let got = run("双下肢无水肿，咽部明显充血");
        assert_eq!(
            got,
            vec![
                ("双下肢".into(), EntityType::Bod),
                ("水肿".into(), EntityType::Sym),
                ("咽部明显充血".into(), EntityType::Sym)
            ]
        );
    }

    #[test]
    fn stage_and_organism_rules() {
        let got = run(
            "慢性肾脏病4期，重症军团菌肺炎，尿军团菌抗原阳性，高血压病3级，CKD 3a期，右下肺炎，肺炎支原体感染",
        );
        assert!(
            got.contains(&("肺炎支原体感染".into(), EntityType::Dis)),
            "{got:?}"
        );
        for want in ["慢性肾脏病4期", "重症军团菌肺炎", "高血压病3级", "右下肺炎"]
        {
            assert!(
                got.contains(&(want.into(), EntityType::Dis)),
                "{want} {got:?}"
            );
        }
        assert!(
            got.contains(&("尿军团菌抗原".into(), EntityType::Ite)),
            "{got:?}"
        );
    }
}
