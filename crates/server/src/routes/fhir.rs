//! `/fhir/r4`: FHIR R4 over the same accounts, policy, vault and ledger as `/api/v1`.
//! Bodies are `application/fhir+json` in and out; every error is an OperationOutcome
//! (those raised here carry their issues; every other error answer under `/fhir/` is
//! turned into one by [`crate::error::render_errors`] with the status `/api/v1` would give).
//!
//! The purpose of use comes from `X-Purpose-Of-Use` (the platform's purposes) and is
//! `treatment` when absent: FHIR clients of a clinical system act for care, and the purpose
//! is recorded on the ledger either way.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ALLOW, CONTENT_TYPE, ETAG, IF_MATCH, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use meditrustal_app::fhir_model::bundle::EntryResponse;
use meditrustal_app::fhir_model::{
    FHIR_JSON, Invalid, Issue, IssueCode, ResourceType, SearchQuery, bundle, capability,
    operation_outcome,
};
use meditrustal_app::{App, EntryRequest, FhirError, FhirResource, entry_request};
use meditrustal_domain::Purpose;
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::BearerToken;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use meditrustal_app::fhir_model::scopes::{Access, Scopes};
use meditrustal_app::{Actor, AppError};
use meditrustal_domain::Role;

/// Largest FHIR request body (a transaction Bundle of a patient's history fits).
pub const MAX_FHIR_BYTES: usize = 8 * 1024 * 1024;

/// When what the CapabilityStatement says last changed; update it with the interface.
const STATEMENT_DATE: &str = "2026-12-05T00:00:00Z";

/// Marks an answer that already is an OperationOutcome, so the error middleware keeps it.
#[derive(Debug, Clone, Copy)]
pub struct OutcomeRendered;

/// The scheme this server is reached by, for absolute URLs in Bundles.
#[derive(Debug, Clone, Copy)]
pub struct Scheme(pub &'static str);

pub fn router(scheme: &'static str) -> Router<AppState> {
    Router::new()
        .route("/", axum::routing::post(bundle))
        .route("/metadata", get(metadata))
        .route("/DocumentReference/{id}/$findings", get(note_findings))
        .route("/{kind}", get(search).post(create))
        .route("/{kind}/{id}", get(read).put(update))
        .route("/{kind}/{id}/_history", get(history))
        .route("/{kind}/{id}/_history/{version}", get(vread))
        .layer(axum::Extension(Scheme(scheme)))
}

/// The authenticated user and, for a token limited by SMART scopes, those scopes.
pub struct FhirUser(pub Actor, pub Option<Scopes>);

impl<S> FromRequestParts<S> for FhirUser
where
    App: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let BearerToken(token) = BearerToken::from_request_parts(parts, state).await?;
        let (actor, scope) = App::from_ref(state).authenticate_scoped(&token).await?;
        Ok(FhirUser(actor, scope.as_deref().map(Scopes::parse)))
    }
}

/// Scopes only narrow: without scopes (a session token) the policy alone decides. A
/// `patient/` scope covers a patient's own data, which is all a patient can reach.
fn within_scopes(
    scopes: &Option<Scopes>,
    actor: &Actor,
    kind: ResourceType,
    access: Access,
) -> Result<(), FhirFailure> {
    match scopes {
        None => Ok(()),
        Some(scopes) if scopes.allows(kind, access, actor.role == Role::Patient) => Ok(()),
        Some(_) => Err(FhirFailure::Outcome(
            StatusCode::FORBIDDEN,
            operation_outcome(
                &[Issue::new(
                    IssueCode::Forbidden,
                    format!(
                        "the token's scopes do not allow {} of {kind}",
                        if access == Access::Read {
                            "reading"
                        } else {
                            "writing"
                        }
                    ),
                )],
                Some("INSUFFICIENT_SCOPE"),
            ),
        )),
    }
}

/// A FHIR failure as an answer.
pub enum FhirFailure {
    Outcome(StatusCode, Value),
    Api(ApiError),
}

impl From<ApiError> for FhirFailure {
    fn from(err: ApiError) -> Self {
        FhirFailure::Api(err)
    }
}

impl From<FhirError> for FhirFailure {
    fn from(err: FhirError) -> Self {
        match err {
            FhirError::Invalid(invalid) => invalid.into(),
            FhirError::VersionMismatch { current } => FhirFailure::Outcome(
                StatusCode::PRECONDITION_FAILED,
                operation_outcome(
                    &[Issue::new(
                        IssueCode::Conflict,
                        format!("the current version is {current}; If-Match named another"),
                    )],
                    Some("VERSION_CONFLICT"),
                ),
            ),
            FhirError::ReadOnly(_) => FhirFailure::Outcome(
                StatusCode::METHOD_NOT_ALLOWED,
                operation_outcome(
                    &[Issue::new(IssueCode::NotSupported, err.to_string())],
                    Some("READ_ONLY"),
                ),
            ),
            FhirError::App(app) => FhirFailure::Api(app.into()),
        }
    }
}

impl From<Invalid> for FhirFailure {
    fn from(invalid: Invalid) -> Self {
        FhirFailure::Outcome(
            StatusCode::BAD_REQUEST,
            operation_outcome(&invalid.issues, Some("INVALID_RESOURCE")),
        )
    }
}

impl IntoResponse for FhirFailure {
    fn into_response(self) -> Response {
        match self {
            FhirFailure::Api(api) => api.into_response(),
            FhirFailure::Outcome(status, outcome) => {
                let mut response = fhir_json(status, &outcome);
                if status == StatusCode::METHOD_NOT_ALLOWED {
                    // A 405 must name what is allowed (RFC 9110); it answers writes to
                    // resources that can only be read.
                    response
                        .headers_mut()
                        .insert(ALLOW, HeaderValue::from_static("GET"));
                }
                response.extensions_mut().insert(OutcomeRendered);
                response
            }
        }
    }
}

type FhirResult = Result<Response, FhirFailure>;

fn fhir_json(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

fn base_url(headers: &HeaderMap, scheme: Scheme) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("{}://{host}/fhir/r4", scheme.0)
}

fn resource_type(name: &str) -> Result<ResourceType, FhirFailure> {
    ResourceType::parse(name).ok_or_else(|| {
        FhirFailure::Outcome(
            StatusCode::NOT_FOUND,
            operation_outcome(
                &[Issue::new(
                    IssueCode::NotSupported,
                    format!(
                        "resource type `{}` is not supported",
                        name.chars().take(60).collect::<String>()
                    ),
                )],
                Some("NOT_FOUND"),
            ),
        )
    })
}

fn purpose(headers: &HeaderMap) -> Result<Option<Purpose>, FhirFailure> {
    match headers.get("x-purpose-of-use").map(|v| v.to_str()) {
        None => Ok(Some(Purpose::Treatment)),
        Some(Ok(text)) => {
            Ok(Some(Purpose::parse(text).map_err(|v| {
                FhirFailure::Api(ApiError::from(AppError::Validation(v)))
            })?))
        }
        Some(Err(_)) => Err(ApiError::invalid_query("X-Purpose-Of-Use is not valid").into()),
    }
}

fn parse_body(body: &Bytes, headers: &HeaderMap) -> Result<Value, FhirFailure> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if content_type != FHIR_JSON && content_type != "application/json" {
        return Err(FhirFailure::Outcome(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            operation_outcome(
                &[Issue::new(
                    IssueCode::NotSupported,
                    "send application/fhir+json",
                )],
                Some("UNSUPPORTED_MEDIA_TYPE"),
            ),
        ));
    }
    serde_json::from_slice(body).map_err(|_| {
        Invalid::one(Issue::new(
            IssueCode::Structure,
            "the body is not valid JSON",
        ))
        .into()
    })
}

/// `Prefer: return=minimal` gives an empty body; anything else the resource.
fn wants_minimal(headers: &HeaderMap) -> bool {
    headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == "return=minimal"))
}

fn resource_response(
    status: StatusCode,
    resource: &FhirResource,
    base: Option<&str>,
    minimal: bool,
) -> Response {
    let mut response = if minimal {
        let mut empty = status.into_response();
        empty
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        empty
    } else {
        fhir_json(status, &resource.resource)
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{}\"", resource.version)) {
        headers.insert(ETAG, etag);
    }
    if let Some(base) = base {
        let location = format!(
            "{base}/{}/{}/_history/{}",
            resource.resource["resourceType"]
                .as_str()
                .unwrap_or_default(),
            resource.resource["id"].as_str().unwrap_or_default(),
            resource.version
        );
        if let Ok(value) = HeaderValue::from_str(&location) {
            headers.insert(LOCATION, value);
        }
    }
    response
}

async fn metadata(
    headers: HeaderMap,
    axum::Extension(scheme): axum::Extension<Scheme>,
) -> Response {
    let statement = capability::capability_statement(
        &base_url(&headers, scheme),
        env!("CARGO_PKG_VERSION"),
        STATEMENT_DATE,
    );
    fhir_json(StatusCode::OK, &statement)
}

async fn create(
    State(app): State<App>,
    FhirUser(actor, scopes): FhirUser,
    axum::Extension(scheme): axum::Extension<Scheme>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult {
    let kind = resource_type(&kind)?;
    within_scopes(&scopes, &actor, kind, Access::Write)?;
    let resource = parse_body(&body, &headers)?;
    let purpose = purpose(&headers)?;
    let created = app.fhir_create(&actor, kind, resource, purpose).await?;
    let base = base_url(&headers, scheme);
    Ok(resource_response(
        StatusCode::CREATED,
        &created,
        Some(&base),
        wants_minimal(&headers),
    ))
}

async fn update(
    State(app): State<App>,
    FhirUser(actor, scopes): FhirUser,
    axum::Extension(scheme): axum::Extension<Scheme>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult {
    let kind = resource_type(&kind)?;
    within_scopes(&scopes, &actor, kind, Access::Write)?;
    let resource = parse_body(&body, &headers)?;
    let purpose = purpose(&headers)?;
    let if_match = match headers.get(IF_MATCH) {
        None => None,
        Some(value) => Some(etag_version(value).ok_or_else(|| {
            FhirFailure::from(Invalid::one(Issue::new(
                IssueCode::Invalid,
                "If-Match must be an ETag such as W/\"3\"",
            )))
        })?),
    };
    let updated = app
        .fhir_update(&actor, kind, &id, resource, if_match, purpose)
        .await?;
    let base = base_url(&headers, scheme);
    Ok(resource_response(
        StatusCode::OK,
        &updated,
        Some(&base),
        wants_minimal(&headers),
    ))
}

fn etag_version(value: &HeaderValue) -> Option<u32> {
    let text = value.to_str().ok()?.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"').parse().ok()
}

async fn read(
    State(app): State<App>,
    FhirUser(actor, scopes): FhirUser,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> FhirResult {
    let kind = resource_type(&kind)?;
    within_scopes(&scopes, &actor, kind, Access::Read)?;
    let purpose = purpose(&headers)?;
    let found = app.fhir_read(&actor, kind, &id, None, purpose).await?;
    Ok(resource_response(StatusCode::OK, &found, None, false))
}

async fn vread(
    State(app): State<App>,
    FhirUser(actor, scopes): FhirUser,
    Path((kind, id, version)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> FhirResult {
    let kind = resource_type(&kind)?;
    within_scopes(&scopes, &actor, kind, Access::Read)?;
    let purpose = purpose(&headers)?;
    let version: u32 = version.parse().map_err(|_| {
        FhirFailure::Api(ApiError::from(AppError::NotFound {
            what: "resource version",
        }))
    })?;
    let found = app
        .fhir_read(&actor, kind, &id, Some(version), purpose)
        .await?;
    Ok(resource_response(StatusCode::OK, &found, None, false))
}

async fn history(
    State(app): State<App>,
    FhirUser(actor, scopes): FhirUser,
    axum::Extension(scheme): axum::Extension<Scheme>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> FhirResult {
    let kind = resource_type(&kind)?;
    within_scopes(&scopes, &actor, kind, Access::Read)?;
    let purpose = purpose(&headers)?;
    let versions = app.fhir_history(&actor, kind, &id, purpose).await?;
    let base = base_url(&headers, scheme);
    let resources = versions.into_iter().map(|v| v.resource).collect();
    Ok(fhir_json(
        StatusCode::OK,
        &bundle::history(&base, resources),
    ))
}

async fn search(
    State(app): State<App>,
    FhirUser(actor, scopes): FhirUser,
    axum::Extension(scheme): axum::Extension<Scheme>,
    Path(kind): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> FhirResult {
    let kind = resource_type(&kind)?;
    within_scopes(&scopes, &actor, kind, Access::Read)?;
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&raw)
        .map_err(|_| ApiError::invalid_query("the query string is not valid"))?;
    let query = SearchQuery::parse(kind, &pairs)?;
    if query.include_patient {
        within_scopes(&scopes, &actor, ResourceType::Patient, Access::Read)?;
    }
    let purpose = purpose(&headers)?;
    let page = app.fhir_search(&actor, kind, &query, purpose).await?;
    let base = base_url(&headers, scheme);
    let link = |offset: u32| {
        let mut params: Vec<(String, String)> = pairs
            .iter()
            .filter(|(name, _)| name != "_offset")
            .cloned()
            .collect();
        params.push(("_offset".to_owned(), offset.to_string()));
        format!(
            "{base}/{kind}?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    };
    let next_offset = query.offset.saturating_add(query.count);
    let next = page.more.then(|| link(next_offset));
    let matches = page.matches.into_iter().map(|m| m.resource).collect();
    let bundle = bundle::searchset(
        &base,
        page.total,
        matches,
        page.included,
        &link(query.offset),
        next.as_deref(),
    );
    Ok(fhir_json(StatusCode::OK, &bundle))
}

impl FhirFailure {
    /// Status and OperationOutcome, for an entry of a batch response.
    fn parts(self) -> (StatusCode, Value) {
        match self {
            FhirFailure::Outcome(status, outcome) => (status, outcome),
            FhirFailure::Api(api) => api.outcome(""),
        }
    }
}

/// `POST /fhir/r4` with a `transaction` (all or nothing) or `batch` (each entry alone)
/// Bundle.
pub(crate) async fn bundle(
    State(app): State<App>,
    FhirUser(actor, scopes): FhirUser,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult {
    let bundle = parse_body(&body, &headers)?;
    let purpose = purpose(&headers)?;
    if bundle["resourceType"] != "Bundle" {
        return Err(Invalid::one(
            Issue::new(
                IssueCode::Invalid,
                "POST a Bundle of type transaction or batch",
            )
            .at("resourceType"),
        )
        .into());
    }
    match bundle["type"].as_str() {
        Some("transaction") => {
            for (index, entry) in bundle["entry"].as_array().into_iter().flatten().enumerate() {
                if let Ok(EntryRequest::Create(kind) | EntryRequest::Update(kind, _)) =
                    entry_request(entry, index)
                {
                    within_scopes(&scopes, &actor, kind, Access::Write)?;
                }
            }
            let answer = app.fhir_transaction(&actor, bundle, purpose).await?;
            Ok(fhir_json(StatusCode::OK, &answer))
        }
        Some("batch") => Ok(fhir_json(
            StatusCode::OK,
            &run_batch(&app, (&actor, &scopes), &bundle, purpose).await?,
        )),
        _ => Err(Invalid::one(
            Issue::new(IssueCode::Value, "type must be transaction or batch").at("Bundle.type"),
        )
        .into()),
    }
}

async fn run_batch(
    app: &App,
    (actor, scopes): (&Actor, &Option<Scopes>),
    bundle: &Value,
    purpose: Option<Purpose>,
) -> Result<Value, FhirFailure> {
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    if entries.len() > meditrustal_app::MAX_TRANSACTION_ENTRIES {
        return Err(Invalid::one(Issue::new(IssueCode::TooCostly, "too many entries")).into());
    }
    let mut answers = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let resource = entry.get("resource").cloned().unwrap_or(Value::Null);
        let request = entry_request(entry, index)
            .map_err(FhirFailure::from)
            .and_then(|request| {
                match &request {
                    EntryRequest::Create(kind) | EntryRequest::Update(kind, _) => {
                        within_scopes(scopes, actor, *kind, Access::Write)?;
                    }
                }
                Ok(request)
            });
        let outcome = match request {
            Err(failure) => Err(failure),
            Ok(EntryRequest::Create(kind)) => app
                .fhir_create(actor, kind, resource, purpose)
                .await
                .map(|r| (StatusCode::CREATED, r))
                .map_err(FhirFailure::from),
            Ok(EntryRequest::Update(kind, id)) => app
                .fhir_update(actor, kind, &id, resource, None, purpose)
                .await
                .map(|r| (StatusCode::OK, r))
                .map_err(FhirFailure::from),
        };
        answers.push(match outcome {
            Ok((status, done)) => EntryResponse {
                status: status_line(status),
                location: Some(format!(
                    "{}/{}/_history/{}",
                    done.resource["resourceType"].as_str().unwrap_or_default(),
                    done.resource["id"].as_str().unwrap_or_default(),
                    done.version
                )),
                etag: Some(format!("W/\"{}\"", done.version)),
                last_modified: done.resource["meta"]["lastUpdated"]
                    .as_str()
                    .map(str::to_owned),
                resource: Some(done.resource),
                outcome: None,
            },
            Err(failure) => {
                let (status, outcome) = failure.parts();
                EntryResponse {
                    status: status_line(status),
                    location: None,
                    etag: None,
                    last_modified: None,
                    resource: None,
                    outcome: Some(outcome),
                }
            }
        });
    }
    Ok(bundle::response_bundle(true, answers))
}

fn status_line(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    )
}

/// `GET /fhir/r4/DocumentReference/{id}/$findings`: what the NLP engine found in a note, as
/// Condition, MedicationStatement and Observation with a Provenance naming the note.
async fn note_findings(
    State(app): State<App>,
    FhirUser(actor, scopes): FhirUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> FhirResult {
    for kind in [
        ResourceType::DocumentReference,
        ResourceType::Condition,
        ResourceType::MedicationStatement,
        ResourceType::Observation,
        ResourceType::Provenance,
    ] {
        within_scopes(&scopes, &actor, kind, Access::Read)?;
    }
    let purpose = purpose(&headers)?;
    let found = app.fhir_note_findings(&actor, &id, purpose).await?;
    Ok(fhir_json(StatusCode::OK, &found))
}
