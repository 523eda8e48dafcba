//! What the NLP engine found in a note, as FHIR: diseases and symptoms as Condition, drugs
//! as MedicationStatement, measurements as Observation, and one Provenance saying they were
//! derived from the note's DocumentReference. Assertions decide the statuses: a negated
//! finding is `refuted` (never an active problem), an uncertain one `provisional`, a
//! family-history mention is left out (it is not the patient's condition).
//!
//! These resources are computed from the stored analysis when asked for; they are not
//! records themselves (see docs/fhir.md). Their ids ([`DerivedId`]) name the note and the
//! part of its analysis, so each can be read on its own, decided and audited as a read of
//! the note; none can be written.

use std::fmt;

use meditrustal_domain::{Purpose, RecordId, UserId};
use meditrustal_fhir::ResourceType;
use meditrustal_fhir::datetime::instant_text;
use meditrustal_fhir::definitions::{CONDITION_CLINICAL, CONDITION_VERIFICATION};
use meditrustal_nlp::{Analysis, Entity, EntityType, Measurement};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::App;
use crate::fhir::{FhirError, FhirResource, not_found, record_id};
use crate::policy::Actor;
use crate::record_nlp::RecordAnalysis;

const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
const ATC: &str = "http://www.whocc.no/atc";
const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";

/// Length of a UUID in its hyphenated form, the form note ids are written in.
const UUID_LEN: usize = 36;

/// The part of a note's analysis a derived resource comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerivedPart {
    /// `e{n}`: entity `n` of the analysis, a Condition or a MedicationStatement.
    Entity(usize),
    /// `m{n}`: measurement `n`, an Observation.
    Measurement(usize),
    /// `nlp`: the Provenance that names all the others.
    Provenance,
}

/// The id of a resource derived from a note's analysis: `{note}-e{n}`, `{note}-m{n}` or
/// `{note}-nlp`. Only the form this type writes is read back (lower-case hyphenated UUID,
/// decimal index without sign or leading zeros), so each resource has exactly one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivedId {
    pub note: RecordId,
    pub part: DerivedPart,
}

impl DerivedId {
    pub fn parse(id: &str) -> Option<DerivedId> {
        let (note, part) = (id.get(..UUID_LEN)?, id.get(UUID_LEN..)?);
        let uuid = Uuid::parse_str(note).ok()?;
        if uuid.hyphenated().to_string() != note {
            return None;
        }
        let part = match part.strip_prefix('-')? {
            "nlp" => DerivedPart::Provenance,
            rest => match rest.split_at_checked(1)? {
                ("e", digits) => DerivedPart::Entity(index(digits)?),
                ("m", digits) => DerivedPart::Measurement(index(digits)?),
                _ => return None,
            },
        };
        Some(DerivedId {
            note: RecordId(uuid),
            part,
        })
    }

    /// The resource types an id of this part can name.
    pub fn kinds(self) -> &'static [ResourceType] {
        match self.part {
            DerivedPart::Entity(_) => &[ResourceType::Condition, ResourceType::MedicationStatement],
            DerivedPart::Measurement(_) => &[ResourceType::Observation],
            DerivedPart::Provenance => &[ResourceType::Provenance],
        }
    }
}

/// Whether `kind/id` names a derived resource (which can be read but never written).
pub(crate) fn is_derived(kind: ResourceType, id: &str) -> bool {
    DerivedId::parse(id).is_some_and(|derived| derived.kinds().contains(&kind))
}

fn index(digits: &str) -> Option<usize> {
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if canonical { digits.parse().ok() } else { None }
}

impl fmt::Display for DerivedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let note = self.note.0.hyphenated();
        match self.part {
            DerivedPart::Entity(n) => write!(f, "{note}-e{n}"),
            DerivedPart::Measurement(n) => write!(f, "{note}-m{n}"),
            DerivedPart::Provenance => write!(f, "{note}-nlp"),
        }
    }
}

/// Where derived resources come from: the analysis of version `version` of note `note` of
/// `patient`, made at `analyzed_at`. The note version is the resources' `meta.versionId`
/// (a newer note version, analysed, gives newer resources) and the analysis time their
/// `meta.lastUpdated`.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub note: RecordId,
    pub patient: UserId,
    pub version: u32,
    pub analyzed_at: OffsetDateTime,
}

impl App {
    /// The resources derived from a note's current analysis, as a `collection` Bundle. A
    /// read of the note: decided and audited as one.
    pub async fn fhir_note_findings(
        &self,
        actor: &Actor,
        note: &str,
        purpose: Option<Purpose>,
    ) -> Result<Value, FhirError> {
        let id = record_id(note)?;
        let (stored, source) = self.note_source(actor, id, None, purpose).await?;
        let entries: Vec<Value> = findings(&stored.analysis, &source)
            .into_iter()
            .map(|resource| json!({ "resource": resource }))
            .collect();
        Ok(json!({ "resourceType": "Bundle", "type": "collection", "entry": entries }))
    }

    /// One derived resource, from the analysis of note version `version` (the current one
    /// by default); a read of the note, decided and audited as `$findings` is.
    pub(crate) async fn fhir_read_derived(
        &self,
        actor: &Actor,
        kind: ResourceType,
        id: DerivedId,
        version: Option<u32>,
        purpose: Option<Purpose>,
    ) -> Result<FhirResource, FhirError> {
        if !id.kinds().contains(&kind) {
            return Err(not_found().into());
        }
        let (stored, source) = self.note_source(actor, id.note, version, purpose).await?;
        let resource = derived(&stored.analysis, id.part, &source)
            .filter(|resource| resource["resourceType"] == kind.as_str())
            .ok_or_else(not_found)?;
        Ok(FhirResource {
            resource,
            version: source.version,
            last_updated: source.analyzed_at,
        })
    }

    async fn note_source(
        &self,
        actor: &Actor,
        note: RecordId,
        version: Option<u32>,
        purpose: Option<Purpose>,
    ) -> Result<(RecordAnalysis, Source), FhirError> {
        let stored = self.record_analysis(actor, note, version, purpose).await?;
        let meta = self.record_meta_unchecked(note).await?;
        let source = Source {
            note,
            patient: meta.patient,
            version: stored.version,
            analyzed_at: stored.analyzed_at,
        };
        Ok((stored, source))
    }
}

/// The FHIR resources of one analysis: those of its entities and measurements, then the
/// Provenance naming them (none when there is nothing to name).
pub fn findings(analysis: &Analysis, source: &Source) -> Vec<Value> {
    let mut out = content(analysis, source);
    out.extend(provenance(&out, source));
    out
}

/// The resource with id `{note}-{part}` in [`findings`], if there is one: the one mapping
/// from an id to its resource, used by `$findings` and by reads alike.
pub fn derived(analysis: &Analysis, part: DerivedPart, source: &Source) -> Option<Value> {
    let body = match part {
        DerivedPart::Entity(n) => entity_resource(analysis.entities.get(n)?, source.patient)?,
        DerivedPart::Measurement(n) => {
            measurement_resource(analysis.measurements.get(n)?, source.patient)
        }
        DerivedPart::Provenance => return provenance(&content(analysis, source), source),
    };
    Some(stamped(body, part, source))
}

fn content(analysis: &Analysis, source: &Source) -> Vec<Value> {
    let entities = (0..analysis.entities.len()).map(DerivedPart::Entity);
    let measurements = (0..analysis.measurements.len()).map(DerivedPart::Measurement);
    entities
        .chain(measurements)
        .filter_map(|part| derived(analysis, part, source))
        .collect()
}

/// `body` with the id and meta every derived resource carries.
fn stamped(mut body: Value, part: DerivedPart, source: &Source) -> Value {
    let id = DerivedId {
        note: source.note,
        part,
    };
    body["id"] = json!(id.to_string());
    body["meta"] = json!({
        "versionId": source.version.to_string(),
        "lastUpdated": instant_text(source.analyzed_at),
    });
    body
}

/// A CodeableConcept of the text as written and, when the engine found one, its code in
/// `system`.
fn concept(text: &str, system: &str, code: Option<&str>) -> Value {
    match code {
        Some(code) => json!({ "coding": [{ "system": system, "code": code }], "text": text }),
        None => json!({ "text": text }),
    }
}

fn status(system: &str, code: &str) -> Value {
    json!({ "coding": [{ "system": system, "code": code }] })
}

fn subject(patient: UserId) -> Value {
    json!({ "reference": format!("Patient/{patient}") })
}

/// A disease or symptom as a Condition, a drug as a MedicationStatement; nothing for a
/// family-history mention or another entity type.
fn entity_resource(entity: &Entity, patient: UserId) -> Option<Value> {
    if entity.family {
        return None;
    }
    match entity.kind {
        EntityType::Dis | EntityType::Sym => Some(condition(entity, patient)),
        EntityType::Dru => Some(json!({
            "resourceType": "MedicationStatement",
            "status": if entity.negated { "not-taken" } else if entity.historical { "completed" } else { "active" },
            "medicationCodeableConcept": concept(&entity.text, ATC, entity.atc.as_deref()),
            "subject": subject(patient),
        })),
        _ => None,
    }
}

fn condition(entity: &Entity, patient: UserId) -> Value {
    let mut condition = json!({
        "resourceType": "Condition",
        "category": [status(
            "http://terminology.hl7.org/CodeSystem/condition-category",
            if entity.kind == EntityType::Dis { "encounter-diagnosis" } else { "problem-list-item" },
        )],
        "code": concept(&entity.text, ICD10, entity.icd10.as_deref()),
        "subject": subject(patient),
    });
    let verification = if entity.negated {
        "refuted"
    } else if entity.uncertain {
        "provisional"
    } else {
        "confirmed"
    };
    condition["verificationStatus"] = status(CONDITION_VERIFICATION, verification);
    // A refuted finding has no clinical status: it is not a problem at all.
    if !entity.negated {
        let clinical = if entity.historical {
            "inactive"
        } else {
            "active"
        };
        condition["clinicalStatus"] = status(CONDITION_CLINICAL, clinical);
    }
    condition
}

fn measurement_resource(measurement: &Measurement, patient: UserId) -> Value {
    let mut observation = json!({
        "resourceType": "Observation",
        "status": "preliminary",
        "code": concept(&measurement.name, LOINC, measurement.loinc.as_deref()),
        "subject": subject(patient),
    });
    match measurement.value.parse::<f64>() {
        Ok(value) if value.is_finite() && !measurement.unit.is_empty() => {
            let mut quantity = json!({ "value": value, "unit": measurement.unit });
            // Only a real UCUM code goes in `code`; the unit as written stays in `unit`.
            if let Some(ucum) = &measurement.ucum {
                quantity["system"] = json!(UCUM);
                quantity["code"] = json!(ucum);
            }
            observation["valueQuantity"] = quantity;
        }
        Ok(value) if value.is_finite() => observation["valueQuantity"] = json!({ "value": value }),
        _ => observation["valueString"] = json!(measurement.value),
    }
    observation
}

/// The Provenance naming `targets` as derived from the note; none for no targets.
fn provenance(targets: &[Value], source: &Source) -> Option<Value> {
    if targets.is_empty() {
        return None;
    }
    let targets: Vec<Value> = targets
        .iter()
        .map(|r| json!({ "reference": format!("{}/{}", r["resourceType"].as_str().unwrap_or_default(), r["id"].as_str().unwrap_or_default()) }))
        .collect();
    let body = json!({
        "resourceType": "Provenance",
        "target": targets,
        "recorded": instant_text(source.analyzed_at),
        "activity": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "CREATE" }] },
        "agent": [{
            "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "assembler" }] },
            "who": { "display": "MediTrustAl clinical NLP" }
        }],
        "entity": [{ "role": "source", "what": { "reference": format!("DocumentReference/{}", source.note) } }],
    });
    Some(stamped(body, DerivedPart::Provenance, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "0194f1a2-7c3d-7000-8000-00000000abcd";

    fn entity(
        text: &str,
        kind: EntityType,
        negated: bool,
        uncertain: bool,
        family: bool,
    ) -> Entity {
        Entity {
            start: 0,
            end: 1,
            text: text.to_owned(),
            kind,
            negated,
            uncertain,
            historical: false,
            family,
            icd10: Some("I10".to_owned()),
            atc: (kind == EntityType::Dru).then(|| "B01AC06".to_owned()),
            loinc: None,
        }
    }

    fn source() -> Source {
        Source {
            note: RecordId(Uuid::parse_str(NOTE).unwrap()),
            patient: UserId(Uuid::nil()),
            version: 2,
            analyzed_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn analysis() -> Analysis {
        Analysis {
            entities: vec![
                entity("高血压", EntityType::Dis, false, false, false),
                entity("发热", EntityType::Sym, true, false, false),
                entity("肺炎", EntityType::Dis, false, true, false),
                entity("糖尿病", EntityType::Dis, false, false, true),
                entity("阿司匹林", EntityType::Dru, false, false, false),
            ],
            measurements: vec![Measurement {
                start: 0,
                end: 1,
                text: "体温 37.2℃".to_owned(),
                name: "temperature".to_owned(),
                value: "37.2".to_owned(),
                unit: "℃".to_owned(),
                loinc: Some("8310-5".to_owned()),
                ucum: Some("Cel".to_owned()),
            }],
            phi: vec![],
            sections: vec![],
        }
    }

    #[test]
    fn assertions_decide_the_statuses() {
        let out = findings(&analysis(), &source());
        let kinds: Vec<&str> = out
            .iter()
            .map(|r| r["resourceType"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "Condition",
                "Condition",
                "Condition",
                "MedicationStatement",
                "Observation",
                "Provenance"
            ]
        );
        assert_eq!(out[0]["clinicalStatus"]["coding"][0]["code"], "active");
        assert_eq!(out[1]["verificationStatus"]["coding"][0]["code"], "refuted");
        assert!(
            out[1].get("clinicalStatus").is_none(),
            "a negated finding is not a problem"
        );
        assert_eq!(
            out[2]["verificationStatus"]["coding"][0]["code"],
            "provisional"
        );
        // The engine's codes: ATC for the drug, LOINC and UCUM for the measurement.
        assert_eq!(
            out[3]["medicationCodeableConcept"]["coding"][0],
            json!({ "system": ATC, "code": "B01AC06" })
        );
        assert_eq!(
            out[4]["code"]["coding"][0],
            json!({ "system": LOINC, "code": "8310-5" })
        );
        assert_eq!(
            out[4]["valueQuantity"],
            json!({ "value": 37.2, "unit": "℃", "system": UCUM, "code": "Cel" })
        );
        assert_eq!(
            out[5]["entity"][0]["what"]["reference"],
            format!("DocumentReference/{NOTE}")
        );
        assert_eq!(out[5]["target"].as_array().unwrap().len(), 5);
        for resource in &out {
            let kind = ResourceType::parse(resource["resourceType"].as_str().unwrap()).unwrap();
            meditrustal_fhir::validate(resource, kind).unwrap();
            assert_eq!(resource["meta"]["versionId"], "2");
            assert_eq!(resource["meta"]["lastUpdated"], "1970-01-01T00:00:00Z");
        }
    }

    #[test]
    fn every_id_in_the_findings_reads_back_the_same_resource() {
        let (analysis, source) = (analysis(), source());
        let out = findings(&analysis, &source);
        assert_eq!(
            out[3]["id"],
            format!("{NOTE}-e4"),
            "ids keep the entity index"
        );
        assert_eq!(out[4]["id"], format!("{NOTE}-m0"));
        assert_eq!(out[5]["id"], format!("{NOTE}-nlp"));
        for resource in &out {
            let id = DerivedId::parse(resource["id"].as_str().unwrap()).unwrap();
            assert_eq!(id.note, source.note);
            assert_eq!(
                derived(&analysis, id.part, &source).as_ref(),
                Some(resource)
            );
        }
    }

    #[test]
    fn parts_that_yield_nothing_are_not_found() {
        let (analysis, source) = (analysis(), source());
        let family = derived(&analysis, DerivedPart::Entity(3), &source);
        assert_eq!(
            family, None,
            "a family-history mention is not the patient's"
        );
        assert_eq!(derived(&analysis, DerivedPart::Entity(5), &source), None);
        assert_eq!(
            derived(&analysis, DerivedPart::Measurement(1), &source),
            None
        );
        let empty = Analysis {
            entities: vec![],
            measurements: vec![],
            phi: vec![],
            sections: vec![],
        };
        assert_eq!(derived(&empty, DerivedPart::Provenance, &source), None);
    }

    #[test]
    fn derived_ids_parse_only_in_the_form_they_are_written() {
        let note = RecordId(Uuid::parse_str(NOTE).unwrap());
        for (text, part) in [
            ("-e0", DerivedPart::Entity(0)),
            ("-e17", DerivedPart::Entity(17)),
            ("-m3", DerivedPart::Measurement(3)),
            ("-nlp", DerivedPart::Provenance),
        ] {
            let id = DerivedId::parse(&format!("{NOTE}{text}")).unwrap();
            assert_eq!(id, DerivedId { note, part });
            assert_eq!(id.to_string(), format!("{NOTE}{text}"));
        }
        let max = format!("{NOTE}-m{}", usize::MAX);
        assert_eq!(
            DerivedId::parse(&max).map(|id| id.part),
            Some(DerivedPart::Measurement(usize::MAX))
        );
        let overflow = format!("{NOTE}-e{}0", usize::MAX);
        let upper = format!("{}-e0", NOTE.to_uppercase());
        let simple = format!("{}-e0", NOTE.replace('-', ""));
        let not_uuid = "0194f1a2-7c3d-7000-8000-00000000abcz-e0";
        for garbage in [
            "",
            NOTE,
            "e0",
            "-e0",
            "garbage",
            not_uuid,
            &upper,
            &simple,
            &overflow,
            &format!("{NOTE}-"),
            &format!("{NOTE}e0"),
            &format!("{NOTE}-e"),
            &format!("{NOTE}-e01"),
            &format!("{NOTE}-e+1"),
            &format!("{NOTE}-e-1"),
            &format!("{NOTE}-x1"),
            &format!("{NOTE}-e1x"),
            &format!("{NOTE}-nlp1"),
            &format!("{NOTE}-NLP"),
            &format!("{NOTE}-e١"),
            &format!("{NOTE}-e0 "),
            "0194f1a2-7c3d-7000-8000-00000000abc\u{e9}-e0",
        ] {
            assert_eq!(DerivedId::parse(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn only_the_derived_types_of_a_part_are_derived() {
        assert!(is_derived(ResourceType::Condition, &format!("{NOTE}-e0")));
        assert!(is_derived(
            ResourceType::MedicationStatement,
            &format!("{NOTE}-e0")
        ));
        assert!(is_derived(ResourceType::Observation, &format!("{NOTE}-m0")));
        assert!(is_derived(ResourceType::Provenance, &format!("{NOTE}-nlp")));
        assert!(!is_derived(
            ResourceType::Observation,
            &format!("{NOTE}-e0")
        ));
        assert!(!is_derived(
            ResourceType::DocumentReference,
            &format!("{NOTE}-nlp")
        ));
        assert!(!is_derived(ResourceType::Condition, NOTE));
    }
}
