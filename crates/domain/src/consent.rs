use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::record::{Purpose, RecordCategory, RecordId};
use crate::{UserId, ValidationError};

/// Which of a patient's records a consent covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConsentScope {
    /// Every record of the patient, present and future.
    All,
    /// Records of these categories.
    Categories {
        categories: BTreeSet<RecordCategory>,
    },
    /// These records only.
    Records { records: BTreeSet<RecordId> },
}

impl ConsentScope {
    /// The most records one consent may name: each is checked at grant time and listed in
    /// every search the consent makes visible; more is a case for categories or `all`.
    pub const MAX_RECORDS: usize = 1_000;

    /// Empty lists would make a consent that covers nothing, and overlong record lists one
    /// that is costly to check and to search with; refuse both.
    pub fn validate(self) -> Result<ConsentScope, ValidationError> {
        let empty = match &self {
            ConsentScope::All => false,
            ConsentScope::Categories { categories } => categories.is_empty(),
            ConsentScope::Records { records } => records.is_empty(),
        };
        if empty {
            return Err(ValidationError::new(
                "scope",
                "EMPTY_SCOPE",
                "the scope names nothing",
            ));
        }
        if let ConsentScope::Records { records } = &self
            && records.len() > Self::MAX_RECORDS
        {
            return Err(ValidationError::new(
                "scope",
                "SCOPE_TOO_LARGE",
                format!(
                    "a consent names at most {} records; grant categories or all records instead",
                    Self::MAX_RECORDS
                ),
            ));
        }
        Ok(self)
    }

    pub fn covers(&self, record: RecordId, category: RecordCategory) -> bool {
        match self {
            ConsentScope::All => true,
            ConsentScope::Categories { categories } => categories.contains(&category),
            ConsentScope::Records { records } => records.contains(&record),
        }
    }

    /// Whether the scope can cover records not yet created (needed to write new ones).
    pub fn covers_new_records_of(&self, category: RecordCategory) -> bool {
        match self {
            ConsentScope::All => true,
            ConsentScope::Categories { categories } => categories.contains(&category),
            ConsentScope::Records { .. } => false,
        }
    }
}

/// A patient's permission for one grantee to use some of their records for some purposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentGrant {
    pub id: Uuid,
    pub patient: UserId,
    pub grantee: UserId,
    pub scope: ConsentScope,
    pub purposes: BTreeSet<Purpose>,
    /// Whether the grantee may also add records (notes, results) for the patient.
    pub allow_write: bool,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl ConsentGrant {
    /// A grant made at `created_at`: read-only, without expiry and unrevoked until the
    /// caller says otherwise.
    pub fn new(
        id: Uuid,
        patient: UserId,
        grantee: UserId,
        scope: ConsentScope,
        purposes: BTreeSet<Purpose>,
        created_at: OffsetDateTime,
    ) -> ConsentGrant {
        ConsentGrant {
            id,
            patient,
            grantee,
            scope,
            purposes,
            allow_write: false,
            created_at,
            expires_at: None,
            revoked_at: None,
        }
    }

    /// In force at `now`: not revoked and not expired.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// Time-limited read access a doctor declared in an emergency ("break-glass").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyGrant {
    pub id: Uuid,
    pub patient: UserId,
    pub doctor: UserId,
    pub reason: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl EmergencyGrant {
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }
}

/// Free-text justification (access requests, emergencies): required, bounded.
pub fn parse_reason(value: &str) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > 500 {
        return Err(ValidationError::new(
            "reason",
            "INVALID_REASON",
            "a reason of 1 to 500 characters is required",
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn grant(scope: ConsentScope) -> ConsentGrant {
        let nobody = UserId(Uuid::nil());
        ConsentGrant::new(
            Uuid::nil(),
            nobody,
            nobody,
            scope,
            [Purpose::Treatment].into(),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn scopes_cover_what_they_name() {
        let record = RecordId(Uuid::from_u128(7));
        let other = RecordId(Uuid::from_u128(8));
        assert!(ConsentScope::All.covers(record, RecordCategory::LabReport));
        let labs = ConsentScope::Categories {
            categories: [RecordCategory::LabReport].into(),
        };
        assert!(labs.covers(record, RecordCategory::LabReport));
        assert!(!labs.covers(record, RecordCategory::ClinicalNote));
        let one = ConsentScope::Records {
            records: [record].into(),
        };
        assert!(one.covers(record, RecordCategory::ClinicalNote));
        assert!(!one.covers(other, RecordCategory::ClinicalNote));
        assert!(!one.covers_new_records_of(RecordCategory::ClinicalNote));
    }

    #[test]
    fn empty_scopes_are_refused() {
        assert!(
            ConsentScope::Categories {
                categories: BTreeSet::new()
            }
            .validate()
            .is_err()
        );
        assert!(
            ConsentScope::Records {
                records: BTreeSet::new()
            }
            .validate()
            .is_err()
        );
        assert!(ConsentScope::All.validate().is_ok());
    }

    #[test]
    fn a_scope_names_at_most_a_thousand_records() {
        let records = |n: u128| ConsentScope::Records {
            records: (0..n).map(|i| RecordId(Uuid::from_u128(i))).collect(),
        };
        assert!(records(1_000).validate().is_ok());
        let refused = records(1_001).validate().unwrap_err();
        assert_eq!(refused.code, "SCOPE_TOO_LARGE");
        assert_eq!(refused.field, "scope");
    }

    #[test]
    fn expiry_and_revocation_end_a_consent() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(10);
        let mut consent = grant(ConsentScope::All);
        assert!(consent.is_active(now));
        consent.expires_at = Some(now);
        assert!(!consent.is_active(now), "expiry is exclusive");
        consent.expires_at = Some(now + Duration::seconds(1));
        assert!(consent.is_active(now));
        consent.revoked_at = Some(now);
        assert!(!consent.is_active(now));
    }

    #[test]
    fn reasons_are_required_and_bounded() {
        assert_eq!(
            parse_reason("  昏迷，无法联系家属 ").unwrap(),
            "昏迷，无法联系家属"
        );
        assert!(parse_reason("   ").is_err());
        assert!(parse_reason(&"x".repeat(501)).is_err());
    }
}
