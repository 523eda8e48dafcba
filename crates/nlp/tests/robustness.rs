//! No input makes the engine panic, and every offset it returns is valid.

// Helpers shared by the tests below live outside `#[test]` functions.
#![allow(clippy::unwrap_used)]

use meditrustal_nlp::deid::{Strategy as Deid, deidentify};
use meditrustal_nlp::segment::Segmenter;
use meditrustal_nlp::{Analysis, Engine, PhiType};
use proptest::prelude::*;
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| Engine::new().unwrap())
}

fn check(text: &str, a: &Analysis) {
    let chars: Vec<char> = text.chars().collect();
    let slice = |s: usize, e: usize| -> String {
        assert!(
            s <= e && e <= chars.len(),
            "bad span {s}..{e} of {}",
            chars.len()
        );
        chars[s..e].iter().collect()
    };
    let mut last = 0;
    for e in &a.entities {
        assert_eq!(slice(e.start, e.end), e.text);
        assert!(
            e.start >= last && e.end > e.start,
            "entities overlap or are empty"
        );
        last = e.end;
    }
    last = 0;
    for m in &a.measurements {
        assert_eq!(slice(m.start, m.end), m.text);
        assert!(m.start >= last);
        last = m.end;
    }
    last = 0;
    for p in &a.phi {
        assert_eq!(slice(p.start, p.end), p.text);
        assert!(p.start >= last);
        last = p.end;
    }
    for s in &a.sections {
        slice(s.start, s.end);
    }
}

const PIECES: &[&str] = &[
    "患者",
    "张伟",
    "，",
    "男",
    "93岁",
    "。",
    "\n",
    "主诉：",
    "既往史：",
    "否认",
    "高血压",
    "病史",
    "无",
    "发热",
    "咳嗽",
    "考虑",
    "肺炎",
    "？",
    "BP",
    " ",
    "120/80",
    "mmHg",
    "ＳｐＯ２",
    "９５％",
    "T",
    "38.5℃",
    "父亲",
    "糖尿病",
    "身份证",
    "11010519491231002X",
    "电话",
    "13912345678",
    "住院号",
    "ZY001",
    "杭州市第一人民医院",
    "2024-02-30",
    "13月45日",
    "双下肢",
    "水肿",
    "\u{0}",
    "\u{7}",
    "\r\n",
    "𝄞",
    "é",
    "咳黄痰",
    "慢性肾脏病4期",
    "尿军团菌抗原",
    "美罗培南",
    "伴",
];

fn clinical_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(PIECES).prop_map(str::to_string),
            1 => any::<char>().prop_map(|c| c.to_string()),
        ],
        0..80,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn analysis_never_panics_and_offsets_are_valid(text in clinical_text()) {
        let a = engine().analyze(&text);
        check(&text, &a);
    }

    #[test]
    fn arbitrary_unicode_is_handled(text in any::<String>()) {
        let a = engine().analyze(&text);
        check(&text, &a);
    }

    #[test]
    fn deidentified_text_never_contains_detected_phi(text in clinical_text()) {
        assert_no_detected_phi_left(&text)?;
    }

    /// Address labels, tags and pieces of tags side by side: the text before a replacement
    /// plus the replacement must not spell a detected string again
    /// (`fuzz/regressions/tag-recreates-address`).
    #[test]
    fn replacements_never_recreate_detected_phi(text in text_with_tag_pieces()) {
        assert_no_detected_phi_left(&text)?;
    }
}

/// Every strategy removes every detected PHI string of two characters or more.
fn assert_no_detected_phi_left(text: &str) -> Result<(), TestCaseError> {
    let a = engine().analyze(text);
    check(text, &a);
    for strategy in [
        Deid::Mask,
        Deid::Tag,
        Deid::Surrogate { key: b"k".to_vec() },
        Deid::DateShift {
            days: 30,
            key: b"k".to_vec(),
        },
    ] {
        let out = deidentify(text, &a.phi, &strategy).unwrap();
        for p in a
            .phi
            .iter()
            .filter(|p| p.must_remove() && p.text.chars().count() >= 2)
        {
            prop_assert!(
                !out.contains(&p.text),
                "{} survived {:?}: {}",
                p.text,
                strategy,
                out
            );
        }
    }
    Ok(())
}

/// Labels after which free text is taken as PHI (addresses run to the next space or comma).
const PHI_LEADS: &[&str] = &[
    "单位地址：",
    "地址：",
    "住址",
    "现住址：",
    "家住",
    "联系地址:",
];

/// Ends of a free-text PHI value.
const SEPARATORS: &[&str] = &["，", "\n", " ", "。", ""];

/// Every prefix of every type tag, and the mask character.
fn tag_pieces() -> Vec<String> {
    let mut v = vec!["＊".to_string(), "＊＊".to_string(), "]".to_string()];
    for kind in [
        PhiType::Name,
        PhiType::IdCard,
        PhiType::Phone,
        PhiType::Address,
        PhiType::Date,
        PhiType::Age,
        PhiType::Mrn,
        PhiType::Org,
        PhiType::Email,
        PhiType::OtherId,
    ] {
        let tag = kind.tag();
        v.extend(
            (1..=tag.len())
                .filter_map(|n| tag.get(..n))
                .map(str::to_string),
        );
    }
    v
}

/// Runs of `lead, lead or clinical piece, piece of a tag, separator`: the shape in which the
/// text before a replacement plus the replacement can spell the detected value again.
fn text_with_tag_pieces() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(PHI_LEADS),
            prop_oneof![
                prop::sample::select(PHI_LEADS),
                prop::sample::select(PIECES),
            ],
            prop::sample::select(tag_pieces()),
            prop::sample::select(SEPARATORS),
        )
            .prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}")),
        0..6,
    )
    .prop_map(|v| v.concat())
}

/// Replays every input under `fuzz/regressions` through the fuzz target's checks, so that a
/// fixed finding stays fixed without cargo-fuzz.
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        // The fuzz target only sees valid UTF-8.
        if let Ok(text) = std::str::from_utf8(&bytes) {
            assert_no_detected_phi_left(text).unwrap();
            replayed += 1;
        }
    }
    assert!(replayed >= 1, "no regression inputs in {}", dir.display());
}

#[test]
fn empty_and_whitespace_inputs() {
    for t in ["", " ", "\n\n", "\u{3000}", "：", "？"] {
        let a = engine().analyze(t);
        check(t, &a);
    }
    assert_eq!(engine().analyze(""), Analysis::default());
}

#[test]
fn segmentation_covers_mixed_scripts() {
    let seg = Segmenter::new(engine().lexicon());
    let text = "患者ＢＰ１２０/８０mmHg，COPD史；\u{0}é𝄞慢阻肺";
    let toks = seg.segment(text);
    let joined: String = toks.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(joined, text);
    assert_eq!(toks.last().map(|t| t.end), Some(text.chars().count()));
}

#[test]
fn ten_mebibyte_note_is_analysed() {
    let unit = "主诉：发热、咳嗽3天。既往史：否认高血压病史。查体：T 38.5℃，BP 120/80mmHg，双肺闻及湿啰音。\
                患者张伟，电话13912345678，住院号ZY24020877。诊断：社区获得性肺炎？\n";
    let mut text = String::with_capacity(10 * 1024 * 1024 + unit.len());
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(unit);
    }
    let a = engine().analyze(&text);
    let copies = text.matches("主诉").count();
    assert_eq!(a.measurements.len(), 2 * copies);
    assert_eq!(
        a.entities.iter().filter(|e| e.text == "湿啰音").count(),
        copies
    );
    let last = a.entities.last().unwrap();
    assert!(last.end <= text.chars().count());
}

#[test]
fn engine_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Engine>();
    shareable::<Segmenter>();
    let text = "患者发热，BP 120/80mmHg。";
    let results: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| engine().analyze(text).entities.len()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results[0], results[1]);
    assert!(results[0] >= 2);
}
