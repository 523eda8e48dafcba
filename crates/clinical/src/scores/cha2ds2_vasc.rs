//! CHA2DS2-VASc (Lip 2010; AHA/ASA 2014 Table 3 bands), clinical-references.md §5a.

use serde::{Deserialize, Serialize};

use crate::Sex;
use crate::error::ScoreError;
use crate::input::{Fields, parse_sex};
use crate::result::{Band, Component, Reference, ScoreResult, sum_points};
use crate::rounding::round_integer;
use crate::validate;

pub const NAME: &str = "cha2ds2_vasc";

/// Inputs for CHA2DS2-VASc.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cha2ds2VascInput {
    pub age: Option<f64>,
    pub sex: Option<Sex>,
    pub chf: Option<bool>,
    pub hypertension: Option<bool>,
    pub diabetes: Option<bool>,
    pub stroke_tia_te: Option<bool>,
    pub vascular_disease: Option<bool>,
}

pub(crate) fn reference() -> Reference {
    Reference {
        citation: "Lip GYH, et al. Refining clinical risk stratification for predicting stroke \
                   and thromboembolism in atrial fibrillation using a novel risk factor-based \
                   approach: the Euro Heart Survey on Atrial Fibrillation. Chest \
                   2010;137:263–272. Bands as tabulated in the AHA/ASA 2014 guideline, Table 3."
            .into(),
        rule_set: "CHA2DS2-VASc 0–9; 0 low, 1 moderate, ≥2 high".into(),
    }
}

/// AHA 2014 band.
pub fn band(total: f64) -> Band {
    if total >= 2.0 {
        Band::new(
            "high",
            "CHA2DS2-VASc ≥2: high stroke risk in atrial fibrillation",
        )
    } else if total >= 1.0 {
        Band::new(
            "moderate",
            "CHA2DS2-VASc 1: moderate stroke risk in atrial fibrillation",
        )
    } else {
        Band::new(
            "low",
            "CHA2DS2-VASc 0: low stroke risk in atrial fibrillation",
        )
    }
}

/// Points for age: ≥75 → 2, 65–74 → 1.
pub fn age_points(age: f64) -> f64 {
    match round_integer(age) {
        a if a >= 75.0 => 2.0,
        a if a >= 65.0 => 1.0,
        _ => 0.0,
    }
}

pub(crate) fn flag(
    name: &str,
    field: &str,
    value: Option<bool>,
    points: f64,
    detail: &str,
) -> Component {
    match value {
        Some(v) => Component::scored(
            name,
            &[field],
            v.to_string(),
            if v { points } else { 0.0 },
            points,
            detail,
        ),
        None => Component::unscored(name, &[field], &[field], points),
    }
}

/// Computes CHA2DS2-VASc.
pub fn cha2ds2_vasc(input: &Cha2ds2VascInput) -> Result<ScoreResult, ScoreError> {
    validate::check_opt("age", input.age, validate::AGE_YEARS)?;
    let age = match input.age {
        Some(a) => Component::scored(
            "age",
            &["age"],
            format!("{} years", round_integer(a)),
            age_points(a),
            2.0,
            "A2: ≥75 → 2; A: 65–74 → 1",
        ),
        None => Component::unscored("age", &["age"], &["age"], 2.0),
    };
    let sex = match input.sex {
        Some(s) => Component::scored(
            "sex_category",
            &["sex"],
            format!("{s:?}").to_lowercase(),
            if s == Sex::Female { 1.0 } else { 0.0 },
            1.0,
            "Sc: female → 1",
        ),
        None => Component::unscored("sex_category", &["sex"], &["sex"], 1.0),
    };
    let components = vec![
        flag(
            "congestive_heart_failure",
            "chf",
            input.chf,
            1.0,
            "C: heart failure / LV dysfunction",
        ),
        flag(
            "hypertension",
            "hypertension",
            input.hypertension,
            1.0,
            "H: hypertension",
        ),
        age,
        flag(
            "diabetes",
            "diabetes",
            input.diabetes,
            1.0,
            "D: diabetes mellitus",
        ),
        flag(
            "stroke_tia_te",
            "stroke_tia_te",
            input.stroke_tia_te,
            2.0,
            "S2: prior stroke, TIA or thromboembolism",
        ),
        flag(
            "vascular_disease",
            "vascular_disease",
            input.vascular_disease,
            1.0,
            "V: prior MI, PAD or aortic plaque",
        ),
        sex,
    ];
    let mut result = ScoreResult::additive(NAME, components, |p| band(sum_points(p)), reference());
    if input.sex == Some(Sex::Female) && result.total == Some(1.0) {
        result = result.with_note(
            "the only point is female sex: later guidelines treat female sex as a risk modifier; \
             no treatment advice from a female-only score without clinical review",
        );
    }
    Ok(result)
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<Cha2ds2VascInput, ScoreError> {
    Ok(Cha2ds2VascInput {
        age: f.number(&["age"])?,
        sex: f.text(&["sex"])?.map(|s| parse_sex("sex", s)).transpose()?,
        chf: f.boolean(&["chf", "congestive_heart_failure"])?,
        hypertension: f.boolean(&["hypertension"])?,
        diabetes: f.boolean(&["diabetes"])?,
        stroke_tia_te: f.boolean(&["stroke_tia_te"])?,
        vascular_disease: f.boolean(&["vascular_disease"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(age: f64, sex: Sex) -> Cha2ds2VascInput {
        Cha2ds2VascInput {
            age: Some(age),
            sex: Some(sex),
            chf: Some(false),
            hypertension: Some(false),
            diabetes: Some(false),
            stroke_tia_te: Some(false),
            vascular_disease: Some(false),
        }
    }

    #[test]
    fn age_edges() {
        for (a, p) in [
            (64.0, 0.0),
            (65.0, 1.0),
            (66.0, 1.0),
            (74.0, 1.0),
            (75.0, 2.0),
            (76.0, 2.0),
        ] {
            assert_eq!(age_points(a), p, "age {a}");
        }
    }

    #[test]
    fn bands_at_edges() {
        assert_eq!(
            cha2ds2_vasc(&none(50.0, Sex::Male))
                .unwrap()
                .band
                .as_deref(),
            Some("low")
        );
        let r = cha2ds2_vasc(&none(50.0, Sex::Female)).unwrap();
        assert_eq!(r.total, Some(1.0));
        assert_eq!(r.band.as_deref(), Some("moderate"));
        assert!(r.notes.iter().any(|n| n.contains("female")));
        assert_eq!(
            cha2ds2_vasc(&none(75.0, Sex::Male))
                .unwrap()
                .band
                .as_deref(),
            Some("high")
        );
    }

    #[test]
    fn maximum_is_nine() {
        let r = cha2ds2_vasc(&Cha2ds2VascInput {
            chf: Some(true),
            hypertension: Some(true),
            diabetes: Some(true),
            stroke_tia_te: Some(true),
            vascular_disease: Some(true),
            ..none(80.0, Sex::Female)
        })
        .unwrap();
        assert_eq!(r.total, Some(9.0));
    }

    #[test]
    fn missing_history_is_incomplete() {
        let r = cha2ds2_vasc(&Cha2ds2VascInput {
            diabetes: None,
            ..none(70.0, Sex::Female)
        })
        .unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.partial_total, Some(2.0));
        assert_eq!(r.band.as_deref(), Some("high"));
        assert_eq!(r.missing, vec!["diabetes".to_string()]);
    }
}
