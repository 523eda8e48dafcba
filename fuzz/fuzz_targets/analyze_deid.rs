//! Any UTF-8 text: `analyze` does not panic, every span lies on the text's characters and
//! matches its `text`, and no de-identification strategy leaves a detected PHI string (of
//! two characters or more, the ones de-identification must remove) in its output.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use meditrustal_nlp::Engine;
use meditrustal_nlp::deid::{Strategy, deidentify};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new().expect("engine"))
}

fn slice(chars: &[char], start: usize, end: usize) -> String {
    assert!(
        start <= end && end <= chars.len(),
        "{start}..{end} of {}",
        chars.len()
    );
    chars[start..end].iter().collect()
}

fuzz_target!(|text: &str| {
    let analysis = engine().analyze(text);
    let chars: Vec<char> = text.chars().collect();
    for e in &analysis.entities {
        assert_eq!(slice(&chars, e.start, e.end), e.text);
    }
    for m in &analysis.measurements {
        assert_eq!(slice(&chars, m.start, m.end), m.text);
    }
    for p in &analysis.phi {
        assert_eq!(slice(&chars, p.start, p.end), p.text);
    }
    for s in &analysis.sections {
        slice(&chars, s.start, s.end);
    }
    let strategies = [
        Strategy::Mask,
        Strategy::Tag,
        Strategy::Surrogate {
            key: b"fuzz-key".to_vec(),
        },
        Strategy::DateShift {
            days: -37,
            key: b"fuzz-key".to_vec(),
        },
    ];
    for strategy in &strategies {
        let clean = deidentify(text, &analysis.phi, strategy).expect("spans from analyze");
        for p in analysis.phi.iter().filter(|p| p.must_remove()) {
            if p.text.chars().count() >= 2 {
                assert!(!clean.contains(&p.text), "{strategy:?} left {:?}", p.text);
            }
        }
    }
});
