use axum::extract::State;
use meditrustal_app::App;

use super::{ErrorEnvelope, UserView};
use crate::error::ApiError;
use crate::extract::AuthUser;

/// The account of the token's holder.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorEnvelope)))]
pub async fn me(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
) -> Result<axum::Json<UserView>, ApiError> {
    Ok(axum::Json(app.me(&actor).await?.into()))
}
