//! What an administrator's status page shows: whether the database and the object store
//! answer, the ledger's size and signed head, and the chain writer's progress when a chain is
//! configured. Nothing about any person, so (like the account list) an allowed look is not a
//! ledger entry; a refused one is logged.

use serde::Serialize;

use crate::accounts::authorize;
use crate::chain::ChainStatus;
use crate::policy::{Action, Actor, Resource};
use crate::{App, AppError};

/// The parts of a running system, each probed when asked.
#[derive(Debug, Clone, Serialize)]
pub struct SystemStatus {
    /// The database answered a ping.
    pub database: bool,
    /// The object store answered a listing.
    pub storage: bool,
    /// Entries in the ledger (0 before the first signed tree head or when the database is
    /// down).
    pub ledger_tree_size: u64,
    /// Hex root of the latest signed tree head.
    pub ledger_root: Option<String>,
    /// The chain writer's progress; `None` when no chain is configured (or it could not be
    /// read, which the log says).
    pub chain: Option<ChainStatus>,
}

impl App {
    pub async fn system_status(&self, actor: &Actor) -> Result<SystemStatus, AppError> {
        authorize(
            actor,
            Action::ViewSystemStatus,
            Resource::System,
            self.clock.now(),
        )?;
        let database = self.store.ping().await.is_ok();
        let storage = match self.vault.probe().await {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(%err, "object store did not answer the status probe");
                false
            }
        };
        let head = if database {
            self.store.latest_tree_head().await?
        } else {
            None
        };
        let chain = match &self.chain {
            Some(_) if database => match self.chain_status().await {
                Ok(status) => Some(status),
                Err(err) => {
                    tracing::warn!(%err, "chain status could not be read");
                    None
                }
            },
            _ => None,
        };
        Ok(SystemStatus {
            database,
            storage,
            ledger_tree_size: head.as_ref().map_or(0, |h| h.head.tree_size),
            ledger_root: head.map(|h| hex::encode(h.head.root.0)),
            chain,
        })
    }
}
