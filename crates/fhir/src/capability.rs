//! The CapabilityStatement served at `/metadata`: what this server supports, generated from
//! the same tables that drive validation and search.

use serde_json::{Value, json};

use crate::definitions::ResourceType;
use crate::search::{MAX_ALTERNATIVES, search_params};
use crate::{FHIR_JSON, FHIR_VERSION};

/// How `/fhir/r4` authenticates and authorises (the CapabilityStatement says so).
pub const SECURITY_DOC: &str = "Bearer tokens of /api/v1/auth/login, or tokens limited to SMART on FHIR \
scopes from POST /api/v1/auth/fhir-token (patient/<Type|*>.<read|write|*>, user/<Type|*>.<read|write|*>; \
patient/ scopes cover a patient's own data). Scopes only narrow: every read and write is still decided by \
the platform's consent policy and recorded on its ledger; a doctor needs the patient's consent.";

/// A `searchParam` entry; token parameters say how they take alternatives.
fn search_param(name: &str, kind: &str) -> Value {
    let mut param = json!({ "name": name, "type": kind });
    if kind == "token" {
        param["documentation"] = json!(format!(
            "Comma-separated values match any of them (at most {MAX_ALTERNATIVES}); \\, is a comma inside a value."
        ));
    }
    param
}

/// `date` is when this statement's content last changed (the caller passes it).
pub fn capability_statement(base: &str, software_version: &str, date: &str) -> Value {
    let resources: Vec<Value> = ResourceType::ALL
        .iter()
        .map(|kind| {
            let writable = kind.is_record_backed();
            let mut interactions = vec!["read", "search-type"];
            if writable {
                interactions.extend(["vread", "create", "update", "history-instance"]);
            } else if kind.elements().is_some() {
                interactions.extend(["create", "update"]);
            }
            let mut params = vec![search_param("_id", "token"), search_param("_lastUpdated", "date")];
            params.extend(
                search_params(*kind)
                    .iter()
                    .map(|(name, kind)| search_param(name, kind)),
            );
            let mut resource = json!({
                "type": kind.as_str(),
                "interaction": interactions.iter().map(|code| json!({ "code": code })).collect::<Vec<_>>(),
                "versioning": if writable { "versioned-update" } else { "no-version" },
                "readHistory": writable,
                "updateCreate": false,
                "conditionalCreate": false,
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
                "searchParam": params,
            });
            if kind.patient_element().is_some() {
                resource["searchInclude"] = json!([format!("{}:patient", kind.as_str())]);
            }
            resource
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "MediTrustAl",
        "kind": "instance",
        "software": { "name": "MediTrustAl", "version": software_version },
        "implementation": { "description": "MediTrustAl FHIR R4 API", "url": base },
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": false,
                "service": [{ "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR"
                }]}],
                "description": SECURITY_DOC,
            },
            "resource": resources,
            "interaction": [{ "code": "transaction" }, { "code": "batch" }],
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_type_with_its_search_parameters() {
        let statement = capability_statement("http://h/fhir/r4", "0.1.0", "2026-01-01T00:00:00Z");
        let resources = statement["rest"][0]["resource"].as_array().unwrap();
        assert_eq!(resources.len(), ResourceType::ALL.len());
        let observation = resources
            .iter()
            .find(|r| r["type"] == "Observation")
            .unwrap();
        let names: Vec<&str> = observation["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for expected in [
            "_id",
            "_lastUpdated",
            "patient",
            "code",
            "date",
            "category",
            "status",
        ] {
            assert!(names.contains(&expected), "{expected}");
        }
        assert_eq!(statement["fhirVersion"], "4.0.1");
        let code = &observation["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "code")
            .unwrap();
        assert!(
            code["documentation"]
                .as_str()
                .unwrap()
                .starts_with("Comma-separated values match any of them")
        );
    }
}
