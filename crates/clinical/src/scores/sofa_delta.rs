//! Sepsis-3 organ dysfunction: an acute rise of total SOFA ≥ 2 (clinical-references.md §4).
//! The baseline is assumed 0 only when the patient is explicitly recorded as not known to
//! have pre-existing organ dysfunction, and the output then says so.

use serde::{Deserialize, Serialize};

use crate::error::ScoreError;
use crate::input::Fields;
use crate::result::{Band, Component, ScoreResult};
use crate::validate;

pub const NAME: &str = "sofa_delta_sepsis3";

/// Inputs for ΔSOFA.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SofaDeltaInput {
    pub baseline_sofa: Option<f64>,
    pub current_sofa: Option<f64>,
    pub known_preexisting_organ_dysfunction: Option<bool>,
}

/// Organ dysfunction (Δ ≥ 2) or not.
pub fn band(delta: f64) -> Band {
    if delta >= 2.0 {
        Band::new(
            "positive",
            "acute rise of SOFA ≥2: organ dysfunction; with infection this meets Sepsis-3 sepsis",
        )
    } else {
        Band::new(
            "negative",
            "SOFA rise <2: no Sepsis-3 organ dysfunction by this criterion",
        )
    }
}

fn sofa_value(field: &str, value: Option<f64>) -> Result<Option<f64>, ScoreError> {
    value
        .map(|v| validate::check_integer(field, v, validate::SOFA_TOTAL))
        .transpose()
}

/// Computes ΔSOFA = current − baseline.
pub fn sofa_delta(input: &SofaDeltaInput) -> Result<ScoreResult, ScoreError> {
    let current = sofa_value("current_sofa", input.current_sofa)?
        .ok_or_else(|| ScoreError::missing("current_sofa"))?;
    let baseline = sofa_value("baseline_sofa", input.baseline_sofa)?;
    let (baseline, assumed) = match (baseline, input.known_preexisting_organ_dysfunction) {
        (Some(b), _) => (Some(b), false),
        (None, Some(false)) => (Some(0.0), true),
        (None, _) => (None, false),
    };
    let current_c = Component::scored(
        "current_sofa",
        &["current_sofa"],
        format!("{current}"),
        current,
        24.0,
        "current total SOFA",
    );
    let baseline_c = match baseline {
        Some(b) => Component::scored(
            "baseline_sofa",
            &["baseline_sofa"],
            format!("{b}"),
            -b,
            0.0,
            if assumed {
                "assumed 0: not known to have pre-existing organ dysfunction (Sepsis-3)"
            } else {
                "baseline total SOFA (subtracted)"
            },
        ),
        None => {
            let missing: &[&str] = if input.known_preexisting_organ_dysfunction.is_some() {
                &["baseline_sofa"]
            } else {
                &["baseline_sofa", "known_preexisting_organ_dysfunction"]
            };
            Component::unscored(
                "baseline_sofa",
                &["baseline_sofa", "known_preexisting_organ_dysfunction"],
                missing,
                0.0,
            )
        }
    };
    let delta = baseline.map(|b| current - b);
    let mut result = ScoreResult::computed(
        NAME,
        delta,
        delta.map(band),
        vec![current_c, baseline_c],
        super::sofa::reference(),
    );
    if assumed {
        result = result.with_note("baseline SOFA assumed to be 0 (patient not known to have pre-existing organ dysfunction)");
    }
    Ok(result.with_note(
        "current_sofa must be a complete SOFA total; a partial total understates the rise",
    ))
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<SofaDeltaInput, ScoreError> {
    Ok(SofaDeltaInput {
        baseline_sofa: f.number(&["baseline_sofa"])?,
        current_sofa: f.number(&["current_sofa"])?,
        known_preexisting_organ_dysfunction: f.boolean(&["known_preexisting_organ_dysfunction"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(b: Option<f64>, c: f64, pre: Option<bool>) -> SofaDeltaInput {
        SofaDeltaInput {
            baseline_sofa: b,
            current_sofa: Some(c),
            known_preexisting_organ_dysfunction: pre,
        }
    }

    #[test]
    fn delta_edges() {
        assert_eq!(
            sofa_delta(&input(Some(2.0), 3.0, None))
                .unwrap()
                .band
                .as_deref(),
            Some("negative")
        );
        assert_eq!(
            sofa_delta(&input(Some(2.0), 4.0, None))
                .unwrap()
                .band
                .as_deref(),
            Some("positive")
        );
        assert_eq!(
            sofa_delta(&input(Some(2.0), 5.0, None)).unwrap().total,
            Some(3.0)
        );
    }

    #[test]
    fn baseline_assumed_zero_only_when_recorded_and_said() {
        let r = sofa_delta(&input(None, 2.0, Some(false))).unwrap();
        assert_eq!(r.total, Some(2.0));
        assert!(r.notes.iter().any(|n| n.contains("assumed to be 0")));
        let r = sofa_delta(&input(None, 2.0, Some(true))).unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.missing, vec!["baseline_sofa".to_string()]);
        let r = sofa_delta(&input(None, 2.0, None)).unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.missing.len(), 2);
    }

    #[test]
    fn current_required_and_validated() {
        assert!(
            matches!(sofa_delta(&SofaDeltaInput::default()), Err(ScoreError::MissingField { ref field }) if field == "current_sofa")
        );
        assert!(
            matches!(sofa_delta(&input(Some(0.0), 25.0, None)), Err(ScoreError::InvalidInput { ref field, .. }) if field == "current_sofa")
        );
    }
}
