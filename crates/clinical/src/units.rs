//! Laboratory quantities in the units Chinese hospitals report (µmol/L, mmol/L, ×10⁹/L)
//! and the mg/dL units some published tables use, with the exact conversion factors of
//! clinical-references.md §0.4; plus recognition of free-text unit strings.

use serde::{Deserialize, Serialize};

use crate::error::ScoreError;
use crate::validate::{self, Limits};

/// µmol/L of creatinine in 1 mg/dL.
pub const CREATININE_UMOL_PER_MG_DL: f64 = 88.4;
/// µmol/L of bilirubin in 1 mg/dL.
pub const BILIRUBIN_UMOL_PER_MG_DL: f64 = 17.1;
/// BUN (mg/dL) ÷ 2.8 = urea (mmol/L).
pub const BUN_MG_DL_PER_UREA_MMOL_L: f64 = 2.8;
/// Cholesterol: mg/dL × 0.02586 = mmol/L.
pub const CHOLESTEROL_MMOL_L_PER_MG_DL: f64 = 0.02586;
/// Albumin-to-creatinine ratio: 1 mg/mmol ≈ 8.84 mg/g (1 mmol creatinine = 113.12 mg).
/// KDIGO prints the A-category edges separately in each unit, so staging never uses it.
pub const ACR_MG_G_PER_MG_MMOL: f64 = 8.84;
/// mmHg in 1 kPa.
pub const MMHG_PER_KPA: f64 = 7.500_62;

/// Serum creatinine in the unit it was reported in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Creatinine {
    MgDl(f64),
    UmolL(f64),
}

impl Creatinine {
    /// Value in mg/dL (µmol/L ÷ 88.4).
    pub fn mg_dl(self) -> f64 {
        match self {
            Self::MgDl(v) => v,
            Self::UmolL(v) => v / CREATININE_UMOL_PER_MG_DL,
        }
    }

    /// Value in µmol/L (mg/dL × 88.4).
    pub fn umol_l(self) -> f64 {
        match self {
            Self::MgDl(v) => v * CREATININE_UMOL_PER_MG_DL,
            Self::UmolL(v) => v,
        }
    }

    /// Field name of the unit supplied.
    pub fn field(self) -> &'static str {
        match self {
            Self::MgDl(_) => "creatinine_mg_dl",
            Self::UmolL(_) => "creatinine_umol_l",
        }
    }

    pub(crate) fn validated(self) -> Result<Self, ScoreError> {
        match self {
            Self::MgDl(v) => checked(self, v, validate::CREATININE_MG_DL),
            Self::UmolL(v) => checked(self, v, validate::CREATININE_UMOL_L),
        }
    }
}

/// Total bilirubin in the unit it was reported in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bilirubin {
    MgDl(f64),
    UmolL(f64),
}

impl Bilirubin {
    /// Field name of the unit supplied.
    pub fn field(self) -> &'static str {
        match self {
            Self::MgDl(_) => "bilirubin_mg_dl",
            Self::UmolL(_) => "bilirubin_umol_l",
        }
    }

    /// Value in mg/dL (µmol/L ÷ 17.1).
    pub fn mg_dl(self) -> f64 {
        match self {
            Self::MgDl(v) => v,
            Self::UmolL(v) => v / BILIRUBIN_UMOL_PER_MG_DL,
        }
    }

    pub(crate) fn validated(self) -> Result<Self, ScoreError> {
        match self {
            Self::MgDl(v) => checked(self, v, validate::BILIRUBIN_MG_DL),
            Self::UmolL(v) => checked(self, v, validate::BILIRUBIN_UMOL_L),
        }
    }
}

/// Urea (mmol/L, as reported in China and the UK) or blood urea nitrogen (mg/dL, US).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urea {
    MmolL(f64),
    BunMgDl(f64),
}

impl Urea {
    /// Field name of the unit supplied.
    pub fn field(self) -> &'static str {
        match self {
            Self::MmolL(_) => "urea_mmol_l",
            Self::BunMgDl(_) => "bun_mg_dl",
        }
    }

    /// Urea in mmol/L (BUN mg/dL ÷ 2.8).
    pub fn mmol_l(self) -> f64 {
        match self {
            Self::MmolL(v) => v,
            Self::BunMgDl(v) => v / BUN_MG_DL_PER_UREA_MMOL_L,
        }
    }

    pub(crate) fn validated(self) -> Result<Self, ScoreError> {
        match self {
            Self::MmolL(v) => checked(self, v, validate::UREA_MMOL_L),
            Self::BunMgDl(v) => checked(self, v, validate::BUN_MG_DL),
        }
    }
}

/// Urine albumin-to-creatinine ratio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Acr {
    MgG(f64),
    MgMmol(f64),
}

impl Acr {
    /// Field name of the unit supplied.
    pub fn field(self) -> &'static str {
        match self {
            Self::MgG(_) => "acr_mg_g",
            Self::MgMmol(_) => "acr_mg_mmol",
        }
    }

    pub(crate) fn validated(self) -> Result<Self, ScoreError> {
        match self {
            Self::MgG(v) => checked(self, v, validate::ACR_MG_G),
            Self::MgMmol(v) => checked(self, v, validate::ACR_MG_MMOL),
        }
    }
}

/// Total or HDL cholesterol.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cholesterol {
    MgDl(f64),
    MmolL(f64),
}

impl Cholesterol {
    /// Value in mg/dL (mmol/L ÷ 0.02586).
    pub fn mg_dl(self) -> f64 {
        match self {
            Self::MgDl(v) => v,
            Self::MmolL(v) => v / CHOLESTEROL_MMOL_L_PER_MG_DL,
        }
    }

    pub(crate) fn validated(self, field: &str, mg_dl_limits: Limits) -> Result<Self, ScoreError> {
        let limits = Limits {
            min: mg_dl_limits.min * CHOLESTEROL_MMOL_L_PER_MG_DL,
            max: mg_dl_limits.max * CHOLESTEROL_MMOL_L_PER_MG_DL,
            unit: "mmol/L",
        };
        match self {
            Self::MgDl(v) => validate::check(field, v, mg_dl_limits).map(|_| self),
            Self::MmolL(v) => validate::check(field, v, limits).map(|_| self),
        }
    }
}

fn checked<T: Copy + HasField>(q: T, v: f64, limits: Limits) -> Result<T, ScoreError> {
    validate::check(q.field_name(), v, limits).map(|_| q)
}

trait HasField {
    fn field_name(&self) -> &'static str;
}

macro_rules! has_field {
    ($($t:ty),*) => {$(impl HasField for $t { fn field_name(&self) -> &'static str { self.field() } })*};
}
has_field!(Creatinine, Bilirubin, Urea, Acr);

/// Units recognised in free-text observation records (UCUM, English and Chinese forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Celsius,
    Fahrenheit,
    MmHg,
    KPa,
    PerMinute,
    Percent,
    /// ×10⁹/L (= ×10³/µL = G/L).
    TenE9PerL,
    /// cells per µL (×10⁻³ of ×10⁹/L).
    PerMicroLitre,
    /// no unit (flags, codes, scores).
    Dimensionless,
}

impl Unit {
    /// Recognises a unit string; `None` when unknown.
    pub fn parse(text: &str) -> Option<Self> {
        let t: String = text
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        let unit = match t.as_str() {
            "cel" | "°c" | "℃" | "c" | "degc" | "摄氏度" => Self::Celsius,
            "[degf]" | "°f" | "℉" | "f" | "degf" => Self::Fahrenheit,
            "mm[hg]" | "mmhg" | "毫米汞柱" => Self::MmHg,
            "kpa" | "千帕" => Self::KPa,
            "/min" | "1/min" | "{beats}/min" | "{breaths}/min" | "bpm" | "beats/min"
            | "breaths/min" | "次/分" | "次/分钟" | "次/min" | "/分" => Self::PerMinute,
            "%" => Self::Percent,
            "10*9/l" | "10^9/l" | "×10^9/l" | "x10^9/l" | "×10⁹/l" | "g/l" | "10*3/ul"
            | "10^3/ul" | "×10^3/µl" | "×10^3/μl" | "10^3/µl" | "10^3/μl" => Self::TenE9PerL,
            "/ul" | "/µl" | "/μl" | "cells/ul" | "cells/µl" | "cells/μl" => Self::PerMicroLitre,
            "" | "1" | "{score}" | "score" | "分" => Self::Dimensionless,
            _ => return None,
        };
        Some(unit)
    }
}

/// Converts `value` in `from` to the unit a score expects, or `None` if the two are not
/// commensurable (e.g. mmHg to °C).
pub fn convert(value: f64, from: Unit, to: Unit) -> Option<f64> {
    use Unit::*;
    match (from, to) {
        (a, b) if a == b => Some(value),
        (Fahrenheit, Celsius) => Some((value - 32.0) * 5.0 / 9.0),
        (KPa, MmHg) => Some(value * MMHG_PER_KPA),
        (PerMicroLitre, TenE9PerL) => Some(value / 1000.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creatinine_factor_is_88_4() {
        assert!((Creatinine::UmolL(88.4).mg_dl() - 1.0).abs() < 1e-12);
        assert!((Creatinine::MgDl(2.0).umol_l() - 176.8).abs() < 1e-9);
    }

    #[test]
    fn bilirubin_factor_is_17_1() {
        assert!((Bilirubin::UmolL(34.2).mg_dl() - 2.0).abs() < 1e-12);
        // the reference's own edge example: 20 µmol/L = 1.17 mg/dL
        assert!((Bilirubin::UmolL(20.0).mg_dl() - 1.1696).abs() < 1e-4);
    }

    #[test]
    fn bun_to_urea_divides_by_2_8() {
        assert!((Urea::BunMgDl(19.6).mmol_l() - 7.0).abs() < 1e-12);
    }

    #[test]
    fn cholesterol_factor_is_0_02586() {
        assert!((Cholesterol::MmolL(5.172).mg_dl() - 200.0).abs() < 1e-9);
    }

    #[test]
    fn chinese_and_ucum_units_parse() {
        assert_eq!(Unit::parse("℃"), Some(Unit::Celsius));
        assert_eq!(Unit::parse("Cel"), Some(Unit::Celsius));
        assert_eq!(Unit::parse("次/分"), Some(Unit::PerMinute));
        assert_eq!(Unit::parse("mm[Hg]"), Some(Unit::MmHg));
        assert_eq!(Unit::parse("×10^9/L"), Some(Unit::TenE9PerL));
        assert_eq!(Unit::parse("furlongs"), None);
    }

    #[test]
    fn conversions() {
        assert!((convert(101.3, Unit::Fahrenheit, Unit::Celsius).unwrap() - 38.5).abs() < 1e-9);
        assert!((convert(4.3, Unit::KPa, Unit::MmHg).unwrap() - 32.2527).abs() < 1e-3);
        assert_eq!(
            convert(12000.0, Unit::PerMicroLitre, Unit::TenE9PerL),
            Some(12.0)
        );
        assert_eq!(convert(1.0, Unit::MmHg, Unit::Celsius), None);
    }
}
