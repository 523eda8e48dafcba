//! What every clinical use case shares: loading the facts the policy needs, deciding,
//! auditing denials, and committing changes with their ledger entries.

use meditrustal_domain::{ConsentGrant, Did, EmergencyGrant, Purpose, RecordId, Role, UserId};
use meditrustal_ledger::{InclusionProof, inclusion_plan};
use meditrustal_store::{Change, Committed, Write};

use crate::events::{AuditEvent, Outcome, millis};
use crate::policy::{self, Action, Actor, Basis, Context, Decision, Denial, Resource};
use crate::records::RecordProof;
use crate::{App, AppError};

/// Consents and emergency grants between a patient and an actor.
pub(crate) struct Facts(pub(crate) Vec<ConsentGrant>, pub(crate) Vec<EmergencyGrant>);

impl App {
    /// Doctors' access depends on consents and emergencies; nobody else's does.
    pub(crate) async fn facts(&self, actor: &Actor, patient: UserId) -> Result<Facts, AppError> {
        if actor.role != Role::Doctor {
            return Ok(Facts(Vec::new(), Vec::new()));
        }
        let consents = self
            .store
            .consents(Some(patient), Some(actor.user_id))
            .await?;
        let emergencies = self.store.emergency_grants(patient, actor.user_id).await?;
        Ok(Facts(consents, emergencies))
    }

    /// The DID of a patient's account; not found for any other account.
    pub(crate) async fn patient_did(&self, patient: UserId) -> Result<Did, AppError> {
        if let Some(did) = self.patient_dids.get(patient) {
            return Ok(did);
        }
        match self.store.user_by_id(patient).await? {
            Some(user) if user.role == Role::Patient => {
                self.patient_dids.remember(patient, &user.did);
                Ok(user.did)
            }
            _ => Err(AppError::NotFound { what: "patient" }),
        }
    }

    /// Decides a clinical action; a denial is written to the ledger before it is returned.
    pub(crate) async fn decide_clinical(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        purpose: Option<Purpose>,
        patient_did: Did,
        record: Option<RecordId>,
    ) -> Result<Basis, AppError> {
        let patient = match resource {
            Resource::Patient(p)
            | Resource::Record { patient: p, .. }
            | Resource::NewRecord { patient: p, .. } => p,
            Resource::System | Resource::Account(_) | Resource::ResearchProject { .. } => {
                return Err(AppError::Forbidden);
            }
        };
        let facts = self.facts(actor, patient).await?;
        self.decide_with(
            actor,
            action,
            resource,
            purpose,
            &facts,
            patient_did,
            record,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn decide_with(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        purpose: Option<Purpose>,
        facts: &Facts,
        patient_did: Did,
        record: Option<RecordId>,
    ) -> Result<Basis, AppError> {
        let now = self.clock.now();
        let context = Context {
            purpose,
            now,
            consents: &facts.0,
            emergencies: &facts.1,
        };
        match policy::decide(actor, action, resource, &context) {
            Decision::Allow(basis) => Ok(basis),
            Decision::Deny(denial) => {
                let patient = match resource {
                    Resource::Patient(p)
                    | Resource::Record { patient: p, .. }
                    | Resource::NewRecord { patient: p, .. } => Some(p),
                    Resource::System | Resource::Account(_) | Resource::ResearchProject { .. } => {
                        None
                    }
                };
                let mut event =
                    AuditEvent::new("access.denied", now, actor, Outcome::Denied(denial))
                        .purpose(purpose);
                if let Some(patient) = patient {
                    event = event.patient(patient, patient_did);
                }
                if let Some(record) = record {
                    event = event.record(record, None);
                }
                self.commit(vec![], vec![event]).await?;
                tracing::info!(actor = %actor.user_id, ?action, code = denial.code(), "access denied");
                Err(match denial {
                    Denial::ConsentRequired => AppError::ConsentRequired,
                    Denial::Forbidden => AppError::Forbidden,
                    Denial::LegalHold => AppError::LegalHold,
                })
            }
        }
    }

    /// Applies writes and appends their events in one transaction.
    pub(crate) async fn commit(
        &self,
        writes: Vec<Write>,
        events: Vec<AuditEvent>,
    ) -> Result<Committed, AppError> {
        let events = events
            .iter()
            .map(AuditEvent::to_ledger)
            .collect::<Result<Vec<_>, _>>()?;
        self.mirror_consents(&writes).await?;
        let now = millis(self.clock.now());
        let change = Change { writes, events };
        Ok(self
            .store
            .commit(change, &self.ledger_key, u64::try_from(now).unwrap_or(0))
            .await?)
    }

    pub(crate) async fn inclusion_proof(&self, leaf_index: u64) -> Result<RecordProof, AppError> {
        let head = self
            .store
            .latest_tree_head()
            .await?
            .ok_or(AppError::NotFound { what: "tree head" })?;
        let proof = self
            .inclusion_proof_at(leaf_index, head.head.tree_size)
            .await?;
        let entry = self
            .store
            .leaves(leaf_index, 1)
            .await?
            .into_iter()
            .next()
            .ok_or(AppError::NotFound {
                what: "ledger entry",
            })?;
        Ok(RecordProof {
            leaf_index,
            entry: entry.entry,
            proof,
            tree_head: head,
            public_key: self.ledger_key.verifying_key(),
        })
    }

    pub(crate) async fn inclusion_proof_at(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, AppError> {
        let plan = inclusion_plan(leaf_index, tree_size).map_err(|_| AppError::NotFound {
            what: "ledger entry",
        })?;
        let nodes = self.store.nodes(&plan.nodes()).await?;
        plan.assemble(&nodes)
            .map_err(|err| AppError::Integrity(format!("ledger: {err}")))
    }
}
