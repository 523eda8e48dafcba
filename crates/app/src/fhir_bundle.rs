//! FHIR transactions: a Bundle of creates and updates (a hospital system importing a
//! patient's history in one POST) applied all or nothing. Every entry is decided and sealed
//! first; then all rows, index rows and ledger entries commit in one database transaction.
//! A failure before the commit leaves at most orphan vault objects (removed by `gc`).
//! References between entries (`urn:uuid:` full URLs) are rewritten to the ids assigned.

use std::collections::HashMap;

use meditrustal_domain::{Purpose, RecordId, UserId};
use meditrustal_fhir::bundle::{EntryResponse, response_bundle};
use meditrustal_fhir::{Invalid, Issue, IssueCode, ResourceType, validate};
use serde_json::Value;
use uuid::Uuid;

use crate::fhir::{FhirError, fhir_upload, index_write, invalid, stored_content};
use crate::fhir_nlp::is_derived;
use crate::policy::Actor;
use crate::records::StagedVersion;
use crate::{App, AppError};

/// Most entries one transaction may hold.
pub const MAX_TRANSACTION_ENTRIES: usize = 1000;

/// What an entry asks for.
pub enum EntryRequest {
    Create(ResourceType),
    Update(ResourceType, String),
}

/// Reads `entry.request` (method and url) of entry `index`.
pub fn entry_request(entry: &Value, index: usize) -> Result<EntryRequest, Invalid> {
    let at = format!("Bundle.entry[{index}].request");
    let fail = |message: &str| Invalid::one(Issue::new(IssueCode::Invalid, message).at(at.clone()));
    let method = entry["request"]["method"]
        .as_str()
        .ok_or_else(|| fail("request.method is required"))?;
    let url = entry["request"]["url"]
        .as_str()
        .ok_or_else(|| fail("request.url is required"))?;
    let url = url.split('?').next().unwrap_or_default();
    let mut parts = url.split('/');
    let kind = parts
        .next()
        .and_then(ResourceType::parse)
        .ok_or_else(|| fail("request.url must start with a supported resource type"))?;
    match (method, parts.next(), parts.next()) {
        ("POST", None, _) => Ok(EntryRequest::Create(kind)),
        ("PUT", Some(id), None) if is_derived(kind, id) => Err(Invalid::one(
            Issue::new(
                IssueCode::NotSupported,
                FhirError::ReadOnly(format!("{kind}/{id}")).to_string(),
            )
            .at(at.clone()),
        )),
        ("PUT", Some(id), None) if !id.is_empty() => Ok(EntryRequest::Update(kind, id.to_owned())),
        _ => Err(fail("entries may POST Type or PUT Type/id")),
    }
}

/// Prefixes every issue's location with the entry it came from.
pub fn at_entry(err: FhirError, index: usize) -> FhirError {
    match err {
        FhirError::Invalid(mut invalid) => {
            for issue in &mut invalid.issues {
                let inner = issue.expression.take().unwrap_or_default();
                issue.expression = Some(format!("Bundle.entry[{index}].resource.{inner}"));
            }
            FhirError::Invalid(invalid)
        }
        other => other,
    }
}

/// Replaces every `reference` equal to a key of `ids` by its value, in place.
fn rewrite_references(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::Object(object) => {
            for (key, item) in object.iter_mut() {
                if key == "reference"
                    && let Some(new) = item.as_str().and_then(|r| ids.get(r))
                {
                    *item = Value::String(new.clone());
                } else {
                    rewrite_references(item, ids);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| rewrite_references(item, ids)),
        _ => {}
    }
}

impl App {
    /// Applies a `transaction` Bundle; answers its `transaction-response`.
    pub async fn fhir_transaction(
        &self,
        actor: &Actor,
        bundle: Value,
        purpose: Option<Purpose>,
    ) -> Result<Value, FhirError> {
        let mut entries = match bundle.get("entry") {
            None => Vec::new(),
            Some(Value::Array(entries)) => entries.clone(),
            Some(_) => {
                return Err(invalid(
                    IssueCode::Structure,
                    "entry must be an array",
                    "Bundle.entry",
                ));
            }
        };
        if entries.len() > MAX_TRANSACTION_ENTRIES {
            return Err(invalid(
                IssueCode::TooCostly,
                format!("at most {MAX_TRANSACTION_ENTRIES} entries per transaction"),
                "Bundle.entry",
            ));
        }
        let requests = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| entry_request(entry, index))
            .collect::<Result<Vec<_>, _>>()?;
        // New ids first, so entries can reference each other by their full URLs.
        let mut ids = HashMap::new();
        let mut new_ids = Vec::with_capacity(entries.len());
        for (entry, request) in entries.iter().zip(&requests) {
            let id = RecordId(Uuid::now_v7());
            new_ids.push(id);
            if let (EntryRequest::Create(kind), Some(url)) = (request, entry["fullUrl"].as_str()) {
                ids.insert(url.to_owned(), format!("{kind}/{id}"));
            }
        }
        for entry in &mut entries {
            rewrite_references(&mut entry["resource"], &ids);
        }
        let mut staged: Vec<StagedVersion> = Vec::with_capacity(entries.len());
        let mut pending: Vec<(RecordId, UserId)> = Vec::new();
        let mut answers = Vec::with_capacity(entries.len());
        for (index, ((entry, request), id)) in
            entries.into_iter().zip(requests).zip(new_ids).enumerate()
        {
            let resource = entry.get("resource").cloned().unwrap_or(Value::Null);
            let (stage, answer) = self
                .stage_entry(actor, request, resource, id, purpose, &mut pending)
                .await
                .map_err(|err| at_entry(err, index))?;
            staged.push(stage);
            answers.push(answer);
        }
        self.commit_staged(staged).await?;
        Ok(response_bundle(false, answers))
    }

    async fn stage_entry(
        &self,
        actor: &Actor,
        request: EntryRequest,
        resource: Value,
        new_id: RecordId,
        purpose: Option<Purpose>,
        pending: &mut Vec<(RecordId, UserId)>,
    ) -> Result<(StagedVersion, EntryResponse), FhirError> {
        let kind = match &request {
            EntryRequest::Create(kind) | EntryRequest::Update(kind, _) => *kind,
        };
        if !kind.is_record_backed() {
            return Err(invalid(
                IssueCode::NotSupported,
                format!("{kind} cannot be written in a transaction"),
                "",
            ));
        }
        validate(&resource, kind)?;
        let patient = self.fhir_patient(kind, &resource, pending).await?;
        let content = stored_content(resource.clone())?;
        let upload = fhir_upload(patient, purpose, content);
        let hasher = self.token_hasher().await?;
        match request {
            EntryRequest::Create(_) => {
                let (stage, _) = self
                    .stage_create(actor, upload, new_id, |version| {
                        vec![index_write(hasher, kind, patient, &resource, version)]
                    })
                    .await?;
                pending.push((new_id, patient));
                Ok((
                    stage,
                    entry_response("201 Created", kind, &new_id.to_string(), 1),
                ))
            }
            EntryRequest::Update(_, id) => {
                let record = Uuid::parse_str(&id)
                    .map(RecordId)
                    .map_err(|_| AppError::NotFound { what: "resource" })?;
                let meta = self.fhir_record(kind, record).await?;
                if meta.patient != patient {
                    return Err(invalid(
                        IssueCode::Invariant,
                        "a resource cannot move to another patient",
                        "",
                    ));
                }
                let (stage, version) = self
                    .stage_update(
                        actor,
                        record,
                        upload,
                        Some(meta.current_version),
                        |version| vec![index_write(hasher, kind, patient, &resource, version)],
                    )
                    .await?;
                Ok((stage, entry_response("200 OK", kind, &id, version)))
            }
        }
    }
}

fn entry_response(status: &str, kind: ResourceType, id: &str, version: u32) -> EntryResponse {
    EntryResponse {
        status: status.to_owned(),
        location: Some(format!("{kind}/{id}/_history/{version}")),
        etag: Some(format!("W/\"{version}\"")),
        last_modified: None,
        resource: None,
        outcome: None,
    }
}
