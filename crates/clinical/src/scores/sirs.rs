//! SIRS criteria (ACCP/SCCM 1992), clinical-references.md §3. Strict inequalities; an
//! unknown alternative (PaCO2, band forms) is simply not met, but a criterion whose every
//! input is missing is reported missing. Temperature is rounded to one decimal and rates
//! to whole numbers before the comparison (§0.3); PaCO2, WBC and bands are used as given.

use serde::{Deserialize, Serialize};

use crate::error::ScoreError;
use crate::input::Fields;
use crate::result::{Band, Component, Reference, ScoreResult, sum_points};
use crate::rounding::{round_integer, round_one_decimal};
use crate::validate;

pub const NAME: &str = "sirs";

/// Inputs for SIRS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SirsInput {
    pub temp_c: Option<f64>,
    pub heart_rate: Option<f64>,
    pub resp_rate: Option<f64>,
    pub paco2_mmhg: Option<f64>,
    /// White cells ×10⁹/L.
    pub wbc_10e9_l: Option<f64>,
    /// Immature (band) neutrophils, % of white cells.
    pub bands_pct: Option<f64>,
}

pub(crate) fn reference() -> Reference {
    Reference {
        citation: "Bone RC, et al. ACCP/SCCM Consensus Conference: Definitions for sepsis and \
                   organ failure and guidelines for the use of innovative therapies in sepsis. \
                   Chest 1992;101:1644–1655."
            .into(),
        rule_set: "SIRS: ≥2 of temperature, heart rate, respiration, white cells".into(),
    }
}

/// SIRS present (≥ 2 criteria) or not.
pub fn band(count: f64) -> Band {
    if count >= 2.0 {
        Band::new(
            "positive",
            "SIRS criteria met (≥2 of 4): systemic inflammatory response",
        )
    } else {
        Band::new("negative", "SIRS criteria not met (<2 of 4)")
    }
}

/// One way of meeting a criterion: `(field, value, test, label)`.
type Alternative<'a> = (&'a str, Option<f64>, fn(f64) -> bool, &'a str);

/// A criterion met when any of its alternatives is.
fn criterion(name: &str, alternatives: &[Alternative<'_>]) -> Component {
    let inputs: Vec<&str> = alternatives.iter().map(|a| a.0).collect();
    if alternatives.iter().all(|a| a.1.is_none()) {
        return Component::unscored(name, &inputs, &inputs, 1.0);
    }
    let shown: Vec<String> = alternatives
        .iter()
        .filter_map(|(field, v, _, _)| v.map(|v| format!("{field} {v}")))
        .collect();
    let hits: Vec<&str> = alternatives
        .iter()
        .filter(|(_, v, test, _)| v.is_some_and(test))
        .map(|a| a.3)
        .collect();
    let detail = if hits.is_empty() {
        "not met".to_owned()
    } else {
        format!("met: {}", hits.join("; "))
    };
    Component::scored(
        name,
        &inputs,
        shown.join(", "),
        if hits.is_empty() { 0.0 } else { 1.0 },
        1.0,
        detail,
    )
}

/// Computes the SIRS criteria count.
pub fn sirs(input: &SirsInput) -> Result<ScoreResult, ScoreError> {
    validate::check_opt("temp_c", input.temp_c, validate::TEMP_C)?;
    validate::check_opt("heart_rate", input.heart_rate, validate::PULSE_BPM)?;
    validate::check_opt("resp_rate", input.resp_rate, validate::RESP_RATE)?;
    validate::check_opt("paco2_mmhg", input.paco2_mmhg, validate::PACO2_MMHG)?;
    validate::check_opt("wbc_10e9_l", input.wbc_10e9_l, validate::WBC_10E9_L)?;
    validate::check_opt("bands_pct", input.bands_pct, validate::PERCENT)?;
    let components = vec![
        criterion(
            "temperature",
            &[(
                "temp_c",
                input.temp_c,
                |t| !(36.0..=38.0).contains(&round_one_decimal(t)),
                "temperature >38 or <36 °C",
            )],
        ),
        criterion(
            "heart_rate",
            &[(
                "heart_rate",
                input.heart_rate,
                |h| round_integer(h) > 90.0,
                "HR >90 /min",
            )],
        ),
        criterion(
            "respiration",
            &[
                (
                    "resp_rate",
                    input.resp_rate,
                    |r| round_integer(r) > 20.0,
                    "RR >20 /min",
                ),
                (
                    "paco2_mmhg",
                    input.paco2_mmhg,
                    |p| p < 32.0,
                    "PaCO2 <32 mmHg",
                ),
            ],
        ),
        criterion(
            "white_cells",
            &[
                (
                    "wbc_10e9_l",
                    input.wbc_10e9_l,
                    |w| !(4.0..=12.0).contains(&w),
                    "WBC >12 or <4 ×10⁹/L",
                ),
                (
                    "bands_pct",
                    input.bands_pct,
                    |b| b > 10.0,
                    "immature forms >10 %",
                ),
            ],
        ),
    ];
    Ok(ScoreResult::additive(
        NAME,
        components,
        |p| band(sum_points(p)),
        reference(),
    ))
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<SirsInput, ScoreError> {
    Ok(SirsInput {
        temp_c: f.number(&["temp_c", "temperature_c"])?,
        heart_rate: f.number(&["heart_rate", "pulse_bpm", "pulse"])?,
        resp_rate: f.number(&["resp_rate", "respiratory_rate"])?,
        paco2_mmhg: f.number(&["paco2_mmhg", "paco2"])?,
        wbc_10e9_l: f.number(&["wbc_10e9_l", "wbc"])?,
        bands_pct: f.number(&["bands_pct"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal() -> SirsInput {
        SirsInput {
            temp_c: Some(37.0),
            heart_rate: Some(80.0),
            resp_rate: Some(16.0),
            paco2_mmhg: Some(40.0),
            wbc_10e9_l: Some(8.0),
            bands_pct: Some(2.0),
        }
    }

    fn total(i: SirsInput) -> Option<f64> {
        sirs(&i).unwrap().total
    }

    #[test]
    fn temperature_edges_are_strict() {
        assert_eq!(
            total(SirsInput {
                temp_c: Some(38.0),
                ..normal()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(SirsInput {
                temp_c: Some(38.1),
                ..normal()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(SirsInput {
                temp_c: Some(36.0),
                ..normal()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(SirsInput {
                temp_c: Some(35.9),
                ..normal()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(SirsInput {
                temp_c: Some(37.9),
                ..normal()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(SirsInput {
                temp_c: Some(38.04),
                ..normal()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(SirsInput {
                temp_c: Some(38.05),
                ..normal()
            }),
            Some(1.0)
        );
    }

    #[test]
    fn heart_rate_edge_90() {
        assert_eq!(
            total(SirsInput {
                heart_rate: Some(89.0),
                ..normal()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(SirsInput {
                heart_rate: Some(90.0),
                ..normal()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(SirsInput {
                heart_rate: Some(91.0),
                ..normal()
            }),
            Some(1.0)
        );
    }

    #[test]
    fn respiration_edges() {
        assert_eq!(
            total(SirsInput {
                resp_rate: Some(19.0),
                ..normal()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(SirsInput {
                resp_rate: Some(20.0),
                ..normal()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(SirsInput {
                resp_rate: Some(21.0),
                ..normal()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(SirsInput {
                paco2_mmhg: Some(33.0),
                ..normal()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(SirsInput {
                paco2_mmhg: Some(32.0),
                ..normal()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(SirsInput {
                paco2_mmhg: Some(31.9),
                ..normal()
            }),
            Some(1.0)
        );
    }

    #[test]
    fn white_cell_edges() {
        for (w, n) in [
            (12.0, 0.0),
            (12.1, 1.0),
            (11.9, 0.0),
            (4.0, 0.0),
            (3.9, 1.0),
            (4.1, 0.0),
        ] {
            assert_eq!(
                total(SirsInput {
                    wbc_10e9_l: Some(w),
                    ..normal()
                }),
                Some(n),
                "wbc {w}"
            );
        }
        for (b, n) in [(9.0, 0.0), (10.0, 0.0), (10.5, 1.0)] {
            assert_eq!(
                total(SirsInput {
                    bands_pct: Some(b),
                    ..normal()
                }),
                Some(n),
                "bands {b}"
            );
        }
    }

    #[test]
    fn rr_28_and_paco2_30_is_one_criterion() {
        // worked example of clinical-references.md §3
        assert_eq!(
            total(SirsInput {
                resp_rate: Some(28.0),
                paco2_mmhg: Some(30.0),
                ..normal()
            }),
            Some(1.0)
        );
    }

    #[test]
    fn unknown_alternative_is_not_met_but_fully_missing_criterion_is_missing() {
        let r = sirs(&SirsInput {
            paco2_mmhg: None,
            bands_pct: None,
            ..normal()
        })
        .unwrap();
        assert_eq!(r.total, Some(0.0));
        let r = sirs(&SirsInput {
            wbc_10e9_l: None,
            bands_pct: None,
            heart_rate: Some(100.0),
            temp_c: Some(38.5),
            ..normal()
        })
        .unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.partial_total, Some(2.0));
        assert_eq!(r.band.as_deref(), Some("positive"));
        assert_eq!(
            r.missing,
            vec!["wbc_10e9_l".to_string(), "bands_pct".to_string()]
        );
    }

    #[test]
    fn two_criteria_positive() {
        let r = sirs(&SirsInput {
            temp_c: Some(38.9),
            heart_rate: Some(118.0),
            ..normal()
        })
        .unwrap();
        assert_eq!(r.total, Some(2.0));
        assert_eq!(r.band.as_deref(), Some("positive"));
    }
}
