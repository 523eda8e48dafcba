//! Clinical decision support: published scores computed from inputs in the request body.
//! Nothing there reads patient records, so any authenticated, active user may call it.
//! Early-warning alerts (list and server-sent events) are derived from patient data and
//! follow the consent policy.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{Stream, StreamExt as _};
use meditrustal_app::{AlertView, App, PatientRisk, ScoreResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::ErrorEnvelope;
use super::records::purpose;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AuthUser, BearerToken};

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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Why a doctor looks (default `treatment`); a consent must allow it.
    pub purpose: Option<String>,
    /// Also list alerts that have been resolved (default false).
    pub include_resolved: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertList {
    /// Newest first.
    #[schema(value_type = Vec<AlertDoc>)]
    pub alerts: Vec<AlertView>,
}

/// An early-warning alert, for the OpenAPI document (the handler serialises the
/// application's `AlertView`).
#[derive(ToSchema)]
#[schema(as = Alert)]
#[allow(dead_code)]
pub struct AlertDoc {
    id: uuid::Uuid,
    patient_id: uuid::Uuid,
    /// `news2`, `qsofa` or `sirs`.
    rule: String,
    /// `medium`, `high` or `critical`.
    severity: String,
    /// The band that fired; for an incomplete score, the band it is guaranteed to reach.
    band: String,
    #[schema(required = true)]
    total: Option<f64>,
    #[schema(required = true)]
    partial_total: Option<f64>,
    complete: bool,
    /// The score, the band and every contributing component with its points.
    explanation: String,
    /// The observations the score was computed from: `code`, `value`, `unit`, `time`.
    #[schema(value_type = Vec<Object>)]
    observations_used: Vec<Value>,
    /// The record whose arrival raised the alert.
    #[schema(required = true)]
    record_id: Option<uuid::Uuid>,
    #[schema(value_type = String, format = DateTime)]
    raised_at: String,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    resolved_at: Option<String>,
}

/// Early-warning alerts the caller may see.
///
/// A patient sees their own; a doctor those of patients whose active consent covers, for
/// the purpose, the record that raised the alert; anyone else is refused. Each patient
/// whose alerts are shown is audited (`cdss.alerts_read`).
#[utoipa::path(get, path = "/api/v1/cdss/alerts", tag = "cdss", params(AlertQuery),
    security(("bearer" = [])),
    responses((status = 200, body = AlertList), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope)))]
pub async fn list_alerts(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiQuery(query): ApiQuery<AlertQuery>,
) -> Result<axum::Json<AlertList>, ApiError> {
    let purpose = purpose(query.purpose.as_deref())?;
    let alerts = app
        .list_alerts(&actor, purpose, query.include_resolved.unwrap_or(false))
        .await?;
    Ok(axum::Json(AlertList { alerts }))
}

/// How often an idle alert stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Alerts as they are raised, as server-sent events (`event: alert`, `data:` an Alert).
///
/// Each subscriber receives only the alerts `GET /api/v1/cdss/alerts` would show them; each
/// delivery is audited (`cdss.alert_delivered`). A comment is sent every 15 s while idle.
/// The stream ends when its access token expires or the account is suspended (checked
/// before each delivery and every 15 s); the client reconnects with a fresh token.
#[utoipa::path(get, path = "/api/v1/cdss/alerts/stream", tag = "cdss",
    params(("purpose" = Option<String>, Query, description = "Why a doctor looks (default `treatment`)")),
    security(("bearer" = [])),
    responses((status = 200, description = "`text/event-stream` of `alert` events whose data is an Alert", content_type = "text/event-stream", body = String),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn alert_stream(
    State(app): State<App>,
    BearerToken(bearer): BearerToken,
    ApiQuery(query): ApiQuery<AlertQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let purpose = purpose(query.purpose.as_deref())?;
    let alerts = app.alert_stream(&bearer, purpose).await?;
    let events = alerts.filter_map(|alert| async move {
        match Event::default().event("alert").json_data(&alert) {
            Ok(event) => Some(Ok(event)),
            Err(err) => {
                tracing::error!(error = %err, "alert event not serialisable");
                None
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RiskQuery {
    /// Why a doctor looks (default `treatment`); a consent for all records must allow it.
    pub purpose: Option<String>,
}

/// The shape of a patient's risk, for the OpenAPI document (the handler serialises the
/// application's `PatientRisk`).
#[derive(ToSchema)]
#[schema(as = PatientRisk)]
#[allow(dead_code)]
pub struct PatientRiskDoc {
    patient_id: uuid::Uuid,
    #[schema(value_type = String, format = DateTime)]
    evaluated_at: String,
    /// Observations older than this many hours are not used.
    window_hours: i64,
    /// Scores with at least one item scored from the patient's data; incomplete ones name
    /// what is missing in `missing`.
    scores: Vec<ScoreResultDoc>,
    /// Every other score with the inputs it lacks.
    not_computed: Vec<UncomputedScoreDoc>,
}

#[derive(ToSchema)]
#[schema(as = UncomputedScore)]
#[allow(dead_code)]
pub struct UncomputedScoreDoc {
    score: String,
    missing: Vec<String>,
}

/// Every score the patient's latest observations allow, and what the others lack.
///
/// Uses the patient's stored observations of the last 24 hours (vital-signs records and the
/// vital signs found in notes). Allowed to the patient, and to a doctor whose consent covers
/// all records for the purpose (or under emergency access); audited as `cdss.risk_read`.
#[utoipa::path(get, path = "/api/v1/cdss/patients/{id}/risk", tag = "cdss",
    params(("id" = uuid::Uuid, Path, description = "The patient"), RiskQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PatientRiskDoc), (status = 401, body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN` or `CONSENT_REQUIRED`", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn patient_risk(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<uuid::Uuid>,
    ApiQuery(query): ApiQuery<RiskQuery>,
) -> Result<axum::Json<PatientRisk>, ApiError> {
    let purpose = purpose(query.purpose.as_deref())?;
    Ok(axum::Json(
        app.patient_risk(&actor, meditrustal_domain::UserId(id), purpose)
            .await?,
    ))
}
