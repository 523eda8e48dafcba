//! The single entry point used by the HTTP API and the CLI: a score name and a JSON
//! object of inputs (names of clinical-references.md §10) in, a `ScoreResult` out.

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
