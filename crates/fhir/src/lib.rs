//! FHIR R4 (4.0.1) on `serde_json::Value`, pure: what a resource may contain
//! ([`validate`], driven by the element tables of [`definitions`]), FHIR's date formats
//! ([`datetime`]), search parameters and the values a resource is indexed by ([`search`]),
//! and the resources the server builds itself ([`outcome`], [`bundle`], [`capability`]).
//!
//! No I/O and no clock: callers pass ids, times and base URLs in.

pub mod bundle;
pub mod capability;
pub mod datetime;
pub mod definitions;
pub mod outcome;
pub mod scopes;
pub mod search;
pub mod validate;

pub use datetime::{DateRange, FhirDate};
pub use definitions::ResourceType;
pub use outcome::{Issue, IssueCode, operation_outcome};
pub use search::{SearchQuery, SearchValues, Sort, TokenValue};
pub use validate::{Invalid, validate};

/// The media type of FHIR's JSON format.
pub const FHIR_JSON: &str = "application/fhir+json";
/// The FHIR version this crate implements.
pub const FHIR_VERSION: &str = "4.0.1";
