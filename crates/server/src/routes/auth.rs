use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meditrustal_app::{App, LoginRequest, Registration, Session};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ErrorEnvelope, UserView};
use crate::error::ApiError;
use crate::extract::{ApiJson, AuthUser, ClientAddr};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// 3–50 characters: letters a-z, digits, `_`, `.`, `-`; case-insensitive.
    #[schema(example = "li.na")]
    pub username: String,
    #[schema(example = "li.na@example.cn")]
    pub email: String,
    /// At least 10 characters, not a common password, not containing the username.
    pub password: String,
    /// `patient`, `doctor` or `researcher`. Doctors and researchers wait for approval.
    #[schema(example = "patient")]
    pub role: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutBody {
    /// The session to end. Without it, every session of the user ends.
    pub refresh_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    /// JWT (HS256) to send as `Authorization: Bearer …`; lives at most 15 minutes.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque, single-use token for `/auth/refresh`; using it twice ends the session.
    pub refresh_token: String,
    pub user: UserView,
}

impl From<Session> for TokenPair {
    fn from(session: Session) -> Self {
        TokenPair {
            access_token: session.access_token,
            token_type: "Bearer",
            expires_in: session.expires_in_secs,
            refresh_token: session.refresh_token,
            user: session.user.into(),
        }
    }
}

/// Register an account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterBody,
    responses(
        (status = 201, description = "Created; doctors and researchers are `pending`", body = UserView),
        (status = 409, description = "Username or e-mail taken", body = ErrorEnvelope),
        (status = 422, description = "A field is not valid", body = ErrorEnvelope),
    ))]
pub async fn register(
    State(app): State<App>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<impl IntoResponse, ApiError> {
    let registration = Registration {
        username: body.username,
        email: body.email,
        password: body.password,
        role: body.role,
    };
    let user = app.register(registration).await?;
    Ok((StatusCode::CREATED, axum::Json(UserView::from(user))))
}

/// Log in with username and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "`INVALID_CREDENTIALS`", body = ErrorEnvelope),
        (status = 403, description = "`ACCOUNT_PENDING` or `ACCOUNT_SUSPENDED`", body = ErrorEnvelope),
        (status = 429, description = "`TOO_MANY_ATTEMPTS`; see `Retry-After`", body = ErrorEnvelope),
    ))]
pub async fn login(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<axum::Json<TokenPair>, ApiError> {
    let request = LoginRequest {
        username: body.username,
        password: body.password,
        client,
    };
    Ok(axum::Json(app.login(request).await?.into()))
}

/// Exchange a refresh token for a new token pair (the old refresh token stops working).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "`INVALID_REFRESH_TOKEN` or `REFRESH_TOKEN_REUSED`", body = ErrorEnvelope),
    ))]
pub async fn refresh(
    State(app): State<App>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<axum::Json<TokenPair>, ApiError> {
    Ok(axum::Json(app.refresh(&body.refresh_token).await?.into()))
}

/// End a session (or all sessions when no refresh token is given).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = LogoutBody,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, body = ErrorEnvelope),
    ))]
pub async fn logout(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiJson(body): ApiJson<LogoutBody>,
) -> Result<StatusCode, ApiError> {
    app.logout(&actor, body.refresh_token.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FhirTokenBody {
    /// Space-separated SMART on FHIR scopes, e.g. `patient/*.read user/Observation.write`.
    #[schema(example = "patient/Observation.read")]
    pub scope: String,
}

#[derive(Serialize, ToSchema)]
pub struct FhirToken {
    /// JWT for `/fhir/r4` only (refused by `/api/v1`); cannot be refreshed.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    pub expires_in: u64,
    /// The scopes granted (the request's, normalised).
    pub scope: String,
}

/// Exchanges a session's access token for one limited to SMART on FHIR scopes, for a FHIR
/// client that should see less than the user may (docs/fhir.md).
#[utoipa::path(post, path = "/api/v1/auth/fhir-token", tag = "auth", request_body = FhirTokenBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = FhirToken),
        (status = 401, description = "Not authenticated", body = ErrorEnvelope),
        (status = 422, description = "`INVALID_SCOPE`: no resource scope", body = ErrorEnvelope),
    ))]
pub async fn fhir_token(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiJson(body): ApiJson<FhirTokenBody>,
) -> Result<axum::Json<FhirToken>, ApiError> {
    let (access_token, expires_in) = app.scoped_token(&actor, &body.scope)?;
    Ok(axum::Json(FhirToken {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope: body.scope.split_whitespace().collect::<Vec<_>>().join(" "),
    }))
}
