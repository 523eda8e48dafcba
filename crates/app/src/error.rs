use std::time::Duration;

use meditrustal_clinical::ScoreError;
use meditrustal_domain::ValidationError;
use meditrustal_store::StoreError;

/// Every way a use case can refuse or fail. Adapters map each variant to one status and
/// one stable machine code; messages here are safe to show to the client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("{field} is already taken")]
    Conflict { field: &'static str },
    #[error("username or password is wrong")]
    InvalidCredentials,
    #[error("this account is waiting for an administrator's approval")]
    AccountPending,
    #[error("this account is suspended")]
    AccountSuspended,
    #[error("authentication required")]
    Unauthenticated,
    #[error("the access token has expired")]
    TokenExpired,
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    #[error("the refresh token was already used; the session has been ended for safety")]
    RefreshTokenReused,
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("no active consent of the patient covers this record and purpose")]
    ConsentRequired,
    /// The request conflicts with the current state (already revoked, decided, updated).
    #[error("{0}")]
    StateConflict(String),
    /// Stored data failed an integrity check (tampering or corruption); logged, never sent.
    #[error("stored data failed an integrity check")]
    Integrity(String),
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The record was erased at the patient's request; only its tombstone remains.
    #[error("this record was erased; only its tombstone remains")]
    Erased,
    /// A legal hold keeps the record; it cannot be erased until the hold is cleared.
    #[error("the record is under a legal hold and cannot be erased")]
    LegalHold,
    /// A clinical score could not be computed from the given inputs; names the field.
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error("too many attempts; try again later")]
    Throttled { retry_after: Duration },
    /// The chain a write must reach first (mirror mode) did not answer; nothing changed.
    #[error("the blockchain node is unreachable; nothing was changed, try again later")]
    ChainUnavailable(String),
    /// The research project has asked all the cohort questions it may.
    #[error("the project's cohort query budget is spent")]
    QueryBudgetSpent,
    /// Details go to the log only; the client sees a generic message.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub(crate) fn internal(detail: impl Into<String>) -> AppError {
        AppError::Internal(detail.into())
    }

    pub(crate) fn vault(err: meditrustal_vault::VaultError) -> AppError {
        match err {
            meditrustal_vault::VaultError::TooLarge { .. } => ValidationError::new(
                "content",
                "CONTENT_TOO_LARGE",
                "records are limited to 25 MiB",
            )
            .into(),
            other => AppError::Internal(format!("vault: {other}")),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict { field } => AppError::Conflict { field },
            StoreError::Stale { what } => {
                AppError::StateConflict(format!("the {what} was changed meanwhile"))
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}
