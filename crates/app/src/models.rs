//! Deployed learned models are identified by the SHA-256 of their file, written to the
//! ledger when they are deployed, so any later prediction can be tied to exactly the model
//! that made it (DESIGN.md §7, issue #5 item 3).

use crate::events::{AuditEvent, Outcome};
use crate::policy::Basis;
use crate::{App, AppError};

/// Where a deployment was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDeployment {
    pub sha256: String,
    pub leaf_index: u64,
}

impl App {
    /// Appends a `model.deployed` entry naming the model file's SHA-256 (64 hex digits).
    /// Deploying is an operator's act on the data directory (the CLI), not an API user's:
    /// the entry has no actor and the basis `role`.
    pub async fn record_model_deployment(&self, sha256: &str) -> Result<ModelDeployment, AppError> {
        let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(meditrustal_domain::ValidationError::new(
                "sha256",
                "INVALID_SHA256",
                "a SHA-256 is 64 hexadecimal digits",
            )
            .into());
        }
        let sha256 = sha256.to_ascii_lowercase();
        let event = AuditEvent::operator(
            "model.deployed",
            self.clock.now(),
            Outcome::Allowed(Basis::Role),
        )
        .model_sha256(sha256.clone());
        let committed = self.commit(vec![], vec![event]).await?;
        tracing::info!(model = %sha256, leaf = committed.first_leaf, "model deployment recorded");
        Ok(ModelDeployment {
            sha256,
            leaf_index: committed.first_leaf,
        })
    }
}
