//! Ledger entries (DESIGN.md §4): canonical JSON of an event that carries pseudonymous DIDs,
//! record ids, codes and commitments only — never names or clinical text — so that erasing a
//! patient's keys leaves the ledger complete and free of their personal information.

use meditrustal_domain::{Did, Purpose, RecordId, UserId};
use meditrustal_ledger::LedgerEntry;
use meditrustal_store::LedgerEvent;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppError;
use crate::policy::{Actor, Basis, Denial};

/// How an audited decision or action ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    Allowed(Basis),
    Denied(Denial),
}

/// One auditable event. Field names are the ledger's schema; see docs/ledger.md.
#[derive(Debug, Clone)]
pub(crate) struct AuditEvent {
    pub kind: &'static str,
    pub at: OffsetDateTime,
    pub actor: Option<(UserId, Did)>,
    pub patient: Option<(UserId, Did)>,
    /// The other party of a consent, request or emergency (a doctor).
    pub grantee: Option<Did>,
    pub record: Option<RecordId>,
    pub version: Option<u32>,
    pub purpose: Option<Purpose>,
    pub outcome: Outcome,
    pub consent: Option<Uuid>,
    pub request: Option<Uuid>,
    /// SHA-256(salt ‖ SHA-256(content)), hex: binds the content without revealing it.
    pub commitment: Option<String>,
    /// An early-warning alert: its id, rule (score name) and band; no values.
    pub alert: Option<(Uuid, &'static str, String)>,
    /// SHA-256 of a deployed model file, hex.
    pub model_sha256: Option<String>,
    /// Legal basis code of an erasure (`pipl-art47-…`).
    pub legal_basis: Option<&'static str>,
    /// A research project.
    pub project: Option<Uuid>,
    /// SHA-256 of a research export file, hex.
    pub export_sha256: Option<String>,
}

#[derive(Serialize)]
struct Entry<'a> {
    v: u8,
    kind: &'a str,
    time_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grantee: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purpose: Option<&'a str>,
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    basis: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consent: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    emergency: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commitment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    band: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    legal_basis: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    export_sha256: Option<&'a str>,
}

impl AuditEvent {
    pub(crate) fn new(
        kind: &'static str,
        at: OffsetDateTime,
        actor: &Actor,
        outcome: Outcome,
    ) -> AuditEvent {
        AuditEvent {
            kind,
            at,
            actor: Some((actor.user_id, actor.did.clone())),
            patient: None,
            grantee: None,
            record: None,
            version: None,
            purpose: None,
            outcome,
            consent: None,
            request: None,
            commitment: None,
            alert: None,
            model_sha256: None,
            legal_basis: None,
            project: None,
            export_sha256: None,
        }
    }

    /// An event of the operator (a CLI command on the data directory), with no actor.
    pub(crate) fn operator(kind: &'static str, at: OffsetDateTime, outcome: Outcome) -> AuditEvent {
        AuditEvent {
            kind,
            at,
            actor: None,
            patient: None,
            grantee: None,
            record: None,
            version: None,
            purpose: None,
            outcome,
            consent: None,
            request: None,
            commitment: None,
            alert: None,
            model_sha256: None,
            legal_basis: None,
            project: None,
            export_sha256: None,
        }
    }

    pub(crate) fn kind(mut self, kind: &'static str) -> AuditEvent {
        self.kind = kind;
        self
    }

    pub(crate) fn patient(mut self, id: UserId, did: Did) -> AuditEvent {
        self.patient = Some((id, did));
        self
    }

    pub(crate) fn grantee(mut self, did: Did) -> AuditEvent {
        self.grantee = Some(did);
        self
    }

    pub(crate) fn record(mut self, id: RecordId, version: Option<u32>) -> AuditEvent {
        self.record = Some(id);
        self.version = version;
        self
    }

    pub(crate) fn purpose(mut self, purpose: Option<Purpose>) -> AuditEvent {
        self.purpose = purpose;
        self
    }

    pub(crate) fn consent(mut self, id: Uuid) -> AuditEvent {
        self.consent = Some(id);
        self
    }

    pub(crate) fn request(mut self, id: Uuid) -> AuditEvent {
        self.request = Some(id);
        self
    }

    pub(crate) fn commitment(mut self, commitment: String) -> AuditEvent {
        self.commitment = Some(commitment);
        self
    }

    pub(crate) fn alert(mut self, id: Uuid, rule: &'static str, band: String) -> AuditEvent {
        self.alert = Some((id, rule, band));
        self
    }

    pub(crate) fn model_sha256(mut self, sha256: String) -> AuditEvent {
        self.model_sha256 = Some(sha256);
        self
    }

    pub(crate) fn project(mut self, id: Uuid) -> AuditEvent {
        self.project = Some(id);
        self
    }

    pub(crate) fn export_sha256(mut self, sha256: String) -> AuditEvent {
        self.export_sha256 = Some(sha256);
        self
    }

    pub(crate) fn legal_basis(mut self, basis: &'static str) -> AuditEvent {
        self.legal_basis = Some(basis);
        self
    }

    /// Serialises canonically and adds the database's index columns.
    pub(crate) fn to_ledger(&self) -> Result<LedgerEvent, AppError> {
        let (outcome, basis, reason) = match self.outcome {
            Outcome::Allowed(basis) => ("allowed", Some(basis), None),
            Outcome::Denied(denial) => ("denied", None, Some(denial.code())),
        };
        let by_basis = |wanted: fn(Basis) -> Option<Uuid>| basis.and_then(wanted);
        let entry = Entry {
            v: 1,
            kind: self.kind,
            time_ms: millis(self.at),
            actor: self.actor.as_ref().map(|(_, did)| did.as_str()),
            subject: self.patient.as_ref().map(|(_, did)| did.as_str()),
            grantee: self.grantee.as_ref().map(Did::as_str),
            record: self.record.map(|r| r.0),
            version: self.version,
            purpose: self.purpose.map(Purpose::as_str),
            outcome,
            basis: basis.map(Basis::as_str),
            reason,
            consent: self.consent.or(by_basis(|b| match b {
                Basis::Consent(id) => Some(id),
                _ => None,
            })),
            emergency: by_basis(|b| match b {
                Basis::Emergency(id) => Some(id),
                _ => None,
            }),
            request: self.request,
            commitment: self.commitment.as_deref(),
            alert: self.alert.as_ref().map(|(id, _, _)| *id),
            score: self.alert.as_ref().map(|(_, rule, _)| *rule),
            band: self.alert.as_ref().map(|(_, _, band)| band.as_str()),
            model_sha256: self.model_sha256.as_deref(),
            legal_basis: self.legal_basis,
            project: self.project,
            export_sha256: self.export_sha256.as_deref(),
        };
        let entry = LedgerEntry::from_event(&entry)
            .map_err(|err| AppError::internal(format!("ledger entry: {err}")))?;
        Ok(LedgerEvent {
            entry: entry.into_bytes(),
            kind: self.kind.to_owned(),
            actor: self.actor.as_ref().map(|(id, _)| *id),
            patient: self.patient.as_ref().map(|(id, _)| *id),
            record: self.record,
            outcome: outcome.to_owned(),
            at: self.at,
        })
    }
}

pub(crate) fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use meditrustal_domain::Role;

    #[test]
    fn entries_are_canonical_and_hold_no_internal_ids() {
        let doctor = Actor {
            user_id: UserId(Uuid::from_u128(1)),
            role: Role::Doctor,
            did: Did::from_random([2; 16]),
        };
        let patient_did = Did::from_random([3; 16]);
        let event = AuditEvent::new(
            "record.read",
            OffsetDateTime::UNIX_EPOCH,
            &doctor,
            Outcome::Denied(Denial::ConsentRequired),
        )
        .patient(UserId(Uuid::from_u128(9)), patient_did.clone())
        .record(RecordId(Uuid::from_u128(5)), Some(1))
        .purpose(Some(Purpose::Treatment));
        let ledger = event.to_ledger().unwrap();
        let text = String::from_utf8(ledger.entry).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"actor":"{}","kind":"record.read","outcome":"denied","purpose":"treatment","reason":"CONSENT_REQUIRED","record":"00000000-0000-0000-0000-000000000005","subject":"{}","time_ms":0,"v":1,"version":1}}"#,
                doctor.did, patient_did
            )
        );
        assert!(
            !text.contains(&Uuid::from_u128(1).to_string()),
            "internal user ids stay off the ledger"
        );
        assert_eq!(ledger.actor, Some(doctor.user_id));
        assert_eq!(ledger.outcome, "denied");
    }
}
