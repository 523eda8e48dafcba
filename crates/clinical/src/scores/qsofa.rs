//! qSOFA (Sepsis-3), clinical-references.md §2. Altered mentation is GCS < 15 (project
//! operationalisation) or an explicit `altered_mentation` flag (the papers' wording).

use serde::{Deserialize, Serialize};

use crate::error::ScoreError;
use crate::input::Fields;
use crate::result::{Band, Component, Reference, ScoreResult, sum_points};
use crate::rounding::round_integer;
use crate::validate;

pub const NAME: &str = "qsofa";

/// Inputs for qSOFA.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QsofaInput {
    pub resp_rate: Option<f64>,
    /// Glasgow Coma Scale total 3–15.
    pub gcs: Option<f64>,
    /// Altered mentation judged clinically (e.g. new confusion), if recorded.
    pub altered_mentation: Option<bool>,
    pub sbp_mmhg: Option<f64>,
}

pub(crate) fn reference() -> Reference {
    Reference {
        citation: "Singer M, et al. The Third International Consensus Definitions for Sepsis \
                   and Septic Shock (Sepsis-3). JAMA 2016;315(8):801–810. Seymour CW, et al. \
                   JAMA 2016;315(8):762–774."
            .into(),
        rule_set: "qSOFA: RR ≥22, altered mentation (GCS <15), SBP ≤100; positive ≥2".into(),
    }
}

/// Positive (≥ 2) or negative.
pub fn band(total: f64) -> Band {
    if total >= 2.0 {
        Band::new(
            "positive",
            "qSOFA ≥2: in suspected infection, higher risk of poor outcome — assess for organ \
             dysfunction (SOFA) and escalate; not a diagnosis of sepsis",
        )
    } else {
        Band::new(
            "negative",
            "qSOFA <2: does not exclude sepsis; keep reassessing if infection is suspected",
        )
    }
}

fn criterion(
    name: &str,
    field: &str,
    value: Option<f64>,
    met: impl Fn(f64) -> bool,
    rule: &str,
) -> Component {
    match value {
        Some(v) => {
            let hit = met(round_integer(v));
            Component::scored(
                name,
                &[field],
                format!("{}", round_integer(v)),
                if hit { 1.0 } else { 0.0 },
                1.0,
                format!("{rule}: {}", if hit { "met" } else { "not met" }),
            )
        }
        None => Component::unscored(name, &[field], &[field], 1.0),
    }
}

fn mentation(input: &QsofaInput) -> Component {
    let inputs = ["gcs", "altered_mentation"];
    let by_gcs = input.gcs.map(|g| g < 15.0);
    let met = match (by_gcs, input.altered_mentation) {
        (None, None) => return Component::unscored("altered_mentation", &inputs, &["gcs"], 1.0),
        (a, b) => a.unwrap_or(false) || b.unwrap_or(false),
    };
    let shown = match (input.gcs, input.altered_mentation) {
        (Some(g), Some(a)) => format!("GCS {g}, altered mentation {a}"),
        (Some(g), None) => format!("GCS {g}"),
        (None, Some(a)) => format!("altered mentation {a}"),
        (None, None) => String::new(),
    };
    Component::scored(
        "altered_mentation",
        &inputs,
        shown,
        if met { 1.0 } else { 0.0 },
        1.0,
        format!(
            "altered mentation (GCS <15 or clinically altered): {}",
            if met { "met" } else { "not met" }
        ),
    )
}

/// Computes qSOFA.
pub fn qsofa(input: &QsofaInput) -> Result<ScoreResult, ScoreError> {
    validate::check_opt("resp_rate", input.resp_rate, validate::RESP_RATE)?;
    validate::check_opt("sbp_mmhg", input.sbp_mmhg, validate::SBP_MMHG)?;
    if let Some(g) = input.gcs {
        validate::check_integer("gcs", g, validate::GCS_TOTAL)?;
    }
    let components = vec![
        criterion(
            "respiratory_rate",
            "resp_rate",
            input.resp_rate,
            |r| r >= 22.0,
            "RR ≥22 /min",
        ),
        mentation(input),
        criterion(
            "systolic_bp",
            "sbp_mmhg",
            input.sbp_mmhg,
            |s| s <= 100.0,
            "SBP ≤100 mmHg",
        ),
    ];
    let mut result = ScoreResult::additive(NAME, components, |p| band(sum_points(p)), reference());
    if input.gcs == Some(15.0) && input.altered_mentation == Some(true) {
        result =
            result.with_note("GCS 15 but altered mentation recorded: criterion counted as met");
    }
    Ok(result.with_note("qSOFA is a prompt for adults with suspected infection outside the ICU"))
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<QsofaInput, ScoreError> {
    Ok(QsofaInput {
        resp_rate: f.number(&["resp_rate", "respiratory_rate"])?,
        gcs: f.number(&["gcs"])?,
        altered_mentation: f.boolean(&["altered_mentation", "new_confusion"])?,
        sbp_mmhg: f.number(&["sbp_mmhg", "systolic_bp"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(rr: f64, gcs: f64, sbp: f64) -> QsofaInput {
        QsofaInput {
            resp_rate: Some(rr),
            gcs: Some(gcs),
            altered_mentation: None,
            sbp_mmhg: Some(sbp),
        }
    }

    #[test]
    fn respiratory_rate_edge_at_22() {
        assert_eq!(qsofa(&input(21.0, 15.0, 120.0)).unwrap().total, Some(0.0));
        assert_eq!(qsofa(&input(22.0, 15.0, 120.0)).unwrap().total, Some(1.0));
        assert_eq!(qsofa(&input(23.0, 15.0, 120.0)).unwrap().total, Some(1.0));
    }

    #[test]
    fn gcs_edge_below_15() {
        assert_eq!(qsofa(&input(16.0, 14.0, 120.0)).unwrap().total, Some(1.0));
        assert_eq!(qsofa(&input(16.0, 15.0, 120.0)).unwrap().total, Some(0.0));
        assert_eq!(qsofa(&input(16.0, 3.0, 120.0)).unwrap().total, Some(1.0));
    }

    #[test]
    fn sbp_edge_at_100() {
        assert_eq!(qsofa(&input(16.0, 15.0, 99.0)).unwrap().total, Some(1.0));
        assert_eq!(qsofa(&input(16.0, 15.0, 100.0)).unwrap().total, Some(1.0));
        assert_eq!(qsofa(&input(16.0, 15.0, 101.0)).unwrap().total, Some(0.0));
    }

    #[test]
    fn positive_at_two() {
        let r = qsofa(&input(22.0, 15.0, 100.0)).unwrap();
        assert_eq!(r.total, Some(2.0));
        assert_eq!(r.band.as_deref(), Some("positive"));
        let r = qsofa(&input(22.0, 15.0, 101.0)).unwrap();
        assert_eq!(r.band.as_deref(), Some("negative"));
    }

    #[test]
    fn altered_mentation_flag_substitutes_for_gcs() {
        let r = qsofa(&QsofaInput {
            gcs: None,
            altered_mentation: Some(true),
            ..input(16.0, 15.0, 120.0)
        })
        .unwrap();
        assert_eq!(r.total, Some(1.0));
    }

    #[test]
    fn missing_gcs_with_two_criteria_met_is_positive_but_incomplete() {
        let r = qsofa(&QsofaInput {
            gcs: None,
            ..input(26.0, 15.0, 88.0)
        })
        .unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.partial_total, Some(2.0));
        assert_eq!(r.band.as_deref(), Some("positive"));
        assert_eq!(r.missing, vec!["gcs".to_string()]);
    }

    #[test]
    fn missing_with_one_met_has_no_band() {
        let r = qsofa(&QsofaInput {
            gcs: None,
            ..input(26.0, 15.0, 120.0)
        })
        .unwrap();
        assert_eq!(r.band, None);
    }

    #[test]
    fn fractional_gcs_rejected() {
        let err = qsofa(&input(16.0, 14.5, 120.0)).unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "gcs"));
    }
}
