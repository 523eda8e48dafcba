//! China-PAR 10-year ASCVD risk (Yang 2016) — inputs and 2019 guideline bands only.
//!
//! clinical-references.md §6 states that the coefficients could not be verified against
//! the primary Data Supplement, and the transcribed two-decimal values do not reproduce
//! the paper's worked example. This module therefore validates the inputs and offers the
//! risk bands, but **computes no risk**: `china_par` always ends in
//! [`ScoreError::NotVerified`] once the inputs are valid. Use `framingham_2008_cvd`.

use serde::{Deserialize, Serialize};

use crate::Sex;
use crate::error::ScoreError;
use crate::input::{Fields, parse_sex};
use crate::result::Band;
use crate::units::Cholesterol;
use crate::validate;

pub const NAME: &str = "china_par";

/// Inputs of the official calculator (2019 guideline). DBP is collected but not used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChinaParInput {
    pub sex: Option<Sex>,
    pub age: Option<f64>,
    pub urban: Option<bool>,
    /// North of the Yangtze.
    pub north: Option<bool>,
    pub waist_cm: Option<f64>,
    pub total_cholesterol: Option<Cholesterol>,
    pub hdl_cholesterol: Option<Cholesterol>,
    pub sbp_mmhg: Option<f64>,
    pub dbp_mmhg: Option<f64>,
    pub bp_treated: Option<bool>,
    pub diabetes: Option<bool>,
    pub smoker: Option<bool>,
    pub family_history_ascvd: Option<bool>,
}

/// Why no number is produced.
pub const NOT_VERIFIED_REASON: &str = "China-PAR coefficients are not verified against the primary Data Supplement \
     (transcribed two-decimal values give 11.6 % vs the paper's 11.0 % for its worked example); \
     no risk is computed — use framingham_2008_cvd, labelled as a non-Chinese model";

/// 2019 Chinese guideline bands for a 10-year ASCVD risk in percent.
pub fn band(risk_percent: f64) -> Band {
    if risk_percent >= 10.0 {
        Band::new("high", "10-year ASCVD risk ≥10 %: high")
    } else if risk_percent >= 5.0 {
        Band::new("medium", "10-year ASCVD risk 5.0–9.9 %: medium")
    } else {
        Band::new(
            "low",
            "10-year ASCVD risk <5 %: low; ages 20–59 also need a lifetime-risk assessment",
        )
    }
}

fn validated(input: &ChinaParInput) -> Result<(), ScoreError> {
    if let Some(age) = input.age {
        validate::check("age", age, validate::AGE_YEARS)?;
        if !(35.0..=74.0).contains(&age) {
            return Err(ScoreError::invalid(
                "age",
                format!("China-PAR was derived in ages 35–74; age {age}"),
            ));
        }
    }
    validate::check_opt("waist_cm", input.waist_cm, validate::WAIST_CM)?;
    validate::check_opt("sbp_mmhg", input.sbp_mmhg, validate::SBP_MMHG)?;
    validate::check_opt("dbp_mmhg", input.dbp_mmhg, validate::DBP_MMHG)?;
    input
        .total_cholesterol
        .map(|c| c.validated("tc_mg_dl", validate::CHOLESTEROL_MG_DL))
        .transpose()?;
    input
        .hdl_cholesterol
        .map(|c| c.validated("hdl_mg_dl", validate::HDL_MG_DL))
        .transpose()?;
    Ok(())
}

/// Validates the inputs, then refuses to compute (see the module documentation).
pub fn china_par(input: &ChinaParInput) -> Result<crate::ScoreResult, ScoreError> {
    validated(input)?;
    Err(ScoreError::NotVerified {
        score: NAME.into(),
        reason: NOT_VERIFIED_REASON.into(),
    })
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<ChinaParInput, ScoreError> {
    Ok(ChinaParInput {
        sex: f.text(&["sex"])?.map(|s| parse_sex("sex", s)).transpose()?,
        age: f.number(&["age"])?,
        urban: f.boolean(&["urban"])?,
        north: f.boolean(&["north"])?,
        waist_cm: f.number(&["waist_cm"])?,
        total_cholesterol: crate::lab_fields::cholesterol(
            f,
            &crate::lab_fields::TOTAL_CHOLESTEROL,
        )?,
        hdl_cholesterol: crate::lab_fields::cholesterol(f, &crate::lab_fields::HDL_CHOLESTEROL)?,
        sbp_mmhg: f.number(&["sbp_mmhg"])?,
        dbp_mmhg: f.number(&["dbp_mmhg"])?,
        bp_treated: f.boolean(&["bp_treated"])?,
        diabetes: f.boolean(&["diabetes"])?,
        smoker: f.boolean(&["smoker"])?,
        family_history_ascvd: f.boolean(&["family_history_ascvd"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_computes_a_number() {
        let err = china_par(&ChinaParInput {
            age: Some(60.0),
            sex: Some(Sex::Male),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(err, ScoreError::NotVerified { ref score, .. } if score == "china_par"));
    }

    #[test]
    fn paper_worked_example_profile_is_valid_but_not_computed() {
        // clinical-references.md §6 acceptance profile (published 2.2/5.4/11.0/19.6 % in
        // men at 40/50/60/70): the inputs validate, and the answer is still NotVerified.
        for age in [40.0, 50.0, 60.0, 70.0] {
            let input = ChinaParInput {
                sex: Some(Sex::Male),
                age: Some(age),
                urban: Some(true),
                north: Some(true),
                waist_cm: Some(80.0),
                total_cholesterol: Some(Cholesterol::MgDl(210.0)),
                hdl_cholesterol: Some(Cholesterol::MgDl(55.0)),
                sbp_mmhg: Some(130.0),
                dbp_mmhg: None,
                bp_treated: Some(false),
                diabetes: Some(true),
                smoker: Some(false),
                family_history_ascvd: Some(false),
            };
            assert!(matches!(
                china_par(&input),
                Err(ScoreError::NotVerified { .. })
            ));
        }
    }

    #[test]
    fn outside_derivation_ages_is_an_input_error() {
        for age in [34.0, 75.0, 20.0] {
            let err = china_par(&ChinaParInput {
                age: Some(age),
                ..Default::default()
            })
            .unwrap_err();
            assert!(
                matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "age"),
                "age {age}"
            );
        }
    }

    #[test]
    fn guideline_band_edges() {
        for (r, b) in [
            (4.9, "low"),
            (5.0, "medium"),
            (9.9, "medium"),
            (9.99, "medium"),
            (10.0, "high"),
            (10.1, "high"),
        ] {
            assert_eq!(band(r).code, b, "risk {r}");
        }
    }
}
