//! ICD-10 normalisation of disease mentions. In order: the lexicon code of the whole mention
//! (synonyms and abbreviations such as 慢阻肺/COPD, 冠心病, T2DM are lexicon terms); an organism
//! written before its disease (`念珠菌眼内炎` → candidiasis B37); a site with a site-specific
//! lesion (`升结肠…腺癌` → C18.2, `胆总管下段结石` → K80.5); the longest coded disease at the end
//! of the mention (`左肾上腺腺瘤` → 肾上腺腺瘤); the longest coded disease inside it.

use std::sync::OnceLock;

use crate::lexicon::{LexMatch, Lexicon, data_lines};
use crate::normalize::NormText;
use crate::types::{Entity, EntityType};

const SITE_CODES: &str = include_str!("../data/site_codes.tsv");

/// Lesion classes of the site table and the words that end a mention of each.
const LESIONS: &[(&str, &[&str])] = &[
    ("cancer", &["腺癌", "鳞癌", "癌", "恶性肿瘤"]),
    ("stone", &["结石"]),
    ("cyst", &["囊肿"]),
];

/// Sets `icd10` on every `dis` entity where the lexicon supports a code.
pub fn assign_codes(lexicon: &Lexicon, norm: &NormText<'_>, entities: &mut [Entity]) {
    for e in entities.iter_mut().filter(|e| e.kind == EntityType::Dis) {
        let mention = norm.slice(e.start, e.end);
        e.icd10 = code_for(lexicon, mention).or_else(|| {
            // `（胃窦）低分化腺癌`: the site may be written just before the lesion.
            let before = norm.slice(e.start.saturating_sub(SITE_WINDOW), e.start);
            let line = before.rsplit(['\n', '。', ';', '；']).next().unwrap_or("");
            site_code(&format!("{line}{mention}"))
        });
    }
}

/// How many characters before a lesion are searched for its site.
const SITE_WINDOW: usize = 10;

/// The ICD-10 code of a disease mention, if one is supported.
pub fn code_for(lexicon: &Lexicon, mention: &str) -> Option<String> {
    // `糖尿病性肾病` is listed as `糖尿病肾病` (read as it is, its end `肾病` would win).
    let listed = mention.replacen("糖尿病性", "糖尿病", 1);
    let code = code_as_listed(lexicon, &listed)?;
    Some(with_diabetes_type(mention, code))
}

/// Diabetes and its complications are coded in the category of the type the mention names
/// (`2型糖尿病肾病` → E11.2, `1型糖尿病酮症酸中毒` → E10.1); with no type named, in E14
/// (unspecified), as `糖尿病` itself is; some listed complications carry E13 (other
/// specified), which no mention without a type supports.
fn with_diabetes_type(mention: &str, code: String) -> String {
    const TYPE_2: &[&str] = &["2型", "Ⅱ型", "II型", "二型", "T2DM"];
    const TYPE_1: &[&str] = &["1型", "Ⅰ型", "I型", "一型", "T1DM"];
    let Some(rest) = ["E10", "E11", "E13", "E14"]
        .iter()
        .find_map(|category| code.strip_prefix(category))
    else {
        return code;
    };
    let category = if TYPE_2.iter().any(|m| mention.contains(m)) {
        "E11"
    } else if TYPE_1.iter().any(|m| mention.contains(m)) {
        "E10"
    } else if code.starts_with("E13") {
        "E14"
    } else {
        return code;
    };
    format!("{category}{rest}")
}

/// The code of a mention by the lexicon and the rules below, before the diabetes type.
fn code_as_listed(lexicon: &Lexicon, mention: &str) -> Option<String> {
    if let Some(code) = lexicon.lookup(mention).and_then(|e| e.code.clone()) {
        return Some(code);
    }
    // `2型糖尿病伴周围神经病变`: the condition before `伴`/`合并` is the one coded.
    if let Some(head) = ["伴", "合并"]
        .iter()
        .find_map(|w| mention.split_once(w).map(|(h, _)| h))
        .filter(|h| h.chars().count() >= 2)
        && let Some(code) = code_for(lexicon, head)
    {
        return Some(code);
    }
    // The lexicon terms inside the mention, found once for the organism and inner-term rules.
    let matches = lexicon.find(&NormText::new(mention));
    organism_code(lexicon, mention, &matches)
        .or_else(|| site_code(mention))
        .or_else(|| suffix_code(lexicon, mention))
        .or_else(|| inner_code(lexicon, &matches))
}

fn organism_code(lexicon: &Lexicon, mention: &str, matches: &[LexMatch]) -> Option<String> {
    if mention.ends_with("感染") {
        let coded_mic = matches.iter().find_map(|m| {
            lexicon
                .entry(m.entry)
                .filter(|e| e.kind == EntityType::Mic)
                .and_then(|e| e.code.clone())
        });
        if coded_mic.is_some() {
            return coded_mic;
        }
    }
    matches.windows(2).find_map(|w| {
        let (a, b) = (
            lexicon.entry(w.first()?.entry)?,
            lexicon.entry(w.get(1)?.entry)?,
        );
        let adjacent = w.first()?.end == w.get(1)?.start;
        (adjacent && a.kind == EntityType::Mic && b.kind == EntityType::Dis)
            .then(|| a.code.clone())
            .flatten()
    })
}

fn site_table() -> &'static [(String, String, String)] {
    static TABLE: OnceLock<Vec<(String, String, String)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        data_lines(SITE_CODES)
            .filter_map(|l| {
                let mut c = l.split('\t');
                Some((
                    c.next()?.to_string(),
                    c.next()?.to_string(),
                    c.next()?.trim().to_string(),
                ))
            })
            .collect()
    })
}

fn site_code(mention: &str) -> Option<String> {
    let (class, _) = LESIONS
        .iter()
        .find(|(_, words)| words.iter().any(|w| mention.ends_with(w)))?;
    site_table()
        .iter()
        .filter(|(site, c, _)| c == class && mention.contains(site.as_str()))
        .max_by_key(|(site, _, _)| site.chars().count())
        .map(|(_, _, code)| code.clone())
}

fn suffix_code(lexicon: &Lexicon, mention: &str) -> Option<String> {
    mention
        .char_indices()
        .skip(1)
        .filter_map(|(i, _)| mention.get(i..))
        .find_map(|tail| {
            lexicon
                .lookup(tail)
                .filter(|e| e.kind == EntityType::Dis)
                .and_then(|e| e.code.clone())
        })
}

fn inner_code(lexicon: &Lexicon, matches: &[LexMatch]) -> Option<String> {
    let mut best: Option<(usize, usize, String)> = None;
    for m in matches {
        let Some(entry) = lexicon.entry(m.entry) else {
            continue;
        };
        let (Some(code), EntityType::Dis) = (entry.code.as_ref(), entry.kind) else {
            continue;
        };
        let len = m.end - m.start;
        if best
            .as_ref()
            .is_none_or(|(l, s, _)| len > *l || (len == *l && m.start > *s))
        {
            best = Some((len, m.start, code.clone()));
        }
    }
    best.map(|b| b.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_heads_organisms_and_sites_get_codes() {
        let lex = crate::test_engine().lexicon();
        assert_eq!(code_for(lex, "慢阻肺").as_deref(), Some("J44.9"));
        assert_eq!(code_for(lex, "COPD").as_deref(), Some("J44.9"));
        assert_eq!(code_for(lex, "T2DM").as_deref(), Some("E11.9"));
        assert_eq!(code_for(lex, "重症军团菌肺炎").as_deref(), Some("A48.1"));
        assert_eq!(code_for(lex, "左肾上腺腺瘤").as_deref(), Some("D35.0"));
        assert_eq!(code_for(lex, "念珠菌眼内炎").as_deref(), Some("B37.9"));
        assert_eq!(code_for(lex, "胆总管下段结石").as_deref(), Some("K80.5"));
        assert_eq!(
            code_for(lex, "乙状结肠低分化腺癌").as_deref(),
            Some("C18.7")
        );
        let e11 = code_for(lex, "2型糖尿病伴周围神经病变");
        assert_eq!(e11.as_deref().and_then(|c| c.get(..3)), Some("E11"));
    }

    #[test]
    fn diabetic_complications_take_the_category_of_the_type_named() {
        let lex = crate::test_engine().lexicon();
        let category =
            |mention: &str| code_for(lex, mention).and_then(|c| c.get(..3).map(str::to_owned));
        assert_eq!(category("2型糖尿病肾病").as_deref(), Some("E11"));
        assert_eq!(category("2型糖尿病性肾病").as_deref(), Some("E11"));
        assert_eq!(category("Ⅰ型糖尿病酮症酸中毒").as_deref(), Some("E10"));
        assert_eq!(category("糖尿病肾病").as_deref(), Some("E14"));
        assert_eq!(category("糖尿病").as_deref(), Some("E14"));
        assert_eq!(category("Ⅱ型呼吸衰竭").as_deref(), Some("J96"));
    }
}
