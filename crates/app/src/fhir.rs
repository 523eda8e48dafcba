//! FHIR R4 over the platform: clinical resources are records of their patient (category
//! `fhir-resource`, content `application/fhir+json`, the FHIR id is the record id, FHIR
//! versions are record versions), so the vault, the policy, the ledger, erasure, verify and
//! export apply to them unchanged. Each version's search values go into the index
//! (migration 0008) in the same commit as the version.
//!
//! The stored content is the client's resource without `id`, `meta.versionId` and
//! `meta.lastUpdated`; those are the record's and are filled in on the way out.

use std::collections::BTreeSet;

use meditrustal_domain::{
    ConsentScope, MediaType, Purpose, RecordCategory, RecordId, Role, UserId,
};
use meditrustal_fhir::datetime::instant_text;
use meditrustal_fhir::search::{SearchValues, Sort, patient_id};
use meditrustal_fhir::{Invalid, Issue, IssueCode, ResourceType, SearchQuery, validate};
use meditrustal_store::{
    FhirIndexRow, FhirOrder, FhirSearch, NewRecordVersion, RecordMeta, User, Write,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::Facts;
use crate::events::{AuditEvent, Outcome, millis};
use crate::fhir_nlp::{DerivedId, is_derived};
use crate::fhir_tokens::TokenHasher;
use crate::policy::{Action, Actor, Basis, Resource};
use crate::records::RecordUpload;
use crate::{App, AppError};

/// What a FHIR use case can fail with: a refused resource (its issues), a stale `If-Match`,
/// or any platform error.
#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("the resource is at version {current}, not the one in If-Match")]
    VersionMismatch { current: u32 },
    /// A resource derived from a note's NLP analysis (`Type/id`): it changes only with the
    /// note.
    #[error("{0} is derived from a note's NLP analysis and is read-only")]
    ReadOnly(String),
    #[error(transparent)]
    App(#[from] AppError),
}

/// A resource as served: with `id` and `meta.versionId`/`lastUpdated` filled in.
#[derive(Debug, Clone)]
pub struct FhirResource {
    pub resource: Value,
    pub version: u32,
    pub last_updated: OffsetDateTime,
}

/// One page of a search.
#[derive(Debug, Clone)]
pub struct FhirPage {
    /// `None` where counting would cost a full scan (the audit trail).
    pub total: Option<u64>,
    /// Whether a next page may exist.
    pub more: bool,
    pub matches: Vec<FhirResource>,
    pub included: Vec<Value>,
}

impl FhirPage {
    pub(crate) fn empty() -> FhirPage {
        FhirPage {
            total: Some(0),
            more: false,
            matches: Vec::new(),
            included: Vec::new(),
        }
    }
}

pub(crate) fn invalid(code: IssueCode, message: impl Into<String>, at: &str) -> FhirError {
    let issue = Issue::new(code, message);
    let issue = if at.is_empty() {
        issue
    } else {
        issue.at(at.to_owned())
    };
    FhirError::Invalid(Invalid::one(issue))
}

pub(crate) fn not_found() -> AppError {
    AppError::NotFound { what: "resource" }
}

/// A FHIR id that names a record (ours are UUIDs); anything else cannot exist here.
pub(crate) fn record_id(id: &str) -> Result<RecordId, AppError> {
    Uuid::parse_str(id).map(RecordId).map_err(|_| not_found())
}

impl App {
    pub async fn fhir_create(
        &self,
        actor: &Actor,
        kind: ResourceType,
        resource: Value,
        purpose: Option<Purpose>,
    ) -> Result<FhirResource, FhirError> {
        validate(&resource, kind)?;
        if kind == ResourceType::Consent {
            return self.fhir_grant_consent(actor, &resource).await;
        }
        let patient = self.fhir_patient(kind, &resource, &[]).await?;
        let content = stored_content(resource.clone())?;
        let upload = fhir_upload(patient, purpose, content);
        let hasher = self.token_hasher().await?;
        let meta = self
            .create_record_with(actor, upload, |version| {
                vec![index_write(hasher, kind, patient, &resource, version)]
            })
            .await?;
        Ok(served(kind, resource, &meta, 1, meta.created_at))
    }

    /// Replaces a resource with a new version. With `if_match`, only if that is still the
    /// current version.
    pub async fn fhir_update(
        &self,
        actor: &Actor,
        kind: ResourceType,
        id: &str,
        resource: Value,
        if_match: Option<u32>,
        purpose: Option<Purpose>,
    ) -> Result<FhirResource, FhirError> {
        if is_derived(kind, id) {
            return Err(FhirError::ReadOnly(format!("{kind}/{id}")));
        }
        validate(&resource, kind)?;
        if let Some(body_id) = resource.get("id").and_then(Value::as_str)
            && body_id != id
        {
            return Err(invalid(
                IssueCode::Invalid,
                "the resource's id must be the id in the URL",
                &format!("{kind}.id"),
            ));
        }
        if kind == ResourceType::Consent {
            return self.fhir_update_consent(actor, id, &resource).await;
        }
        let record = record_id(id)?;
        let meta = self.fhir_record(kind, record).await?;
        let patient = self.fhir_patient(kind, &resource, &[]).await?;
        if patient != meta.patient {
            return Err(invalid(
                IssueCode::Invariant,
                "a resource cannot move to another patient",
                kind.patient_element().unwrap_or("target"),
            ));
        }
        if let Some(expected) = if_match
            && expected != meta.current_version
        {
            return Err(FhirError::VersionMismatch {
                current: meta.current_version,
            });
        }
        let content = stored_content(resource.clone())?;
        let upload = fhir_upload(patient, purpose, content);
        let expected = if_match.or(Some(meta.current_version));
        let hasher = self.token_hasher().await?;
        let updated = match self
            .update_record_with(actor, record, upload, expected, |version| {
                vec![index_write(hasher, kind, patient, &resource, version)]
            })
            .await
        {
            // Another update committed between the check above and this commit: the
            // store refused the stale version, which is the If-Match precondition failing.
            Err(AppError::StateConflict(_)) if if_match.is_some() => {
                let current = self.record_meta_unchecked(record).await?.current_version;
                return Err(FhirError::VersionMismatch { current });
            }
            result => result?,
        };
        Ok(served(
            kind,
            resource,
            &updated,
            updated.current_version,
            updated.updated_at,
        ))
    }

    /// A version (the current one by default); audited as a record read.
    pub async fn fhir_read(
        &self,
        actor: &Actor,
        kind: ResourceType,
        id: &str,
        version: Option<u32>,
        purpose: Option<Purpose>,
    ) -> Result<FhirResource, FhirError> {
        if !kind.is_record_backed() {
            if version.is_some_and(|v| v != 1) {
                return Err(not_found().into());
            }
            return self.fhir_read_platform(actor, kind, id, purpose).await;
        }
        let record = match record_id(id) {
            Ok(record) => record,
            Err(err) => {
                // Only an id that is not a record's can be a derived one: record reads pay
                // nothing for this.
                let derived = DerivedId::parse(id).ok_or(err)?;
                return self
                    .fhir_read_derived(actor, kind, derived, version, purpose)
                    .await;
            }
        };
        let read = self.read_record(actor, record, version, purpose).await?;
        let resource = if kind == ResourceType::DocumentReference
            && read.meta.category != RecordCategory::FhirResource
        {
            // Any other record (a note, a report) is a document: its NLP findings point
            // at it (docs/fhir.md).
            document_reference(&read.meta, &read.version)
        } else {
            parse_stored(kind, &read.meta, &read.content)?
        };
        Ok(served(
            kind,
            resource,
            &read.meta,
            read.version.version,
            read.version.created_at,
        ))
    }

    /// Every version, newest first; one ledger entry for the look at all of them. A derived
    /// resource has only its current version here.
    pub async fn fhir_history(
        &self,
        actor: &Actor,
        kind: ResourceType,
        id: &str,
        purpose: Option<Purpose>,
    ) -> Result<Vec<FhirResource>, FhirError> {
        if !kind.is_record_backed() {
            return Ok(vec![
                self.fhir_read_platform(actor, kind, id, purpose).await?,
            ]);
        }
        let record = match record_id(id) {
            Ok(record) => record,
            Err(err) => {
                let derived = DerivedId::parse(id).ok_or(err)?;
                let current = self
                    .fhir_read_derived(actor, kind, derived, None, purpose)
                    .await?;
                return Ok(vec![current]);
            }
        };
        let (meta, patient_did, basis) = self
            .decide_on_record(actor, record, Action::ReadRecord, purpose)
            .await?;
        let versions = self
            .store
            .record_versions(record)
            .await
            .map_err(AppError::from)?;
        let mut out = Vec::with_capacity(versions.len());
        for version in versions.iter().rev() {
            let content = self.open_version(&meta, version).await?;
            let resource = parse_stored(kind, &meta, &content)?;
            out.push(served(
                kind,
                resource,
                &meta,
                version.version,
                version.created_at,
            ));
        }
        let event = self.record_access_event(
            "record.history_read",
            actor,
            (&meta, patient_did, basis),
            None,
            purpose,
        );
        self.commit(vec![], vec![event]).await?;
        Ok(out)
    }

    /// A search of one patient's resources of one type. Patients search their own; others
    /// name the patient (`patient=`/`subject=`), and the policy decides as for listing that
    /// patient's records.
    pub async fn fhir_search(
        &self,
        actor: &Actor,
        kind: ResourceType,
        query: &SearchQuery,
        purpose: Option<Purpose>,
    ) -> Result<FhirPage, FhirError> {
        if !kind.is_record_backed() {
            return self.fhir_search_platform(actor, kind, query, purpose).await;
        }
        let patient = match (&query.patient, actor.role) {
            (Some(id), _) => match Uuid::parse_str(id) {
                Ok(id) => UserId(id),
                Err(_) => return Ok(FhirPage::empty()),
            },
            (None, Role::Patient) => actor.user_id,
            (None, _) => {
                return Err(invalid(
                    IssueCode::Required,
                    "name the patient: patient=<id> (or subject=Patient/<id>)",
                    "patient",
                ));
            }
        };
        let patient_did = self.patient_did(patient).await?;
        let facts = self.facts(actor, patient).await?;
        let basis = self
            .decide_with(
                actor,
                Action::ListRecords,
                Resource::Patient(patient),
                purpose,
                &facts,
                patient_did.clone(),
                None,
            )
            .await?;
        let now = self.clock.now();
        let search = FhirSearch {
            records: visible_records(actor, basis, &facts, purpose, now),
            ..store_search(self.token_hasher().await?, kind, patient, query)
        };
        let (total, ids) = self
            .store
            .search_fhir(&search)
            .await
            .map_err(AppError::from)?;
        let event = AuditEvent::new(
            "fhir.searched",
            self.clock.now(),
            actor,
            Outcome::Allowed(basis),
        )
        .patient(patient, patient_did)
        .purpose(purpose);
        self.commit(vec![], vec![event]).await?;
        let mut matches = Vec::with_capacity(ids.len());
        for id in ids {
            let (meta, version) = self
                .store
                .record_and_version(id, None)
                .await
                .map_err(AppError::from)?
                .ok_or(AppError::NotFound { what: "record" })?;
            // Erasure removes the index rows in its own commit; a search that read the
            // index just before still must not serve the record.
            if meta.erasure.is_some() {
                continue;
            }
            let version = version.ok_or(AppError::NotFound {
                what: "record version",
            })?;
            let content = self.open_version(&meta, &version).await?;
            let resource = parse_stored(kind, &meta, &content)?;
            matches.push(served(
                kind,
                resource,
                &meta,
                version.version,
                version.created_at,
            ));
        }
        let mut included = Vec::new();
        if query.include_patient
            && !matches.is_empty()
            && let Some(user) = self
                .store
                .user_by_id(patient)
                .await
                .map_err(AppError::from)?
        {
            included.push(patient_resource(&user));
        }
        Ok(FhirPage {
            total: Some(total),
            more: u64::from(query.offset) + u64::from(query.count) < total,
            matches,
            included,
        })
    }

    /// The patient a resource belongs to: its patient reference, or for a Provenance the
    /// patient of the record its first target names.
    pub(crate) async fn fhir_patient(
        &self,
        kind: ResourceType,
        resource: &Value,
        pending: &[(RecordId, UserId)],
    ) -> Result<UserId, FhirError> {
        if let Some(element) = kind.patient_element() {
            let at = format!("{kind}.{element}");
            let id = patient_id(&resource[element]).ok_or_else(|| {
                invalid(
                    IssueCode::Required,
                    "must reference the patient as Patient/<id>",
                    &at,
                )
            })?;
            let user = Uuid::parse_str(&id)
                .map(UserId)
                .map_err(|_| invalid(IssueCode::Value, "no such patient on this server", &at))?;
            return match self.patient_did(user).await {
                Ok(_) => Ok(user),
                Err(AppError::NotFound { .. }) => Err(invalid(
                    IssueCode::Value,
                    "no such patient on this server",
                    &at,
                )),
                Err(other) => Err(other.into()),
            };
        }
        let target = resource["target"][0]["reference"]
            .as_str()
            .unwrap_or_default();
        let record = target
            .split('/')
            .nth(1)
            .and_then(|id| Uuid::parse_str(id).ok())
            .map(RecordId);
        if let Some((_, patient)) = pending.iter().find(|(id, _)| Some(*id) == record) {
            return Ok(*patient);
        }
        let meta = match record {
            Some(id) => self.store.record(id).await.map_err(AppError::from)?,
            None => None,
        };
        meta.map(|m| m.patient).ok_or_else(|| {
            invalid(
                IssueCode::Value,
                "the first target must be a resource stored on this server",
                "Provenance.target[0]",
            )
        })
    }

    /// A record that holds a FHIR resource of `kind` (else not found).
    pub(crate) async fn fhir_record(
        &self,
        kind: ResourceType,
        id: RecordId,
    ) -> Result<RecordMeta, FhirError> {
        let search = FhirSearch {
            ids: vec![id],
            limit: 1,
            ..FhirSearch::of(kind.as_str())
        };
        let (total, _) = self
            .store
            .search_fhir(&search)
            .await
            .map_err(AppError::from)?;
        if total == 0 {
            return Err(not_found().into());
        }
        Ok(self.record_meta_unchecked(id).await?)
    }
}

/// The records of the patient a search may return, when not all of them: a doctor whose
/// consents name records sees those records only, and only consents for the search's
/// purpose count (a search returns content, so each match must be one the doctor could
/// read). A consent for the purpose that covers FHIR resources as a whole (all records, or
/// their category), or an active emergency grant (which reads every record, as listing
/// does), lifts the restriction.
fn visible_records(
    actor: &Actor,
    basis: Basis,
    facts: &Facts,
    purpose: Option<Purpose>,
    now: OffsetDateTime,
) -> Option<Vec<RecordId>> {
    let Basis::Consent(_) = basis else {
        return None;
    };
    if facts.1.iter().any(|grant| grant.is_active(now)) {
        return None;
    }
    let mut records = BTreeSet::new();
    let active = facts
        .0
        .iter()
        .filter(|c| c.grantee == actor.user_id && c.is_active(now))
        .filter(|c| purpose.is_some_and(|p| c.purposes.contains(&p)));
    for consent in active {
        match &consent.scope {
            ConsentScope::Records { records: named } => records.extend(named.iter().copied()),
            scope if scope.covers_new_records_of(RecordCategory::FhirResource) => return None,
            ConsentScope::All | ConsentScope::Categories { .. } => {}
        }
    }
    Some(records.into_iter().collect())
}

pub(crate) fn fhir_upload(
    patient: UserId,
    purpose: Option<Purpose>,
    content: Vec<u8>,
) -> RecordUpload {
    RecordUpload {
        patient: Some(patient),
        category: Some(RecordCategory::FhirResource.as_str().to_owned()),
        content_type: MediaType::FHIR_JSON.to_owned(),
        purpose,
        content,
    }
}

/// What is sealed: the resource without what the server assigns.
pub(crate) fn stored_content(mut resource: Value) -> Result<Vec<u8>, AppError> {
    if let Some(object) = resource.as_object_mut() {
        object.remove("id");
        if let Some(meta) = object.get_mut("meta").and_then(Value::as_object_mut) {
            meta.remove("versionId");
            meta.remove("lastUpdated");
            if meta.is_empty() {
                object.remove("meta");
            }
        }
    }
    serde_json::to_vec(&resource).map_err(|err| AppError::internal(err.to_string()))
}

/// A stored record's content as a resource of `kind`; a record of another kind or
/// category is not found through this type's URL.
fn parse_stored(kind: ResourceType, meta: &RecordMeta, content: &[u8]) -> Result<Value, AppError> {
    if meta.category != RecordCategory::FhirResource {
        return Err(not_found());
    }
    let resource: Value = serde_json::from_slice(content).map_err(|_| not_found())?;
    if resource["resourceType"] != kind.as_str() {
        return Err(not_found());
    }
    Ok(resource)
}

pub(crate) fn served(
    kind: ResourceType,
    mut resource: Value,
    meta: &RecordMeta,
    version: u32,
    at: OffsetDateTime,
) -> FhirResource {
    resource["resourceType"] = json!(kind.as_str());
    resource["id"] = json!(meta.id.to_string());
    if !resource["meta"].is_object() {
        resource["meta"] = json!({});
    }
    resource["meta"]["versionId"] = json!(version.to_string());
    resource["meta"]["lastUpdated"] = json!(instant_text(at));
    FhirResource {
        resource,
        version,
        last_updated: at,
    }
}

pub(crate) fn index_write(
    hasher: &TokenHasher,
    kind: ResourceType,
    patient: UserId,
    resource: &Value,
    version: &NewRecordVersion,
) -> Write {
    let values = SearchValues::of(kind, resource);
    Write::IndexFhirResource(FhirIndexRow {
        record_id: version.record_id,
        resource_type: kind.as_str(),
        patient,
        status: values.status,
        date: values.date.map(|d| (millis(d.start), millis(d.end))),
        last_updated: millis(version.created_at),
        tokens: hasher.tokens(values.tokens),
        replaces: version.version > 1,
    })
}

fn store_search(
    hasher: &TokenHasher,
    kind: ResourceType,
    patient: UserId,
    query: &SearchQuery,
) -> FhirSearch {
    let tokens = |list: &[meditrustal_fhir::TokenValue]| {
        list.iter().map(|token| hasher.filter(token)).collect()
    };
    FhirSearch {
        patient: Some(patient),
        // An id that is not a UUID matches nothing: the nil UUID names no record.
        ids: query
            .ids
            .iter()
            .map(|id| RecordId(Uuid::parse_str(id).unwrap_or(Uuid::nil())))
            .collect(),
        status: query.status.clone(),
        code: tokens(&query.code),
        category: tokens(&query.category),
        start_from: query.date.start_from.map(millis),
        start_before: query.date.start_before.map(millis),
        end_after: query.date.end_after.map(millis),
        end_until: query.date.end_until.map(millis),
        updated_from: query.last_updated.from.map(millis),
        updated_before: query.last_updated.before.map(millis),
        order: match query.sort {
            Sort::LastUpdated => FhirOrder::LastUpdated,
            Sort::LastUpdatedDesc => FhirOrder::LastUpdatedDesc,
            Sort::Date => FhirOrder::Date,
            Sort::DateDesc => FhirOrder::DateDesc,
        },
        limit: query.count,
        offset: query.offset,
        ..FhirSearch::of(kind.as_str())
    }
}

/// A patient account as a FHIR Patient: the id is the user id, the identifier the DID.
/// Demographics are not held by this platform's accounts.
pub fn patient_resource(user: &User) -> Value {
    json!({
        "resourceType": "Patient",
        "id": user.id.to_string(),
        "meta": { "lastUpdated": instant_text(user.updated_at) },
        "identifier": [{ "system": "urn:ietf:rfc:3986", "value": user.did.as_str() }],
        "active": user.status == meditrustal_domain::UserStatus::Active,
    })
}

/// A record that is not itself a FHIR resource, described as a DocumentReference whose
/// attachment is the record's content in `/api/v1`.
fn document_reference(meta: &RecordMeta, version: &meditrustal_store::RecordVersion) -> Value {
    json!({
        "resourceType": "DocumentReference",
        "status": "current",
        "type": { "text": meta.category.as_str() },
        "subject": { "reference": format!("Patient/{}", meta.patient) },
        "date": instant_text(version.created_at),
        "content": [{
            "attachment": {
                "contentType": version.content_type,
                "url": format!("/api/v1/records/{}/content?version={}", meta.id, version.version),
                "size": version.size_bytes,
                "creation": instant_text(version.created_at),
            }
        }],
    })
}

#[cfg(test)]
mod tests {
    use meditrustal_domain::{ConsentGrant, Did, EmergencyGrant};
    use time::Duration;

    use super::*;

    fn doctor() -> Actor {
        Actor {
            user_id: UserId(Uuid::from_u128(1)),
            role: Role::Doctor,
            did: Did::from_random([1; 16]),
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn consent(grantee: &Actor, scope: ConsentScope) -> ConsentGrant {
        ConsentGrant::new(
            Uuid::new_v4(),
            UserId(Uuid::from_u128(2)),
            grantee.user_id,
            scope,
            [Purpose::Treatment].into(),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn records(ids: &[u128]) -> ConsentScope {
        ConsentScope::Records {
            records: ids.iter().map(|n| RecordId(Uuid::from_u128(*n))).collect(),
        }
    }

    fn visible(consents: Vec<ConsentGrant>, emergencies: Vec<EmergencyGrant>) -> Option<Vec<u128>> {
        let basis = Basis::Consent(Uuid::nil());
        let purpose = Some(Purpose::Treatment);
        visible_records(
            &doctor(),
            basis,
            &Facts(consents, emergencies),
            purpose,
            now(),
        )
        .map(|ids| ids.iter().map(|id| id.0.as_u128()).collect())
    }

    #[test]
    fn record_scoped_consents_restrict_a_search_to_their_records() {
        let me = doctor();
        let mut revoked_all = consent(&me, ConsentScope::All);
        revoked_all.revoked_at = Some(now());
        let someone_else = Actor {
            user_id: UserId(Uuid::from_u128(3)),
            ..doctor()
        };
        let notes_only = ConsentScope::Categories {
            categories: [RecordCategory::ClinicalNote].into(),
        };
        assert_eq!(
            visible(
                vec![
                    consent(&me, records(&[10, 11])),
                    consent(&me, records(&[11, 12])),
                    consent(&me, notes_only),
                    revoked_all,
                    consent(&someone_else, ConsentScope::All),
                ],
                vec![]
            ),
            Some(vec![10, 11, 12])
        );
        let mut expired = consent(&me, records(&[10]));
        expired.expires_at = Some(now());
        assert_eq!(visible(vec![expired], vec![]), Some(vec![]));
    }

    #[test]
    fn only_consents_for_the_search_s_purpose_show_records() {
        let me = doctor();
        let mut research_all = consent(&me, ConsentScope::All);
        research_all.purposes = [Purpose::Research].into();
        let mut research_named = consent(&me, records(&[20]));
        research_named.purposes = [Purpose::Research].into();
        let consents = vec![research_all, research_named, consent(&me, records(&[10]))];
        assert_eq!(visible(consents, vec![]), Some(vec![10]));
    }

    #[test]
    fn a_consent_to_all_or_to_fhir_resources_or_an_emergency_lifts_the_restriction() {
        let me = doctor();
        let fhir = ConsentScope::Categories {
            categories: [RecordCategory::FhirResource].into(),
        };
        for scope in [ConsentScope::All, fhir] {
            let consents = vec![consent(&me, records(&[10])), consent(&me, scope)];
            assert_eq!(visible(consents, vec![]), None);
        }
        let emergency = EmergencyGrant {
            id: Uuid::new_v4(),
            patient: UserId(Uuid::from_u128(2)),
            doctor: me.user_id,
            reason: "unconscious on arrival".into(),
            created_at: now() - Duration::hours(1),
            expires_at: now() + Duration::hours(1),
        };
        assert_eq!(
            visible(vec![consent(&me, records(&[10]))], vec![emergency]),
            None
        );
        let owner = visible_records(&me, Basis::Owner, &Facts(vec![], vec![]), None, now());
        assert_eq!(owner, None);
    }
}
