//! Clinical text analysis: entities, assertions, codes, measurements, PHI, de-identification
//! and summaries of the text in the request body. Nothing is read from or stored in patient
//! records, so any authenticated, active user may call it. The text is never logged.

use axum::extract::State;
use meditrustal_app::{
    Analysis, App, AppError, DeidStrategy, Deidentified, TextSummary, ValidationError,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::ErrorEnvelope;
use crate::error::ApiError;
use crate::extract::{ApiJson, AuthUser};

/// A note to analyse (UTF-8, at most 1 MiB; empty is fine).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextInput {
    #[schema(
        example = "患者张伟，男，68岁。主诉：反复咳嗽、咳痰10年，加重伴发热3天。否认高血压病史。"
    )]
    pub text: String,
}

/// How PHI is replaced.
#[derive(Deserialize, ToSchema, Clone, Copy, Default)]
#[serde(rename_all = "snake_case")]
pub enum StrategyName {
    /// `＊` for every character.
    Mask,
    /// The type tag, e.g. `[NAME]` (the default).
    #[default]
    Tag,
    /// Realistic fake values under a random key per request: consistent within one answer.
    Surrogate,
    /// Dates moved by `date_shift_days` (intervals kept); other PHI gets surrogates.
    DateShift,
}

/// A note to de-identify and the strategy to use.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeidInput {
    pub text: String,
    #[serde(default)]
    pub strategy: StrategyName,
    /// Days to shift dates by (required with `date_shift`, within ±36500).
    #[schema(nullable = false)]
    pub date_shift_days: Option<i32>,
}

/// Shape of an analysis (the schema of the NLP development set), for the OpenAPI document
/// only: the handler serialises the NLP crate's `Analysis`. Offsets are Unicode code-point
/// indices into the text sent, end exclusive.
#[derive(ToSchema)]
#[schema(as = Analysis)]
#[allow(dead_code)]
pub struct AnalysisDoc {
    /// CMeEE entities (`dis`, `sym`, `dru`, `pro`, `ite`, `bod`, `equ`, `mic`, `dep`) with
    /// assertion flags (diseases and symptoms) and ICD-10 codes.
    entities: Vec<EntityDoc>,
    measurements: Vec<MeasurementDoc>,
    phi: Vec<PhiDoc>,
    sections: Vec<SectionDoc>,
}

#[derive(ToSchema)]
#[schema(as = Entity)]
#[allow(dead_code)]
pub struct EntityDoc {
    start: usize,
    end: usize,
    text: String,
    #[schema(example = "dis")]
    r#type: String,
    negated: bool,
    uncertain: bool,
    historical: bool,
    family: bool,
    #[schema(required = true, example = "J44")]
    icd10: Option<String>,
    /// WHO ATC code of a drug (`dru`); absent when none is known.
    #[schema(example = "C10AA05")]
    atc: Option<String>,
    /// LOINC code of a test item (`ite`) named like a measurement; absent when none.
    #[schema(example = "2160-0")]
    loinc: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = Measurement)]
#[allow(dead_code)]
pub struct MeasurementDoc {
    start: usize,
    end: usize,
    text: String,
    #[schema(example = "blood_pressure")]
    name: String,
    #[schema(example = "150/95")]
    value: String,
    /// The unit as written in the note.
    #[schema(example = "mmHg")]
    unit: String,
    /// LOINC code of the measured quantity; absent where LOINC has none for the name.
    #[schema(example = "85354-9")]
    loinc: Option<String>,
    /// The unit as a UCUM code; absent for dimensionless values.
    #[schema(example = "mm[Hg]")]
    ucum: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = PhiSpan)]
#[allow(dead_code)]
pub struct PhiDoc {
    start: usize,
    end: usize,
    text: String,
    /// `NAME`, `ID_CARD`, `PHONE`, `ADDRESS`, `DATE`, `AGE`, `MRN`, `ORG`, `EMAIL`, `OTHER_ID`.
    #[schema(example = "NAME")]
    r#type: String,
    /// Only on ages: whether the age identifies (90 or older).
    #[schema(nullable = false)]
    phi: Option<bool>,
}

#[derive(ToSchema)]
#[schema(as = Section)]
#[allow(dead_code)]
pub struct SectionDoc {
    #[schema(example = "主诉")]
    title: String,
    start: usize,
    end: usize,
}

#[derive(ToSchema)]
#[schema(as = Deidentified)]
#[allow(dead_code)]
pub struct DeidentifiedDoc {
    /// The text with every detected PHI string (and every repeat of it) replaced.
    text: String,
    /// The spans replaced, as offsets into the text sent; never their text.
    removed: Vec<RemovedDoc>,
}

#[derive(ToSchema)]
#[schema(as = RemovedPhi)]
#[allow(dead_code)]
pub struct RemovedDoc {
    start: usize,
    end: usize,
    #[schema(example = "ID_CARD")]
    r#type: String,
}

#[derive(ToSchema)]
#[schema(as = TextSummary)]
#[allow(dead_code)]
pub struct SummaryDoc {
    #[schema(required = true)]
    chief_complaint: Option<String>,
    active_problems: Vec<ProblemDoc>,
    pertinent_negatives: Vec<String>,
    medications: Vec<String>,
    latest_vitals: Vec<MeasurementDoc>,
    #[schema(required = true)]
    plan: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)]
pub struct ProblemDoc {
    text: String,
    #[schema(required = true)]
    icd10: Option<String>,
}

/// Analyse a clinical note: sections, entities with assertions and ICD-10 codes,
/// measurements and PHI. The answer has the schema of the NLP development set.
#[utoipa::path(post, path = "/api/v1/nlp/analyze", tag = "nlp", security(("bearer" = [])),
    request_body = TextInput,
    responses(
        (status = 200, body = AnalysisDoc),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 413, description = "Body over 1 MiB", body = ErrorEnvelope),
        (status = 422, description = "Body of the wrong shape", body = ErrorEnvelope),
    ))]
pub async fn analyze(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiJson(input): ApiJson<TextInput>,
) -> Result<axum::Json<Analysis>, ApiError> {
    Ok(axum::Json(app.analyze_text(&actor, input.text).await?))
}

/// De-identify a clinical note: every detected PHI string is replaced (`mask`, `tag`,
/// `surrogate` or `date_shift`); ages under 90 are kept.
#[utoipa::path(post, path = "/api/v1/nlp/deidentify", tag = "nlp", security(("bearer" = [])),
    request_body = DeidInput,
    responses(
        (status = 200, body = DeidentifiedDoc),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 413, description = "Body over 1 MiB", body = ErrorEnvelope),
        (status = 422, description = "Body of the wrong shape, or `INVALID_DATE_SHIFT`", body = ErrorEnvelope),
    ))]
pub async fn deidentify(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiJson(input): ApiJson<DeidInput>,
) -> Result<axum::Json<Deidentified>, ApiError> {
    let strategy = strategy(input.strategy, input.date_shift_days)?;
    Ok(axum::Json(
        app.deidentify_text(&actor, input.text, strategy).await?,
    ))
}

/// Extractive summary of a clinical note: chief complaint, active problems with ICD-10
/// codes, pertinent negatives, medications, latest vital signs and plan.
#[utoipa::path(post, path = "/api/v1/nlp/summary", tag = "nlp", security(("bearer" = [])),
    request_body = TextInput,
    responses(
        (status = 200, body = SummaryDoc),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 413, description = "Body over 1 MiB", body = ErrorEnvelope),
        (status = 422, description = "Body of the wrong shape", body = ErrorEnvelope),
    ))]
pub async fn summary(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiJson(input): ApiJson<TextInput>,
) -> Result<axum::Json<TextSummary>, ApiError> {
    Ok(axum::Json(app.summarize_text(&actor, input.text).await?))
}

fn strategy(name: StrategyName, days: Option<i32>) -> Result<DeidStrategy, ApiError> {
    let invalid = |message: &str| -> ApiError {
        AppError::from(ValidationError::new(
            "date_shift_days",
            "INVALID_DATE_SHIFT",
            message,
        ))
        .into()
    };
    match (name, days) {
        (StrategyName::DateShift, Some(days)) if days.unsigned_abs() <= 36_500 => {
            Ok(DeidStrategy::DateShift { days })
        }
        (StrategyName::DateShift, Some(_)) => Err(invalid("date_shift_days must be within ±36500")),
        (StrategyName::DateShift, None) => Err(invalid("date_shift needs date_shift_days")),
        (_, Some(_)) => Err(invalid(
            "date_shift_days goes with the date_shift strategy only",
        )),
        (StrategyName::Mask, None) => Ok(DeidStrategy::Mask),
        (StrategyName::Tag, None) => Ok(DeidStrategy::Tag),
        (StrategyName::Surrogate, None) => Ok(DeidStrategy::Surrogate),
    }
}
