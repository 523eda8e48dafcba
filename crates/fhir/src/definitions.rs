//! What each supported resource and data type may contain: one table of element
//! definitions per type (name, type, cardinality, required code binding), taken from the
//! R4 (4.0.1) specification. Elements this server does not interpret deeply (Dosage,
//! Timing, SampledData, contained resources …) are accepted as any JSON object.

use std::fmt;

/// A primitive's lexical rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    String,
    Markdown,
    Code,
    Id,
    Uri,
    /// A code system or identifier namespace: an absolute URI (`http://loinc.org`, `urn:oid:…`).
    AbsoluteUri,
    Boolean,
    Integer,
    PositiveInt,
    UnsignedInt,
    Decimal,
    Date,
    DateTime,
    Instant,
    Time,
    Base64,
    Xhtml,
}

/// An element's type.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Primitive(Primitive),
    /// A `code` bound (required strength) to these values.
    Code(&'static [&'static str]),
    /// A CodeableConcept whose codings of `system` must use one of `codes` (required binding).
    BoundConcept {
        system: &'static str,
        codes: &'static [&'static str],
    },
    Complex(&'static [Element]),
    Reference,
    /// Checked only to be a JSON object (or array of them when repeating).
    AnyObject,
    /// `name[x]`: exactly the variants listed, at most one present.
    Choice(&'static [(&'static str, Kind)]),
}

/// One element of a type.
#[derive(Debug, Clone, Copy)]
pub struct Element {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub repeats: bool,
}

const fn opt(name: &'static str, kind: Kind) -> Element {
    Element {
        name,
        kind,
        required: false,
        repeats: false,
    }
}
const fn many(name: &'static str, kind: Kind) -> Element {
    Element {
        name,
        kind,
        required: false,
        repeats: true,
    }
}
const fn req(name: &'static str, kind: Kind) -> Element {
    Element {
        name,
        kind,
        required: true,
        repeats: false,
    }
}
const fn req_many(name: &'static str, kind: Kind) -> Element {
    Element {
        name,
        kind,
        required: true,
        repeats: true,
    }
}

use Primitive as P;
const STRING: Kind = Kind::Primitive(P::String);
const MARKDOWN: Kind = Kind::Primitive(P::Markdown);
const CODE: Kind = Kind::Primitive(P::Code);
const ID: Kind = Kind::Primitive(P::Id);
const URI: Kind = Kind::Primitive(P::Uri);
const SYSTEM_URI: Kind = Kind::Primitive(P::AbsoluteUri);
const BOOLEAN: Kind = Kind::Primitive(P::Boolean);
const INTEGER: Kind = Kind::Primitive(P::Integer);
const POSITIVE_INT: Kind = Kind::Primitive(P::PositiveInt);
const UNSIGNED_INT: Kind = Kind::Primitive(P::UnsignedInt);
const DECIMAL: Kind = Kind::Primitive(P::Decimal);
const DATE_TIME: Kind = Kind::Primitive(P::DateTime);
const INSTANT: Kind = Kind::Primitive(P::Instant);
const TIME: Kind = Kind::Primitive(P::Time);
const BASE64: Kind = Kind::Primitive(P::Base64);
const XHTML: Kind = Kind::Primitive(P::Xhtml);
const REFERENCE: Kind = Kind::Reference;
const ANY: Kind = Kind::AnyObject;

const CODING: Kind = Kind::Complex(&[
    opt("id", STRING),
    many("extension", ANY),
    opt("system", SYSTEM_URI),
    opt("version", STRING),
    opt("code", CODE),
    opt("display", STRING),
    opt("userSelected", BOOLEAN),
]);
pub(crate) const CODEABLE_CONCEPT: Kind = Kind::Complex(&[
    opt("id", STRING),
    many("extension", ANY),
    many("coding", CODING),
    opt("text", STRING),
]);
const PERIOD: Kind = Kind::Complex(&[
    opt("id", STRING),
    many("extension", ANY),
    opt("start", DATE_TIME),
    opt("end", DATE_TIME),
]);
const QUANTITY: Kind = Kind::Complex(&[
    opt("id", STRING),
    many("extension", ANY),
    opt("value", DECIMAL),
    opt("comparator", Kind::Code(&["<", "<=", ">=", ">"])),
    opt("unit", STRING),
    opt("system", SYSTEM_URI),
    opt("code", CODE),
]);
const RANGE: Kind = Kind::Complex(&[
    opt("id", STRING),
    many("extension", ANY),
    opt("low", QUANTITY),
    opt("high", QUANTITY),
]);
const RATIO: Kind = Kind::Complex(&[
    opt("id", STRING),
    many("extension", ANY),
    opt("numerator", QUANTITY),
    opt("denominator", QUANTITY),
]);
const IDENTIFIER: Kind = Kind::Complex(&[
    opt("id", STRING),
    many("extension", ANY),
    opt(
        "use",
        Kind::Code(&["usual", "official", "temp", "secondary", "old"]),
    ),
    opt("type", CODEABLE_CONCEPT),
    opt("system", SYSTEM_URI),
    opt("value", STRING),
    opt("period", PERIOD),
    opt("assigner", ANY),
]);
const ANNOTATION: Kind = Kind::Complex(&[
    opt("id", STRING),
    many("extension", ANY),
    opt(
        "author",
        Kind::Choice(&[("Reference", REFERENCE), ("String", STRING)]),
    ),
    opt("time", DATE_TIME),
    req("text", MARKDOWN),
]);
const ATTACHMENT: Kind = Kind::Complex(&[
    opt("id", STRING),
    many("extension", ANY),
    opt("contentType", CODE),
    opt("language", CODE),
    opt("data", BASE64),
    opt("url", URI),
    opt("size", UNSIGNED_INT),
    opt("hash", BASE64),
    opt("title", STRING),
    opt("creation", DATE_TIME),
]);
const META: Kind = Kind::Complex(&[
    opt("id", STRING),
    many("extension", ANY),
    opt("versionId", ID),
    opt("lastUpdated", INSTANT),
    opt("source", URI),
    many("profile", URI),
    many("security", CODING),
    many("tag", CODING),
]);
const NARRATIVE: Kind = Kind::Complex(&[
    opt("id", STRING),
    many("extension", ANY),
    req(
        "status",
        Kind::Code(&["generated", "extensions", "additional", "empty"]),
    ),
    req("div", XHTML),
]);

/// Elements every resource has (Resource and DomainResource).
pub(crate) const RESOURCE_BASE: &[Element] = &[
    req("resourceType", STRING),
    opt("id", ID),
    opt("meta", META),
    opt("implicitRules", URI),
    opt("language", CODE),
    opt("text", NARRATIVE),
    many("contained", ANY),
    many("extension", ANY),
    many("modifierExtension", ANY),
];

/// Elements every backbone element has.
pub(crate) const BACKBONE_BASE: &[&str] = &["id", "extension", "modifierExtension"];

const REFERENCE_RANGE: Kind = Kind::Complex(&[
    opt("low", QUANTITY),
    opt("high", QUANTITY),
    opt("type", CODEABLE_CONCEPT),
    many("appliesTo", CODEABLE_CONCEPT),
    opt("age", RANGE),
    opt("text", STRING),
]);
const OBSERVATION_VALUE: Kind = Kind::Choice(&[
    ("Quantity", QUANTITY),
    ("CodeableConcept", CODEABLE_CONCEPT),
    ("String", STRING),
    ("Boolean", BOOLEAN),
    ("Integer", INTEGER),
    ("Range", RANGE),
    ("Ratio", RATIO),
    ("SampledData", ANY),
    ("Time", TIME),
    ("DateTime", DATE_TIME),
    ("Period", PERIOD),
]);
const OBSERVATION_STATUS: &[&str] = &[
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
];

const OBSERVATION: &[Element] = &[
    many("identifier", IDENTIFIER),
    many("basedOn", REFERENCE),
    many("partOf", REFERENCE),
    req("status", Kind::Code(OBSERVATION_STATUS)),
    many("category", CODEABLE_CONCEPT),
    req("code", CODEABLE_CONCEPT),
    opt("subject", REFERENCE),
    many("focus", REFERENCE),
    opt("encounter", REFERENCE),
    opt(
        "effective",
        Kind::Choice(&[
            ("DateTime", DATE_TIME),
            ("Period", PERIOD),
            ("Timing", ANY),
            ("Instant", INSTANT),
        ]),
    ),
    opt("issued", INSTANT),
    many("performer", REFERENCE),
    opt("value", OBSERVATION_VALUE),
    opt("dataAbsentReason", CODEABLE_CONCEPT),
    many("interpretation", CODEABLE_CONCEPT),
    many("note", ANNOTATION),
    opt("bodySite", CODEABLE_CONCEPT),
    opt("method", CODEABLE_CONCEPT),
    opt("specimen", REFERENCE),
    opt("device", REFERENCE),
    many("referenceRange", REFERENCE_RANGE),
    many("hasMember", REFERENCE),
    many("derivedFrom", REFERENCE),
    many(
        "component",
        Kind::Complex(&[
            req("code", CODEABLE_CONCEPT),
            opt("value", OBSERVATION_VALUE),
            opt("dataAbsentReason", CODEABLE_CONCEPT),
            many("interpretation", CODEABLE_CONCEPT),
            many("referenceRange", REFERENCE_RANGE),
        ]),
    ),
];

/// `http://terminology.hl7.org/CodeSystem/condition-clinical`.
pub const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
/// `http://terminology.hl7.org/CodeSystem/condition-ver-status`.
pub const CONDITION_VERIFICATION: &str =
    "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const CONDITION_ONSET: Kind = Kind::Choice(&[
    ("DateTime", DATE_TIME),
    ("Age", QUANTITY),
    ("Period", PERIOD),
    ("Range", RANGE),
    ("String", STRING),
]);

const CONDITION: &[Element] = &[
    many("identifier", IDENTIFIER),
    opt(
        "clinicalStatus",
        Kind::BoundConcept {
            system: CONDITION_CLINICAL,
            codes: &[
                "active",
                "recurrence",
                "relapse",
                "inactive",
                "remission",
                "resolved",
            ],
        },
    ),
    opt(
        "verificationStatus",
        Kind::BoundConcept {
            system: CONDITION_VERIFICATION,
            codes: &[
                "unconfirmed",
                "provisional",
                "differential",
                "confirmed",
                "refuted",
                "entered-in-error",
            ],
        },
    ),
    many("category", CODEABLE_CONCEPT),
    opt("severity", CODEABLE_CONCEPT),
    opt("code", CODEABLE_CONCEPT),
    many("bodySite", CODEABLE_CONCEPT),
    req("subject", REFERENCE),
    opt("encounter", REFERENCE),
    opt("onset", CONDITION_ONSET),
    opt(
        "abatement",
        Kind::Choice(&[
            ("DateTime", DATE_TIME),
            ("Age", QUANTITY),
            ("Period", PERIOD),
            ("Range", RANGE),
            ("String", STRING),
        ]),
    ),
    opt("recordedDate", DATE_TIME),
    opt("recorder", REFERENCE),
    opt("asserter", REFERENCE),
    many(
        "stage",
        Kind::Complex(&[
            opt("summary", CODEABLE_CONCEPT),
            many("assessment", REFERENCE),
            opt("type", CODEABLE_CONCEPT),
        ]),
    ),
    many(
        "evidence",
        Kind::Complex(&[many("code", CODEABLE_CONCEPT), many("detail", REFERENCE)]),
    ),
    many("note", ANNOTATION),
];

const MEDICATION_STATEMENT: &[Element] = &[
    many("identifier", IDENTIFIER),
    many("basedOn", REFERENCE),
    many("partOf", REFERENCE),
    req(
        "status",
        Kind::Code(&[
            "active",
            "completed",
            "entered-in-error",
            "intended",
            "stopped",
            "on-hold",
            "unknown",
            "not-taken",
        ]),
    ),
    many("statusReason", CODEABLE_CONCEPT),
    opt("category", CODEABLE_CONCEPT),
    req(
        "medication",
        Kind::Choice(&[
            ("CodeableConcept", CODEABLE_CONCEPT),
            ("Reference", REFERENCE),
        ]),
    ),
    req("subject", REFERENCE),
    opt("context", REFERENCE),
    opt(
        "effective",
        Kind::Choice(&[("DateTime", DATE_TIME), ("Period", PERIOD)]),
    ),
    opt("dateAsserted", DATE_TIME),
    opt("informationSource", REFERENCE),
    many("derivedFrom", REFERENCE),
    many("reasonCode", CODEABLE_CONCEPT),
    many("reasonReference", REFERENCE),
    many("note", ANNOTATION),
    many("dosage", ANY),
];

const ALLERGY_INTOLERANCE: &[Element] = &[
    many("identifier", IDENTIFIER),
    opt(
        "clinicalStatus",
        Kind::BoundConcept {
            system: "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
            codes: &["active", "inactive", "resolved"],
        },
    ),
    opt(
        "verificationStatus",
        Kind::BoundConcept {
            system: "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
            codes: &["unconfirmed", "confirmed", "refuted", "entered-in-error"],
        },
    ),
    opt("type", Kind::Code(&["allergy", "intolerance"])),
    many(
        "category",
        Kind::Code(&["food", "medication", "environment", "biologic"]),
    ),
    opt(
        "criticality",
        Kind::Code(&["low", "high", "unable-to-assess"]),
    ),
    opt("code", CODEABLE_CONCEPT),
    req("patient", REFERENCE),
    opt("encounter", REFERENCE),
    opt("onset", CONDITION_ONSET),
    opt("recordedDate", DATE_TIME),
    opt("recorder", REFERENCE),
    opt("asserter", REFERENCE),
    opt("lastOccurrence", DATE_TIME),
    many("note", ANNOTATION),
    many(
        "reaction",
        Kind::Complex(&[
            opt("substance", CODEABLE_CONCEPT),
            req_many("manifestation", CODEABLE_CONCEPT),
            opt("description", STRING),
            opt("onset", DATE_TIME),
            opt("severity", Kind::Code(&["mild", "moderate", "severe"])),
            opt("exposureRoute", CODEABLE_CONCEPT),
            many("note", ANNOTATION),
        ]),
    ),
];

const DIAGNOSTIC_REPORT: &[Element] = &[
    many("identifier", IDENTIFIER),
    many("basedOn", REFERENCE),
    req(
        "status",
        Kind::Code(&[
            "registered",
            "partial",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "appended",
            "cancelled",
            "entered-in-error",
            "unknown",
        ]),
    ),
    many("category", CODEABLE_CONCEPT),
    req("code", CODEABLE_CONCEPT),
    opt("subject", REFERENCE),
    opt("encounter", REFERENCE),
    opt(
        "effective",
        Kind::Choice(&[("DateTime", DATE_TIME), ("Period", PERIOD)]),
    ),
    opt("issued", INSTANT),
    many("performer", REFERENCE),
    many("resultsInterpreter", REFERENCE),
    many("specimen", REFERENCE),
    many("result", REFERENCE),
    many("imagingStudy", REFERENCE),
    many(
        "media",
        Kind::Complex(&[opt("comment", STRING), req("link", REFERENCE)]),
    ),
    opt("conclusion", STRING),
    many("conclusionCode", CODEABLE_CONCEPT),
    many("presentedForm", ATTACHMENT),
];

const ENCOUNTER: &[Element] = &[
    many("identifier", IDENTIFIER),
    req(
        "status",
        Kind::Code(&[
            "planned",
            "arrived",
            "triaged",
            "in-progress",
            "onleave",
            "finished",
            "cancelled",
            "entered-in-error",
            "unknown",
        ]),
    ),
    many("statusHistory", ANY),
    req("class", CODING),
    many("classHistory", ANY),
    many("type", CODEABLE_CONCEPT),
    opt("serviceType", CODEABLE_CONCEPT),
    opt("priority", CODEABLE_CONCEPT),
    opt("subject", REFERENCE),
    many("episodeOfCare", REFERENCE),
    many("basedOn", REFERENCE),
    many(
        "participant",
        Kind::Complex(&[
            many("type", CODEABLE_CONCEPT),
            opt("period", PERIOD),
            opt("individual", REFERENCE),
        ]),
    ),
    many("appointment", REFERENCE),
    opt("period", PERIOD),
    opt("length", QUANTITY),
    many("reasonCode", CODEABLE_CONCEPT),
    many("reasonReference", REFERENCE),
    many(
        "diagnosis",
        Kind::Complex(&[
            req("condition", REFERENCE),
            opt("use", CODEABLE_CONCEPT),
            opt("rank", POSITIVE_INT),
        ]),
    ),
    many("account", REFERENCE),
    opt("hospitalization", ANY),
    many("location", ANY),
    opt("serviceProvider", REFERENCE),
    opt("partOf", REFERENCE),
];

const DOCUMENT_REFERENCE: &[Element] = &[
    opt("masterIdentifier", IDENTIFIER),
    many("identifier", IDENTIFIER),
    req(
        "status",
        Kind::Code(&["current", "superseded", "entered-in-error"]),
    ),
    opt(
        "docStatus",
        Kind::Code(&["preliminary", "final", "amended", "entered-in-error"]),
    ),
    opt("type", CODEABLE_CONCEPT),
    many("category", CODEABLE_CONCEPT),
    opt("subject", REFERENCE),
    opt("date", INSTANT),
    many("author", REFERENCE),
    opt("authenticator", REFERENCE),
    opt("custodian", REFERENCE),
    many("relatesTo", ANY),
    opt("description", STRING),
    many("securityLabel", CODEABLE_CONCEPT),
    req_many(
        "content",
        Kind::Complex(&[req("attachment", ATTACHMENT), opt("format", CODING)]),
    ),
    opt("context", ANY),
];

const PROVENANCE: &[Element] = &[
    req_many("target", REFERENCE),
    opt(
        "occurred",
        Kind::Choice(&[("Period", PERIOD), ("DateTime", DATE_TIME)]),
    ),
    req("recorded", INSTANT),
    many("policy", URI),
    opt("location", REFERENCE),
    many("reason", CODEABLE_CONCEPT),
    opt("activity", CODEABLE_CONCEPT),
    req_many(
        "agent",
        Kind::Complex(&[
            opt("type", CODEABLE_CONCEPT),
            many("role", CODEABLE_CONCEPT),
            req("who", REFERENCE),
            opt("onBehalfOf", REFERENCE),
        ]),
    ),
    many(
        "entity",
        Kind::Complex(&[
            req(
                "role",
                Kind::Code(&["derivation", "revision", "quotation", "source", "removal"]),
            ),
            req("what", REFERENCE),
            many("agent", ANY),
        ]),
    ),
    many("signature", ANY),
];

const CONSENT: &[Element] = &[
    many("identifier", IDENTIFIER),
    req(
        "status",
        Kind::Code(&[
            "draft",
            "proposed",
            "active",
            "rejected",
            "inactive",
            "entered-in-error",
        ]),
    ),
    req("scope", CODEABLE_CONCEPT),
    req_many("category", CODEABLE_CONCEPT),
    opt("patient", REFERENCE),
    opt("dateTime", DATE_TIME),
    many("performer", REFERENCE),
    many("organization", REFERENCE),
    opt(
        "source",
        Kind::Choice(&[("Attachment", ATTACHMENT), ("Reference", REFERENCE)]),
    ),
    many("policy", ANY),
    opt("policyRule", CODEABLE_CONCEPT),
    many("verification", ANY),
    opt(
        "provision",
        Kind::Complex(&[
            opt("type", Kind::Code(&["deny", "permit"])),
            opt("period", PERIOD),
            many(
                "actor",
                Kind::Complex(&[req("role", CODEABLE_CONCEPT), req("reference", REFERENCE)]),
            ),
            many("action", CODEABLE_CONCEPT),
            many("securityLabel", CODING),
            many("purpose", CODING),
            many("class", CODING),
            many("code", CODEABLE_CONCEPT),
            opt("dataPeriod", PERIOD),
            many(
                "data",
                Kind::Complex(&[
                    req(
                        "meaning",
                        Kind::Code(&["instance", "related", "dependents", "authoredby"]),
                    ),
                    req("reference", REFERENCE),
                ]),
            ),
            many("provision", ANY),
        ]),
    ),
];

macro_rules! resource_types {
    ($($variant:ident => $name:literal, $elements:expr, $patient:expr;)+) => {
        /// The resource types of `/fhir/r4`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ResourceType {
            $($variant),+
        }

        impl ResourceType {
            pub const ALL: &'static [ResourceType] = &[$(ResourceType::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(ResourceType::$variant => $name),+ }
            }

            pub fn parse(name: &str) -> Option<ResourceType> {
                match name { $($name => Some(ResourceType::$variant),)+ _ => None }
            }

            /// The element table a client-supplied resource is checked against; `None`
            /// for types the server builds itself (read and search only).
            pub fn elements(self) -> Option<&'static [Element]> {
                match self { $(ResourceType::$variant => $elements),+ }
            }

            /// The element naming the patient the resource is about, for types stored as
            /// a patient's records.
            pub fn patient_element(self) -> Option<&'static str> {
                match self { $(ResourceType::$variant => $patient),+ }
            }
        }
    };
}

resource_types! {
    Patient => "Patient", None, None;
    Practitioner => "Practitioner", None, None;
    Encounter => "Encounter", Some(ENCOUNTER), Some("subject");
    Observation => "Observation", Some(OBSERVATION), Some("subject");
    Condition => "Condition", Some(CONDITION), Some("subject");
    MedicationStatement => "MedicationStatement", Some(MEDICATION_STATEMENT), Some("subject");
    AllergyIntolerance => "AllergyIntolerance", Some(ALLERGY_INTOLERANCE), Some("patient");
    DiagnosticReport => "DiagnosticReport", Some(DIAGNOSTIC_REPORT), Some("subject");
    DocumentReference => "DocumentReference", Some(DOCUMENT_REFERENCE), Some("subject");
    Consent => "Consent", Some(CONSENT), None;
    Provenance => "Provenance", Some(PROVENANCE), None;
    AuditEvent => "AuditEvent", None, None;
}

impl ResourceType {
    /// Stored as records of a patient (category `fhir-resource`), so the vault, consent,
    /// ledger, erasure and export apply to them unchanged.
    pub fn is_record_backed(self) -> bool {
        !matches!(
            self,
            ResourceType::Patient
                | ResourceType::Practitioner
                | ResourceType::Consent
                | ResourceType::AuditEvent
        )
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in ResourceType::ALL {
            assert_eq!(ResourceType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(ResourceType::parse("observation"), None);
    }
}
