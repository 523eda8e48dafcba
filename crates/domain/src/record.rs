use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ValidationError;
use crate::account::UnknownVariant;

/// Identifier of a record (all its versions share it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(pub Uuid);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Uuid> for RecordId {
    fn from(id: Uuid) -> Self {
        RecordId(id)
    }
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s).ok_or(UnknownVariant)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

named_enum!(
    /// What kind of clinical information a record holds; consents can be scoped by it.
    RecordCategory {
        ClinicalNote => "clinical-note",
        LabReport => "lab-report",
        ImagingReport => "imaging-report",
        Prescription => "prescription",
        DischargeSummary => "discharge-summary",
        VitalSigns => "vital-signs",
        FhirResource => "fhir-resource",
        Document => "document",
    }
);

named_enum!(
    /// Why data is used. A consent names the purposes it allows; every read states one.
    Purpose {
        Treatment => "treatment",
        CareCoordination => "care-coordination",
        Emergency => "emergency",
        Research => "research",
    }
);

impl RecordCategory {
    pub fn parse(value: &str) -> Result<RecordCategory, ValidationError> {
        value.parse().map_err(|_| {
            ValidationError::new(
                "category",
                "INVALID_CATEGORY",
                "category must be one of clinical-note, lab-report, imaging-report, prescription, \
                 discharge-summary, vital-signs, fhir-resource, document",
            )
        })
    }
}

impl Purpose {
    pub fn parse(value: &str) -> Result<Purpose, ValidationError> {
        value.parse().map_err(|_| {
            ValidationError::new(
                "purpose",
                "INVALID_PURPOSE",
                "purpose must be one of treatment, care-coordination, emergency, research",
            )
        })
    }
}

/// A record's media type, checked to be a plain `type/subtype` token pair (parameters such as
/// `charset` are dropped; text is always stored as UTF-8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaType(String);

impl MediaType {
    pub const TEXT: &'static str = "text/plain";
    pub const FHIR_JSON: &'static str = "application/fhir+json";

    pub fn parse(value: &str) -> Result<MediaType, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "content_type",
                "INVALID_CONTENT_TYPE",
                "not a valid media type",
            )
        };
        let essence = value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let (kind, subtype) = essence.split_once('/').ok_or_else(invalid)?;
        let token = |s: &str| {
            !s.is_empty()
                && s.len() <= 127
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        if !token(kind) || !token(subtype) {
            return Err(invalid());
        }
        Ok(MediaType(essence))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks that content of this type is what it claims where that is cheap to know:
    /// text must be UTF-8, FHIR JSON must be a JSON object with a `resourceType`.
    pub fn check_content(&self, content: &[u8]) -> Result<(), ValidationError> {
        let refuse = |message: &str| ValidationError::new("content", "INVALID_CONTENT", message);
        match self.as_str() {
            Self::TEXT if std::str::from_utf8(content).is_err() => {
                Err(refuse("text/plain content must be valid UTF-8"))
            }
            Self::FHIR_JSON if !looks_like_fhir(content) => Err(refuse(
                "application/fhir+json content must be a JSON object with a resourceType",
            )),
            _ => Ok(()),
        }
    }
}

fn looks_like_fhir(content: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Resource {
        #[serde(rename = "resourceType")]
        resource_type: String,
    }
    serde_json::from_slice::<Resource>(content).is_ok_and(|r| !r.resource_type.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_purposes_round_trip() {
        for c in RecordCategory::ALL {
            assert_eq!(RecordCategory::parse(c.as_str()), Ok(*c));
        }
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.as_str()), Ok(*p));
        }
        assert!(RecordCategory::parse("x-ray").is_err());
        assert!(Purpose::parse("marketing").is_err());
    }

    #[test]
    fn media_types_are_normalised() {
        assert_eq!(
            MediaType::parse("Text/Plain; charset=UTF-8")
                .unwrap()
                .as_str(),
            "text/plain"
        );
        assert_eq!(
            MediaType::parse("application/pdf").unwrap().as_str(),
            "application/pdf"
        );
        for bad in ["", "text", "/plain", "text/", "te xt/plain", "a/b/c"] {
            assert!(MediaType::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn content_must_match_its_type() {
        let text = MediaType::parse("text/plain").unwrap();
        assert!(text.check_content("主诉：咳嗽".as_bytes()).is_ok());
        assert!(text.check_content(&[0xff, 0xfe]).is_err());
        let fhir = MediaType::parse("application/fhir+json").unwrap();
        assert!(
            fhir.check_content(br#"{"resourceType":"Observation"}"#)
                .is_ok()
        );
        assert!(fhir.check_content(br#"{"id":"x"}"#).is_err());
        assert!(fhir.check_content(b"not json").is_err());
        let pdf = MediaType::parse("application/pdf").unwrap();
        assert!(pdf.check_content(&[0, 1, 2]).is_ok());
    }
}
