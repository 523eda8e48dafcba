use axum::extract::State;
use axum::http::StatusCode;
use meditrustal_app::App;
use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorEnvelope;
use crate::error::ApiError;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, description = "`NOT_READY`", body = ErrorEnvelope)))]
pub async fn readyz(State(app): State<App>) -> Result<axum::Json<Health>, ApiError> {
    match app.store().ping().await {
        Ok(()) => Ok(axum::Json(Health { status: "ok" })),
        Err(err) => {
            tracing::warn!(%err, "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "NOT_READY",
                "the database is not reachable",
            ))
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Landing {
    pub name: &'static str,
    pub version: &'static str,
    /// Where to start: the API documentation.
    pub docs: &'static str,
    pub openapi: &'static str,
    pub health: &'static str,
}

/// What this server is and where its documentation lives (`/` serves the web UI).
#[utoipa::path(get, path = "/api/v1", tag = "operations", responses((status = 200, body = Landing)))]
pub async fn landing() -> axum::Json<Landing> {
    axum::Json(Landing {
        name: "MediTrustAl",
        version: env!("CARGO_PKG_VERSION"),
        docs: "/api/docs",
        openapi: "/api/v1/openapi.json",
        health: "/healthz",
    })
}
