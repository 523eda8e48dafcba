//! Pure domain types of MediTrustAl.
//!
//! Everything here is a value that has been parsed and validated once, at the edge, so that
//! the rest of the system cannot hold an invalid one (a `Username` is always 3–50 allowed
//! characters, a `Password` is never a common one). This crate does no I/O: no clock, no
//! randomness, no filesystem — callers pass in what it needs.

mod account;
mod consent;
mod credentials;
mod did;
mod record;
mod research;
mod validation;

pub use account::{Role, UnknownVariant, UserId, UserStatus};
pub use consent::{ConsentGrant, ConsentScope, EmergencyGrant, parse_reason};
pub use credentials::{Email, Password, Username};
pub use did::Did;
pub use record::{MediaType, Purpose, RecordCategory, RecordId};
pub use research::{DataCategory, PatientProfile, RegionCode, ResearchPurpose, Sex};
pub use validation::ValidationError;
