//! SOFA (Vincent 1996, as reprinted in Sepsis-3 Table 1), clinical-references.md §4.
//!
//! Each lab is scored in the unit supplied, with that unit's own printed band edges.
//! Conventions for printed gaps: bilirubin ≥12.0 mg/dL → 4, creatinine ≥5.0 mg/dL → 4,
//! dopamine ≤5 → 2 (Vincent 1996). A missing organ is never scored 0: the total is
//! withheld and `partial_total` covers the organs that were scored.
//!
//! Missing inputs, per system: respiration needs P/F (given, or PaO2 with FiO2) and, below
//! 200, whether the patient is on respiratory support. Cardiovascular needs MAP and the
//! vasopressor status — either `vasopressors: false`, or at least one dose (doses not
//! listed next to a given dose are read as not infused) — unless a dose already scores
//! ≥ 2. Renal needs creatinine and 24-h urine output, unless either already scores 4.

use serde::{Deserialize, Serialize};

use crate::error::ScoreError;
use crate::input::Fields;
use crate::result::{Component, Reference, ScoreResult};
use crate::rounding::{round_integer, round_one_decimal};
use crate::units::{Bilirubin, Creatinine};
use crate::validate;

pub const NAME: &str = "sofa";

/// Worst values of the assessment window (normally 24 h).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SofaInput {
    pub pao2_fio2_mmhg: Option<f64>,
    /// Alternative to `pao2_fio2_mmhg`: arterial PaO2 (mmHg) …
    pub pao2_mmhg: Option<f64>,
    /// … with FiO2 as a fraction (0.21–1.0) or a percentage (21–100).
    pub fio2: Option<f64>,
    /// Mechanical ventilation (or NIV/CPAP, as the site records it).
    pub resp_support: Option<bool>,
    /// Platelets ×10³/µL (= ×10⁹/L).
    pub platelets_10e3_ul: Option<f64>,
    pub bilirubin: Option<Bilirubin>,
    pub map_mmhg: Option<f64>,
    /// Whether any catecholamine is infused; `Some(false)` settles the doses as zero.
    pub vasopressors: Option<bool>,
    pub dopamine_ug_kg_min: Option<f64>,
    pub dobutamine_ug_kg_min: Option<f64>,
    pub epinephrine_ug_kg_min: Option<f64>,
    pub norepinephrine_ug_kg_min: Option<f64>,
    /// GCS as assumed without sedation.
    pub gcs: Option<f64>,
    pub creatinine: Option<Creatinine>,
    pub urine_output_ml_day: Option<f64>,
}

pub(crate) fn reference() -> Reference {
    Reference {
        citation: "Vincent JL, et al. The SOFA (Sepsis-related Organ Failure Assessment) score \
                   to describe organ dysfunction/failure. Intensive Care Med 1996;22:707–710; \
                   table as reprinted in Singer M, et al. JAMA 2016;315(8):801–810, Table 1."
            .into(),
        rule_set: "SOFA six systems, 0–4 each; renal = worse of creatinine and urine output".into(),
    }
}

/// Respiration points; `None` when P/F < 200 and respiratory support is unknown.
pub fn respiration_points(pf: f64, support: Option<bool>) -> Option<f64> {
    match pf {
        p if p >= 400.0 => Some(0.0),
        p if p >= 300.0 => Some(1.0),
        p if p >= 200.0 => Some(2.0),
        p => match support? {
            false => Some(2.0),
            true if p < 100.0 => Some(4.0),
            true => Some(3.0),
        },
    }
}

/// Coagulation points from platelets ×10³/µL.
pub fn coagulation_points(platelets: f64) -> f64 {
    match platelets {
        p if p < 20.0 => 4.0,
        p if p < 50.0 => 3.0,
        p if p < 100.0 => 2.0,
        p if p < 150.0 => 1.0,
        _ => 0.0,
    }
}

/// Liver points, in the unit supplied.
pub fn liver_points(bilirubin: Bilirubin) -> f64 {
    match bilirubin {
        Bilirubin::MgDl(v) => match round_one_decimal(v) {
            b if b < 1.2 => 0.0,
            b if b <= 1.9 => 1.0,
            b if b <= 5.9 => 2.0,
            b if b <= 11.9 => 3.0,
            _ => 4.0,
        },
        Bilirubin::UmolL(v) => match round_integer(v) {
            b if b < 20.0 => 0.0,
            b if b <= 32.0 => 1.0,
            b if b <= 101.0 => 2.0,
            b if b <= 204.0 => 3.0,
            _ => 4.0,
        },
    }
}

/// Catecholamine points (µg/kg/min); 0 when none is infused.
pub fn vasopressor_points(
    dopamine: f64,
    dobutamine: f64,
    epinephrine: f64,
    norepinephrine: f64,
) -> f64 {
    let dopa = match dopamine {
        d if d > 15.0 => 4.0,
        d if d > 5.0 => 3.0,
        d if d > 0.0 => 2.0,
        _ => 0.0,
    };
    let dobu = if dobutamine > 0.0 { 2.0 } else { 0.0 };
    let adrenergic = |dose: f64| match dose {
        d if d > 0.1 => 4.0,
        d if d > 0.0 => 3.0,
        _ => 0.0,
    };
    [
        dopa,
        dobu,
        adrenergic(epinephrine),
        adrenergic(norepinephrine),
    ]
    .into_iter()
    .fold(0.0, f64::max)
}

/// CNS points from GCS.
pub fn cns_points(gcs: f64) -> f64 {
    match gcs {
        g if g >= 15.0 => 0.0,
        g if g >= 13.0 => 1.0,
        g if g >= 10.0 => 2.0,
        g if g >= 6.0 => 3.0,
        _ => 4.0,
    }
}

/// Renal points from creatinine, in the unit supplied.
pub fn creatinine_points(creatinine: Creatinine) -> f64 {
    match creatinine {
        Creatinine::MgDl(v) => match round_one_decimal(v) {
            c if c < 1.2 => 0.0,
            c if c <= 1.9 => 1.0,
            c if c <= 3.4 => 2.0,
            c if c <= 4.9 => 3.0,
            _ => 4.0,
        },
        Creatinine::UmolL(v) => match round_integer(v) {
            c if c < 110.0 => 0.0,
            c if c <= 170.0 => 1.0,
            c if c <= 299.0 => 2.0,
            c if c <= 440.0 => 3.0,
            _ => 4.0,
        },
    }
}

/// Renal points from 24-h urine output.
pub fn urine_points(ml_day: f64) -> f64 {
    match ml_day {
        u if u < 200.0 => 4.0,
        u if u < 500.0 => 3.0,
        _ => 0.0,
    }
}

fn validated(input: &SofaInput) -> Result<(), ScoreError> {
    use validate::*;
    check_opt(
        "platelets_10e3_ul",
        input.platelets_10e3_ul,
        PLATELETS_10E3_UL,
    )?;
    check_opt("map_mmhg", input.map_mmhg, MAP_MMHG)?;
    check_opt(
        "dopamine_ug_kg_min",
        input.dopamine_ug_kg_min,
        VASOPRESSOR_UG_KG_MIN,
    )?;
    check_opt(
        "dobutamine_ug_kg_min",
        input.dobutamine_ug_kg_min,
        VASOPRESSOR_UG_KG_MIN,
    )?;
    check_opt(
        "epinephrine_ug_kg_min",
        input.epinephrine_ug_kg_min,
        VASOPRESSOR_UG_KG_MIN,
    )?;
    check_opt(
        "norepinephrine_ug_kg_min",
        input.norepinephrine_ug_kg_min,
        VASOPRESSOR_UG_KG_MIN,
    )?;
    check_opt(
        "urine_output_ml_day",
        input.urine_output_ml_day,
        URINE_ML_DAY,
    )?;
    if let Some(g) = input.gcs {
        check_integer("gcs", g, GCS_TOTAL)?;
    }
    input.bilirubin.map(Bilirubin::validated).transpose()?;
    input.creatinine.map(Creatinine::validated).transpose()?;
    Ok(())
}

/// P/F from the ratio field or from PaO2 and FiO2; errors name the field at fault.
fn pf_ratio(input: &SofaInput) -> Result<Option<f64>, ScoreError> {
    let derived = match (input.pao2_mmhg, input.fio2) {
        (None, None) => None,
        (Some(_), None) => return Err(ScoreError::missing("fio2")),
        (None, Some(_)) => return Err(ScoreError::missing("pao2_mmhg")),
        (Some(pao2), Some(fio2)) => {
            validate::check("pao2_mmhg", pao2, validate::PAO2_MMHG)?;
            let fraction = match fio2 {
                f if (0.21..=1.0).contains(&f) => f,
                f if (21.0..=100.0).contains(&f) => f / 100.0,
                f => {
                    return Err(ScoreError::invalid(
                        "fio2",
                        format!("{f} is neither a fraction 0.21–1.0 nor a percentage 21–100"),
                    ));
                }
            };
            Some(pao2 / fraction)
        }
    };
    match (input.pao2_fio2_mmhg, derived) {
        (Some(_), Some(_)) => Err(ScoreError::ConflictingFields {
            field: "pao2_fio2_mmhg".into(),
            other: "pao2_mmhg".into(),
        }),
        (Some(pf), None) | (None, Some(pf)) => {
            validate::check("pao2_fio2_mmhg", pf, validate::PF_RATIO_MMHG).map(Some)
        }
        (None, None) => Ok(None),
    }
}

fn respiration(input: &SofaInput, pf: Option<f64>) -> Component {
    let inputs = ["pao2_fio2_mmhg", "resp_support"];
    let Some(pf) = pf else {
        return Component::unscored("respiration", &inputs, &["pao2_fio2_mmhg"], 4.0);
    };
    match respiration_points(pf, input.resp_support) {
        None => Component::unscored("respiration", &inputs, &["resp_support"], 4.0),
        Some(points) => {
            let support = match input.resp_support {
                Some(true) => ", with respiratory support",
                Some(false) => ", no respiratory support",
                None => "",
            };
            let detail = if pf < 200.0 && input.resp_support == Some(false) {
                "P/F <200 without respiratory support is capped at 2"
            } else {
                "PaO2/FiO2 bands ≥400 | <400 | <300 | <200+support | <100+support"
            };
            Component::scored(
                "respiration",
                &inputs,
                format!("P/F {pf:.0} mmHg{support}"),
                points,
                4.0,
                detail,
            )
        }
    }
}

fn single(
    name: &str,
    field: &str,
    value: Option<f64>,
    shown: String,
    points: impl Fn(f64) -> f64,
    detail: &str,
) -> Component {
    match value {
        Some(v) => Component::scored(name, &[field], shown, points(v), 4.0, detail),
        None => Component::unscored(name, &[field], &[field], 4.0),
    }
}

fn liver(input: &SofaInput) -> Component {
    let inputs = ["bilirubin_mg_dl", "bilirubin_umol_l"];
    match input.bilirubin {
        Some(b @ Bilirubin::MgDl(v)) => Component::scored(
            "liver",
            &inputs,
            format!("bilirubin {:.1} mg/dL", round_one_decimal(v)),
            liver_points(b),
            4.0,
            "mg/dL bands <1.2 | 1.2–1.9 | 2.0–5.9 | 6.0–11.9 | ≥12.0",
        ),
        Some(b @ Bilirubin::UmolL(v)) => Component::scored(
            "liver",
            &inputs,
            format!("bilirubin {} µmol/L", round_integer(v)),
            liver_points(b),
            4.0,
            "µmol/L bands <20 | 20–32 | 33–101 | 102–204 | >204",
        ),
        None => Component::unscored("liver", &inputs, &["bilirubin_umol_l"], 4.0),
    }
}

/// Vasopressor points, or the fields still needed to know them.
fn vasopressor_status(input: &SofaInput) -> Result<f64, Vec<&'static str>> {
    let doses = [
        input.dopamine_ug_kg_min,
        input.dobutamine_ug_kg_min,
        input.epinephrine_ug_kg_min,
        input.norepinephrine_ug_kg_min,
    ];
    if doses.iter().any(Option::is_some) {
        let [dopa, dobu, epi, norepi] = doses.map(|d| d.unwrap_or(0.0));
        return Ok(vasopressor_points(dopa, dobu, epi, norepi));
    }
    match input.vasopressors {
        Some(false) => Ok(0.0),
        Some(true) => Err(vec![
            "dopamine_ug_kg_min",
            "dobutamine_ug_kg_min",
            "epinephrine_ug_kg_min",
            "norepinephrine_ug_kg_min",
        ]),
        None => Err(vec!["vasopressors"]),
    }
}

fn cardiovascular(input: &SofaInput) -> Component {
    let inputs = [
        "map_mmhg",
        "vasopressors",
        "dopamine_ug_kg_min",
        "dobutamine_ug_kg_min",
        "epinephrine_ug_kg_min",
        "norepinephrine_ug_kg_min",
    ];
    let drugs = vasopressor_status(input);
    let map_points: Option<f64> = input
        .map_mmhg
        .map(|m| if round_integer(m) < 70.0 { 1.0 } else { 0.0 });
    // A vasopressor scoring ≥2 outranks MAP (at most 1).
    let points = match (map_points, &drugs) {
        (Some(m), Ok(d)) => m.max(*d),
        (None, Ok(d)) if *d >= 2.0 => *d,
        (None, Ok(_)) => return Component::unscored("cardiovascular", &inputs, &["map_mmhg"], 4.0),
        (m, Err(needed)) => {
            let mut missing = needed.clone();
            if m.is_none() {
                missing.insert(0, "map_mmhg");
            }
            return Component::unscored("cardiovascular", &inputs, &missing, 4.0);
        }
    };
    let dose = |d: Option<f64>| d.unwrap_or(0.0);
    let shown = format!(
        "MAP {}; dopamine {}, dobutamine {}, epinephrine {}, norepinephrine {} µg/kg/min",
        input
            .map_mmhg
            .map_or("not recorded".to_owned(), |m| format!(
                "{} mmHg",
                round_integer(m)
            )),
        dose(input.dopamine_ug_kg_min),
        dose(input.dobutamine_ug_kg_min),
        dose(input.epinephrine_ug_kg_min),
        dose(input.norepinephrine_ug_kg_min),
    );
    Component::scored(
        "cardiovascular",
        &inputs,
        shown,
        points,
        4.0,
        "MAP <70 → 1; dopamine ≤5 or dobutamine → 2; dopamine >5 or (nor)epinephrine ≤0.1 → 3; dopamine >15 or (nor)epinephrine >0.1 → 4",
    )
}

fn renal(input: &SofaInput) -> Component {
    let inputs = [
        "creatinine_mg_dl",
        "creatinine_umol_l",
        "urine_output_ml_day",
    ];
    let by_creatinine = input.creatinine.map(creatinine_points);
    let by_urine = input.urine_output_ml_day.map(urine_points);
    // The worse of the two: either one at 4 settles the item.
    let points = match (by_creatinine, by_urine) {
        (Some(c), Some(u)) => c.max(u),
        (Some(4.0), None) | (None, Some(4.0)) => 4.0,
        (Some(_), None) => {
            return Component::unscored("renal", &inputs, &["urine_output_ml_day"], 4.0);
        }
        (None, Some(_)) => {
            return Component::unscored("renal", &inputs, &["creatinine_umol_l"], 4.0);
        }
        (None, None) => {
            return Component::unscored(
                "renal",
                &inputs,
                &["creatinine_umol_l", "urine_output_ml_day"],
                4.0,
            );
        }
    };
    let creatinine = input.creatinine.map(|c| match c {
        Creatinine::MgDl(v) => format!("creatinine {:.1} mg/dL", round_one_decimal(v)),
        Creatinine::UmolL(v) => format!("creatinine {} µmol/L", round_integer(v)),
    });
    let urine = input
        .urine_output_ml_day
        .map(|u| format!("urine {u} mL/day"));
    let shown = [creatinine, urine]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    Component::scored(
        "renal",
        &inputs,
        shown,
        points,
        4.0,
        "worse of creatinine bands and urine output (<500 → 3, <200 → 4)",
    )
}

fn components(input: &SofaInput, pf: Option<f64>) -> Vec<Component> {
    vec![
        respiration(input, pf),
        single(
            "coagulation",
            "platelets_10e3_ul",
            input.platelets_10e3_ul,
            format!(
                "platelets {} ×10³/µL",
                input.platelets_10e3_ul.unwrap_or(0.0)
            ),
            coagulation_points,
            "platelets ≥150 | <150 | <100 | <50 | <20",
        ),
        liver(input),
        cardiovascular(input),
        single(
            "cns",
            "gcs",
            input.gcs,
            format!("GCS {}", input.gcs.unwrap_or(0.0)),
            cns_points,
            "GCS 15 | 13–14 | 10–12 | 6–9 | <6",
        ),
        renal(input),
    ]
}

fn notes(input: &SofaInput) -> Vec<String> {
    let mut notes = vec!["GCS is scored as assumed without sedation".to_owned()];
    if input.pao2_mmhg.is_some() {
        notes.push("P/F computed from pao2_mmhg and fio2".to_owned());
    }
    let doses = [
        input.dopamine_ug_kg_min,
        input.dobutamine_ug_kg_min,
        input.epinephrine_ug_kg_min,
        input.norepinephrine_ug_kg_min,
    ];
    if doses.iter().any(Option::is_some) && doses.iter().any(Option::is_none) {
        notes.push(
            "catecholamines not listed beside the doses given were read as not infused".to_owned(),
        );
    }
    if let Some(b) = input.bilirubin {
        notes.push(format!(
            "bilirubin scored in the unit supplied ({})",
            b.field()
        ));
    }
    if let Some(c) = input.creatinine {
        notes.push(format!(
            "creatinine scored in the unit supplied ({})",
            c.field()
        ));
    }
    notes
}

/// Computes SOFA.
pub fn sofa(input: &SofaInput) -> Result<ScoreResult, ScoreError> {
    validated(input)?;
    let pf = pf_ratio(input)?;
    let result = ScoreResult::additive(
        NAME,
        components(input, pf),
        |_| crate::result::Band::new("unbanded", ""),
        reference(),
    );
    Ok(result
        .without_band(
            "SOFA has no severity bands; in Sepsis-3 organ dysfunction is an acute rise of ≥2 \
             points (see sofa_delta_sepsis3)",
        )
        .with_notes(notes(input)))
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<SofaInput, ScoreError> {
    let bilirubin = crate::lab_fields::bilirubin(f)?;
    let creatinine = crate::lab_fields::creatinine(f)?;
    Ok(SofaInput {
        pao2_fio2_mmhg: f.number(&["pao2_fio2_mmhg", "pf_ratio", "oxygenation_index_mmhg"])?,
        pao2_mmhg: f.number(&["pao2_mmhg", "pao2"])?,
        fio2: f.number(&["fio2"])?,
        resp_support: f.boolean(&["resp_support", "mechanical_ventilation"])?,
        platelets_10e3_ul: f.number(&["platelets_10e3_ul", "platelets_10e9_l", "platelets"])?,
        bilirubin,
        map_mmhg: f.number(&["map_mmhg", "mean_arterial_pressure"])?,
        vasopressors: f.boolean(&["vasopressors"])?,
        dopamine_ug_kg_min: f.number(&["dopamine_ug_kg_min"])?,
        dobutamine_ug_kg_min: f.number(&["dobutamine_ug_kg_min"])?,
        epinephrine_ug_kg_min: f.number(&["epinephrine_ug_kg_min", "adrenaline_ug_kg_min"])?,
        norepinephrine_ug_kg_min: f
            .number(&["norepinephrine_ug_kg_min", "noradrenaline_ug_kg_min"])?,
        gcs: f.number(&["gcs"])?,
        creatinine,
        urine_output_ml_day: f.number(&["urine_output_ml_day"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> SofaInput {
        SofaInput {
            pao2_mmhg: None,
            fio2: None,
            vasopressors: None,
            pao2_fio2_mmhg: Some(450.0),
            resp_support: Some(false),
            platelets_10e3_ul: Some(200.0),
            bilirubin: Some(Bilirubin::UmolL(10.0)),
            map_mmhg: Some(85.0),
            dopamine_ug_kg_min: Some(0.0),
            dobutamine_ug_kg_min: Some(0.0),
            epinephrine_ug_kg_min: Some(0.0),
            norepinephrine_ug_kg_min: Some(0.0),
            gcs: Some(15.0),
            creatinine: Some(Creatinine::UmolL(80.0)),
            urine_output_ml_day: Some(1500.0),
        }
    }

    #[test]
    fn healthy_is_zero_and_complete() {
        let r = sofa(&healthy()).unwrap();
        assert_eq!(r.total, Some(0.0));
        assert!(r.complete);
        assert_eq!(r.components.len(), 6);
        assert_eq!(r.band, None);
    }

    #[test]
    fn respiration_edges_and_support_cap() {
        assert_eq!(respiration_points(400.0, Some(false)), Some(0.0));
        assert_eq!(respiration_points(399.9, Some(false)), Some(1.0));
        assert_eq!(respiration_points(300.0, Some(false)), Some(1.0));
        assert_eq!(respiration_points(299.0, Some(false)), Some(2.0));
        assert_eq!(respiration_points(200.0, Some(true)), Some(2.0));
        assert_eq!(respiration_points(199.0, Some(true)), Some(3.0));
        assert_eq!(respiration_points(199.0, Some(false)), Some(2.0));
        assert_eq!(respiration_points(100.0, Some(true)), Some(3.0));
        assert_eq!(respiration_points(99.0, Some(true)), Some(4.0));
        assert_eq!(respiration_points(80.0, Some(false)), Some(2.0));
        assert_eq!(respiration_points(150.0, None), None);
        assert_eq!(respiration_points(250.0, None), Some(2.0));
    }

    #[test]
    fn coagulation_edges() {
        for (p, s) in [
            (151.0, 0.0),
            (150.0, 0.0),
            (149.0, 1.0),
            (100.0, 1.0),
            (99.0, 2.0),
            (50.0, 2.0),
            (49.0, 3.0),
            (20.0, 3.0),
            (19.0, 4.0),
        ] {
            assert_eq!(coagulation_points(p), s, "platelets {p}");
        }
    }

    #[test]
    fn bilirubin_mg_dl_edges() {
        for (b, s) in [
            (1.1, 0.0),
            (1.2, 1.0),
            (1.14, 0.0),
            (1.15, 1.0),
            (1.9, 1.0),
            (2.0, 2.0),
            (1.95, 2.0),
            (5.9, 2.0),
            (6.0, 3.0),
            (11.9, 3.0),
            (12.0, 4.0),
            (12.1, 4.0),
        ] {
            assert_eq!(liver_points(Bilirubin::MgDl(b)), s, "bilirubin {b} mg/dL");
        }
    }

    #[test]
    fn bilirubin_umol_edges() {
        for (b, s) in [
            (19.0, 0.0),
            (20.0, 1.0),
            (32.0, 1.0),
            (33.0, 2.0),
            (101.0, 2.0),
            (102.0, 3.0),
            (204.0, 3.0),
            (205.0, 4.0),
            (19.4, 0.0),
            (19.5, 1.0),
        ] {
            assert_eq!(liver_points(Bilirubin::UmolL(b)), s, "bilirubin {b} µmol/L");
        }
    }

    #[test]
    fn units_score_with_their_own_edges() {
        // The two printed tables do not coincide at the edges: 19.6 µmol/L rounds to 20
        // (1 point) while the same value in mg/dL, 1.146, rounds to 1.1 (0 points).
        assert_eq!(liver_points(Bilirubin::UmolL(19.6)), 1.0);
        assert_eq!(
            liver_points(Bilirubin::MgDl(Bilirubin::UmolL(19.6).mg_dl())),
            0.0
        );
    }

    #[test]
    fn vasopressor_edges() {
        assert_eq!(vasopressor_points(0.0, 0.0, 0.0, 0.0), 0.0);
        assert_eq!(vasopressor_points(5.0, 0.0, 0.0, 0.0), 2.0);
        assert_eq!(vasopressor_points(5.1, 0.0, 0.0, 0.0), 3.0);
        assert_eq!(vasopressor_points(15.0, 0.0, 0.0, 0.0), 3.0);
        assert_eq!(vasopressor_points(15.1, 0.0, 0.0, 0.0), 4.0);
        assert_eq!(vasopressor_points(0.0, 2.5, 0.0, 0.0), 2.0);
        assert_eq!(vasopressor_points(0.0, 0.0, 0.1, 0.0), 3.0);
        assert_eq!(vasopressor_points(0.0, 0.0, 0.11, 0.0), 4.0);
        assert_eq!(vasopressor_points(0.0, 0.0, 0.0, 0.1), 3.0);
        assert_eq!(vasopressor_points(0.0, 0.0, 0.0, 0.2), 4.0);
    }

    #[test]
    fn map_edge_and_vasopressor_without_map() {
        let r = sofa(&SofaInput {
            map_mmhg: Some(69.0),
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, Some(1.0));
        let r = sofa(&SofaInput {
            map_mmhg: Some(70.0),
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, Some(0.0));
        let r = sofa(&SofaInput {
            map_mmhg: Some(69.5),
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, Some(0.0));
        let r = sofa(&SofaInput {
            map_mmhg: None,
            norepinephrine_ug_kg_min: Some(0.05),
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, Some(3.0));
        let r = sofa(&SofaInput {
            map_mmhg: None,
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.missing, vec!["map_mmhg".to_string()]);
    }

    fn no_doses() -> SofaInput {
        SofaInput {
            dopamine_ug_kg_min: None,
            dobutamine_ug_kg_min: None,
            epinephrine_ug_kg_min: None,
            norepinephrine_ug_kg_min: None,
            ..healthy()
        }
    }

    #[test]
    fn vasopressor_status_must_be_known() {
        let r = sofa(&no_doses()).unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.missing, vec!["vasopressors".to_string()]);
        let r = sofa(&SofaInput {
            vasopressors: Some(false),
            ..no_doses()
        })
        .unwrap();
        assert_eq!(r.total, Some(0.0));
        let r = sofa(&SofaInput {
            vasopressors: Some(true),
            ..no_doses()
        })
        .unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.missing.len(), 4);
        // one dose recorded: the others are read as not infused
        let r = sofa(&SofaInput {
            dobutamine_ug_kg_min: Some(5.0),
            ..no_doses()
        })
        .unwrap();
        assert_eq!(r.total, Some(2.0));
    }

    #[test]
    fn pf_from_pao2_and_fio2() {
        let r = sofa(&SofaInput {
            pao2_fio2_mmhg: None,
            pao2_mmhg: Some(90.0),
            fio2: Some(0.4),
            ..healthy()
        })
        .unwrap();
        // 90 / 0.4 = 225 → 2
        assert_eq!(r.total, Some(2.0));
        let r = sofa(&SofaInput {
            pao2_fio2_mmhg: None,
            pao2_mmhg: Some(90.0),
            fio2: Some(40.0),
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, Some(2.0));
        let err = sofa(&SofaInput {
            pao2_fio2_mmhg: None,
            pao2_mmhg: Some(90.0),
            fio2: Some(5.0),
            ..healthy()
        })
        .unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "fio2"));
        let err = sofa(&SofaInput {
            pao2_fio2_mmhg: None,
            pao2_mmhg: Some(90.0),
            fio2: None,
            ..healthy()
        })
        .unwrap_err();
        assert_eq!(
            err,
            ScoreError::MissingField {
                field: "fio2".into()
            }
        );
        let err = sofa(&SofaInput {
            pao2_mmhg: Some(90.0),
            fio2: Some(0.4),
            ..healthy()
        })
        .unwrap_err();
        assert!(matches!(err, ScoreError::ConflictingFields { .. }));
    }

    #[test]
    fn urine_output_unknown_leaves_renal_open_unless_creatinine_scores_4() {
        let r = sofa(&SofaInput {
            urine_output_ml_day: None,
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.missing, vec!["urine_output_ml_day".to_string()]);
        let r = sofa(&SofaInput {
            urine_output_ml_day: None,
            creatinine: Some(Creatinine::UmolL(500.0)),
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, Some(4.0));
    }

    #[test]
    fn cns_edges() {
        for (g, s) in [
            (15.0, 0.0),
            (14.0, 1.0),
            (13.0, 1.0),
            (12.0, 2.0),
            (10.0, 2.0),
            (9.0, 3.0),
            (6.0, 3.0),
            (5.0, 4.0),
            (3.0, 4.0),
        ] {
            assert_eq!(cns_points(g), s, "gcs {g}");
        }
    }

    #[test]
    fn creatinine_edges_both_units() {
        for (c, s) in [
            (1.1, 0.0),
            (1.2, 1.0),
            (1.9, 1.0),
            (2.0, 2.0),
            (3.4, 2.0),
            (3.5, 3.0),
            (4.9, 3.0),
            (5.0, 4.0),
            (5.1, 4.0),
            (4.95, 4.0),
        ] {
            assert_eq!(
                creatinine_points(Creatinine::MgDl(c)),
                s,
                "creatinine {c} mg/dL"
            );
        }
        for (c, s) in [
            (109.0, 0.0),
            (110.0, 1.0),
            (170.0, 1.0),
            (171.0, 2.0),
            (299.0, 2.0),
            (300.0, 3.0),
            (440.0, 3.0),
            (441.0, 4.0),
        ] {
            assert_eq!(
                creatinine_points(Creatinine::UmolL(c)),
                s,
                "creatinine {c} µmol/L"
            );
        }
    }

    #[test]
    fn urine_output_edges_and_worse_of_rule() {
        assert_eq!(urine_points(500.0), 0.0);
        assert_eq!(urine_points(499.0), 3.0);
        assert_eq!(urine_points(200.0), 3.0);
        assert_eq!(urine_points(199.0), 4.0);
        let r = sofa(&SofaInput {
            urine_output_ml_day: Some(150.0),
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, Some(4.0));
        let r = sofa(&SofaInput {
            creatinine: None,
            urine_output_ml_day: Some(150.0),
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, Some(4.0));
        let r = sofa(&SofaInput {
            creatinine: None,
            urine_output_ml_day: Some(300.0),
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, None);
    }

    #[test]
    fn missing_organ_gives_partial_total_not_zero() {
        let r = sofa(&SofaInput {
            platelets_10e3_ul: None,
            gcs: Some(9.0),
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.partial_total, Some(3.0));
        assert_eq!(r.missing, vec!["platelets_10e3_ul".to_string()]);
        assert_eq!(r.possible_range.map(|p| p.max), Some(7.0));
    }

    #[test]
    fn septic_patient_full_example() {
        // P/F 180 ventilated (3), platelets 90 (2), bilirubin 40 µmol/L (2),
        // norepinephrine 0.2 (4), GCS 12 (2), creatinine 2.5 mg/dL (2) → 15.
        let r = sofa(&SofaInput {
            pao2_fio2_mmhg: Some(180.0),
            resp_support: Some(true),
            platelets_10e3_ul: Some(90.0),
            bilirubin: Some(Bilirubin::UmolL(40.0)),
            map_mmhg: Some(62.0),
            norepinephrine_ug_kg_min: Some(0.2),
            gcs: Some(12.0),
            creatinine: Some(Creatinine::MgDl(2.5)),
            urine_output_ml_day: Some(800.0),
            ..healthy()
        })
        .unwrap();
        assert_eq!(r.total, Some(15.0));
        let points: Vec<f64> = r.components.iter().filter_map(|c| c.points).collect();
        assert_eq!(points, vec![3.0, 2.0, 2.0, 4.0, 2.0, 2.0]);
    }

    #[test]
    fn impossible_values_rejected() {
        let err = sofa(&SofaInput {
            creatinine: Some(Creatinine::UmolL(-3.0)),
            ..healthy()
        })
        .unwrap_err();
        assert!(
            matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "creatinine_umol_l")
        );
        let err = sofa(&SofaInput {
            gcs: Some(16.0),
            ..healthy()
        })
        .unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "gcs"));
    }
}
