//! Framingham general CVD 10-year risk (D'Agostino 2008), clinical-references.md §6
//! fallback. Continuous, unrounded, unclamped; no official bands. Derived in a US,
//! predominantly white cohort: labelled as a non-Chinese model.

use serde::{Deserialize, Serialize};

use crate::Sex;
use crate::error::ScoreError;
use crate::input::{Fields, parse_sex};
use crate::result::{Component, Reference, ScoreResult};
use crate::units::Cholesterol;
use crate::validate;

pub const NAME: &str = "framingham_2008_cvd";

/// Inputs for Framingham 2008 general CVD risk; all are required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FraminghamInput {
    pub age: Option<f64>,
    pub sex: Option<Sex>,
    pub total_cholesterol: Option<Cholesterol>,
    pub hdl_cholesterol: Option<Cholesterol>,
    pub sbp_mmhg: Option<f64>,
    pub bp_treated: Option<bool>,
    pub smoker: Option<bool>,
    pub diabetes: Option<bool>,
}

/// Sex-specific coefficients (Framingham Heart Study risk-function page).
struct Coefficients {
    ln_age: f64,
    ln_tc: f64,
    ln_hdl: f64,
    ln_sbp_untreated: f64,
    ln_sbp_treated: f64,
    smoker: f64,
    diabetes: f64,
    mean: f64,
    s0_10: f64,
}

const MEN: Coefficients = Coefficients {
    ln_age: 3.06117,
    ln_tc: 1.12370,
    ln_hdl: -0.93263,
    ln_sbp_untreated: 1.93303,
    ln_sbp_treated: 1.99881,
    smoker: 0.65451,
    diabetes: 0.57367,
    mean: 23.9802,
    s0_10: 0.88936,
};
const WOMEN: Coefficients = Coefficients {
    ln_age: 2.32888,
    ln_tc: 1.20904,
    ln_hdl: -0.70833,
    ln_sbp_untreated: 2.76157,
    ln_sbp_treated: 2.82263,
    smoker: 0.52873,
    diabetes: 0.69154,
    mean: 26.1931,
    s0_10: 0.95012,
};

pub(crate) fn reference() -> Reference {
    Reference {
        citation: "D'Agostino RB Sr, Vasan RS, Pencina MJ, et al. General cardiovascular risk \
                   profile for use in primary care: the Framingham Heart Study. Circulation \
                   2008;117:743–753."
            .into(),
        rule_set: "10-year general CVD risk = 1 − S0(10)^exp(Σβx − mean); TC/HDL mg/dL".into(),
    }
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, ScoreError> {
    value.ok_or_else(|| ScoreError::missing(field))
}

/// Computes the 10-year risk in percent.
pub fn framingham(input: &FraminghamInput) -> Result<ScoreResult, ScoreError> {
    let age = validate::check("age", required(input.age, "age")?, validate::AGE_YEARS)?;
    let sex = required(input.sex, "sex")?;
    let tc = required(input.total_cholesterol, "tc_mg_dl")?
        .validated("tc_mg_dl", validate::CHOLESTEROL_MG_DL)?
        .mg_dl();
    let hdl = required(input.hdl_cholesterol, "hdl_mg_dl")?
        .validated("hdl_mg_dl", validate::HDL_MG_DL)?
        .mg_dl();
    let sbp = validate::check(
        "sbp_mmhg",
        required(input.sbp_mmhg, "sbp_mmhg")?,
        validate::SBP_MMHG,
    )?;
    let treated = required(input.bp_treated, "bp_treated")?;
    let smoker = required(input.smoker, "smoker")?;
    let diabetes = required(input.diabetes, "diabetes")?;
    let c = if sex == Sex::Male { &MEN } else { &WOMEN };
    let beta_sbp = if treated {
        c.ln_sbp_treated
    } else {
        c.ln_sbp_untreated
    };
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let terms = [
        ("ln_age", "age", format!("{age} years"), c.ln_age * age.ln()),
        (
            "ln_total_cholesterol",
            "tc_mg_dl",
            format!("{tc:.1} mg/dL"),
            c.ln_tc * tc.ln(),
        ),
        (
            "ln_hdl_cholesterol",
            "hdl_mg_dl",
            format!("{hdl:.1} mg/dL"),
            c.ln_hdl * hdl.ln(),
        ),
        (
            "ln_sbp",
            "sbp_mmhg",
            format!(
                "{sbp} mmHg, {}",
                if treated { "treated" } else { "untreated" }
            ),
            beta_sbp * sbp.ln(),
        ),
        (
            "smoker",
            "smoker",
            smoker.to_string(),
            c.smoker * flag(smoker),
        ),
        (
            "diabetes",
            "diabetes",
            diabetes.to_string(),
            c.diabetes * flag(diabetes),
        ),
    ];
    let sum: f64 = terms.iter().map(|t| t.3).sum();
    let risk = 100.0 * (1.0 - c.s0_10.powf((sum - c.mean).exp()));
    let components = terms
        .into_iter()
        .map(|(name, field, shown, contribution)| {
            Component::scored(
                name,
                &[field],
                shown,
                contribution,
                0.0,
                "β·x on the log-hazard scale",
            )
        })
        .collect();
    let mut result = ScoreResult::continuous(NAME, Some(risk), None, "%", components, reference())
        .with_note(format!("Σβx = {sum:.4}; sex-specific mean {}; S0(10) = {}", c.mean, c.s0_10))
        .with_note("derived in a US, predominantly white cohort; calibration in Chinese patients not established — non-Chinese model")
        .with_note("outcome: general CVD (coronary, cerebrovascular, PAD, heart failure); population free of CVD at baseline");
    result.band_meaning = Some("no published bands: continuous 10-year risk".into());
    if !(30.0..=74.0).contains(&age) {
        result = result.not_applicable(format!("derived in ages 30–74; age {age}"));
        result.band_meaning = Some("no published bands: continuous 10-year risk".into());
    }
    Ok(result)
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<FraminghamInput, ScoreError> {
    Ok(FraminghamInput {
        age: f.number(&["age"])?,
        sex: f.text(&["sex"])?.map(|s| parse_sex("sex", s)).transpose()?,
        total_cholesterol: crate::lab_fields::cholesterol(
            f,
            &crate::lab_fields::TOTAL_CHOLESTEROL,
        )?,
        hdl_cholesterol: crate::lab_fields::cholesterol(f, &crate::lab_fields::HDL_CHOLESTEROL)?,
        sbp_mmhg: f.number(&["sbp_mmhg", "systolic_bp"])?,
        bp_treated: f.boolean(&["bp_treated"])?,
        smoker: f.boolean(&["smoker"])?,
        diabetes: f.boolean(&["diabetes"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cvrisk_vector() -> FraminghamInput {
        FraminghamInput {
            age: Some(55.0),
            sex: Some(Sex::Male),
            total_cholesterol: Some(Cholesterol::MgDl(213.0)),
            hdl_cholesterol: Some(Cholesterol::MgDl(50.0)),
            sbp_mmhg: Some(140.0),
            bp_treated: Some(false),
            smoker: Some(false),
            diabetes: Some(false),
        }
    }

    #[test]
    fn cvrisk_test_vector_13_53_percent() {
        // vcastro/CVrisk tests/testthat/test-ascvd_10y_frs.R (clinical-references.md §6)
        let r = framingham(&cvrisk_vector()).unwrap();
        let risk = r.total.unwrap();
        assert!((risk - 13.53).abs() < 0.005, "risk {risk}");
        assert_eq!(r.unit.as_deref(), Some("%"));
        assert_eq!(r.band, None);
    }

    #[test]
    fn mmol_l_input_converts() {
        let r = framingham(&FraminghamInput {
            total_cholesterol: Some(Cholesterol::MmolL(213.0 * 0.02586)),
            hdl_cholesterol: Some(Cholesterol::MmolL(50.0 * 0.02586)),
            ..cvrisk_vector()
        })
        .unwrap();
        assert!((r.total.unwrap() - 13.53).abs() < 0.005);
    }

    #[test]
    fn risk_rises_with_each_risk_factor() {
        let base = framingham(&cvrisk_vector()).unwrap().total.unwrap();
        for input in [
            FraminghamInput {
                smoker: Some(true),
                ..cvrisk_vector()
            },
            FraminghamInput {
                diabetes: Some(true),
                ..cvrisk_vector()
            },
            FraminghamInput {
                bp_treated: Some(true),
                ..cvrisk_vector()
            },
            FraminghamInput {
                sbp_mmhg: Some(160.0),
                ..cvrisk_vector()
            },
        ] {
            assert!(framingham(&input).unwrap().total.unwrap() > base);
        }
    }

    #[test]
    fn women_use_their_own_coefficients() {
        let r = framingham(&FraminghamInput {
            sex: Some(Sex::Female),
            ..cvrisk_vector()
        })
        .unwrap();
        let sum = WOMEN.ln_age * 55f64.ln()
            + WOMEN.ln_tc * 213f64.ln()
            + WOMEN.ln_hdl * 50f64.ln()
            + WOMEN.ln_sbp_untreated * 140f64.ln();
        let expected = 100.0 * (1.0 - WOMEN.s0_10.powf((sum - WOMEN.mean).exp()));
        assert!((r.total.unwrap() - expected).abs() < 1e-9);
    }

    #[test]
    fn missing_input_is_an_error_and_age_range_flagged() {
        let err = framingham(&FraminghamInput {
            smoker: None,
            ..cvrisk_vector()
        })
        .unwrap_err();
        assert_eq!(
            err,
            ScoreError::MissingField {
                field: "smoker".into()
            }
        );
        let r = framingham(&FraminghamInput {
            age: Some(29.0),
            ..cvrisk_vector()
        })
        .unwrap();
        assert!(!r.applicable);
        assert_eq!(r.total, None);
        assert!(
            framingham(&FraminghamInput {
                age: Some(30.0),
                ..cvrisk_vector()
            })
            .unwrap()
            .applicable
        );
        assert!(
            framingham(&FraminghamInput {
                age: Some(74.0),
                ..cvrisk_vector()
            })
            .unwrap()
            .applicable
        );
        assert!(
            !framingham(&FraminghamInput {
                age: Some(75.0),
                ..cvrisk_vector()
            })
            .unwrap()
            .applicable
        );
    }
}
