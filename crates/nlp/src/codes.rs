//! Codes beside ICD-10: WHO ATC for drug mentions, LOINC for test items and measurements.
//! Units get their UCUM codes where they are read (`measurements.rs`).

use std::collections::HashMap;

use crate::error::NlpError;
use crate::lexicon::data_lines;
use crate::measurements::MeasurementRules;
use crate::types::{Entity, EntityType, Measurement};

const ATC: &str = include_str!("../data/atc.tsv");
const LOINC: &str = include_str!("../data/loinc.tsv");

/// The ATC and LOINC tables, loaded once with the engine.
pub struct Codes {
    /// Drug name → ATC code.
    atc: HashMap<String, String>,
    /// Characters in the longest drug name, the most a prefix lookup needs to try.
    longest_drug: usize,
    /// Measurement name → LOINC code.
    loinc: HashMap<String, String>,
}

impl Codes {
    pub fn load() -> Result<Self, NlpError> {
        let atc = table(ATC, "atc.tsv")?;
        let longest_drug = atc.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        Ok(Self {
            atc,
            longest_drug,
            loinc: table(LOINC, "loinc.tsv")?,
        })
    }

    /// The ATC code of the longest listed drug the mention begins with, so that a salt or
    /// a form (`阿托伐他汀钙片`) takes its substance's code and a listed combination
    /// (`布地奈德福莫特罗`) wins over its first part.
    pub fn atc(&self, mention: &str) -> Option<&str> {
        let ends: Vec<usize> = mention
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take(self.longest_drug)
            .collect();
        ends.iter()
            .rev()
            .find_map(|&end| self.atc.get(mention.get(..end)?))
            .map(String::as_str)
    }

    /// The LOINC code of a measurement name (`creatinine` → 2160-0).
    pub fn loinc(&self, measurement: &str) -> Option<&str> {
        self.loinc.get(measurement).map(String::as_str)
    }

    /// Sets `atc` on drugs and `loinc` on test items named like a measurement.
    pub fn assign(&self, rules: &MeasurementRules, entities: &mut [Entity]) {
        for entity in entities {
            match entity.kind {
                EntityType::Dru => entity.atc = self.atc(&entity.text).map(str::to_owned),
                EntityType::Ite => {
                    entity.loinc = rules
                        .name_of(&entity.text)
                        .and_then(|name| self.loinc(name))
                        .map(str::to_owned);
                }
                _ => {}
            }
        }
    }

    /// Sets `loinc` on every measurement whose name LOINC codes.
    pub fn assign_measurements(&self, measurements: &mut [Measurement]) {
        for m in measurements {
            m.loinc = self.loinc(&m.name).map(str::to_owned);
        }
    }
}

/// A two-column tab-separated data file as a map.
fn table(body: &str, file: &'static str) -> Result<HashMap<String, String>, NlpError> {
    data_lines(body)
        .enumerate()
        .map(|(n, line)| {
            let (key, code) = line
                .split_once('\t')
                .ok_or(NlpError::BadDataLine { file, line: n + 1 })?;
            Ok((key.trim().to_owned(), code.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drugs_by_substance_salt_form_and_combination() {
        let codes = Codes::load().unwrap();
        assert_eq!(codes.atc("阿托伐他汀钙片"), Some("C10AA05"));
        assert_eq!(codes.atc("二甲双胍缓释片"), Some("A10BA02"));
        assert_eq!(codes.atc("布地奈德福莫特罗"), Some("R03AK07"));
        assert_eq!(codes.atc("阿莫西林克拉维酸钾"), Some("J01CR02"));
        assert_eq!(codes.atc("阿莫西林胶囊"), Some("J01CA04"));
        assert_eq!(codes.atc("某中成药"), None);
        assert_eq!(codes.loinc("creatinine"), Some("2160-0"));
        assert_eq!(codes.loinc("cha2ds2_vasc"), None);
    }

    #[test]
    fn every_loinc_name_is_a_measurement_name() {
        let codes = Codes::load().unwrap();
        let rules = MeasurementRules::load().unwrap();
        for name in codes.loinc.keys() {
            assert!(
                rules.aliases_of(name).next().is_some(),
                "{name} is not in measurement_names.tsv"
            );
        }
    }
}
