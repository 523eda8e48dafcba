//! Correction (PIPL Art. 46): a patient asks for a record to be corrected, proposing the
//! corrected content and saying why; a doctor with write consent accepts (the proposal
//! becomes a new version linked to the request; older versions stay readable, superseded)
//! or rejects with a reason. The patient is notified; every step is on the ledger.
//!
//! The proposal is clinical content, so it is encrypted in the vault like a version,
//! bound to `correction/<request id>`, the patient and the version it corrects.

use meditrustal_domain::{MediaType, Purpose, RecordId, parse_reason};
use meditrustal_store::{CorrectionRequest, CorrectionStatus, RecordMeta, Write};
use meditrustal_vault::{RecordBinding, SealedRecord};
use serde_json::json;
use uuid::Uuid;

use crate::events::{AuditEvent, Outcome};
use crate::policy::{Action, Actor};
use crate::records::VersionKey;
use crate::{App, AppError};

/// A patient's proposed correction.
#[derive(Debug)]
pub struct CorrectionInput {
    pub content_type: String,
    pub content: Vec<u8>,
    pub reason: String,
}

/// How a doctor decides a correction request.
#[derive(Debug, Clone)]
pub enum CorrectionDecision {
    Accept,
    Reject { reason: String },
}

fn proposal_binding_id(request: Uuid) -> String {
    format!("correction/{request}")
}

impl App {
    /// Files a correction request against the record's current version (the patient
    /// only).
    pub async fn request_correction(
        &self,
        actor: &Actor,
        id: RecordId,
        input: CorrectionInput,
    ) -> Result<CorrectionRequest, AppError> {
        let reason = parse_reason(&input.reason)?;
        let media = MediaType::parse(&input.content_type)?;
        media.check_content(&input.content)?;
        let (meta, patient_did, basis) = self
            .decide_on_record(actor, id, Action::RequestCorrection, None)
            .await?;
        let request_id = Uuid::now_v7();
        let (binding_id, patient_text) =
            (proposal_binding_id(request_id), meta.patient.to_string());
        let binding =
            RecordBinding::new(&binding_id, &patient_text, u64::from(meta.current_version));
        // Like a version: ciphertext first; a crash before the commit leaves an orphan.
        let sealed = self
            .vault
            .put_record(input.content, &binding)
            .await
            .map_err(AppError::vault)?;
        let proposal =
            serde_json::to_string(&sealed).map_err(|err| AppError::internal(err.to_string()))?;
        let now = self.clock.now();
        let request = CorrectionRequest {
            id: request_id,
            record_id: id,
            patient: meta.patient,
            base_version: meta.current_version,
            content_type: media.as_str().to_owned(),
            proposal,
            reason,
            status: CorrectionStatus::Pending,
            decided_by: None,
            decision_reason: None,
            new_version: None,
            created_at: now,
            decided_at: None,
        };
        let event = AuditEvent::new("correction.requested", now, actor, Outcome::Allowed(basis))
            .patient(meta.patient, patient_did)
            .record(id, Some(meta.current_version))
            .request(request_id);
        self.commit(vec![Write::InsertCorrection(request.clone())], vec![event])
            .await?;
        Ok(request)
    }

    /// Accepts or rejects a pending request (a doctor whose consent allows writing the
    /// record for treatment).
    pub async fn decide_correction(
        &self,
        actor: &Actor,
        request_id: Uuid,
        decision: CorrectionDecision,
    ) -> Result<CorrectionRequest, AppError> {
        let decision = match decision {
            CorrectionDecision::Reject { reason } => CorrectionDecision::Reject {
                reason: parse_reason(&reason)?,
            },
            accept => accept,
        };
        let request = self.correction(request_id).await?;
        let (meta, patient_did, basis) = self
            .decide_on_record(
                actor,
                request.record_id,
                Action::DecideCorrection,
                Some(Purpose::Treatment),
            )
            .await?;
        if request.status != CorrectionStatus::Pending {
            return Err(AppError::StateConflict(
                "the correction request was already decided".to_owned(),
            ));
        }
        let now = self.clock.now();
        let decided = |kind: &'static str| {
            AuditEvent::new(kind, now, actor, Outcome::Allowed(basis))
                .patient(meta.patient, patient_did.clone())
                .request(request_id)
        };
        let (writes, events, new_version) = match decision {
            CorrectionDecision::Reject { reason } => {
                let write = Write::DecideCorrection {
                    id: request_id,
                    status: CorrectionStatus::Rejected,
                    decided_by: actor.user_id,
                    decision_reason: Some(reason),
                    new_version: None,
                    at: now,
                };
                let event = decided("correction.rejected").record(meta.id, None);
                (vec![write], vec![event], None)
            }
            CorrectionDecision::Accept => {
                let next = meta.current_version + 1;
                let (version, version_event) = self
                    .version_from_proposal(actor, &meta, &request, next, basis)
                    .await?;
                let version_event = version_event
                    .kind("record.updated")
                    .patient(meta.patient, patient_did.clone())
                    .purpose(Some(Purpose::Treatment))
                    .request(request_id);
                let writes = vec![
                    Write::AddRecordVersion {
                        version,
                        expected_current: meta.current_version,
                    },
                    Write::DecideCorrection {
                        id: request_id,
                        status: CorrectionStatus::Accepted,
                        decided_by: actor.user_id,
                        decision_reason: None,
                        new_version: Some(next),
                        at: now,
                    },
                ];
                let accepted = decided("correction.accepted").record(meta.id, Some(next));
                (writes, vec![version_event, accepted], Some(next))
            }
        };
        let kind = if new_version.is_some() {
            "correction.accepted"
        } else {
            "correction.rejected"
        };
        let payload = json!({
            "request_id": request_id,
            "record_id": meta.id.0,
            "new_version": new_version,
        });
        let mut writes = writes;
        writes.push(Write::InsertNotification(self.notification(
            meta.patient,
            kind,
            payload,
        )?));
        self.commit(writes, events).await?;
        self.correction(request_id).await
    }

    /// A record's correction requests (for those who may read the record). Audited.
    pub async fn record_corrections(
        &self,
        actor: &Actor,
        id: RecordId,
        purpose: Option<Purpose>,
    ) -> Result<Vec<CorrectionRequest>, AppError> {
        let (meta, patient_did, basis) = self
            .decide_on_record(actor, id, Action::ReadRecord, purpose)
            .await?;
        let event = AuditEvent::new(
            "correction.listed",
            self.clock.now(),
            actor,
            Outcome::Allowed(basis),
        )
        .patient(meta.patient, patient_did)
        .record(id, None)
        .purpose(purpose);
        self.commit(vec![], vec![event]).await?;
        Ok(self.store.correction_requests(Some(id), None).await?)
    }

    async fn correction(&self, id: Uuid) -> Result<CorrectionRequest, AppError> {
        self.store
            .correction_request(id)
            .await?
            .ok_or(AppError::NotFound {
                what: "correction request",
            })
    }

    /// Decrypts the proposal and seals it as version `next` of the record.
    async fn version_from_proposal(
        &self,
        actor: &Actor,
        meta: &RecordMeta,
        request: &CorrectionRequest,
        next: u32,
        basis: crate::policy::Basis,
    ) -> Result<(meditrustal_store::NewRecordVersion, AuditEvent), AppError> {
        let sealed: SealedRecord = serde_json::from_str(&request.proposal).map_err(|err| {
            AppError::Integrity(format!("correction {}: proposal: {err}", request.id))
        })?;
        let (binding_id, patient_text) =
            (proposal_binding_id(request.id), meta.patient.to_string());
        let binding =
            RecordBinding::new(&binding_id, &patient_text, u64::from(request.base_version));
        let content = self
            .vault
            .get_record(&sealed, &binding)
            .await
            .map_err(|err| AppError::Integrity(format!("correction {}: {err}", request.id)))?;
        let media = MediaType::parse(&request.content_type)?;
        let key = VersionKey {
            patient: meta.patient,
            id: meta.id,
            version: next,
        };
        let (mut version, event) = self.seal_version(actor, key, media, content, basis).await?;
        version.correction_id = Some(request.id);
        Ok((version, event))
    }
}
