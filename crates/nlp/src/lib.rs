//! Pure Chinese clinical NLP for MediTrustAl.
//!
//! The [`Engine`] turns a clinical note into sections, entities (the nine CMeEE types) with
//! assertion flags and ICD-10 codes, measurements, and PHI spans; [`deid::deidentify`] removes
//! the PHI, [`summary::summarize`] builds an extractive summary and [`segment::Segmenter`]
//! segments words with jieba and a medical user dictionary.
//!
//! Invariants:
//! * Every offset is a Unicode code-point index into the caller's original text (Python `str`
//!   indices), end exclusive, and `start <= end <= text.chars().count()`.
//! * Text normalisation maps one character to exactly one character, so offsets found on the
//!   normalised text are valid on the original.
//! * Within one layer (entities, measurements, PHI, sections) spans never overlap.
//! * No I/O, no clock, no global randomness; lexicons are compiled into the binary.
//! * No input makes the engine panic.
//!
//! ```
//! use meditrustal_nlp::{Engine, EntityType, PhiType};
//! use meditrustal_nlp::deid::{Strategy, deidentify};
//!
//! let engine = Engine::new()?;
//! let note = "患者张伟，男，93岁。主诉：发热3天。既往史：否认高血压病史。查体：BP 150/95mmHg。";
//! let a = engine.analyze(note);
//! let htn = a.entities.iter().find(|e| e.text == "高血压").unwrap();
//! assert_eq!(htn.kind, EntityType::Dis);
//! assert!(htn.negated && htn.historical);
//! assert_eq!(htn.icd10.as_deref(), Some("I10"));
//! assert_eq!(a.measurements[0].value, "150/95");
//! assert!(a.phi.iter().any(|p| p.kind == PhiType::Name && p.text == "张伟"));
//! let clean = deidentify(note, &a.phi, &Strategy::Tag)?;
//! assert!(clean.starts_with("患者[NAME]，男，[AGE]"));
//! # Ok::<(), meditrustal_nlp::NlpError>(())
//! ```

pub mod assertion;
pub mod codes;
pub mod deid;
pub mod entities;
pub mod error;
pub mod icd;
pub mod lexicon;
pub mod measurements;
pub mod normalize;
pub mod phi;
pub mod sections;
pub mod segment;
pub mod summary;
pub mod types;

pub use error::NlpError;
pub use types::{Analysis, Entity, EntityType, Measurement, PhiSpan, PhiType, Section};

use normalize::NormText;

/// The analysis pipeline with all automata built once; share it across threads and notes.
pub struct Engine {
    lexicon: lexicon::Lexicon,
    assertions: assertion::AssertionRules,
    measurements: measurements::MeasurementRules,
    phi: phi::PhiRules,
    sections: sections::SectionRules,
    codes: codes::Codes,
}

impl Engine {
    /// Builds every automaton from the compiled-in data files.
    pub fn new() -> Result<Self, NlpError> {
        Ok(Self {
            lexicon: lexicon::Lexicon::load()?,
            assertions: assertion::AssertionRules::load()?,
            measurements: measurements::MeasurementRules::load()?,
            phi: phi::PhiRules::load()?,
            sections: sections::SectionRules::load()?,
            codes: codes::Codes::load()?,
        })
    }

    /// The lexicon the entity recogniser uses (also feeds the segmenter's user dictionary).
    pub fn lexicon(&self) -> &lexicon::Lexicon {
        &self.lexicon
    }

    /// Analyses one note. Offsets in the result refer to `text` as given.
    pub fn analyze(&self, text: &str) -> Analysis {
        let norm = NormText::new(text);
        let sections = self.sections.find(&norm);
        let mut entities = entities::recognize(&self.lexicon, &norm, &sections);
        self.assertions.apply(&norm, &sections, &mut entities);
        icd::assign_codes(&self.lexicon, &norm, &mut entities);
        self.codes.assign(&self.measurements, &mut entities);
        let mut measurements = self.measurements.find(&norm);
        self.codes.assign_measurements(&mut measurements);
        let phi = self.phi.find(&norm);
        Analysis {
            entities,
            measurements,
            phi,
            sections,
        }
    }
}

/// One engine shared by the unit tests (building it is the slow part in debug builds).
#[cfg(test)]
pub(crate) fn test_engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| Engine::new().unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drugs_tests_and_measurements_carry_their_codes() {
        let a = test_engine()
            .analyze("口服阿托伐他汀钙片20mg qn。复查血红蛋白，HR 96次/分，Cr 132μmol/L。");
        let drug = a
            .entities
            .iter()
            .find(|e| e.kind == EntityType::Dru)
            .unwrap();
        assert_eq!(drug.atc.as_deref(), Some("C10AA05"), "{drug:?}");
        let item = a.entities.iter().find(|e| e.text == "血红蛋白").unwrap();
        assert_eq!(item.loinc.as_deref(), Some("718-7"), "{item:?}");
        let coded: Vec<(&str, Option<&str>, Option<&str>)> = a
            .measurements
            .iter()
            .map(|m| (m.name.as_str(), m.loinc.as_deref(), m.ucum.as_deref()))
            .collect();
        assert_eq!(
            coded,
            [
                ("heart_rate", Some("8867-4"), Some("/min")),
                ("creatinine", Some("2160-0"), Some("umol/L"))
            ]
        );
    }

    #[test]
    fn empty_text_gives_empty_analysis() {
        let engine = test_engine();
        assert_eq!(engine.analyze(""), Analysis::default());
    }

    #[test]
    fn offsets_refer_to_the_original_text() {
        let engine = test_engine();
        let text = "ＢＰ １７２/９４ｍｍＨｇ，患者发热。";
        let a = engine.analyze(text);
        let chars: Vec<char> = text.chars().collect();
        for e in &a.entities {
            assert_eq!(chars[e.start..e.end].iter().collect::<String>(), e.text);
        }
        assert_eq!(a.measurements[0].value, "172/94");
        assert!(
            a.entities
                .iter()
                .any(|e| e.text == "ＢＰ" && e.kind == EntityType::Ite)
        );
    }
}
