//! Reading the audit trail and the ledger.

use std::collections::HashMap;

use meditrustal_domain::{RecordId, Role, UserId};
use meditrustal_ledger::{
    ConsistencyProof, InclusionProof, SignedTreeHead, VerifyingKey, consistency_plan,
};
use meditrustal_store::{AuditFilter, LeafRow, Page};
use time::OffsetDateTime;

use crate::accounts::authorize;
use crate::policy::{Action, Actor, Resource};
use crate::{App, AppError};

/// One audit event as its reader sees it.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub leaf_index: u64,
    pub at: OffsetDateTime,
    pub kind: String,
    pub outcome: String,
    pub actor: Option<UserId>,
    /// The acting user's name, so a patient can see who looked.
    pub actor_username: Option<String>,
    pub record: Option<RecordId>,
    /// The ledger entry itself (canonical JSON, parsed).
    pub entry: serde_json::Value,
}

impl App {
    /// Patients see every event about their data; admins every event's metadata (entries
    /// hold no clinical content); everyone else their own actions.
    pub async fn audit(&self, actor: &Actor, page: Page) -> Result<Vec<AuditEntry>, AppError> {
        let filter = self.audit_filter(actor)?;
        let rows = self.store.audit_events(filter, page).await?;
        let mut names: HashMap<UserId, Option<String>> = HashMap::new();
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let actor_username = match row.actor {
                Some(id) => match names.get(&id) {
                    Some(name) => name.clone(),
                    None => {
                        let name = self.store.user_by_id(id).await?.map(|u| u.username);
                        names.insert(id, name.clone());
                        name
                    }
                },
                None => None,
            };
            entries.push(to_entry(row, actor_username)?);
        }
        Ok(entries)
    }

    /// Which audit events the actor may read, decided by the policy.
    pub(crate) fn audit_filter(&self, actor: &Actor) -> Result<AuditFilter, AppError> {
        let now = self.clock.now();
        Ok(match actor.role {
            Role::Patient => {
                authorize(
                    actor,
                    Action::ReadAudit,
                    Resource::Patient(actor.user_id),
                    now,
                )?;
                AuditFilter::Patient(actor.user_id)
            }
            Role::Admin => {
                authorize(actor, Action::ReadAudit, Resource::System, now)?;
                AuditFilter::All
            }
            Role::Doctor | Role::Researcher => {
                authorize(
                    actor,
                    Action::ReadAudit,
                    Resource::Account(actor.user_id),
                    now,
                )?;
                AuditFilter::Actor(actor.user_id)
            }
        })
    }

    /// The latest signed tree head and the key that verifies it.
    pub async fn ledger_head(&self) -> Result<(SignedTreeHead, VerifyingKey), AppError> {
        let head = self
            .store
            .latest_tree_head()
            .await?
            .ok_or(AppError::NotFound { what: "tree head" })?;
        Ok((head, self.ledger_key.verifying_key()))
    }

    pub async fn ledger_entries(&self, from: u64, limit: u32) -> Result<Vec<LeafRow>, AppError> {
        Ok(self.store.leaves(from, limit).await?)
    }

    pub async fn ledger_inclusion(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, AppError> {
        self.inclusion_proof_at(leaf_index, tree_size).await
    }

    pub async fn ledger_consistency(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, AppError> {
        let latest = self
            .store
            .latest_tree_head()
            .await?
            .map_or(0, |h| h.head.tree_size);
        if new_size > latest {
            return Err(AppError::NotFound { what: "tree size" });
        }
        let plan = consistency_plan(old_size, new_size)
            .map_err(|_| AppError::NotFound { what: "tree size" })?;
        let nodes = self.store.nodes(&plan.nodes()).await?;
        plan.assemble(&nodes)
            .map_err(|err| AppError::Integrity(format!("ledger: {err}")))
    }
}

fn to_entry(row: LeafRow, actor_username: Option<String>) -> Result<AuditEntry, AppError> {
    let entry = serde_json::from_slice(&row.entry)
        .map_err(|err| AppError::Integrity(format!("ledger leaf {}: {err}", row.leaf_index)))?;
    Ok(AuditEntry {
        leaf_index: row.leaf_index,
        at: row.at,
        kind: row.kind,
        outcome: row.outcome,
        actor: row.actor,
        actor_username,
        record: row.record,
        entry,
    })
}
