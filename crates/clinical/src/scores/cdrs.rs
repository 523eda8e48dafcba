//! Chinese Diabetes Risk Score (Zhou 2013; 中国2型糖尿病防治指南 2017/2020),
//! clinical-references.md §7. Point table is SECONDARY-CONSISTENT (transcriptions agree
//! and the maxima sum to the published 51). Age in completed years, 20–74 only; BMI and
//! waist rounded half-up to one decimal; SBP to a whole number. Waist and SBP are never
//! imputed: missing ⇒ incomplete.

use serde::{Deserialize, Serialize};

use crate::Sex;
use crate::error::ScoreError;
use crate::input::{Fields, parse_sex};
use crate::result::{Band, Component, Reference, ScoreResult, sum_points};
use crate::rounding::{round_integer, round_one_decimal};
use crate::validate;

pub const NAME: &str = "cdrs";

/// Inputs for the Chinese Diabetes Risk Score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CdrsInput {
    pub age: Option<f64>,
    pub sex: Option<Sex>,
    pub sbp_mmhg: Option<f64>,
    pub bmi: Option<f64>,
    pub waist_cm: Option<f64>,
    pub family_history_diabetes: Option<bool>,
    /// Already diagnosed with diabetes ⇒ the screening score does not apply.
    pub diagnosed_diabetes: Option<bool>,
}

pub(crate) fn reference() -> Reference {
    Reference {
        citation: "Zhou X, Qiao Q, Ji L, et al. Nonlaboratory-based risk assessment algorithm \
                   for undiagnosed type 2 diabetes developed on a nation-wide diabetes survey. \
                   Diabetes Care 2013;36:3944–3952; 中国糖尿病风险评分表, 中国2型糖尿病防治指南 \
                   (2017, 2020)."
            .into(),
        rule_set: "CDRS 0–51; ≥25 → OGTT (point table from agreeing transcriptions of the guideline table)".into(),
    }
}

/// ≥ 25 → high (OGTT recommended).
pub fn band(total: f64) -> Band {
    if total >= 25.0 {
        Band::new(
            "high",
            "CDRS ≥25: high risk of undiagnosed type 2 diabetes — OGTT recommended",
        )
    } else {
        Band::new("low", "CDRS <25: below the screening cut-off")
    }
}

/// Points for age in completed years (20–74).
pub fn age_points(age_years: f64) -> f64 {
    match age_years.floor() {
        a if a < 25.0 => 0.0,
        a if a < 35.0 => 4.0,
        a if a < 40.0 => 8.0,
        a if a < 45.0 => 11.0,
        a if a < 50.0 => 12.0,
        a if a < 55.0 => 13.0,
        a if a < 60.0 => 15.0,
        a if a < 65.0 => 16.0,
        _ => 18.0,
    }
}

/// Points for systolic BP (whole mmHg).
pub fn sbp_points(sbp: f64) -> f64 {
    match round_integer(sbp) {
        s if s < 110.0 => 0.0,
        s if s < 120.0 => 1.0,
        s if s < 130.0 => 3.0,
        s if s < 140.0 => 6.0,
        s if s < 150.0 => 7.0,
        s if s < 160.0 => 8.0,
        _ => 10.0,
    }
}

/// Points for BMI (one decimal).
pub fn bmi_points(bmi: f64) -> f64 {
    match round_one_decimal(bmi) {
        b if b < 22.0 => 0.0,
        b if b < 24.0 => 1.0,
        b if b < 30.0 => 3.0,
        _ => 5.0,
    }
}

/// Points for waist (one decimal); women's bands sit 5 cm lower.
pub fn waist_points(waist_cm: f64, sex: Sex) -> f64 {
    let offset = if sex == Sex::Female { 5.0 } else { 0.0 };
    match round_one_decimal(waist_cm) + offset {
        w if w < 75.0 => 0.0,
        w if w < 80.0 => 3.0,
        w if w < 85.0 => 5.0,
        w if w < 90.0 => 7.0,
        w if w < 95.0 => 8.0,
        _ => 10.0,
    }
}

fn numeric(
    name: &str,
    field: &str,
    value: Option<f64>,
    max: f64,
    shown: impl Fn(f64) -> String,
    points: impl Fn(f64) -> f64,
) -> Component {
    match value {
        Some(v) => Component::scored(name, &[field], shown(v), points(v), max, "guideline table"),
        None => Component::unscored(name, &[field], &[field], max),
    }
}

fn validated(input: &CdrsInput) -> Result<(), ScoreError> {
    validate::check_opt("age", input.age, validate::AGE_YEARS)?;
    validate::check_opt("sbp_mmhg", input.sbp_mmhg, validate::SBP_MMHG)?;
    validate::check_opt("bmi", input.bmi, validate::BMI)?;
    validate::check_opt("waist_cm", input.waist_cm, validate::WAIST_CM)?;
    Ok(())
}

/// Computes the Chinese Diabetes Risk Score.
pub fn cdrs(input: &CdrsInput) -> Result<ScoreResult, ScoreError> {
    validated(input)?;
    let waist = match (input.waist_cm, input.sex) {
        (Some(w), Some(sex)) => Component::scored(
            "waist",
            &["waist_cm", "sex"],
            format!("{:.1} cm", round_one_decimal(w)),
            waist_points(w, sex),
            10.0,
            "sex-specific waist bands",
        ),
        (w, _) => {
            let missing: Vec<&str> = [("waist_cm", w.is_none()), ("sex", input.sex.is_none())]
                .into_iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| n)
                .collect();
            Component::unscored("waist", &["waist_cm", "sex"], &missing, 10.0)
        }
    };
    let components = vec![
        numeric(
            "age",
            "age",
            input.age,
            18.0,
            |a| format!("{} years", a.floor()),
            age_points,
        ),
        numeric(
            "systolic_bp",
            "sbp_mmhg",
            input.sbp_mmhg,
            10.0,
            |s| format!("{} mmHg", round_integer(s)),
            sbp_points,
        ),
        numeric(
            "bmi",
            "bmi",
            input.bmi,
            5.0,
            |b| format!("{:.1} kg/m²", round_one_decimal(b)),
            bmi_points,
        ),
        waist,
        match input.family_history_diabetes {
            Some(f) => Component::scored(
                "family_history",
                &["family_history_diabetes"],
                f.to_string(),
                if f { 6.0 } else { 0.0 },
                6.0,
                "diabetes in parents, siblings or children",
            ),
            None => Component::unscored(
                "family_history",
                &["family_history_diabetes"],
                &["family_history_diabetes"],
                6.0,
            ),
        },
        match input.sex {
            Some(s) => Component::scored(
                "sex",
                &["sex"],
                format!("{s:?}").to_lowercase(),
                if s == Sex::Male { 2.0 } else { 0.0 },
                2.0,
                "male → 2",
            ),
            None => Component::unscored("sex", &["sex"], &["sex"], 2.0),
        },
    ];
    let mut result = ScoreResult::additive(NAME, components, |p| band(sum_points(p)), reference());
    if let Some(age) = input.age.filter(|a| !(20.0..75.0).contains(&a.floor())) {
        result = result.not_applicable(format!("derived in adults 20–74; age {age}"));
    }
    if input.diagnosed_diabetes == Some(true) {
        result = result.not_applicable("not for people already diagnosed with diabetes".into());
    }
    Ok(result)
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<CdrsInput, ScoreError> {
    Ok(CdrsInput {
        age: f.number(&["age"])?,
        sex: f.text(&["sex"])?.map(|s| parse_sex("sex", s)).transpose()?,
        sbp_mmhg: f.number(&["sbp_mmhg", "systolic_bp"])?,
        bmi: f.number(&["bmi"])?,
        waist_cm: f.number(&["waist_cm", "waist"])?,
        family_history_diabetes: f.boolean(&["family_history_diabetes"])?,
        diagnosed_diabetes: f.boolean(&["diagnosed_diabetes"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_edges() {
        for (a, p) in [
            (20.0, 0.0),
            (24.9, 0.0),
            (25.0, 4.0),
            (34.0, 4.0),
            (35.0, 8.0),
            (39.0, 8.0),
            (40.0, 11.0),
            (44.0, 11.0),
            (45.0, 12.0),
            (49.0, 12.0),
            (50.0, 13.0),
            (54.0, 13.0),
            (55.0, 15.0),
            (59.0, 15.0),
            (60.0, 16.0),
            (64.0, 16.0),
            (65.0, 18.0),
            (74.0, 18.0),
        ] {
            assert_eq!(age_points(a), p, "age {a}");
        }
    }

    #[test]
    fn sbp_edges() {
        for (s, p) in [
            (109.0, 0.0),
            (110.0, 1.0),
            (119.0, 1.0),
            (120.0, 3.0),
            (129.0, 3.0),
            (130.0, 6.0),
            (139.0, 6.0),
            (140.0, 7.0),
            (149.0, 7.0),
            (150.0, 8.0),
            (159.0, 8.0),
            (160.0, 10.0),
            (161.0, 10.0),
            (109.5, 1.0),
            (109.4, 0.0),
        ] {
            assert_eq!(sbp_points(s), p, "sbp {s}");
        }
    }

    #[test]
    fn bmi_edges_with_rounding() {
        for (b, p) in [
            (21.9, 0.0),
            (22.0, 1.0),
            (21.95, 1.0),
            (21.94, 0.0),
            (23.9, 1.0),
            (23.95, 3.0),
            (24.0, 3.0),
            (29.9, 3.0),
            (30.0, 5.0),
            (29.96, 5.0),
        ] {
            assert_eq!(bmi_points(b), p, "bmi {b}");
        }
    }

    #[test]
    fn waist_edges_by_sex() {
        for (w, p) in [
            (74.9, 0.0),
            (75.0, 3.0),
            (79.9, 3.0),
            (80.0, 5.0),
            (84.9, 5.0),
            (85.0, 7.0),
            (89.9, 7.0),
            (90.0, 8.0),
            (94.9, 8.0),
            (95.0, 10.0),
            (74.95, 3.0),
        ] {
            assert_eq!(waist_points(w, Sex::Male), p, "male waist {w}");
        }
        for (w, p) in [
            (69.9, 0.0),
            (70.0, 3.0),
            (74.9, 3.0),
            (75.0, 5.0),
            (79.9, 5.0),
            (80.0, 7.0),
            (84.9, 7.0),
            (85.0, 8.0),
            (89.9, 8.0),
            (90.0, 10.0),
        ] {
            assert_eq!(waist_points(w, Sex::Female), p, "female waist {w}");
        }
    }

    fn example() -> CdrsInput {
        CdrsInput {
            age: Some(52.0),
            sex: Some(Sex::Male),
            sbp_mmhg: Some(135.0),
            bmi: Some(25.0),
            waist_cm: Some(88.0),
            family_history_diabetes: Some(false),
            diagnosed_diabetes: None,
        }
    }

    #[test]
    fn example_total_and_cut_off() {
        // 13 (age 50–54) + 6 (SBP 130–139) + 3 (BMI 24–29.9) + 7 (waist 85–89.9 m) + 0 + 2 (male) = 31
        let r = cdrs(&example()).unwrap();
        assert_eq!(r.total, Some(31.0));
        assert_eq!(r.band.as_deref(), Some("high"));
        assert_eq!(band(24.0).code, "low");
        assert_eq!(band(25.0).code, "high");
        assert_eq!(band(26.0).code, "high");
    }

    #[test]
    fn maximum_is_51() {
        let r = cdrs(&CdrsInput {
            age: Some(70.0),
            sbp_mmhg: Some(170.0),
            bmi: Some(32.0),
            waist_cm: Some(100.0),
            family_history_diabetes: Some(true),
            ..example()
        })
        .unwrap();
        assert_eq!(r.total, Some(51.0));
    }

    #[test]
    fn missing_waist_not_imputed() {
        let r = cdrs(&CdrsInput {
            waist_cm: None,
            ..example()
        })
        .unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.partial_total, Some(24.0));
        assert_eq!(r.missing, vec!["waist_cm".to_string()]);
        assert_eq!(r.band, None);
    }

    #[test]
    fn outside_age_range_not_applicable() {
        for age in [19.9, 75.0, 80.0] {
            let r = cdrs(&CdrsInput {
                age: Some(age),
                ..example()
            })
            .unwrap();
            assert!(!r.applicable, "age {age}");
            assert_eq!(r.total, None);
        }
        assert!(
            cdrs(&CdrsInput {
                age: Some(74.9),
                ..example()
            })
            .unwrap()
            .applicable
        );
        assert!(
            cdrs(&CdrsInput {
                age: Some(20.0),
                ..example()
            })
            .unwrap()
            .applicable
        );
    }

    #[test]
    fn diagnosed_diabetes_not_applicable() {
        let r = cdrs(&CdrsInput {
            diagnosed_diabetes: Some(true),
            ..example()
        })
        .unwrap();
        assert!(!r.applicable);
    }
}
