//! The one error type of the crate: every variant names the input field it is about, so
//! the HTTP API and the CLI can point the user at the offending value.

use serde::Serialize;
use thiserror::Error;

/// Why a score (or an alert evaluation, or a model fit) could not be computed.
#[derive(Debug, Clone, PartialEq, Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScoreError {
    /// The score name is not one this crate implements.
    #[error("unknown score `{name}`")]
    UnknownScore { name: String },
    /// The input was not a JSON object of named fields.
    #[error("score input must be a JSON object of named fields")]
    NotAnObject,
    /// A field without which the score means nothing (e.g. `sex` for eGFR) is absent.
    #[error("missing required field `{field}`")]
    MissingField { field: String },
    /// A field had the wrong JSON type (e.g. a string where a number belongs).
    #[error("field `{field}` must be {expected}")]
    WrongType { field: String, expected: String },
    /// A value that is physiologically impossible or outside the accepted domain.
    #[error("invalid value for `{field}`: {reason}")]
    InvalidInput { field: String, reason: String },
    /// A field the score does not know (often a typo that would otherwise go unnoticed).
    #[error("unknown field `{field}`")]
    UnknownField { field: String },
    /// Two fields that say the same thing in different units were both given.
    #[error("fields `{field}` and `{other}` are alternatives: supply only one")]
    ConflictingFields { field: String, other: String },
    /// The score exists in the literature but its coefficients are not verified here.
    #[error("`{score}` cannot be computed: {reason}")]
    NotVerified { score: String, reason: String },
}

impl ScoreError {
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn missing(field: &str) -> Self {
        Self::MissingField {
            field: field.to_owned(),
        }
    }
}
