//! CURB-65 (Lim 2003), clinical-references.md §8a. Urea is compared in the unit supplied:
//! urea > 7 mmol/L, or BUN > 19.6 mg/dL (= 7 × 2.8), so no conversion rounding can flip it.

use serde::{Deserialize, Serialize};

use crate::error::ScoreError;
use crate::input::Fields;
use crate::result::{Band, Component, Reference, ScoreResult, sum_points};
use crate::rounding::{round_integer, round_one_decimal};
use crate::units::Urea;
use crate::validate;

pub const NAME: &str = "curb65";

/// 7 mmol/L × 2.8, written out because `7.0 * 2.8` is 19.599… in binary floating point.
const BUN_THRESHOLD_MG_DL: f64 = 19.6;

/// Inputs for CURB-65.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Curb65Input {
    pub new_confusion: Option<bool>,
    pub urea: Option<Urea>,
    pub resp_rate: Option<f64>,
    pub sbp_mmhg: Option<f64>,
    pub dbp_mmhg: Option<f64>,
    pub age: Option<f64>,
}

pub(crate) fn reference() -> Reference {
    Reference {
        citation: "Lim WS, van der Eerden MM, Laing R, et al. Defining community acquired \
                   pneumonia severity on presentation to hospital: an international derivation \
                   and validation study. Thorax 2003;58:377–382."
            .into(),
        rule_set: "CURB-65: confusion, urea >7 mmol/L, RR ≥30, SBP <90 or DBP ≤60, age ≥65".into(),
    }
}

/// Lim 2003 bands (intermediate reported as `moderate`).
pub fn band(total: f64) -> Band {
    if total >= 3.0 {
        Band::new(
            "high",
            "CURB-65 3–5: high risk of 30-day mortality; manage in hospital as severe pneumonia, assess for ICU",
        )
    } else if total >= 2.0 {
        Band::new(
            "moderate",
            "CURB-65 2: intermediate risk; consider short inpatient stay or supervised outpatient treatment",
        )
    } else {
        Band::new(
            "low",
            "CURB-65 0–1: low risk; may be suitable for home treatment",
        )
    }
}

/// Whether urea meets "> 7 mmol/L" in the unit supplied.
pub fn urea_met(urea: Urea) -> bool {
    match urea {
        Urea::MmolL(v) => v > 7.0,
        Urea::BunMgDl(v) => round_one_decimal(v) > BUN_THRESHOLD_MG_DL,
    }
}

fn flag(name: &str, field: &str, value: Option<bool>, detail: &str) -> Component {
    match value {
        Some(v) => Component::scored(
            name,
            &[field],
            v.to_string(),
            if v { 1.0 } else { 0.0 },
            1.0,
            detail,
        ),
        None => Component::unscored(name, &[field], &[field], 1.0),
    }
}

fn blood_pressure(sbp: Option<f64>, dbp: Option<f64>) -> Component {
    let inputs = ["sbp_mmhg", "dbp_mmhg"];
    let sbp_low = sbp.map(|s| round_integer(s) < 90.0);
    let dbp_low = dbp.map(|d| round_integer(d) <= 60.0);
    let met = match (sbp_low, dbp_low) {
        (Some(true), _) | (_, Some(true)) => true,
        (Some(false), Some(false)) => false,
        (None, _) => return Component::unscored("blood_pressure", &inputs, &["sbp_mmhg"], 1.0),
        (_, None) => return Component::unscored("blood_pressure", &inputs, &["dbp_mmhg"], 1.0),
    };
    let shown = format!(
        "{}/{} mmHg",
        sbp.map_or("?".to_owned(), |s| round_integer(s).to_string()),
        dbp.map_or("?".to_owned(), |d| round_integer(d).to_string())
    );
    Component::scored(
        "blood_pressure",
        &inputs,
        shown,
        if met { 1.0 } else { 0.0 },
        1.0,
        "SBP <90 or DBP ≤60 mmHg",
    )
}

fn validated(input: &Curb65Input) -> Result<(), ScoreError> {
    validate::check_opt("resp_rate", input.resp_rate, validate::RESP_RATE)?;
    validate::check_opt("sbp_mmhg", input.sbp_mmhg, validate::SBP_MMHG)?;
    validate::check_opt("dbp_mmhg", input.dbp_mmhg, validate::DBP_MMHG)?;
    validate::check_opt("age", input.age, validate::AGE_YEARS)?;
    input.urea.map(Urea::validated).transpose()?;
    if let (Some(s), Some(d)) = (input.sbp_mmhg, input.dbp_mmhg)
        && d >= s
    {
        return Err(ScoreError::invalid(
            "dbp_mmhg",
            format!("diastolic {d} is not below systolic {s}"),
        ));
    }
    Ok(())
}

/// Computes CURB-65.
pub fn curb65(input: &Curb65Input) -> Result<ScoreResult, ScoreError> {
    validated(input)?;
    let urea = match input.urea {
        Some(u) => Component::scored(
            "urea",
            &["urea_mmol_l", "bun_mg_dl"],
            match u {
                Urea::MmolL(v) => format!("urea {v} mmol/L"),
                Urea::BunMgDl(v) => format!("BUN {v} mg/dL (urea {:.2} mmol/L)", u.mmol_l()),
            },
            if urea_met(u) { 1.0 } else { 0.0 },
            1.0,
            "urea >7 mmol/L (BUN >19.6 mg/dL)",
        ),
        None => Component::unscored("urea", &["urea_mmol_l", "bun_mg_dl"], &["urea_mmol_l"], 1.0),
    };
    let threshold =
        |name: &str, field: &str, v: Option<f64>, met: fn(f64) -> bool, detail: &str| match v {
            Some(x) => Component::scored(
                name,
                &[field],
                round_integer(x).to_string(),
                if met(round_integer(x)) { 1.0 } else { 0.0 },
                1.0,
                detail,
            ),
            None => Component::unscored(name, &[field], &[field], 1.0),
        };
    let components = vec![
        flag(
            "confusion",
            "new_confusion",
            input.new_confusion,
            "new confusion (AMT ≤8 or new disorientation)",
        ),
        urea,
        threshold(
            "respiratory_rate",
            "resp_rate",
            input.resp_rate,
            |r| r >= 30.0,
            "RR ≥30 /min",
        ),
        blood_pressure(input.sbp_mmhg, input.dbp_mmhg),
        threshold("age_65", "age", input.age, |a| a >= 65.0, "age ≥65"),
    ];
    let result = ScoreResult::additive(NAME, components, |p| band(sum_points(p)), reference());
    Ok(result.with_note("band shown instead of per-score mortality: reproductions of Lim 2003 disagree on the percentages"))
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<Curb65Input, ScoreError> {
    let urea = crate::lab_fields::urea(f)?;
    Ok(Curb65Input {
        new_confusion: f.boolean(&["new_confusion", "confusion"])?,
        urea,
        resp_rate: f.number(&["resp_rate", "respiratory_rate"])?,
        sbp_mmhg: f.number(&["sbp_mmhg", "systolic_bp"])?,
        dbp_mmhg: f.number(&["dbp_mmhg", "diastolic_bp"])?,
        age: f.number(&["age"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn well() -> Curb65Input {
        Curb65Input {
            new_confusion: Some(false),
            urea: Some(Urea::MmolL(5.0)),
            resp_rate: Some(18.0),
            sbp_mmhg: Some(120.0),
            dbp_mmhg: Some(75.0),
            age: Some(50.0),
        }
    }

    fn total(i: Curb65Input) -> Option<f64> {
        curb65(&i).unwrap().total
    }

    #[test]
    fn urea_edges_both_units() {
        assert_eq!(
            total(Curb65Input {
                urea: Some(Urea::MmolL(6.9)),
                ..well()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(Curb65Input {
                urea: Some(Urea::MmolL(7.0)),
                ..well()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(Curb65Input {
                urea: Some(Urea::MmolL(7.1)),
                ..well()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(Curb65Input {
                urea: Some(Urea::BunMgDl(19.5)),
                ..well()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(Curb65Input {
                urea: Some(Urea::BunMgDl(19.6)),
                ..well()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(Curb65Input {
                urea: Some(Urea::BunMgDl(19.7)),
                ..well()
            }),
            Some(1.0)
        );
    }

    #[test]
    fn resp_rate_edge_30() {
        assert_eq!(
            total(Curb65Input {
                resp_rate: Some(29.0),
                ..well()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(Curb65Input {
                resp_rate: Some(30.0),
                ..well()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(Curb65Input {
                resp_rate: Some(31.0),
                ..well()
            }),
            Some(1.0)
        );
    }

    #[test]
    fn blood_pressure_edges() {
        assert_eq!(
            total(Curb65Input {
                sbp_mmhg: Some(89.0),
                ..well()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(Curb65Input {
                sbp_mmhg: Some(90.0),
                ..well()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(Curb65Input {
                sbp_mmhg: Some(91.0),
                ..well()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(Curb65Input {
                dbp_mmhg: Some(59.0),
                ..well()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(Curb65Input {
                dbp_mmhg: Some(60.0),
                ..well()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(Curb65Input {
                dbp_mmhg: Some(61.0),
                ..well()
            }),
            Some(0.0)
        );
        // one low value is enough even if the other is missing
        assert_eq!(
            total(Curb65Input {
                dbp_mmhg: None,
                sbp_mmhg: Some(85.0),
                ..well()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(Curb65Input {
                dbp_mmhg: None,
                ..well()
            }),
            None
        );
    }

    #[test]
    fn age_edge_65() {
        assert_eq!(
            total(Curb65Input {
                age: Some(64.0),
                ..well()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(Curb65Input {
                age: Some(65.0),
                ..well()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(Curb65Input {
                age: Some(66.0),
                ..well()
            }),
            Some(1.0)
        );
    }

    #[test]
    fn bands() {
        assert_eq!(band(1.0).code, "low");
        assert_eq!(band(2.0).code, "moderate");
        assert_eq!(band(3.0).code, "high");
        assert_eq!(band(5.0).code, "high");
        let r = curb65(&Curb65Input {
            new_confusion: Some(true),
            age: Some(80.0),
            resp_rate: Some(32.0),
            ..well()
        })
        .unwrap();
        assert_eq!(r.total, Some(3.0));
        assert_eq!(r.band.as_deref(), Some("high"));
    }

    #[test]
    fn diastolic_above_systolic_rejected() {
        let err = curb65(&Curb65Input {
            sbp_mmhg: Some(80.0),
            dbp_mmhg: Some(90.0),
            ..well()
        })
        .unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "dbp_mmhg"));
    }
}
