//! Clinical decision support: published scores computed from inputs in the request body.
//! Nothing here reads patient records, so any authenticated, active user may call it.

use axum::extract::{Path, State};
use meditrustal_app::{App, ScoreResult};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::ErrorEnvelope;
use crate::error::ApiError;
use crate::extract::{ApiJson, AuthUser};

/// A score the API can compute.
#[derive(Serialize, ToSchema)]
pub struct ScoreSummary {
    /// The `{name}` of `POST /api/v1/cdss/score/{name}`.
    #[schema(example = "news2")]
    pub name: &'static str,
    pub description: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct ScoreList {
    pub scores: Vec<ScoreSummary>,
}

/// The shape of a score result, for the OpenAPI document only: the handler serialises the
/// clinical crate's `ScoreResult` itself, and an API test checks that the two agree.
#[derive(ToSchema)]
#[schema(as = ScoreResult)]
#[allow(dead_code)]
pub struct ScoreResultDoc {
    /// Score name as in the path, e.g. `qsofa` (aliases are answered with the main name).
    score: String,
    /// The total; null when an input is missing or the patient is outside the validated
    /// population. A missing input is never scored as normal.
    #[schema(required = true)]
    total: Option<f64>,
    /// Every component was scored.
    complete: bool,
    /// Sum of the scored components (only when incomplete).
    #[schema(nullable = false)]
    partial_total: Option<f64>,
    /// Lowest and highest totals still possible (only when incomplete).
    #[schema(nullable = false)]
    possible_range: Option<PossibleRangeDoc>,
    /// Band code, lower-case (`low`, `low-medium`, `medium`, `high`, `positive`, `g3a` …);
    /// stated while incomplete only when every completion gives that band.
    #[schema(required = true)]
    band: Option<String>,
    #[schema(required = true)]
    band_meaning: Option<String>,
    /// Unit of `total` for continuous scores (e.g. `mL/min/1.73m²`, `%`).
    #[schema(nullable = false)]
    unit: Option<String>,
    /// Each item with its points: the explanation of the total.
    components: Vec<ComponentDoc>,
    /// Input names that were absent and prevented a complete score.
    missing: Vec<String>,
    /// False when the patient is outside the score's validated population.
    applicable: bool,
    /// Conventions applied, units supplied, assumptions and caveats.
    notes: Vec<String>,
    reference: ReferenceDoc,
}

#[derive(ToSchema)]
#[schema(as = ScoreComponent)]
#[allow(dead_code)]
pub struct ComponentDoc {
    name: String,
    /// Input fields the item was read from.
    inputs: Vec<String>,
    /// The value as scored, after rounding and unit conversion, e.g. `26 /min`.
    #[schema(required = true)]
    value: Option<String>,
    /// Points (or contribution); null when the item could not be scored.
    #[schema(required = true)]
    points: Option<f64>,
    max_points: f64,
    /// Why these points: the band of the published table that applied.
    detail: String,
    /// Inputs this item needed but did not get (absent when none).
    #[schema(nullable = false)]
    missing: Option<Vec<String>>,
}

#[derive(ToSchema)]
#[schema(as = ScoreReference)]
#[allow(dead_code)]
pub struct ReferenceDoc {
    citation: String,
    /// The rule set implemented, e.g. "RCP NEWS2 2017, Chart 1 and Chart 2".
    rule_set: String,
}

#[derive(ToSchema)]
#[schema(as = PossibleRange)]
#[allow(dead_code)]
pub struct PossibleRangeDoc {
    min: f64,
    max: f64,
}

/// The scores available to `POST /api/v1/cdss/score/{name}`.
#[utoipa::path(get, path = "/api/v1/cdss/scores", tag = "cdss", security(("bearer" = [])),
    responses((status = 200, body = ScoreList), (status = 401, body = ErrorEnvelope)))]
pub async fn list_scores(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
) -> Result<axum::Json<ScoreList>, ApiError> {
    let scores = app
        .list_scores(&actor)?
        .iter()
        .map(|info| ScoreSummary {
            name: info.name,
            description: info.description,
        })
        .collect();
    Ok(axum::Json(ScoreList { scores }))
}

/// Compute a published clinical score from the inputs in the body.
///
/// The body is a JSON object whose fields are the score's inputs (names and units as in
/// docs/cdss.md, e.g. `resp_rate`, `sbp_mmhg`, `temp_c`). The answer has `total` (null when
/// an input is missing: missing inputs are never scored as normal), `band`, `band_meaning`,
/// `components` (each item with its points: the explanation), `missing`, `notes` and
/// `reference`.
#[utoipa::path(post, path = "/api/v1/cdss/score/{name}", tag = "cdss",
    params(("name" = String, Path, description = "Score name, e.g. `news2`, `qsofa`, `curb65`; see `GET /api/v1/cdss/scores`")),
    request_body(content = Object, description = "The score's inputs",
        example = json!({"resp_rate": 26, "gcs": 14, "sbp_mmhg": 88})),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The result with its components", body = ScoreResultDoc),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "`UNKNOWN_SCORE`", body = ErrorEnvelope),
        (status = 422, description = "`INVALID_SCORE_INPUT` (`details.field` names the field, `details.kind` says what is wrong) or `SCORE_NOT_VERIFIED`", body = ErrorEnvelope),
    ))]
pub async fn compute_score(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(name): Path<String>,
    ApiJson(input): ApiJson<Value>,
) -> Result<axum::Json<ScoreResult>, ApiError> {
    Ok(axum::Json(app.compute_score(&actor, &name, &input)?))
}
