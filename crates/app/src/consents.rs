//! Consent: grants and revocations by patients, access requests by doctors, break-glass
//! emergency access, and the notifications these produce. Every step is on the ledger.

use std::collections::BTreeSet;

use meditrustal_domain::{
    ConsentGrant, ConsentScope, EmergencyGrant, Purpose, RecordId, Role, UserId, Username,
    parse_reason,
};
use meditrustal_store::{AccessRequest, AccessRequestStatus, Notification, Page, User, Write};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::authorize;
use crate::events::{AuditEvent, Outcome};
use crate::policy::{Action, Actor, Basis, Resource};
use crate::{App, AppError, ValidationError};

/// Emergency access lasts this long unless the doctor asks for less.
pub const EMERGENCY_ACCESS: Duration = Duration::hours(4);

/// A consent as a patient grants it.
#[derive(Debug, Clone)]
pub struct ConsentInput {
    /// Username of the doctor.
    pub grantee: String,
    pub scope: ConsentScope,
    pub purposes: BTreeSet<Purpose>,
    pub allow_write: bool,
    pub expires_at: Option<OffsetDateTime>,
}

/// A doctor's request for access.
#[derive(Debug, Clone)]
pub struct AccessRequestInput {
    /// Username of the patient.
    pub patient: String,
    pub scope: ConsentScope,
    pub purpose: Purpose,
    pub reason: String,
}

impl App {
    pub async fn grant_consent(
        &self,
        actor: &Actor,
        input: ConsentInput,
    ) -> Result<ConsentGrant, AppError> {
        let now = self.clock.now();
        let basis = authorize(
            actor,
            Action::ManageConsents,
            Resource::Patient(actor.user_id),
            now,
        )?;
        let grantee = self.active_doctor(&input.grantee).await?;
        let scope = self.owned_scope(actor.user_id, input.scope).await?;
        if input.purposes.is_empty() {
            return Err(ValidationError::new(
                "purposes",
                "INVALID_PURPOSE",
                "name at least one purpose",
            )
            .into());
        }
        check_future(input.expires_at, now)?;
        let consent = ConsentGrant {
            allow_write: input.allow_write,
            expires_at: input.expires_at,
            ..ConsentGrant::new(
                Uuid::now_v7(),
                actor.user_id,
                grantee.id,
                scope,
                input.purposes,
                now,
            )
        };
        let event = AuditEvent::new("consent.granted", now, actor, Outcome::Allowed(basis))
            .patient(actor.user_id, actor.did.clone())
            .grantee(grantee.did)
            .consent(consent.id);
        self.commit(vec![Write::InsertConsent(consent.clone())], vec![event])
            .await?;
        Ok(consent)
    }

    /// Patients see the consents they gave; doctors the ones they received.
    pub async fn list_consents(&self, actor: &Actor) -> Result<Vec<ConsentGrant>, AppError> {
        authorize(
            actor,
            Action::ListOwnConsents,
            Resource::Account(actor.user_id),
            self.clock.now(),
        )?;
        match actor.role {
            Role::Patient => Ok(self.store.consents(Some(actor.user_id), None).await?),
            Role::Doctor => Ok(self.store.consents(None, Some(actor.user_id)).await?),
            Role::Admin | Role::Researcher => Err(AppError::Forbidden),
        }
    }

    /// Revocation takes effect from the very next request: every access decision reads
    /// the consent rows afresh.
    pub async fn revoke_consent(&self, actor: &Actor, id: Uuid) -> Result<ConsentGrant, AppError> {
        let now = self.clock.now();
        let consent = self
            .store
            .consent(id)
            .await?
            .filter(|c| c.patient == actor.user_id)
            .ok_or(AppError::NotFound { what: "consent" })?;
        let basis = authorize(
            actor,
            Action::ManageConsents,
            Resource::Patient(consent.patient),
            now,
        )?;
        let grantee = self
            .store
            .user_by_id(consent.grantee)
            .await?
            .ok_or(AppError::NotFound { what: "grantee" })?;
        let event = AuditEvent::new("consent.revoked", now, actor, Outcome::Allowed(basis))
            .patient(actor.user_id, actor.did.clone())
            .grantee(grantee.did)
            .consent(id);
        self.commit(vec![Write::RevokeConsent { id, at: now }], vec![event])
            .await?;
        self.store
            .consent(id)
            .await?
            .ok_or(AppError::NotFound { what: "consent" })
    }

    pub async fn request_access(
        &self,
        actor: &Actor,
        input: AccessRequestInput,
    ) -> Result<AccessRequest, AppError> {
        let now = self.clock.now();
        let patient = self.patient_by_name(&input.patient).await?;
        let basis = authorize(
            actor,
            Action::RequestAccess,
            Resource::Patient(patient.id),
            now,
        )?;
        let scope = self.owned_scope(patient.id, input.scope).await?;
        let request = AccessRequest {
            id: Uuid::now_v7(),
            doctor: actor.user_id,
            patient: patient.id,
            scope,
            purpose: input.purpose,
            reason: parse_reason(&input.reason)?,
            status: AccessRequestStatus::Pending,
            consent_id: None,
            created_at: now,
            decided_at: None,
        };
        let notice = self.notification(
            patient.id,
            "access_request",
            json!({ "request_id": request.id }),
        )?;
        let event = AuditEvent::new(
            "access_request.created",
            now,
            actor,
            Outcome::Allowed(basis),
        )
        .patient(patient.id, patient.did)
        .grantee(actor.did.clone())
        .purpose(Some(input.purpose))
        .request(request.id);
        let writes = vec![
            Write::InsertAccessRequest(request.clone()),
            Write::InsertNotification(notice),
        ];
        self.commit(writes, vec![event]).await?;
        Ok(request)
    }

    pub async fn list_access_requests(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AccessRequest>, AppError> {
        match actor.role {
            Role::Patient => Ok(self
                .store
                .access_requests(Some(actor.user_id), None)
                .await?),
            Role::Doctor => Ok(self
                .store
                .access_requests(None, Some(actor.user_id))
                .await?),
            Role::Admin | Role::Researcher => Err(AppError::Forbidden),
        }
    }

    /// Approving creates the consent the request describes (read-only unless `allow_write`).
    pub async fn approve_access_request(
        &self,
        actor: &Actor,
        id: Uuid,
        allow_write: bool,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<AccessRequest, AppError> {
        let now = self.clock.now();
        check_future(expires_at, now)?;
        let (request, basis, doctor) = self.pending_request(actor, id).await?;
        let consent = ConsentGrant {
            allow_write,
            expires_at,
            ..ConsentGrant::new(
                Uuid::now_v7(),
                request.patient,
                request.doctor,
                request.scope.clone(),
                [request.purpose].into(),
                now,
            )
        };
        let notice = self.notification(
            doctor.id,
            "access_request_approved",
            json!({ "request_id": id }),
        )?;
        let granted = AuditEvent::new("consent.granted", now, actor, Outcome::Allowed(basis))
            .patient(actor.user_id, actor.did.clone())
            .grantee(doctor.did.clone())
            .consent(consent.id)
            .request(id);
        let decided = AuditEvent::new(
            "access_request.approved",
            now,
            actor,
            Outcome::Allowed(basis),
        )
        .patient(actor.user_id, actor.did.clone())
        .grantee(doctor.did)
        .request(id);
        let writes = vec![
            Write::InsertConsent(consent.clone()),
            Write::DecideAccessRequest {
                id,
                status: AccessRequestStatus::Approved,
                consent_id: Some(consent.id),
                at: now,
            },
            Write::InsertNotification(notice),
        ];
        self.commit(writes, vec![granted, decided]).await?;
        self.store
            .access_request(id)
            .await?
            .ok_or(AppError::NotFound {
                what: "access request",
            })
    }

    pub async fn deny_access_request(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<AccessRequest, AppError> {
        let now = self.clock.now();
        let (_, basis, doctor) = self.pending_request(actor, id).await?;
        let notice = self.notification(
            doctor.id,
            "access_request_denied",
            json!({ "request_id": id }),
        )?;
        let event = AuditEvent::new("access_request.denied", now, actor, Outcome::Allowed(basis))
            .patient(actor.user_id, actor.did.clone())
            .grantee(doctor.did)
            .request(id);
        let writes = vec![
            Write::DecideAccessRequest {
                id,
                status: AccessRequestStatus::Denied,
                consent_id: None,
                at: now,
            },
            Write::InsertNotification(notice),
        ];
        self.commit(writes, vec![event]).await?;
        self.store
            .access_request(id)
            .await?
            .ok_or(AppError::NotFound {
                what: "access request",
            })
    }

    /// Break-glass: a doctor declares an emergency about a record's patient and gets
    /// time-limited read access to all their records; flagged on the ledger, and the patient
    /// is notified.
    pub async fn declare_emergency(
        &self,
        actor: &Actor,
        record: RecordId,
        reason: &str,
    ) -> Result<EmergencyGrant, AppError> {
        let now = self.clock.now();
        let meta = self
            .store
            .record(record)
            .await?
            .ok_or(AppError::NotFound { what: "record" })?;
        authorize(
            actor,
            Action::DeclareEmergency,
            Resource::Patient(meta.patient),
            now,
        )?;
        let patient_did = self.patient_did(meta.patient).await?;
        let grant = EmergencyGrant {
            id: Uuid::now_v7(),
            patient: meta.patient,
            doctor: actor.user_id,
            reason: parse_reason(reason)?,
            created_at: now,
            expires_at: now + EMERGENCY_ACCESS,
        };
        let notice = self.notification(
            meta.patient,
            "emergency_access",
            json!({ "emergency_id": grant.id, "record_id": record, "expires_at": grant.expires_at.unix_timestamp() }),
        )?;
        let event = AuditEvent::new(
            "access.emergency",
            now,
            actor,
            Outcome::Allowed(Basis::Emergency(grant.id)),
        )
        .patient(meta.patient, patient_did)
        .record(record, None)
        .purpose(Some(Purpose::Emergency));
        let writes = vec![
            Write::InsertEmergencyGrant(grant.clone()),
            Write::InsertNotification(notice),
        ];
        self.commit(writes, vec![event]).await?;
        tracing::warn!(doctor = %actor.user_id, emergency = %grant.id, "emergency access declared");
        Ok(grant)
    }

    pub async fn notifications(
        &self,
        actor: &Actor,
        page: Page,
    ) -> Result<Vec<Notification>, AppError> {
        Ok(self.store.notifications(actor.user_id, page).await?)
    }

    async fn pending_request(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<(AccessRequest, Basis, User), AppError> {
        let request = self
            .store
            .access_request(id)
            .await?
            .filter(|r| r.patient == actor.user_id)
            .ok_or(AppError::NotFound {
                what: "access request",
            })?;
        let basis = authorize(
            actor,
            Action::ManageConsents,
            Resource::Patient(request.patient),
            self.clock.now(),
        )?;
        if request.status != AccessRequestStatus::Pending {
            return Err(AppError::StateConflict(
                "the access request was already decided".into(),
            ));
        }
        let doctor = self
            .store
            .user_by_id(request.doctor)
            .await?
            .ok_or(AppError::NotFound { what: "doctor" })?;
        Ok((request, basis, doctor))
    }

    async fn active_doctor(&self, username: &str) -> Result<User, AppError> {
        let invalid = || {
            ValidationError::new(
                "grantee",
                "INVALID_GRANTEE",
                "the grantee must be an active doctor's username",
            )
        };
        let name = Username::parse(username).map_err(|_| invalid())?;
        match self.store.user_by_username(&name).await? {
            Some(user)
                if user.role == Role::Doctor
                    && user.status == meditrustal_domain::UserStatus::Active =>
            {
                Ok(user)
            }
            _ => Err(invalid().into()),
        }
    }

    async fn patient_by_name(&self, username: &str) -> Result<User, AppError> {
        let name = Username::parse(username).map_err(|_| AppError::NotFound { what: "patient" })?;
        match self.store.user_by_username(&name).await? {
            Some(user) if user.role == Role::Patient => Ok(user),
            _ => Err(AppError::NotFound { what: "patient" }),
        }
    }

    /// A scope of specific records may name only the patient's own records.
    async fn owned_scope(
        &self,
        patient: UserId,
        scope: ConsentScope,
    ) -> Result<ConsentScope, AppError> {
        let scope = scope.validate()?;
        if let ConsentScope::Records { records } = &scope {
            for id in records {
                let owned = self
                    .store
                    .record(*id)
                    .await?
                    .is_some_and(|r| r.patient == patient);
                if !owned {
                    return Err(ValidationError::new(
                        "scope",
                        "INVALID_SCOPE",
                        format!("record {id} is not this patient's"),
                    )
                    .into());
                }
            }
        }
        Ok(scope)
    }

    pub(crate) fn notification(
        &self,
        user: UserId,
        kind: &str,
        payload: serde_json::Value,
    ) -> Result<Notification, AppError> {
        Ok(Notification {
            id: Uuid::now_v7(),
            user,
            kind: kind.to_owned(),
            payload: payload.to_string(),
            created_at: self.clock.now(),
        })
    }
}

fn check_future(
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(), ValidationError> {
    match expires_at {
        Some(at) if at <= now => Err(ValidationError::new(
            "expires_at",
            "INVALID_EXPIRY",
            "the expiry must be in the future",
        )),
        _ => Ok(()),
    }
}
