//! The one access-decision function. Every use case asks [`decide`] before it touches data,
//! and anything not explicitly allowed here is denied (DESIGN.md §3.1).

use meditrustal_domain::{Did, Role, UserId};

/// An authenticated, active user acting now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub role: Role,
    pub did: Did,
}

/// What the actor wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read one's own account (`/me`).
    ReadAccount,
    /// See accounts of other people (admin list).
    ListAccounts,
    /// Approve, suspend or reactivate an account.
    ChangeAccountStatus,
    /// Compute a clinical score from inputs the actor supplies (no patient data involved).
    ComputeScore,
}

/// What the action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The platform as a whole (user directory, system settings).
    System,
    Account(UserId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

pub fn decide(actor: &Actor, action: Action, resource: Resource) -> Decision {
    let allowed = match (action, resource) {
        (Action::ReadAccount, Resource::Account(owner)) => owner == actor.user_id,
        (Action::ListAccounts, Resource::System) => actor.role == Role::Admin,
        // An admin may not change their own status: a slip would lock the last admin out.
        (Action::ChangeAccountStatus, Resource::Account(target)) => {
            actor.role == Role::Admin && target != actor.user_id
        }
        (Action::ComputeScore, Resource::System) => scoring_allowed(actor.role),
        _ => false,
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Deny
    }
}

/// A score is a calculator over the caller's own inputs, so every role may use it. Spelled
/// out per role so that a new role has to be decided here rather than allowed by default.
fn scoring_allowed(role: Role) -> bool {
    match role {
        Role::Patient | Role::Doctor | Role::Researcher | Role::Admin => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: UserId(Uuid::new_v4()),
            role,
            did: Did::from_random([1; 16]),
        }
    }

    #[test]
    fn everyone_reads_only_their_own_account() {
        for role in Role::ALL {
            let me = actor(role);
            let other = UserId(Uuid::new_v4());
            assert_eq!(
                decide(&me, Action::ReadAccount, Resource::Account(me.user_id)),
                Decision::Allow
            );
            assert_eq!(
                decide(&me, Action::ReadAccount, Resource::Account(other)),
                Decision::Deny
            );
        }
    }

    #[test]
    fn only_admins_manage_accounts_and_never_their_own_status() {
        let target = Resource::Account(UserId(Uuid::new_v4()));
        for role in [Role::Patient, Role::Doctor, Role::Researcher] {
            let who = actor(role);
            assert_eq!(
                decide(&who, Action::ListAccounts, Resource::System),
                Decision::Deny
            );
            assert_eq!(
                decide(&who, Action::ChangeAccountStatus, target),
                Decision::Deny
            );
        }
        let admin = actor(Role::Admin);
        assert_eq!(
            decide(&admin, Action::ListAccounts, Resource::System),
            Decision::Allow
        );
        assert_eq!(
            decide(&admin, Action::ChangeAccountStatus, target),
            Decision::Allow
        );
        let own = Resource::Account(admin.user_id);
        assert_eq!(
            decide(&admin, Action::ChangeAccountStatus, own),
            Decision::Deny
        );
    }

    #[test]
    fn every_role_may_compute_scores_but_only_as_a_system_action() {
        for role in Role::ALL {
            let who = actor(role);
            assert_eq!(
                decide(&who, Action::ComputeScore, Resource::System),
                Decision::Allow,
                "{role:?}"
            );
            assert_eq!(
                decide(&who, Action::ComputeScore, Resource::Account(who.user_id)),
                Decision::Deny,
                "{role:?}"
            );
        }
    }

    #[test]
    fn unlisted_combinations_are_denied() {
        let admin = actor(Role::Admin);
        assert_eq!(
            decide(
                &admin,
                Action::ListAccounts,
                Resource::Account(admin.user_id)
            ),
            Decision::Deny
        );
        assert_eq!(
            decide(&admin, Action::ReadAccount, Resource::System),
            Decision::Deny
        );
    }
}
