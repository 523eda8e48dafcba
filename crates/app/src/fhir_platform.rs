//! FHIR views of what the platform holds itself: accounts as Patient and Practitioner
//! (id = user id, identifier = the DID), the platform's consents as Consent (one thing: a
//! grant made through either API is read and enforced through both) and ledger entries as
//! AuditEvent. Each goes through the same use case and policy as its `/api/v1` twin.

use std::collections::BTreeSet;

use meditrustal_domain::{
    ConsentGrant, ConsentScope, Purpose, RecordCategory, RecordId, Role, UserId, UserStatus,
};
use meditrustal_fhir::datetime::{DateKind, FhirDate, instant_text};
use meditrustal_fhir::{IssueCode, ResourceType, SearchQuery};
use meditrustal_store::{AuditFilter, LeafRow, Page, User};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::consents::ConsentInput;
use crate::events::{AuditEvent, Outcome};
use crate::fhir::{FhirError, FhirPage, FhirResource, invalid, not_found, patient_resource};
use crate::policy::{Action, Actor};
use crate::{App, AppError};

/// The code system of the platform's purposes of use in Consent.provision.purpose.
pub const PURPOSE_SYSTEM: &str = "urn:meditrustal:purpose";
/// The identifier system of DIDs (a DID is a URI).
pub(crate) const DID_SYSTEM: &str = "urn:ietf:rfc:3986";

/// Identifies an account by username in a reference's identifier.
pub const USERNAME_SYSTEM: &str = "urn:meditrustal:username";
const CONSENT_ACTION: &str = "http://terminology.hl7.org/CodeSystem/consentaction";
const CATEGORY_SYSTEM: &str = "urn:meditrustal:record-category";

fn served(resource: Value, at: time::OffsetDateTime) -> FhirResource {
    let mut resource = resource;
    resource["meta"] = json!({ "versionId": "1", "lastUpdated": instant_text(at) });
    FhirResource {
        resource,
        version: 1,
        last_updated: at,
    }
}

fn unsupported(message: &str) -> FhirError {
    invalid(IssueCode::NotSupported, message, "")
}

impl App {
    pub(crate) async fn fhir_read_platform(
        &self,
        actor: &Actor,
        kind: ResourceType,
        id: &str,
        purpose: Option<Purpose>,
    ) -> Result<FhirResource, FhirError> {
        match kind {
            ResourceType::Patient => {
                let user = self.account(id, Role::Patient).await?;
                self.decide_patient_view(actor, user.id, purpose).await?;
                Ok(served(self.patient_view(&user).await?, user.updated_at))
            }
            ResourceType::Practitioner => {
                let user = self.account(id, Role::Doctor).await?;
                let known = self.known_practitioners(actor).await?;
                if !known.contains(&user.id) {
                    return Err(AppError::NotFound { what: "resource" }.into());
                }
                Ok(served(practitioner_resource(&user), user.updated_at))
            }
            ResourceType::Consent => {
                let id = Uuid::parse_str(id).map_err(|_| not_found())?;
                let consent = self
                    .list_consents(actor)
                    .await?
                    .into_iter()
                    .find(|c| c.id == id)
                    .ok_or_else(not_found)?;
                Ok(served(
                    consent_resource(&consent, self.clock.now()),
                    consent.revoked_at.unwrap_or(consent.created_at),
                ))
            }
            ResourceType::AuditEvent => {
                let leaf: u64 = id
                    .strip_prefix("leaf-")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(not_found)?;
                let filter = self.audit_filter(actor)?;
                let row = self
                    .store
                    .leaves(leaf, 1)
                    .await
                    .map_err(AppError::from)?
                    .into_iter()
                    .next()
                    .filter(|row| admits(&filter, row))
                    .ok_or_else(not_found)?;
                Ok(served(audit_event_resource(&row)?, row.at))
            }
            _ => Err(not_found().into()),
        }
    }

    /// A patient's account as a Patient resource, with the demographics of their profile
    /// when they gave one (gender, birth date, name). Callers decide first that the actor may
    /// see this patient; the region code stays for research counts only.
    async fn patient_view(&self, user: &User) -> Result<Value, AppError> {
        let mut resource = patient_resource(user);
        if let Some(profile) = self.profile_of(user.id).await? {
            resource["gender"] = json!(profile.sex.as_str());
            resource["birthDate"] = json!(profile.birth_date.to_string());
            if let Some(name) = profile.name {
                resource["name"] = json!([{ "text": name }]);
            }
        }
        Ok(resource)
    }

    pub(crate) async fn fhir_search_platform(
        &self,
        actor: &Actor,
        kind: ResourceType,
        query: &SearchQuery,
        purpose: Option<Purpose>,
    ) -> Result<FhirPage, FhirError> {
        let mut resources: Vec<FhirResource> = match kind {
            ResourceType::Patient => {
                let ids: Vec<UserId> = match actor.role {
                    Role::Patient => vec![actor.user_id],
                    Role::Doctor => {
                        let now = self.clock.now();
                        let mut ids: Vec<UserId> = self
                            .list_consents(actor)
                            .await?
                            .into_iter()
                            .filter(|c| c.is_active(now))
                            .map(|c| c.patient)
                            .collect();
                        ids.dedup();
                        ids
                    }
                    Role::Admin | Role::Researcher => return Err(AppError::Forbidden.into()),
                };
                let mut out = Vec::new();
                for id in ids {
                    if let Some(user) = self.store.user_by_id(id).await.map_err(AppError::from)? {
                        self.decide_patient_view(actor, user.id, purpose).await?;
                        out.push(served(self.patient_view(&user).await?, user.updated_at));
                    }
                }
                out
            }
            ResourceType::Practitioner => {
                let mut out = Vec::new();
                for id in self.known_practitioners(actor).await? {
                    if let Some(user) = self.store.user_by_id(id).await.map_err(AppError::from)? {
                        out.push(served(practitioner_resource(&user), user.updated_at));
                    }
                }
                out
            }
            ResourceType::Consent => {
                let now = self.clock.now();
                self.list_consents(actor)
                    .await?
                    .iter()
                    .filter(|c| {
                        query
                            .patient
                            .as_ref()
                            .is_none_or(|p| *p == c.patient.to_string())
                    })
                    .map(|c| {
                        served(
                            consent_resource(c, now),
                            c.revoked_at.unwrap_or(c.created_at),
                        )
                    })
                    .filter(|r| {
                        query.status.is_empty()
                            || query
                                .status
                                .iter()
                                .any(|s| r.resource["status"] == s.as_str())
                    })
                    .collect()
            }
            ResourceType::AuditEvent => {
                let page = Page {
                    limit: query.count,
                    offset: query.offset,
                };
                let entries = self.audit(actor, page).await?;
                let more = entries.len() == query.count as usize;
                let mut matches = Vec::with_capacity(entries.len());
                for entry in entries {
                    let row = LeafRow {
                        leaf_index: entry.leaf_index,
                        entry: serde_json::to_vec(&entry.entry)
                            .map_err(|e| AppError::internal(e.to_string()))?,
                        kind: entry.kind,
                        actor: entry.actor,
                        patient: None,
                        record: entry.record,
                        outcome: entry.outcome,
                        at: entry.at,
                    };
                    matches.push(served(audit_event_resource(&row)?, row.at));
                }
                return Ok(FhirPage {
                    total: None,
                    more,
                    matches,
                    included: Vec::new(),
                });
            }
            _ => Vec::new(),
        };
        resources.retain(|r| {
            let id_matches =
                query.ids.is_empty() || query.ids.iter().any(|id| r.resource["id"] == id.as_str());
            let identifier_matches = query.identifier.is_empty()
                || query.identifier.iter().any(|t| {
                    t.code
                        .as_ref()
                        .is_none_or(|c| r.resource["identifier"][0]["value"] == c.as_str())
                });
            id_matches && identifier_matches
        });
        let total = resources.len() as u64;
        let start = (query.offset as usize).min(resources.len());
        let end = start
            .saturating_add(query.count as usize)
            .min(resources.len());
        Ok(FhirPage {
            total: Some(total),
            more: end < resources.len(),
            matches: resources[start..end].to_vec(),
            included: Vec::new(),
        })
    }

    /// A FHIR Consent granted by the patient: the same grant as `POST /api/v1/consents`.
    pub(crate) async fn fhir_grant_consent(
        &self,
        actor: &Actor,
        resource: &Value,
    ) -> Result<FhirResource, FhirError> {
        if resource["status"] != "active" {
            return Err(invalid(
                IssueCode::Value,
                "a new consent must be active",
                "Consent.status",
            ));
        }
        if resource["patient"]["reference"].as_str() != Some(&format!("Patient/{}", actor.user_id))
        {
            return Err(invalid(
                IssueCode::Invariant,
                "a patient grants consent for themself: patient must be Patient/<your id>",
                "Consent.patient",
            ));
        }
        let provision = &resource["provision"];
        if provision["type"] != "permit" {
            return Err(invalid(
                IssueCode::Value,
                "only permit provisions are supported",
                "Consent.provision.type",
            ));
        }
        let grantee = self.grantee_username(&provision["actor"]).await?;
        let purposes: BTreeSet<Purpose> = provision["purpose"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["system"] == PURPOSE_SYSTEM)
            .filter_map(|c| {
                c["code"]
                    .as_str()
                    .and_then(|code| Purpose::parse(code).ok())
            })
            .collect();
        if purposes.is_empty() {
            return Err(invalid(
                IssueCode::Required,
                format!("name at least one purpose from {PURPOSE_SYSTEM}"),
                "Consent.provision.purpose",
            ));
        }
        let scope = consent_scope(provision)?;
        let allow_write = provision["action"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|a| a["coding"].as_array().into_iter().flatten())
            .any(|c| c["system"] == CONSENT_ACTION && c["code"] == "correct");
        let expires_at = match provision["period"]["end"].as_str() {
            Some(end) => Some(
                FhirDate::parse(end, DateKind::DateTime)
                    .ok_or_else(|| {
                        invalid(
                            IssueCode::Value,
                            "not a dateTime",
                            "Consent.provision.period.end",
                        )
                    })?
                    .range()
                    .start,
            ),
            None => None,
        };
        let consent = self
            .grant_consent(
                actor,
                ConsentInput {
                    grantee,
                    scope,
                    purposes,
                    allow_write,
                    expires_at,
                },
            )
            .await?;
        Ok(served(
            consent_resource(&consent, self.clock.now()),
            consent.created_at,
        ))
    }

    /// Updating a Consent to `inactive` revokes it (the only change a consent allows).
    pub(crate) async fn fhir_update_consent(
        &self,
        actor: &Actor,
        id: &str,
        resource: &Value,
    ) -> Result<FhirResource, FhirError> {
        let id = Uuid::parse_str(id).map_err(|_| not_found())?;
        if resource["status"] != "inactive" {
            return Err(unsupported(
                "a consent can only be revoked: set status to inactive",
            ));
        }
        let consent = self.revoke_consent(actor, id).await?;
        Ok(served(
            consent_resource(&consent, self.clock.now()),
            consent.revoked_at.unwrap_or(consent.created_at),
        ))
    }

    async fn account(&self, id: &str, role: Role) -> Result<User, AppError> {
        let id = Uuid::parse_str(id).map_err(|_| not_found())?;
        self.store
            .user_by_id(UserId(id))
            .await?
            .filter(|u| u.role == role)
            .ok_or_else(not_found)
    }

    /// A patient's own view, or a doctor's under the same decision as listing the
    /// patient's records (consent needed; a denial is audited). Audited when allowed.
    async fn decide_patient_view(
        &self,
        actor: &Actor,
        patient: UserId,
        purpose: Option<Purpose>,
    ) -> Result<(), AppError> {
        let did = self.patient_did(patient).await?;
        let basis = self
            .decide_clinical(
                actor,
                Action::ListRecords,
                crate::policy::Resource::Patient(patient),
                purpose,
                did.clone(),
                None,
            )
            .await?;
        let event = AuditEvent::new(
            "patient.read",
            self.clock.now(),
            actor,
            Outcome::Allowed(basis),
        )
        .patient(patient, did)
        .purpose(purpose);
        self.commit(vec![], vec![event]).await?;
        Ok(())
    }

    /// Doctors see themselves; patients the doctors their consents name.
    async fn known_practitioners(&self, actor: &Actor) -> Result<Vec<UserId>, AppError> {
        match actor.role {
            Role::Doctor => Ok(vec![actor.user_id]),
            Role::Patient => {
                let mut ids: Vec<UserId> = self
                    .list_consents(actor)
                    .await?
                    .into_iter()
                    .map(|c| c.grantee)
                    .collect();
                ids.sort();
                ids.dedup();
                Ok(ids)
            }
            Role::Admin | Role::Researcher => Err(AppError::Forbidden),
        }
    }

    async fn grantee_username(&self, actors: &Value) -> Result<String, FhirError> {
        let at = "Consent.provision.actor";
        let reference = &actors[0]["reference"];
        if actors.as_array().is_none_or(|a| a.len() != 1) {
            return Err(invalid(
                IssueCode::Required,
                "name exactly one actor: the doctor",
                at,
            ));
        }
        if reference["identifier"]["system"] == USERNAME_SYSTEM
            && let Some(name) = reference["identifier"]["value"].as_str()
        {
            return Ok(name.to_owned());
        }
        let id = reference["reference"]
            .as_str()
            .and_then(|r| r.strip_prefix("Practitioner/"))
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| {
                invalid(
                    IssueCode::Value,
                    format!("reference the doctor as Practitioner/<id> or by identifier {USERNAME_SYSTEM}"),
                    at,
                )
            })?;
        let user = self
            .store
            .user_by_id(UserId(id))
            .await
            .map_err(AppError::from)?
            .filter(|u| u.role == Role::Doctor)
            .ok_or_else(|| invalid(IssueCode::Value, "no such doctor", at))?;
        Ok(user.username)
    }
}

/// `provision.data` (instance references) scopes to records; `provision.class` codes of
/// the platform's record categories scope to categories; neither: every record.
fn consent_scope(provision: &Value) -> Result<ConsentScope, FhirError> {
    if let Some(data) = provision["data"].as_array() {
        let mut records = BTreeSet::new();
        for item in data {
            let id = item["reference"]["reference"]
                .as_str()
                .and_then(|r| r.split('/').nth(1))
                .and_then(|id| Uuid::parse_str(id).ok())
                .ok_or_else(|| {
                    invalid(
                        IssueCode::Value,
                        "data must reference resources on this server",
                        "Consent.provision.data",
                    )
                })?;
            records.insert(RecordId(id));
        }
        return Ok(ConsentScope::Records { records });
    }
    if let Some(classes) = provision["class"].as_array() {
        let categories: BTreeSet<RecordCategory> = classes
            .iter()
            .filter(|c| c["system"] == CATEGORY_SYSTEM)
            .filter_map(|c| {
                c["code"]
                    .as_str()
                    .and_then(|code| RecordCategory::parse(code).ok())
            })
            .collect();
        if categories.is_empty() {
            return Err(invalid(
                IssueCode::Value,
                format!("class codes must be record categories of {CATEGORY_SYSTEM}"),
                "Consent.provision.class",
            ));
        }
        return Ok(ConsentScope::Categories { categories });
    }
    Ok(ConsentScope::All)
}

/// Whether a ledger entry is one `filter` lets its reader see (as `/api/v1/audit` would).
fn admits(filter: &AuditFilter, row: &LeafRow) -> bool {
    match filter {
        AuditFilter::All => true,
        AuditFilter::Patient(patient) => row.patient == Some(*patient),
        AuditFilter::Actor(actor) => row.actor == Some(*actor),
    }
}

/// A platform consent as a FHIR Consent.
pub fn consent_resource(consent: &ConsentGrant, now: time::OffsetDateTime) -> Value {
    let mut period = json!({ "start": instant_text(consent.created_at) });
    if let Some(end) = consent.revoked_at.or(consent.expires_at) {
        period["end"] = json!(instant_text(end));
    }
    let mut provision = json!({
        "type": "permit",
        "period": period,
        "actor": [{
            "role": { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                "code": "IRCP"
            }]},
            "reference": { "reference": format!("Practitioner/{}", consent.grantee) }
        }],
        "action": [{ "coding": [{ "system": CONSENT_ACTION, "code": "access" }] }],
        "purpose": consent.purposes.iter().map(|p| json!({
            "system": PURPOSE_SYSTEM, "code": p.as_str()
        })).collect::<Vec<_>>(),
    });
    if consent.allow_write
        && let Some(actions) = provision["action"].as_array_mut()
    {
        actions.push(json!({ "coding": [{ "system": CONSENT_ACTION, "code": "correct" }] }));
    }
    match &consent.scope {
        ConsentScope::All => {}
        ConsentScope::Categories { categories } => {
            provision["class"] = json!(
                categories
                    .iter()
                    .map(|c| json!({ "system": CATEGORY_SYSTEM, "code": c.as_str() }))
                    .collect::<Vec<_>>()
            );
        }
        ConsentScope::Records { records } => {
            provision["data"] = json!(records
                .iter()
                .map(|r| json!({ "meaning": "instance", "reference": { "reference": format!("DocumentReference/{r}") } }))
                .collect::<Vec<_>>());
        }
    }
    json!({
        "resourceType": "Consent",
        "id": consent.id.to_string(),
        "status": if consent.is_active(now) { "active" } else { "inactive" },
        "scope": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
            "code": "patient-privacy"
        }]},
        "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0" }] }],
        "patient": { "reference": format!("Patient/{}", consent.patient) },
        "dateTime": instant_text(consent.created_at),
        "policyRule": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"
        }]},
        "provision": provision,
    })
}

fn practitioner_resource(user: &User) -> Value {
    json!({
        "resourceType": "Practitioner",
        "id": user.id.to_string(),
        "identifier": [{ "system": DID_SYSTEM, "value": user.did.as_str() }],
        "active": user.status == UserStatus::Active,
    })
}

/// A ledger entry as an AuditEvent (the entry holds DIDs and ids only).
pub(crate) fn audit_event_resource(row: &LeafRow) -> Result<Value, AppError> {
    let entry: Value = serde_json::from_slice(&row.entry)
        .map_err(|err| AppError::Integrity(format!("ledger leaf {}: {err}", row.leaf_index)))?;
    let mut agent = json!({ "requestor": true });
    if let Some(actor) = entry.get("actor").and_then(Value::as_str) {
        agent["who"] = json!({ "identifier": { "system": DID_SYSTEM, "value": actor } });
    }
    let mut resource = json!({
        "resourceType": "AuditEvent",
        "id": format!("leaf-{}", row.leaf_index),
        "type": {
            "system": "http://dicom.nema.org/resources/ontology/DCM",
            "code": "110110",
            "display": "Patient Record"
        },
        "subtype": [{ "system": "urn:meditrustal:event", "code": row.kind }],
        "recorded": instant_text(row.at),
        // 0 = success, 4 = minor failure (a denied request).
        "outcome": if row.outcome == "allowed" { "0" } else { "4" },
        "agent": [agent],
        "source": { "observer": { "display": "MediTrustAl ledger" } },
        "entity": [{
            "what": { "identifier": { "system": "urn:meditrustal:ledger-leaf", "value": row.leaf_index.to_string() } }
        }],
    });
    if let Some(purpose) = entry.get("purpose").and_then(Value::as_str) {
        resource["purposeOfEvent"] =
            json!([{ "coding": [{ "system": PURPOSE_SYSTEM, "code": purpose }] }]);
    }
    Ok(resource)
}
