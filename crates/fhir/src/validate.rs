//! Checks a client's resource against its type's element table: no unknown elements, the
//! required ones present, cardinalities, primitive formats (dates that exist, ids, codes,
//! absolute code-system URIs), reference shape and required code bindings.

use serde_json::{Map, Value};

use crate::datetime::{DateKind, FhirDate};
use crate::definitions::{BACKBONE_BASE, Element, Kind, Primitive, RESOURCE_BASE, ResourceType};
use crate::outcome::{Issue, IssueCode};

/// Why a resource was refused: every problem found, each with its location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the resource is not valid ({} issue(s))", issues.len())]
pub struct Invalid {
    pub issues: Vec<Issue>,
}

impl Invalid {
    pub fn one(issue: Issue) -> Invalid {
        Invalid {
            issues: vec![issue],
        }
    }
}

/// At most this many issues are reported (a huge bad resource gets a short answer).
const MAX_ISSUES: usize = 50;

/// Checks `resource` as a resource of type `expected` that a client may write.
pub fn validate(resource: &Value, expected: ResourceType) -> Result<(), Invalid> {
    let Some(object) = resource.as_object() else {
        return Err(Invalid::one(Issue::new(
            IssueCode::Structure,
            "a resource must be a JSON object",
        )));
    };
    match object.get("resourceType").and_then(Value::as_str) {
        Some(name) if name == expected.as_str() => {}
        Some(name) => {
            return Err(Invalid::one(
                Issue::new(
                    IssueCode::Invalid,
                    format!("resourceType is {}, expected {expected}", clip(name)),
                )
                .at("resourceType"),
            ));
        }
        None => {
            return Err(Invalid::one(
                Issue::new(IssueCode::Required, "resourceType is required").at("resourceType"),
            ));
        }
    }
    let Some(elements) = expected.elements() else {
        return Err(Invalid::one(Issue::new(
            IssueCode::NotSupported,
            format!("{expected} resources cannot be written through this interface"),
        )));
    };
    let mut checker = Checker { issues: Vec::new() };
    checker.object(object, &[RESOURCE_BASE, elements], expected.as_str(), false);
    if checker.issues.is_empty() {
        Ok(())
    } else {
        checker.issues.truncate(MAX_ISSUES);
        Err(Invalid {
            issues: checker.issues,
        })
    }
}

struct Checker {
    issues: Vec<Issue>,
}

/// Where in `tables` a JSON key belongs.
enum Found {
    Element(Element, Option<Kind>),
    Base,
}

fn find(tables: &[&[Element]], key: &str, nested: bool) -> Option<Found> {
    for element in tables.iter().flat_map(|t| t.iter()) {
        match element.kind {
            Kind::Choice(variants) => {
                if let Some(suffix) = key.strip_prefix(element.name)
                    && let Some((_, kind)) = variants.iter().find(|(name, _)| *name == suffix)
                {
                    return Some(Found::Element(*element, Some(*kind)));
                }
            }
            _ if element.name == key => return Some(Found::Element(*element, None)),
            _ => {}
        }
    }
    (nested && BACKBONE_BASE.contains(&key)).then_some(Found::Base)
}

impl Checker {
    fn push(&mut self, code: IssueCode, message: impl Into<String>, path: &str) {
        self.issues.push(Issue::new(code, message).at(path));
    }

    fn object(
        &mut self,
        object: &Map<String, Value>,
        tables: &[&[Element]],
        path: &str,
        nested: bool,
    ) {
        if object.is_empty() {
            self.push(IssueCode::Invalid, "an element may not be empty", path);
            return;
        }
        let mut choices_seen: Vec<&str> = Vec::new();
        for (key, value) in object {
            let here = format!("{path}.{key}");
            if let Some(primitive) = key.strip_prefix('_') {
                // A primitive's id/extensions live beside it under `_name`.
                let is_primitive = matches!(
                    find(tables, primitive, nested),
                    Some(Found::Element(e, choice)) if matches!(
                        choice.unwrap_or(e.kind),
                        Kind::Primitive(_) | Kind::Code(_)
                    )
                );
                if !is_primitive || !(value.is_object() || value.is_array()) {
                    self.push(IssueCode::Structure, "unknown element", &clip(&here));
                }
                continue;
            }
            match find(tables, key, nested) {
                None => self.push(IssueCode::Structure, "unknown element", &clip(&here)),
                Some(Found::Base) => self.base(key, value, &here),
                Some(Found::Element(element, choice)) => {
                    if choice.is_some() {
                        if choices_seen.contains(&element.name) {
                            self.push(
                                IssueCode::Structure,
                                format!("only one {}[x] is allowed", element.name),
                                &here,
                            );
                        }
                        choices_seen.push(element.name);
                    }
                    self.element(&element, choice.unwrap_or(element.kind), value, &here);
                }
            }
        }
        for table in tables {
            for element in table.iter().filter(|e| e.required) {
                let present = match element.kind {
                    Kind::Choice(_) => choices_seen.contains(&element.name),
                    _ => object.contains_key(element.name),
                };
                if !present {
                    self.push(
                        IssueCode::Required,
                        format!("{} is required", element.name),
                        &format!("{path}.{}", element.name),
                    );
                }
            }
        }
    }

    fn base(&mut self, key: &str, value: &Value, path: &str) {
        if key == "id" {
            self.primitive(Primitive::String, value, path);
        } else {
            self.repeating(value, path, |checker, item, at| {
                checker.any_object(item, at)
            });
        }
    }

    fn element(&mut self, element: &Element, kind: Kind, value: &Value, path: &str) {
        if element.repeats {
            self.repeating(value, path, |checker, item, at| {
                checker.kind(kind, item, at)
            });
        } else if value.is_array() {
            self.push(IssueCode::Structure, "this element does not repeat", path);
        } else {
            self.kind(kind, value, path);
        }
    }

    fn repeating(
        &mut self,
        value: &Value,
        path: &str,
        mut each: impl FnMut(&mut Self, &Value, &str),
    ) {
        match value.as_array() {
            Some(items) if items.is_empty() => {
                self.push(IssueCode::Invalid, "an array may not be empty", path);
            }
            Some(items) => {
                for (index, item) in items.iter().enumerate() {
                    each(self, item, &format!("{path}[{index}]"));
                }
            }
            None => self.push(
                IssueCode::Structure,
                "this element repeats: expected an array",
                path,
            ),
        }
    }

    fn kind(&mut self, kind: Kind, value: &Value, path: &str) {
        match kind {
            Kind::Primitive(primitive) => self.primitive(primitive, value, path),
            Kind::Code(allowed) => {
                self.primitive(Primitive::Code, value, path);
                if let Some(code) = value.as_str()
                    && !allowed.contains(&code)
                {
                    self.push(
                        IssueCode::Value,
                        format!("`{}` is not one of: {}", clip(code), allowed.join(", ")),
                        path,
                    );
                }
            }
            Kind::BoundConcept { system, codes } => {
                self.kind(crate::definitions::CODEABLE_CONCEPT, value, path);
                self.binding(value, system, codes, path);
            }
            Kind::Complex(elements) => match value.as_object() {
                Some(object) => self.object(object, &[elements], path, true),
                None => self.push(IssueCode::Structure, "expected an object", path),
            },
            Kind::Reference => self.reference(value, path),
            Kind::AnyObject => self.any_object(value, path),
            // A choice is resolved to one variant before it is checked.
            Kind::Choice(_) => self.push(IssueCode::Structure, "unknown element", path),
        }
    }

    fn any_object(&mut self, value: &Value, path: &str) {
        if value.as_object().is_none_or(|o| o.is_empty()) {
            self.push(IssueCode::Structure, "expected a non-empty object", path);
        }
    }

    fn binding(&mut self, value: &Value, system: &str, codes: &[&str], path: &str) {
        let codings: Vec<&Value> = value
            .get("coding")
            .and_then(Value::as_array)
            .map(|c| c.iter().filter(|c| c["system"] == system).collect())
            .unwrap_or_default();
        if codings.is_empty() {
            self.push(
                IssueCode::Required,
                format!("a coding from {system} is required"),
                path,
            );
        }
        for coding in codings {
            let code = coding["code"].as_str().unwrap_or_default();
            if !codes.contains(&code) {
                self.push(
                    IssueCode::Value,
                    format!("`{}` is not one of: {}", clip(code), codes.join(", ")),
                    &format!("{path}.coding"),
                );
            }
        }
    }

    fn reference(&mut self, value: &Value, path: &str) {
        const ELEMENTS: &[Element] = &[
            Element {
                name: "reference",
                kind: Kind::Primitive(Primitive::String),
                required: false,
                repeats: false,
            },
            Element {
                name: "type",
                kind: Kind::Primitive(Primitive::Uri),
                required: false,
                repeats: false,
            },
            Element {
                name: "identifier",
                kind: Kind::AnyObject,
                required: false,
                repeats: false,
            },
            Element {
                name: "display",
                kind: Kind::Primitive(Primitive::String),
                required: false,
                repeats: false,
            },
        ];
        let Some(object) = value.as_object() else {
            self.push(IssueCode::Structure, "a Reference must be an object", path);
            return;
        };
        self.object(object, &[ELEMENTS], path, true);
        if let Some(text) = object.get("reference").and_then(Value::as_str)
            && !reference_shape_ok(text)
        {
            self.push(
                IssueCode::Value,
                "a reference must be `Type/id`, `Type/id/_history/v`, an absolute URL, `urn:uuid:…` or `#contained`",
                &format!("{path}.reference"),
            );
        }
    }

    fn primitive(&mut self, primitive: Primitive, value: &Value, path: &str) {
        let ok = match primitive {
            Primitive::Boolean => value.is_boolean(),
            Primitive::Integer => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            Primitive::PositiveInt => value
                .as_i64()
                .is_some_and(|n| (1..=i64::from(i32::MAX)).contains(&n)),
            Primitive::UnsignedInt => value
                .as_i64()
                .is_some_and(|n| (0..=i64::from(i32::MAX)).contains(&n)),
            Primitive::Decimal => value.is_number(),
            _ => match value.as_str() {
                Some(text) => string_ok(primitive, text),
                None => false,
            },
        };
        if !ok {
            self.push(
                IssueCode::Value,
                format!("not a valid FHIR {}", primitive_name(primitive)),
                path,
            );
        }
    }
}

fn string_ok(primitive: Primitive, text: &str) -> bool {
    if text.is_empty() {
        return false;
    }
    match primitive {
        Primitive::String | Primitive::Markdown => true,
        Primitive::Code => text.trim() == text && !text.contains("  "),
        Primitive::Id => id_ok(text),
        Primitive::Uri => !text.chars().any(char::is_whitespace),
        Primitive::AbsoluteUri => {
            !text.chars().any(char::is_whitespace)
                && text.split_once(':').is_some_and(|(scheme, rest)| {
                    !rest.is_empty()
                        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                        && scheme
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                })
        }
        Primitive::Date => FhirDate::parse(text, DateKind::Date).is_some(),
        Primitive::DateTime => FhirDate::parse(text, DateKind::DateTime).is_some(),
        Primitive::Instant => FhirDate::parse(text, DateKind::Instant).is_some(),
        Primitive::Time => time_ok(text),
        Primitive::Base64 => text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/= \n\r".contains(c)),
        Primitive::Xhtml => text.trim_start().starts_with("<div"),
        Primitive::Boolean
        | Primitive::Integer
        | Primitive::PositiveInt
        | Primitive::UnsignedInt
        | Primitive::Decimal => false,
    }
}

fn primitive_name(primitive: Primitive) -> &'static str {
    match primitive {
        Primitive::String => "string",
        Primitive::Markdown => "markdown",
        Primitive::Code => "code",
        Primitive::Id => "id",
        Primitive::Uri => "uri",
        Primitive::AbsoluteUri => "absolute uri (a code system or namespace)",
        Primitive::Boolean => "boolean",
        Primitive::Integer => "integer",
        Primitive::PositiveInt => "positiveInt",
        Primitive::UnsignedInt => "unsignedInt",
        Primitive::Decimal => "decimal",
        Primitive::Date => "date (YYYY, YYYY-MM or YYYY-MM-DD, an existing day)",
        Primitive::DateTime => "dateTime (a date, or date and time with a time zone)",
        Primitive::Instant => "instant (date and time with seconds and a time zone)",
        Primitive::Time => "time (hh:mm:ss)",
        Primitive::Base64 => "base64Binary",
        Primitive::Xhtml => "xhtml",
    }
}

/// `[A-Za-z0-9\-\.]{1,64}`.
pub fn id_ok(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn time_ok(text: &str) -> bool {
    let main = text.split('.').next().unwrap_or_default();
    let parts: Vec<&str> = main.split(':').collect();
    let field = |s: &str, max: u32| {
        s.len() == 2
            && s.bytes().all(|b| b.is_ascii_digit())
            && s.parse::<u32>().is_ok_and(|n| n <= max)
    };
    parts.len() == 3 && field(parts[0], 23) && field(parts[1], 59) && field(parts[2], 59)
}

/// A literal reference's shape.
pub fn reference_shape_ok(text: &str) -> bool {
    if let Some(local) = text.strip_prefix('#') {
        return !local.is_empty() && !local.contains(char::is_whitespace);
    }
    if text.starts_with("urn:uuid:") || text.starts_with("urn:oid:") {
        return !text.contains(char::is_whitespace);
    }
    let relative = if text.starts_with("http://") || text.starts_with("https://") {
        // Absolute: the last segments must still be Type/id[/_history/v].
        let segments: Vec<&str> = text.split('/').collect();
        let tail = if segments.len() >= 4 && segments[segments.len() - 2] == "_history" {
            segments[segments.len() - 4..].join("/")
        } else if segments.len() >= 2 {
            segments[segments.len() - 2..].join("/")
        } else {
            return false;
        };
        return relative_ok(&tail);
    } else {
        text
    };
    relative_ok(relative)
}

fn relative_ok(text: &str) -> bool {
    let parts: Vec<&str> = text.split('/').collect();
    let type_ok = |t: &str| {
        t.starts_with(|c: char| c.is_ascii_uppercase())
            && t.chars().all(|c| c.is_ascii_alphabetic())
    };
    match parts.as_slice() {
        [kind, id] => type_ok(kind) && id_ok(id),
        [kind, id, "_history", version] => type_ok(kind) && id_ok(id) && id_ok(version),
        _ => false,
    }
}

fn clip(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn observation() -> Value {
        json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
            "subject": {"reference": "Patient/example"},
            "effectiveDateTime": "1999-07-02",
            "valueQuantity": {"value": 44, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min"},
            "_status": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}
        })
    }

    fn problems(value: &Value, kind: ResourceType) -> Vec<String> {
        match validate(value, kind) {
            Ok(()) => vec![],
            Err(invalid) => invalid
                .issues
                .into_iter()
                .map(|i| format!("{}:{}", i.code.as_str(), i.expression.unwrap_or_default()))
                .collect(),
        }
    }

    #[test]
    fn a_published_style_observation_is_valid() {
        assert_eq!(
            problems(&observation(), ResourceType::Observation),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_kind_of_defect_is_named_where_it_is() {
        let cases: &[(&str, Value, &str)] = &[
            ("wrongType", json!("Condition"), "invalid:resourceType"),
            ("status", json!("done"), "value:Observation.status"),
            (
                "effectiveDateTime",
                json!("2023-02-30"),
                "value:Observation.effectiveDateTime",
            ),
            (
                "subject",
                json!({"reference": "not a reference"}),
                "value:Observation.subject.reference",
            ),
            (
                "category",
                json!({"text": "x"}),
                "structure:Observation.category",
            ),
            ("bogus", json!(1), "structure:Observation.bogus"),
            (
                "valueString",
                json!("two values"),
                "structure:Observation.valueString",
            ),
            (
                "code",
                json!({"coding": [{"system": "LOINC", "code": "8867-4"}]}),
                "value:Observation.code.coding[0].system",
            ),
            ("issued", json!("2024-01-01"), "value:Observation.issued"),
        ];
        for (key, value, expected) in cases {
            let mut resource = observation();
            if *key == "wrongType" {
                resource["resourceType"] = value.clone();
            } else {
                resource[*key] = value.clone();
            }
            let found = problems(&resource, ResourceType::Observation);
            assert!(found.iter().any(|p| p == expected), "{key}: {found:?}");
        }
    }

    #[test]
    fn required_elements_and_bindings() {
        let mut resource = observation();
        resource.as_object_mut().unwrap().remove("status");
        assert!(
            problems(&resource, ResourceType::Observation)
                .contains(&"required:Observation.status".to_owned())
        );
        let condition = json!({
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "maybe"}]}
        });
        assert_eq!(
            problems(&condition, ResourceType::Condition),
            vec!["value:Condition.clinicalStatus.coding"]
        );
        let gone = json!({"resourceType": "Condition"});
        assert_eq!(
            problems(&gone, ResourceType::Condition),
            vec!["required:Condition.subject"]
        );
    }

    #[test]
    fn reference_shapes() {
        for ok in [
            "Patient/123",
            "Patient/a.b-c/_history/2",
            "https://x.org/fhir/Patient/1",
            "urn:uuid:0d5f1d7e-1111-4c3a-9d2e-6a3b1c2d3e4f",
            "#p1",
        ] {
            assert!(reference_shape_ok(ok), "{ok}");
        }
        for bad in [
            "Patient",
            "patient/1",
            "Patient/1/2",
            "Patient/has space",
            "#",
            "https://x.org/",
        ] {
            assert!(!reference_shape_ok(bad), "{bad}");
        }
    }

    #[test]
    fn read_only_types_cannot_be_written() {
        let patient = json!({"resourceType": "Patient"});
        assert_eq!(
            problems(&patient, ResourceType::Patient),
            vec!["not-supported:"]
        );
    }
}
