use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ValidationError;

/// Internal identifier of an account. Never shown on the ledger (the DID is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl From<Uuid> for UserId {
    fn from(id: Uuid) -> Self {
        UserId(id)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What an account is for. Decides which portal a user sees and what the policy allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Patient,
    Doctor,
    Researcher,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Patient, Role::Doctor, Role::Researcher, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Doctor => "doctor",
            Role::Researcher => "researcher",
            Role::Admin => "admin",
        }
    }

    /// Roles a person may choose when registering themself. Admins are created by an
    /// operator (`meditrustal admin create` or the bootstrap password), never self-registered.
    pub fn parse_registrable(value: &str) -> Result<Role, ValidationError> {
        match value.parse::<Role>() {
            Ok(Role::Admin) | Err(_) => Err(ValidationError::new(
                "role",
                "INVALID_ROLE",
                "role must be one of patient, doctor, researcher",
            )),
            Ok(role) => Ok(role),
        }
    }

    /// Professionals act on other people's data, so an admin must check who they are first.
    pub fn initial_status(self) -> UserStatus {
        match self {
            Role::Patient | Role::Admin => UserStatus::Active,
            Role::Doctor | Role::Researcher => UserStatus::Pending,
        }
    }
}

impl FromStr for Role {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or(UnknownVariant)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Lifecycle of an account. Only `Active` accounts can log in or use a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Pending,
    Active,
    Suspended,
}

impl UserStatus {
    pub const ALL: [UserStatus; 3] = [
        UserStatus::Pending,
        UserStatus::Active,
        UserStatus::Suspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Pending => "pending",
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
        }
    }
}

impl FromStr for UserStatus {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UserStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or(UnknownVariant)
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A stored or supplied name that matches no variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown variant")]
pub struct UnknownVariant;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        for status in UserStatus::ALL {
            assert_eq!(status.as_str().parse::<UserStatus>(), Ok(status));
        }
    }

    #[test]
    fn admin_cannot_be_self_registered() {
        assert!(Role::parse_registrable("admin").is_err());
        assert!(Role::parse_registrable("Doctor").is_err());
        assert_eq!(Role::parse_registrable("doctor"), Ok(Role::Doctor));
    }

    #[test]
    fn professionals_start_pending() {
        assert_eq!(Role::Patient.initial_status(), UserStatus::Active);
        assert_eq!(Role::Doctor.initial_status(), UserStatus::Pending);
        assert_eq!(Role::Researcher.initial_status(), UserStatus::Pending);
    }
}
