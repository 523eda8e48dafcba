//! HAS-BLED (Pisters 2010), clinical-references.md §5b. Follows Pisters where reprints
//! differ: elderly is age > 65, abnormal renal function includes creatinine ≥ 200 µmol/L.
//! Labile INR applies only to patients on a vitamin-K antagonist; otherwise it scores 0
//! and is flagged "not applicable".

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cha2ds2_vasc::flag;
use crate::error::ScoreError;
use crate::input::Fields;
use crate::result::{Band, Component, Reference, ScoreResult, sum_points};
use crate::rounding::round_integer;
use crate::units::Creatinine;
use crate::validate;

pub const NAME: &str = "has_bled";

/// Labile INR status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabileInr {
    Yes,
    No,
    /// Not on a vitamin-K antagonist.
    NotApplicable,
}

/// Inputs for HAS-BLED.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HasBledInput {
    pub sbp_mmhg: Option<f64>,
    pub dialysis: Option<bool>,
    pub renal_transplant: Option<bool>,
    pub creatinine: Option<Creatinine>,
    pub cirrhosis: Option<bool>,
    /// Bilirubin as a multiple of the upper limit of normal.
    pub bilirubin_x_uln: Option<f64>,
    /// Highest of AST/ALT/ALP as a multiple of the upper limit of normal.
    pub ast_alt_alp_x_uln: Option<f64>,
    pub prior_stroke: Option<bool>,
    pub bleeding_history_or_predisposition: Option<bool>,
    pub labile_inr: Option<LabileInr>,
    pub age: Option<f64>,
    pub antiplatelet_or_nsaid: Option<bool>,
    pub alcohol_units_per_week: Option<f64>,
}

pub(crate) fn reference() -> Reference {
    Reference {
        citation: "Pisters R, et al. A novel user-friendly score (HAS-BLED) to assess 1-year \
                   risk of major bleeding in patients with atrial fibrillation: the Euro Heart \
                   Survey. Chest 2010;138:1093–1100."
            .into(),
        rule_set: "HAS-BLED 0–9; 0 low, 1–2 moderate, ≥3 high (Thrombosis J 2015 table)".into(),
    }
}

/// Project bands.
pub fn band(total: f64) -> Band {
    if total >= 3.0 {
        Band::new(
            "high",
            "HAS-BLED ≥3: high risk of major bleeding — caution, correct modifiable factors and review regularly; not by itself a reason to withhold anticoagulation",
        )
    } else if total >= 1.0 {
        Band::new("moderate", "HAS-BLED 1–2: moderate risk of major bleeding")
    } else {
        Band::new("low", "HAS-BLED 0: low risk of major bleeding")
    }
}

fn renal(input: &HasBledInput) -> Component {
    let inputs = ["dialysis", "renal_transplant", "creatinine_umol_l"];
    let creat_high = input.creatinine.map(|c| round_integer(c.umol_l()) >= 200.0);
    let known = [input.dialysis, input.renal_transplant, creat_high];
    let met = known.contains(&Some(true));
    if !met && known.contains(&None) {
        let missing: Vec<&str> = inputs
            .iter()
            .zip(known)
            .filter(|(_, k)| k.is_none())
            .map(|(n, _)| *n)
            .collect();
        return Component::unscored("abnormal_renal_function", &inputs, &missing, 1.0);
    }
    let shown = format!(
        "dialysis {}, transplant {}, creatinine {}",
        input.dialysis.map_or("?".into(), |v| v.to_string()),
        input.renal_transplant.map_or("?".into(), |v| v.to_string()),
        input.creatinine.map_or("?".into(), |c| format!(
            "{} µmol/L",
            round_integer(c.umol_l())
        )),
    );
    Component::scored(
        "abnormal_renal_function",
        &inputs,
        shown,
        if met { 1.0 } else { 0.0 },
        1.0,
        "A: dialysis, renal transplant or creatinine ≥200 µmol/L",
    )
}

fn liver(input: &HasBledInput) -> Component {
    let inputs = ["cirrhosis", "bilirubin_x_uln", "ast_alt_alp_x_uln"];
    let bil = input.bilirubin_x_uln.map(|b| b > 2.0);
    let enz = input.ast_alt_alp_x_uln.map(|e| e > 3.0);
    let biochem = match (bil, enz) {
        (Some(true), Some(true)) => Some(true),
        (Some(false), _) | (_, Some(false)) => Some(false),
        _ => None,
    };
    let met = match (input.cirrhosis, biochem) {
        (Some(true), _) | (_, Some(true)) => true,
        (Some(false), Some(false)) => false,
        (None, _) => {
            return Component::unscored("abnormal_liver_function", &inputs, &["cirrhosis"], 1.0);
        }
        (_, None) => {
            let missing: Vec<&str> = [("bilirubin_x_uln", bil), ("ast_alt_alp_x_uln", enz)]
                .into_iter()
                .filter(|(_, v)| v.is_none())
                .map(|(n, _)| n)
                .collect();
            return Component::unscored("abnormal_liver_function", &inputs, &missing, 1.0);
        }
    };
    let shown = format!(
        "cirrhosis {}, bilirubin {}×ULN, AST/ALT/ALP {}×ULN",
        input.cirrhosis.map_or("?".into(), |v| v.to_string()),
        input.bilirubin_x_uln.map_or("?".into(), |v| v.to_string()),
        input
            .ast_alt_alp_x_uln
            .map_or("?".into(), |v| v.to_string()),
    );
    Component::scored(
        "abnormal_liver_function",
        &inputs,
        shown,
        if met { 1.0 } else { 0.0 },
        1.0,
        "A: chronic liver disease, or bilirubin >2×ULN with AST/ALT/ALP >3×ULN",
    )
}

fn labile_inr(value: Option<LabileInr>) -> Component {
    match value {
        None => Component::unscored("labile_inr", &["labile_inr"], &["labile_inr"], 1.0),
        Some(LabileInr::NotApplicable) => Component::scored(
            "labile_inr",
            &["labile_inr"],
            "not applicable".into(),
            0.0,
            1.0,
            "L: not on a vitamin-K antagonist — not applicable, 0",
        ),
        Some(v) => Component::scored(
            "labile_inr",
            &["labile_inr"],
            format!("{}", v == LabileInr::Yes),
            if v == LabileInr::Yes { 1.0 } else { 0.0 },
            1.0,
            "L: unstable/high INR or TTR <60 %",
        ),
    }
}

fn numeric(
    name: &str,
    field: &str,
    value: Option<f64>,
    met: impl Fn(f64) -> bool,
    unit: &str,
    detail: &str,
) -> Component {
    match value {
        Some(v) => Component::scored(
            name,
            &[field],
            format!("{} {unit}", round_integer(v)),
            if met(round_integer(v)) { 1.0 } else { 0.0 },
            1.0,
            detail,
        ),
        None => Component::unscored(name, &[field], &[field], 1.0),
    }
}

fn validated(input: &HasBledInput) -> Result<(), ScoreError> {
    validate::check_opt("sbp_mmhg", input.sbp_mmhg, validate::SBP_MMHG)?;
    validate::check_opt(
        "bilirubin_x_uln",
        input.bilirubin_x_uln,
        validate::TIMES_ULN,
    )?;
    validate::check_opt(
        "ast_alt_alp_x_uln",
        input.ast_alt_alp_x_uln,
        validate::TIMES_ULN,
    )?;
    validate::check_opt("age", input.age, validate::AGE_YEARS)?;
    validate::check_opt(
        "alcohol_units_per_week",
        input.alcohol_units_per_week,
        validate::ALCOHOL_UNITS_WEEK,
    )?;
    input.creatinine.map(Creatinine::validated).transpose()?;
    Ok(())
}

/// Computes HAS-BLED.
pub fn has_bled(input: &HasBledInput) -> Result<ScoreResult, ScoreError> {
    validated(input)?;
    let alcohol = match input.alcohol_units_per_week {
        Some(u) => Component::scored(
            "alcohol",
            &["alcohol_units_per_week"],
            format!("{u} units/week"),
            if u >= 8.0 { 1.0 } else { 0.0 },
            1.0,
            "D: alcohol ≥8 units per week",
        ),
        None => Component::unscored(
            "alcohol",
            &["alcohol_units_per_week"],
            &["alcohol_units_per_week"],
            1.0,
        ),
    };
    let components = vec![
        numeric(
            "hypertension",
            "sbp_mmhg",
            input.sbp_mmhg,
            |s| s > 160.0,
            "mmHg",
            "H: uncontrolled hypertension, SBP >160 mmHg",
        ),
        renal(input),
        liver(input),
        flag(
            "stroke",
            "prior_stroke",
            input.prior_stroke,
            1.0,
            "S: history of stroke",
        ),
        flag(
            "bleeding",
            "bleeding_history_or_predisposition",
            input.bleeding_history_or_predisposition,
            1.0,
            "B: bleeding history or predisposition",
        ),
        labile_inr(input.labile_inr),
        numeric(
            "elderly",
            "age",
            input.age,
            |a| a > 65.0,
            "years",
            "E: age >65",
        ),
        flag(
            "drugs",
            "antiplatelet_or_nsaid",
            input.antiplatelet_or_nsaid,
            1.0,
            "D: antiplatelet agents or NSAIDs",
        ),
        alcohol,
    ];
    Ok(ScoreResult::additive(
        NAME,
        components,
        |p| band(sum_points(p)),
        reference(),
    ))
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<HasBledInput, ScoreError> {
    let creatinine = crate::lab_fields::creatinine(f)?;
    let labile_inr = match f.raw(&["labile_inr"])? {
        None => None,
        Some(Value::Bool(true)) => Some(LabileInr::Yes),
        Some(Value::Bool(false)) => Some(LabileInr::No),
        Some(Value::String(s))
            if matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "not_applicable" | "n/a" | "na"
            ) =>
        {
            Some(LabileInr::NotApplicable)
        }
        Some(_) => {
            return Err(ScoreError::WrongType {
                field: "labile_inr".into(),
                expected: "true, false or \"not_applicable\"".into(),
            });
        }
    };
    Ok(HasBledInput {
        sbp_mmhg: f.number(&["sbp_mmhg", "systolic_bp"])?,
        dialysis: f.boolean(&["dialysis"])?,
        renal_transplant: f.boolean(&["renal_transplant"])?,
        creatinine,
        cirrhosis: f.boolean(&["cirrhosis", "chronic_liver_disease"])?,
        bilirubin_x_uln: f.number(&["bilirubin_x_uln"])?,
        ast_alt_alp_x_uln: f.number(&["ast_alt_alp_x_uln"])?,
        prior_stroke: f.boolean(&["prior_stroke", "stroke"])?,
        bleeding_history_or_predisposition: f
            .boolean(&["bleeding_history_or_predisposition", "bleeding_history"])?,
        labile_inr,
        age: f.number(&["age"])?,
        antiplatelet_or_nsaid: f.boolean(&["antiplatelet_or_nsaid"])?,
        alcohol_units_per_week: f.number(&["alcohol_units_per_week"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> HasBledInput {
        HasBledInput {
            sbp_mmhg: Some(130.0),
            dialysis: Some(false),
            renal_transplant: Some(false),
            creatinine: Some(Creatinine::UmolL(90.0)),
            cirrhosis: Some(false),
            bilirubin_x_uln: Some(1.0),
            ast_alt_alp_x_uln: Some(1.0),
            prior_stroke: Some(false),
            bleeding_history_or_predisposition: Some(false),
            labile_inr: Some(LabileInr::NotApplicable),
            age: Some(60.0),
            antiplatelet_or_nsaid: Some(false),
            alcohol_units_per_week: Some(0.0),
        }
    }

    fn total(i: HasBledInput) -> Option<f64> {
        has_bled(&i).unwrap().total
    }

    #[test]
    fn sbp_edge_160() {
        assert_eq!(
            total(HasBledInput {
                sbp_mmhg: Some(159.0),
                ..clean()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(HasBledInput {
                sbp_mmhg: Some(160.0),
                ..clean()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(HasBledInput {
                sbp_mmhg: Some(161.0),
                ..clean()
            }),
            Some(1.0)
        );
    }

    #[test]
    fn creatinine_edge_200_and_mg_dl_conversion() {
        assert_eq!(
            total(HasBledInput {
                creatinine: Some(Creatinine::UmolL(199.0)),
                ..clean()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(HasBledInput {
                creatinine: Some(Creatinine::UmolL(200.0)),
                ..clean()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(HasBledInput {
                creatinine: Some(Creatinine::UmolL(201.0)),
                ..clean()
            }),
            Some(1.0)
        );
        // 2.26 mg/dL × 88.4 = 199.8 → 200 µmol/L
        assert_eq!(
            total(HasBledInput {
                creatinine: Some(Creatinine::MgDl(2.26)),
                ..clean()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(HasBledInput {
                creatinine: Some(Creatinine::MgDl(2.2)),
                ..clean()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(HasBledInput {
                dialysis: Some(true),
                ..clean()
            }),
            Some(1.0)
        );
        // dialysis alone settles the item even without creatinine
        assert_eq!(
            total(HasBledInput {
                dialysis: Some(true),
                creatinine: None,
                ..clean()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(HasBledInput {
                creatinine: None,
                ..clean()
            }),
            None
        );
    }

    #[test]
    fn liver_needs_both_biochemical_criteria() {
        assert_eq!(
            total(HasBledInput {
                bilirubin_x_uln: Some(2.1),
                ast_alt_alp_x_uln: Some(3.1),
                ..clean()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(HasBledInput {
                bilirubin_x_uln: Some(2.0),
                ast_alt_alp_x_uln: Some(3.1),
                ..clean()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(HasBledInput {
                bilirubin_x_uln: Some(2.1),
                ast_alt_alp_x_uln: Some(3.0),
                ..clean()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(HasBledInput {
                cirrhosis: Some(true),
                ..clean()
            }),
            Some(1.0)
        );
    }

    #[test]
    fn age_edge_65_is_strict() {
        assert_eq!(
            total(HasBledInput {
                age: Some(64.0),
                ..clean()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(HasBledInput {
                age: Some(65.0),
                ..clean()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(HasBledInput {
                age: Some(66.0),
                ..clean()
            }),
            Some(1.0)
        );
    }

    #[test]
    fn alcohol_edge_8() {
        assert_eq!(
            total(HasBledInput {
                alcohol_units_per_week: Some(7.0),
                ..clean()
            }),
            Some(0.0)
        );
        assert_eq!(
            total(HasBledInput {
                alcohol_units_per_week: Some(8.0),
                ..clean()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(HasBledInput {
                alcohol_units_per_week: Some(9.0),
                ..clean()
            }),
            Some(1.0)
        );
    }

    #[test]
    fn labile_inr_and_bands() {
        assert_eq!(
            total(HasBledInput {
                labile_inr: Some(LabileInr::Yes),
                ..clean()
            }),
            Some(1.0)
        );
        assert_eq!(
            total(HasBledInput {
                labile_inr: Some(LabileInr::No),
                ..clean()
            }),
            Some(0.0)
        );
        assert_eq!(band(0.0).code, "low");
        assert_eq!(band(1.0).code, "moderate");
        assert_eq!(band(2.0).code, "moderate");
        assert_eq!(band(3.0).code, "high");
        let r = has_bled(&HasBledInput {
            prior_stroke: Some(true),
            age: Some(70.0),
            antiplatelet_or_nsaid: Some(true),
            ..clean()
        })
        .unwrap();
        assert_eq!(r.total, Some(3.0));
        assert_eq!(r.band.as_deref(), Some("high"));
    }
}
