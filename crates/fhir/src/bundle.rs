//! Bundles the server answers with: `searchset` (with `total` and paging links), `history`
//! and `transaction-response` / `batch-response`.

use serde_json::{Value, json};

/// The absolute URL of a resource on this server.
pub fn full_url(base: &str, resource: &Value) -> String {
    format!(
        "{base}/{}/{}",
        resource["resourceType"].as_str().unwrap_or_default(),
        resource["id"].as_str().unwrap_or_default()
    )
}

/// A page of search results: `matches` (with `search.mode = match`), then `included`.
pub fn searchset(
    base: &str,
    total: Option<u64>,
    matches: Vec<Value>,
    included: Vec<Value>,
    self_link: &str,
    next_link: Option<&str>,
) -> Value {
    let entry = |mode: &str, resource: Value| {
        json!({
            "fullUrl": full_url(base, &resource),
            "resource": resource,
            "search": { "mode": mode },
        })
    };
    let entries: Vec<Value> = matches
        .into_iter()
        .map(|r| entry("match", r))
        .chain(included.into_iter().map(|r| entry("include", r)))
        .collect();
    let mut links = vec![json!({ "relation": "self", "url": self_link })];
    if let Some(next) = next_link {
        links.push(json!({ "relation": "next", "url": next }));
    }
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
    });
    if let Some(total) = total {
        bundle["total"] = json!(total);
    }
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}

/// A resource's versions, newest first, as a `history` Bundle.
pub fn history(base: &str, versions: Vec<Value>) -> Value {
    let total = versions.len();
    let count = versions.len();
    let entries: Vec<Value> = versions
        .into_iter()
        .enumerate()
        .map(|(index, resource)| {
            let url = full_url(base, &resource);
            // The oldest version was created; every later one an update.
            let (method, status) = if index + 1 == count {
                ("POST", "201 Created")
            } else {
                ("PUT", "200 OK")
            };
            json!({
                "fullUrl": url,
                "resource": resource,
                "request": {
                    "method": method,
                    "url": if method == "POST" {
                        resource["resourceType"].as_str().unwrap_or_default().to_owned()
                    } else {
                        format!("{}/{}", resource["resourceType"].as_str().unwrap_or_default(), resource["id"].as_str().unwrap_or_default())
                    },
                },
                "response": {
                    "status": status,
                    "etag": format!("W/\"{}\"", resource["meta"]["versionId"].as_str().unwrap_or_default()),
                    "lastModified": resource["meta"]["lastUpdated"],
                },
            })
        })
        .collect();
    let mut bundle = json!({ "resourceType": "Bundle", "type": "history", "total": total });
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}

/// One entry of a transaction or batch response.
pub struct EntryResponse {
    pub status: String,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub resource: Option<Value>,
    pub outcome: Option<Value>,
}

/// A `transaction-response` (or `batch-response` when `batch`).
pub fn response_bundle(batch: bool, entries: Vec<EntryResponse>) -> Value {
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let mut response = json!({ "status": e.status });
            if let Some(location) = e.location {
                response["location"] = json!(location);
            }
            if let Some(etag) = e.etag {
                response["etag"] = json!(etag);
            }
            if let Some(at) = e.last_modified {
                response["lastModified"] = json!(at);
            }
            if let Some(outcome) = e.outcome {
                response["outcome"] = outcome;
            }
            let mut entry = json!({ "response": response });
            if let Some(resource) = e.resource {
                entry["resource"] = resource;
            }
            entry
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": if batch { "batch-response" } else { "transaction-response" },
        "entry": entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_searchset_has_total_links_and_modes() {
        let obs = json!({"resourceType": "Observation", "id": "o1"});
        let patient = json!({"resourceType": "Patient", "id": "p1"});
        let bundle = searchset(
            "http://h/fhir/r4",
            Some(7),
            vec![obs],
            vec![patient],
            "self",
            Some("next"),
        );
        assert_eq!(bundle["total"], 7);
        assert_eq!(bundle["link"][1]["relation"], "next");
        assert_eq!(
            bundle["entry"][0]["fullUrl"],
            "http://h/fhir/r4/Observation/o1"
        );
        assert_eq!(bundle["entry"][1]["search"]["mode"], "include");
        let empty = searchset("b", None, vec![], vec![], "self", None);
        assert!(empty.get("entry").is_none() && empty.get("total").is_none());
    }
}
