//! Result types; their JSON form is the schema of the annotated development set.

use serde::{Deserialize, Serialize};

/// CMeEE entity types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    /// Disease, diagnosis, injury.
    Dis,
    /// Symptom, sign, abnormal finding.
    Sym,
    /// Drug or drug class.
    Dru,
    /// Procedure, treatment, imaging or instrumented examination.
    Pro,
    /// Lab test or measured item.
    Ite,
    /// Body part or substance.
    Bod,
    /// Medical equipment or device.
    Equ,
    /// Microorganism.
    Mic,
    /// Department or unit.
    Dep,
}

impl EntityType {
    /// Parses the lower-case code used in data files and JSON.
    pub fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "dis" => Self::Dis,
            "sym" => Self::Sym,
            "dru" => Self::Dru,
            "pro" => Self::Pro,
            "ite" => Self::Ite,
            "bod" => Self::Bod,
            "equ" => Self::Equ,
            "mic" => Self::Mic,
            "dep" => Self::Dep,
            _ => return None,
        })
    }

    /// Whether assertion flags apply (diseases and symptoms only).
    pub fn takes_assertions(self) -> bool {
        matches!(self, Self::Dis | Self::Sym)
    }
}

/// A recognised entity; offsets are code-point indices into the original text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    pub start: usize,
    pub end: usize,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub negated: bool,
    pub uncertain: bool,
    pub historical: bool,
    pub family: bool,
    pub icd10: Option<String>,
    /// WHO ATC code of a drug (`dru`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atc: Option<String>,
    /// LOINC code of a test item (`ite`) named like a measurement (`肌酐`, `Hb`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loinc: Option<String>,
}

/// A vital sign, lab value or score written as name + value + unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurement {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub name: String,
    pub value: String,
    pub unit: String,
    /// LOINC code of the measured quantity, where LOINC has one for the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loinc: Option<String>,
    /// The unit as a UCUM code (`次/分` → `/min`, `μmol/L` → `umol/L`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ucum: Option<String>,
}

/// PHI categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PhiType {
    Name,
    IdCard,
    Phone,
    Address,
    Date,
    Age,
    Mrn,
    Org,
    Email,
    OtherId,
}

impl PhiType {
    /// The tag used by the type-tag de-identification strategy.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Name => "[NAME]",
            Self::IdCard => "[ID_CARD]",
            Self::Phone => "[PHONE]",
            Self::Address => "[ADDRESS]",
            Self::Date => "[DATE]",
            Self::Age => "[AGE]",
            Self::Mrn => "[MRN]",
            Self::Org => "[ORG]",
            Self::Email => "[EMAIL]",
            Self::OtherId => "[OTHER_ID]",
        }
    }
}

/// A span of protected health information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhiSpan {
    pub start: usize,
    pub end: usize,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: PhiType,
    /// Only on ages: whether the age identifies (90 or older).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phi: Option<bool>,
}

impl PhiSpan {
    /// Whether de-identification must remove this span (all but ages under 90).
    pub fn must_remove(&self) -> bool {
        self.kind != PhiType::Age || self.phi == Some(true)
    }
}

/// A headed section of a note: `start` is the header's first character, `end` the end of the
/// content without trailing whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub start: usize,
    pub end: usize,
}

/// Everything the engine finds in one note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    pub entities: Vec<Entity>,
    pub measurements: Vec<Measurement>,
    pub phi: Vec<PhiSpan>,
    pub sections: Vec<Section>,
}
