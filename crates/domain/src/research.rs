//! Research values: a patient's demographic profile (the quasi-identifiers research outputs
//! generalise), research purposes and the data categories a project asks for and a patient
//! opts in to.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::ValidationError;

/// Administrative sex as recorded for care.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "other",
            Sex::Unknown => "unknown",
        }
    }

    pub fn parse(value: &str) -> Result<Sex, ValidationError> {
        match value {
            "female" => Ok(Sex::Female),
            "male" => Ok(Sex::Male),
            "other" => Ok(Sex::Other),
            "unknown" => Ok(Sex::Unknown),
            _ => Err(ValidationError::new(
                "sex",
                "INVALID_SEX",
                "sex must be one of female, male, other, unknown",
            )),
        }
    }
}

/// A six-digit Chinese administrative division code (GB/T 2260): two digits of province,
/// two of city, two of county. Generalising drops digits from the right.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(value: &str) -> Result<RegionCode, ValidationError> {
        let valid = value.len() == 6
            && value.bytes().all(|b| b.is_ascii_digit())
            && !value.starts_with("00");
        if valid {
            Ok(RegionCode(value.to_owned()))
        } else {
            Err(ValidationError::new(
                "region",
                "INVALID_REGION",
                "region must be a six-digit administrative division code, e.g. 330106",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code with its last `6 - digits` digits replaced by zeros (`digits` of 2, 4 or 6).
    pub fn truncated(&self, digits: usize) -> String {
        let keep = digits.min(6);
        format!("{}{}", &self.0[..keep], "0".repeat(6 - keep))
    }
}

impl TryFrom<String> for RegionCode {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        RegionCode::parse(&value)
    }
}

impl From<RegionCode> for String {
    fn from(code: RegionCode) -> String {
        code.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A patient's demographics. Kept sealed like clinical data; research outputs only ever
/// show them generalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientProfile {
    pub sex: Sex,
    pub birth_date: Date,
    pub region: RegionCode,
    /// The patient's name, if they gave it (1–50 characters).
    pub name: Option<String>,
}

impl PatientProfile {
    /// Checks the parts that types alone cannot: a birth date not after `today` and not
    /// more than 130 years before it, a name of 1–50 characters without control characters.
    pub fn parse(
        sex: Sex,
        birth_date: Date,
        region: RegionCode,
        name: Option<String>,
        today: Date,
    ) -> Result<PatientProfile, ValidationError> {
        let oldest = today.replace_year(today.year() - 130).unwrap_or(Date::MIN);
        if birth_date > today || birth_date < oldest {
            return Err(ValidationError::new(
                "birth_date",
                "INVALID_BIRTH_DATE",
                "birth_date must be in the past 130 years",
            ));
        }
        let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if let Some(name) = &name
            && (name.chars().count() > 50 || name.chars().any(char::is_control))
        {
            return Err(ValidationError::new(
                "name",
                "INVALID_NAME",
                "name must be 1-50 characters without control characters",
            ));
        }
        Ok(PatientProfile {
            sex,
            birth_date,
            region,
            name,
        })
    }

    /// Age in whole years on `on`.
    pub fn age_on(&self, on: Date) -> i32 {
        let mut age = on.year() - self.birth_date.year();
        if (on.month() as u8, on.day()) < (self.birth_date.month() as u8, self.birth_date.day()) {
            age -= 1;
        }
        age.max(0)
    }
}

macro_rules! research_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal, $code:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
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

            pub fn parse(value: &str) -> Result<$name, ValidationError> {
                $name::ALL.iter().copied().find(|v| v.as_str() == value).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    ValidationError::new($field, $code, format!("{} must be one of {}", $field, names.join(", ")))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

research_enum!(
    /// Why a research project uses data; a patient opts in per purpose.
    ResearchPurpose, "purpose", "INVALID_RESEARCH_PURPOSE" {
        Academic => "academic",
        PublicHealth => "public-health",
        Commercial => "commercial",
    }
);

research_enum!(
    /// The kinds of data a project asks for; a patient opts in per category.
    DataCategory, "category", "INVALID_DATA_CATEGORY" {
        Demographics => "demographics",
        Diagnoses => "diagnoses",
        Observations => "observations",
        Notes => "notes",
    }
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    #[test]
    fn region_codes_are_six_digits_and_generalise_from_the_right() {
        let code = RegionCode::parse("330106").unwrap();
        assert_eq!(code.truncated(4), "330100");
        assert_eq!(code.truncated(2), "330000");
        for bad in ["33010", "3301066", "33010a", "000000", ""] {
            assert!(RegionCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ages_count_whole_years_and_birth_dates_are_checked() {
        let today = date!(2026 - 12 - 05);
        let sex = Sex::Female;
        let region = RegionCode::parse("330106").unwrap();
        let p =
            PatientProfile::parse(sex, date!(1980 - 12 - 06), region.clone(), None, today).unwrap();
        assert_eq!(p.age_on(today), 45);
        assert_eq!(p.age_on(date!(2026 - 12 - 06)), 46);
        assert!(
            PatientProfile::parse(sex, date!(2027 - 01 - 01), region.clone(), None, today).is_err()
        );
        assert!(
            PatientProfile::parse(sex, date!(1890 - 01 - 01), region.clone(), None, today).is_err()
        );
        assert!(
            PatientProfile::parse(
                sex,
                date!(1980 - 01 - 01),
                region,
                Some("a\u{0}".into()),
                today
            )
            .is_err()
        );
        assert_eq!(DataCategory::parse("notes").unwrap(), DataCategory::Notes);
        assert!(ResearchPurpose::parse("marketing").is_err());
    }
}
