//! SMART on FHIR (v1) resource scopes: `patient/*.read`, `user/Observation.write`,
//! `patient/Condition.*` … parsed from a token's space-separated `scope`, and the check of
//! an interaction against them. Scopes only narrow what the platform's policy allows; they
//! never grant access the policy would refuse.

use crate::definitions::ResourceType;

/// Whose data a scope is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// The patient's own data (`patient/`).
    Patient,
    /// Whatever the user may see (`user/`).
    User,
}

/// What an interaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// One resource scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub context: Context,
    /// `None` is `*`.
    pub resource: Option<ResourceType>,
    pub read: bool,
    pub write: bool,
}

impl Scope {
    /// `None` for what is not a resource scope (`openid`, `launch`, `offline_access`,
    /// unknown types), which a token may carry and which grants nothing here.
    pub fn parse(text: &str) -> Option<Scope> {
        let (context, rest) = text.split_once('/')?;
        let context = match context {
            "patient" => Context::Patient,
            "user" => Context::User,
            _ => return None,
        };
        let (resource, access) = rest.split_once('.')?;
        let resource = match resource {
            "*" => None,
            name => Some(ResourceType::parse(name)?),
        };
        let (read, write) = match access {
            "read" => (true, false),
            "write" => (false, true),
            "*" => (true, true),
            _ => return None,
        };
        Some(Scope {
            context,
            resource,
            read,
            write,
        })
    }
}

/// The resource scopes of a token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(pub Vec<Scope>);

impl Scopes {
    pub fn parse(text: &str) -> Scopes {
        Scopes(text.split_whitespace().filter_map(Scope::parse).collect())
    }

    /// Whether some scope allows `access` to `resource`; `own_data` says whether the data
    /// is the token holder's own (what `patient/` scopes are limited to).
    pub fn allows(&self, resource: ResourceType, access: Access, own_data: bool) -> bool {
        self.0.iter().any(|scope| {
            scope.resource.is_none_or(|r| r == resource)
                && match access {
                    Access::Read => scope.read,
                    Access::Write => scope.write,
                }
                && (scope.context == Context::User || own_data)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_narrow_by_type_access_and_context() {
        let scopes = Scopes::parse(
            "openid launch patient/*.read user/Observation.write bogus/x.read user/Spaceship.read",
        );
        assert_eq!(scopes.0.len(), 2);
        assert!(scopes.allows(ResourceType::Condition, Access::Read, true));
        assert!(!scopes.allows(ResourceType::Condition, Access::Read, false));
        assert!(!scopes.allows(ResourceType::Condition, Access::Write, true));
        assert!(scopes.allows(ResourceType::Observation, Access::Write, false));
        assert!(Scopes::parse("").0.is_empty());
        assert!(!Scopes::parse("").allows(ResourceType::Patient, Access::Read, true));
        assert_eq!(Scope::parse("patient/Observation.rs"), None);
    }
}
