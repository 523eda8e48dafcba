//! The single entry point used by the HTTP API and the CLI: a score name and a JSON
//! object of inputs (names of clinical-references.md §10) in, a `ScoreResult` out.

use serde::Serialize;
use serde_json::Value;

use crate::error::ScoreError;
use crate::input::Fields;
use crate::result::ScoreResult;
use crate::scores::{
    cdrs, cha2ds2_vasc, china_par, curb65, egfr, framingham, gcs, has_bled, news2, qsofa, sirs,
    sofa, sofa_delta,
};

/// Names accepted by [`score`], in the order the API lists them.
pub const SCORE_NAMES: [&str; 14] = [
    news2::NAME,
    qsofa::NAME,
    sirs::NAME,
    sofa::NAME,
    sofa_delta::NAME,
    cha2ds2_vasc::NAME,
    has_bled::NAME,
    curb65::NAME,
    gcs::NAME,
    cdrs::NAME,
    egfr::NAME,
    egfr::KDIGO_NAME,
    framingham::NAME,
    china_par::NAME,
];

/// One entry of the score catalogue: what a client needs to pick a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScoreInfo {
    /// The name [`score`] accepts (clinical-references.md §10).
    pub name: &'static str,
    /// One line: what the score estimates and for whom.
    pub description: &'static str,
}

/// Every score [`score`] accepts, in the order of [`SCORE_NAMES`], with a description for
/// listings (the API's `GET /cdss/scores`, the CLI's `score --list`).
pub const SCORE_CATALOGUE: [ScoreInfo; 14] = [
    ScoreInfo {
        name: news2::NAME,
        description: "National Early Warning Score 2 (RCP 2017): acute-illness severity from seven vital-sign parameters, adults ≥ 16",
    },
    ScoreInfo {
        name: qsofa::NAME,
        description: "quick SOFA (Sepsis-3): respiratory rate, mentation and systolic pressure; ≥ 2 flags suspected sepsis at risk of poor outcome",
    },
    ScoreInfo {
        name: sirs::NAME,
        description: "Systemic inflammatory response syndrome criteria (ACCP/SCCM 1992): temperature, heart rate, breathing, white cells",
    },
    ScoreInfo {
        name: sofa::NAME,
        description: "Sequential Organ Failure Assessment (Vincent 1996): six organ systems, 0–4 points each",
    },
    ScoreInfo {
        name: sofa_delta::NAME,
        description: "Sepsis-3 organ dysfunction: rise of SOFA by ≥ 2 points from baseline",
    },
    ScoreInfo {
        name: cha2ds2_vasc::NAME,
        description: "CHA2DS2-VASc: stroke risk in atrial fibrillation",
    },
    ScoreInfo {
        name: has_bled::NAME,
        description: "HAS-BLED (Pisters 2010): one-year major bleeding risk on anticoagulation in atrial fibrillation",
    },
    ScoreInfo {
        name: curb65::NAME,
        description: "CURB-65: severity of community-acquired pneumonia",
    },
    ScoreInfo {
        name: gcs::NAME,
        description: "Glasgow Coma Scale: eye, verbal and motor response (3–15)",
    },
    ScoreInfo {
        name: cdrs::NAME,
        description: "New Chinese Diabetes Risk Score: screening for undiagnosed type 2 diabetes, ages 20–74",
    },
    ScoreInfo {
        name: egfr::NAME,
        description: "eGFR by the race-free CKD-EPI 2021 creatinine equation, mL/min/1.73 m², adults",
    },
    ScoreInfo {
        name: egfr::KDIGO_NAME,
        description: "KDIGO chronic kidney disease G and A categories from eGFR and albumin/creatinine ratio",
    },
    ScoreInfo {
        name: framingham::NAME,
        description: "Framingham general cardiovascular disease 10-year risk (D'Agostino 2008), ages 30–74",
    },
    ScoreInfo {
        name: china_par::NAME,
        description: "China-PAR 10-year ASCVD risk: inputs are validated but no risk is computed until its coefficients are verified",
    },
];

/// Reads the input with `read`, rejects unknown fields, then scores it with `run`.
fn with<T>(
    input: &Value,
    read: fn(&mut Fields<'_>) -> Result<T, ScoreError>,
    run: fn(&T) -> Result<ScoreResult, ScoreError>,
) -> Result<ScoreResult, ScoreError> {
    let mut fields = Fields::new(input)?;
    let typed = read(&mut fields)?;
    fields.finish()?;
    run(&typed)
}

/// Computes the score called `name` from a JSON object of inputs.
///
/// Errors name the field: unknown score, non-object input, wrong JSON type (strings are
/// never parsed as numbers), unknown or conflicting fields, impossible values, and
/// missing fields that a score cannot do without. Missing *components* of additive
/// scores are not errors: they give an incomplete result listing them in `missing`.
pub fn score(name: &str, input: &Value) -> Result<ScoreResult, ScoreError> {
    match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
        "news2" => with(input, news2::from_json, news2::news2),
        "qsofa" => with(input, qsofa::from_json, qsofa::qsofa),
        "sirs" => with(input, sirs::from_json, sirs::sirs),
        "sofa" => with(input, sofa::from_json, sofa::sofa),
        "sofa_delta_sepsis3" | "sofa_delta" => {
            with(input, sofa_delta::from_json, sofa_delta::sofa_delta)
        }
        "cha2ds2_vasc" | "cha2ds2vasc" => {
            with(input, cha2ds2_vasc::from_json, cha2ds2_vasc::cha2ds2_vasc)
        }
        "has_bled" | "hasbled" => with(input, has_bled::from_json, has_bled::has_bled),
        "curb65" | "curb_65" => with(input, curb65::from_json, curb65::curb65),
        "gcs" => with(input, gcs::from_json, gcs::gcs),
        "cdrs" | "chinese_diabetes_risk_score" => with(input, cdrs::from_json, cdrs::cdrs),
        "ckd_epi_2021" | "egfr" => with(input, egfr::from_json, egfr::ckd_epi),
        "kdigo_ckd" | "kdigo" => with(input, egfr::kdigo_from_json, egfr::kdigo),
        "framingham_2008_cvd" | "framingham" => {
            with(input, framingham::from_json, framingham::framingham)
        }
        "china_par" => with(input, china_par::from_json, china_par::china_par),
        _ => Err(ScoreError::UnknownScore {
            name: name.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_lists_every_name_in_order() {
        let catalogue: Vec<&str> = SCORE_CATALOGUE.iter().map(|info| info.name).collect();
        assert_eq!(catalogue, SCORE_NAMES.to_vec());
        for info in SCORE_CATALOGUE {
            assert!(
                !info.description.trim().is_empty(),
                "{} has no description",
                info.name
            );
        }
    }
}
