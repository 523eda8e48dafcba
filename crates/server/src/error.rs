//! The one place where errors become HTTP answers (DESIGN.md §5):
//! `{"error":{"code":"…","message":"…","details":{…},"request_id":"…"}}`.
//!
//! Handlers return [`ApiError`]; [`render_errors`] (a middleware) writes the body, adding the
//! request id, and also rewrites every other error answer — axum's own 404/405, body-limit
//! 413s, caught panics — into the same format, so a client sees one shape whatever failed.

use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use meditrustal_app::{AppError, ScoreError};
use serde::Serialize;
use serde_json::{Value, json};

/// An error answer before it is rendered: status, stable code, safe message, details.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Value,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Object(Default::default()),
            retry_after_secs: None,
        }
    }

    fn with_details(mut self, details: Value) -> ApiError {
        self.details = details;
        self
    }

    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such resource")
    }

    pub fn invalid_field(field: &str, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            .with_details(json!({ "field": field }))
    }

    pub fn payload_too_large() -> ApiError {
        ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE)
    }

    pub fn invalid_query(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_QUERY", message)
    }

    /// The generic answer for a status no handler described (axum's own 405, a body-limit
    /// 413 from a layer, a panic turned into 500 …).
    fn for_status(status: StatusCode) -> ApiError {
        let (code, message) = match status {
            StatusCode::NOT_FOUND => ("NOT_FOUND", "no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => {
                ("METHOD_NOT_ALLOWED", "this method is not allowed here")
            }
            StatusCode::PAYLOAD_TOO_LARGE => ("PAYLOAD_TOO_LARGE", "the request body is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("UNSUPPORTED_MEDIA_TYPE", "unsupported content type")
            }
            StatusCode::REQUEST_TIMEOUT => ("REQUEST_TIMEOUT", "the request took too long"),
            StatusCode::UNAUTHORIZED => ("UNAUTHENTICATED", "authentication required"),
            StatusCode::FORBIDDEN => ("FORBIDDEN", "you are not allowed to do this"),
            StatusCode::UNPROCESSABLE_ENTITY => ("INVALID_BODY", "the request body is not valid"),
            s if s.is_client_error() => ("BAD_REQUEST", "the request is not valid"),
            StatusCode::SERVICE_UNAVAILABLE => ("UNAVAILABLE", "the service is unavailable"),
            _ => ("INTERNAL_ERROR", "internal error"),
        };
        ApiError::new(status, code, message)
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    details: &'a Value,
    request_id: &'a str,
}

impl ApiError {
    fn render(&self, request_id: &str) -> Response {
        let envelope = Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
                details: &self.details,
                request_id,
            },
        };
        let mut response = (self.status, axum::Json(envelope)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl ApiError {
    /// The same error as a FHIR OperationOutcome (for `/fhir/`), with the same status;
    /// the platform's code is the issue's `details.text`.
    fn render_outcome(&self, request_id: &str) -> Response {
        let (status, outcome) = self.outcome(request_id);
        let mut response = (status, axum::Json(outcome)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(meditrustal_app::fhir_model::FHIR_JSON),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }

    /// The status and OperationOutcome of this error (also used inside batch responses).
    pub(crate) fn outcome(&self, request_id: &str) -> (StatusCode, Value) {
        use meditrustal_app::fhir_model::{Issue, IssueCode, operation_outcome};
        let code = match self.status {
            StatusCode::BAD_REQUEST => IssueCode::Invalid,
            StatusCode::UNAUTHORIZED => IssueCode::Login,
            StatusCode::FORBIDDEN => IssueCode::Forbidden,
            StatusCode::NOT_FOUND => IssueCode::NotFound,
            StatusCode::GONE => IssueCode::Deleted,
            StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => IssueCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => IssueCode::TooCostly,
            StatusCode::TOO_MANY_REQUESTS => IssueCode::Throttled,
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                IssueCode::NotSupported
            }
            StatusCode::UNPROCESSABLE_ENTITY => IssueCode::Processing,
            s if s.is_client_error() => IssueCode::Invalid,
            _ => IssueCode::Exception,
        };
        let message = if request_id.is_empty() {
            self.message.clone()
        } else {
            format!("{} (request {request_id})", self.message)
        };
        let outcome = operation_outcome(&[Issue::new(code, message)], Some(self.code));
        (self.status, outcome)
    }
}

impl IntoResponse for ApiError {
    /// Rendered without a request id here; [`render_errors`] renders it again with one.
    fn into_response(self) -> Response {
        let mut response = self.render("");
        response.extensions_mut().insert(self);
        response
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        use StatusCode as S;
        match err {
            AppError::Validation(v) => ApiError::new(S::UNPROCESSABLE_ENTITY, v.code, v.message)
                .with_details(json!({ "field": v.field })),
            AppError::Conflict { field } => {
                let code = match field {
                    "username" => "USERNAME_TAKEN",
                    "email" => "EMAIL_TAKEN",
                    _ => "CONFLICT",
                };
                ApiError::new(S::CONFLICT, code, format!("{field} is already taken"))
                    .with_details(json!({ "field": field }))
            }
            AppError::InvalidCredentials => {
                ApiError::new(S::UNAUTHORIZED, "INVALID_CREDENTIALS", err.to_string())
            }
            AppError::AccountPending => {
                ApiError::new(S::FORBIDDEN, "ACCOUNT_PENDING", err.to_string())
            }
            AppError::AccountSuspended => {
                ApiError::new(S::FORBIDDEN, "ACCOUNT_SUSPENDED", err.to_string())
            }
            AppError::Unauthenticated => {
                ApiError::new(S::UNAUTHORIZED, "UNAUTHENTICATED", err.to_string())
            }
            AppError::TokenExpired => {
                ApiError::new(S::UNAUTHORIZED, "TOKEN_EXPIRED", err.to_string())
            }
            AppError::InvalidRefreshToken => {
                ApiError::new(S::UNAUTHORIZED, "INVALID_REFRESH_TOKEN", err.to_string())
            }
            AppError::RefreshTokenReused => {
                ApiError::new(S::UNAUTHORIZED, "REFRESH_TOKEN_REUSED", err.to_string())
            }
            AppError::Forbidden => ApiError::new(S::FORBIDDEN, "FORBIDDEN", err.to_string()),
            AppError::ConsentRequired => {
                ApiError::new(S::FORBIDDEN, "CONSENT_REQUIRED", err.to_string())
            }
            AppError::StateConflict(message) => {
                ApiError::new(S::CONFLICT, "STATE_CONFLICT", message)
            }
            AppError::Integrity(detail) => {
                tracing::error!(%detail, "integrity check failed");
                ApiError::new(
                    S::INTERNAL_SERVER_ERROR,
                    "INTEGRITY_ERROR",
                    "stored data failed an integrity check",
                )
            }
            AppError::NotFound { what } => {
                ApiError::new(S::NOT_FOUND, "NOT_FOUND", format!("{what} not found"))
            }
            AppError::Erased => ApiError::new(S::GONE, "RECORD_ERASED", err.to_string()),
            AppError::LegalHold => ApiError::new(S::CONFLICT, "LEGAL_HOLD", err.to_string()),
            AppError::QueryBudgetSpent => {
                ApiError::new(S::TOO_MANY_REQUESTS, "QUERY_BUDGET_SPENT", err.to_string())
            }
            AppError::Score(score_error) => score_error.into(),
            AppError::Throttled { retry_after } => {
                let mut api =
                    ApiError::new(S::TOO_MANY_REQUESTS, "TOO_MANY_ATTEMPTS", err.to_string())
                        .with_details(json!({ "retry_after_secs": retry_after.as_secs() }));
                api.retry_after_secs = Some(retry_after.as_secs());
                api
            }
            AppError::ChainUnavailable(ref detail) => {
                tracing::warn!(%detail, "chain unreachable; write refused");
                ApiError::new(S::SERVICE_UNAVAILABLE, "CHAIN_UNAVAILABLE", err.to_string())
            }
            AppError::Internal(detail) => {
                // The detail may name tables or paths: log it, never send it.
                tracing::error!(%detail, "internal error");
                ApiError::for_status(S::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

impl From<ScoreError> for ApiError {
    /// An unknown score is a missing resource (404); everything else is about the inputs
    /// (422, one code) with `details.kind` saying what is wrong and `details.field` which
    /// field, so a form can point at it.
    fn from(err: ScoreError) -> Self {
        use StatusCode as S;
        let message = err.to_string();
        let details = match &err {
            ScoreError::UnknownScore { name } => {
                return ApiError::new(S::NOT_FOUND, "UNKNOWN_SCORE", truncate(&message))
                    .with_details(json!({ "score": truncate(name) }));
            }
            ScoreError::NotVerified { score, reason } => {
                return ApiError::new(S::UNPROCESSABLE_ENTITY, "SCORE_NOT_VERIFIED", message)
                    .with_details(json!({ "score": score, "reason": reason }));
            }
            ScoreError::NotAnObject => json!({ "kind": "not_an_object" }),
            ScoreError::MissingField { field } => {
                json!({ "kind": "missing_field", "field": field })
            }
            ScoreError::WrongType { field, expected } => {
                json!({ "kind": "wrong_type", "field": field, "expected": expected })
            }
            ScoreError::InvalidInput { field, reason } => {
                json!({ "kind": "invalid_value", "field": field, "reason": reason })
            }
            ScoreError::UnknownField { field } => {
                json!({ "kind": "unknown_field", "field": truncate(field) })
            }
            ScoreError::ConflictingFields { field, other } => {
                json!({ "kind": "conflicting_fields", "field": field, "other": other })
            }
        };
        ApiError::new(
            S::UNPROCESSABLE_ENTITY,
            "INVALID_SCORE_INPUT",
            truncate(&message),
        )
        .with_details(details)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let reason = rejection.body_text();
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "expected a body with Content-Type: application/json",
            ),
            JsonRejection::JsonSyntaxError(_) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "MALFORMED_JSON",
                "the body is not valid JSON",
            )
            .with_details(json!({ "reason": truncate(&reason) })),
            JsonRejection::JsonDataError(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_BODY",
                "the JSON body does not have the expected fields and types",
            )
            .with_details(json!({ "reason": truncate(&reason) })),
            other => ApiError::for_status(other.status()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::invalid_query("the query string is not valid")
            .with_details(json!({ "reason": truncate(&rejection.body_text()) }))
    }
}

/// Parser messages can quote the input; keep them short.
fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}

/// Middleware: gives every error answer the standard body and the request's id.
pub async fn render_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let fhir = request.uri().path().starts_with("/fhir/");
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response
            .extensions()
            .get::<crate::routes::fhir::OutcomeRendered>()
            .is_some()
    {
        return response;
    }
    let error = response
        .extensions()
        .get::<ApiError>()
        .cloned()
        .unwrap_or_else(|| ApiError::for_status(status));
    let mut rendered = if fhir {
        error.render_outcome(&request_id)
    } else {
        error.render(&request_id)
    };
    // Keep headers a layer set on the original answer (e.g. Allow on a 405).
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered
                .headers_mut()
                .entry(name)
                .or_insert_with(|| value.clone());
        }
    }
    rendered
}

/// Fallback for unknown routes.
pub async fn route_not_found() -> ApiError {
    ApiError::not_found()
}

/// Fallback for a known route called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::for_status(StatusCode::METHOD_NOT_ALLOWED)
}
