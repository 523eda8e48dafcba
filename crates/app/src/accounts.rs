//! Accounts: registration, login, token refresh and logout, and the admin's approval flow.

use std::net::IpAddr;

use meditrustal_domain::{
    Did, Email, Password, Role, UserId, UserStatus, Username, ValidationError,
};
use meditrustal_store::{NewRefreshToken, NewUser, Page, TokenRotation, User};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::policy::{self, Action, Actor, Basis, Context, Decision, Resource};
use crate::random::random_bytes;
use crate::tokens::{RefreshSecret, hash_refresh_token};
use crate::{App, AppError};

/// A self-registration as submitted; every field is validated by [`App::register`].
#[derive(Debug, Clone)]
pub struct Registration {
    pub username: String,
    pub email: String,
    pub password: String,
    pub role: String,
}

#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The client's network address, for throttling.
    pub client: IpAddr,
}

/// What a successful login or refresh hands the client.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub expires_in_secs: u64,
    pub refresh_token: String,
    pub user: User,
}

/// Admin listing filter.
#[derive(Debug, Clone, Copy)]
pub struct UserFilter {
    pub status: Option<UserStatus>,
    pub role: Option<Role>,
    pub page: Page,
}

impl App {
    pub async fn register(&self, registration: Registration) -> Result<User, AppError> {
        let role = Role::parse_registrable(&registration.role)?;
        self.create_user(
            &registration.username,
            &registration.email,
            &registration.password,
            role,
        )
        .await
    }

    /// Creates an administrator; only the operator's CLI and the bootstrap call this.
    pub async fn create_admin(
        &self,
        username: &str,
        email: &str,
        password: &str,
    ) -> Result<User, AppError> {
        self.create_user(username, email, password, Role::Admin)
            .await
    }

    /// Creates `admin` with the given password unless an account of that name exists.
    pub async fn ensure_bootstrap_admin(&self, password: &str) -> Result<Option<User>, AppError> {
        self.ensure_user("admin", "admin@meditrustal.invalid", password, Role::Admin)
            .await
    }

    /// Creates the account unless the username exists, and activates it: used to seed demo
    /// and bootstrap accounts idempotently. Returns the account only when it was created.
    pub async fn ensure_user(
        &self,
        username: &str,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<Option<User>, AppError> {
        let name = Username::parse(username)?;
        if self.store.user_by_username(&name).await?.is_some() {
            return Ok(None);
        }
        let user = self.create_user(username, email, password, role).await?;
        if user.status == UserStatus::Active {
            return Ok(Some(user));
        }
        let now = self.clock.now();
        let active = self
            .store
            .set_user_status(user.id, UserStatus::Active, now)
            .await?;
        Ok(active)
    }

    async fn create_user(
        &self,
        username: &str,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<User, AppError> {
        let username = Username::parse(username)?;
        let email = Email::parse(email)?;
        let password = Password::parse_new(password, &username)?;
        let password_hash = self.passwords.hash(password.expose()).await?;
        let new = NewUser {
            id: UserId(Uuid::now_v7()),
            username,
            email,
            password_hash,
            role,
            status: role.initial_status(),
            did: Did::from_random(random_bytes::<16>()?),
            created_at: self.clock.now(),
        };
        let user = self.store.insert_user(&new).await?;
        tracing::info!(user = %user.id, role = %user.role, status = %user.status, "account registered");
        Ok(user)
    }

    pub async fn login(&self, request: LoginRequest) -> Result<Session, AppError> {
        self.throttle
            .check(
                self.store.as_ref(),
                &request.username,
                request.client,
                self.clock.now(),
            )
            .await?;
        // An unparseable name cannot exist; treat it like a wrong password, not a 422,
        // so the answer does not hint at the rules an attacker is fighting.
        let user = match Username::parse(&request.username) {
            Ok(name) => self.store.user_by_username(&name).await?,
            Err(_) => None,
        };
        let hash = user.as_ref().map(|u| u.password_hash.as_str());
        if !self.passwords.verify(&request.password, hash).await? {
            tracing::info!("login refused: wrong credentials");
            return Err(AppError::InvalidCredentials);
        }
        let user = user.ok_or(AppError::InvalidCredentials)?;
        ensure_may_sign_in(&user)?;
        self.start_session(user, Uuid::now_v7()).await
    }

    /// Exchanges a refresh token for a new pair. A token works once: presenting a used one
    /// means it was copied, so its whole family (every session descended from that login)
    /// is revoked.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, AppError> {
        let now = self.clock.now();
        let stored = self
            .store
            .refresh_token_by_hash(&hash_refresh_token(refresh_token))
            .await?
            .ok_or(AppError::InvalidRefreshToken)?;
        if stored.used_at.is_some() {
            self.store
                .revoke_token_family(stored.family_id, now)
                .await?;
            tracing::warn!(family = %stored.family_id, "refresh token replayed; family revoked");
            return Err(AppError::RefreshTokenReused);
        }
        if stored.revoked_at.is_some() || stored.expires_at <= now {
            return Err(AppError::InvalidRefreshToken);
        }
        let user = self
            .store
            .user_by_id(stored.user_id)
            .await?
            .ok_or(AppError::InvalidRefreshToken)?;
        ensure_may_sign_in(&user)?;
        let secret = RefreshSecret::generate()?;
        let next = self.new_refresh_token(&user, stored.family_id, &secret, now);
        match self
            .store
            .rotate_refresh_token(stored.id, &next, now)
            .await?
        {
            TokenRotation::Rotated => self.session(user, secret, now),
            TokenRotation::AlreadyUsed => {
                self.store
                    .revoke_token_family(stored.family_id, now)
                    .await?;
                Err(AppError::RefreshTokenReused)
            }
        }
    }

    /// Ends the session the refresh token belongs to (its whole family). Without a token,
    /// ends every session of the actor.
    pub async fn logout(&self, actor: &Actor, refresh_token: Option<&str>) -> Result<(), AppError> {
        let now = self.clock.now();
        match refresh_token {
            Some(token) => {
                let stored = self
                    .store
                    .refresh_token_by_hash(&hash_refresh_token(token))
                    .await?;
                match stored {
                    Some(stored) if stored.user_id == actor.user_id => {
                        self.store
                            .revoke_token_family(stored.family_id, now)
                            .await?
                    }
                    _ => return Err(AppError::InvalidRefreshToken),
                }
            }
            None => self.store.revoke_user_tokens(actor.user_id, now).await?,
        }
        Ok(())
    }

    /// Turns a bearer token into an actor: the signature and expiry must hold and the account
    /// must still be active now.
    pub async fn authenticate(&self, bearer: &str) -> Result<Actor, AppError> {
        let (actor, scope) = self.authenticate_scoped(bearer).await?;
        if scope.is_some() {
            // A scoped token is for /fhir/r4, where its scopes are enforced.
            return Err(AppError::Unauthenticated);
        }
        Ok(actor)
    }

    /// Like [`App::authenticate`], also accepting tokens limited by SMART scopes, which it
    /// returns for the caller to enforce.
    pub async fn authenticate_scoped(
        &self,
        bearer: &str,
    ) -> Result<(Actor, Option<String>), AppError> {
        let claims = self.tokens.verify_access(bearer)?;
        let user = self
            .store
            .user_by_id(UserId(claims.sub))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        ensure_may_sign_in(&user)?;
        let actor = Actor {
            user_id: user.id,
            role: user.role,
            did: user.did,
        };
        Ok((actor, claims.scope))
    }

    /// A short-lived access token for `/fhir/r4` limited to SMART `scope` (e.g.
    /// `patient/Observation.read`); it cannot be refreshed and `/api/v1` refuses it.
    pub fn scoped_token(&self, actor: &Actor, scope: &str) -> Result<(String, u64), AppError> {
        let scope = scope.split_whitespace().collect::<Vec<_>>().join(" ");
        let resource_scopes = meditrustal_fhir::scopes::Scopes::parse(&scope);
        if scope.len() > 2000 || resource_scopes.0.is_empty() {
            return Err(ValidationError::new(
                "scope",
                "INVALID_SCOPE",
                "name at least one resource scope such as patient/*.read or user/Observation.write",
            )
            .into());
        }
        let token =
            self.tokens
                .issue_scoped(actor.user_id, actor.role, self.clock.now(), &scope)?;
        Ok((token, self.tokens.access_ttl().as_secs()))
    }

    /// Acts as an active account without its password: for operator tools on the server
    /// itself (demo seeding), never reachable over HTTP.
    pub async fn act_as(&self, username: &str) -> Result<Actor, AppError> {
        let name = Username::parse(username)?;
        let user = self
            .store
            .user_by_username(&name)
            .await?
            .ok_or(AppError::NotFound { what: "user" })?;
        ensure_may_sign_in(&user)?;
        Ok(Actor {
            user_id: user.id,
            role: user.role,
            did: user.did,
        })
    }

    pub async fn me(&self, actor: &Actor) -> Result<User, AppError> {
        authorize(
            actor,
            Action::ReadAccount,
            Resource::Account(actor.user_id),
            self.clock.now(),
        )?;
        self.store
            .user_by_id(actor.user_id)
            .await?
            .ok_or(AppError::NotFound { what: "user" })
    }

    pub async fn list_users(
        &self,
        actor: &Actor,
        filter: UserFilter,
    ) -> Result<Vec<User>, AppError> {
        authorize(
            actor,
            Action::ListAccounts,
            Resource::System,
            self.clock.now(),
        )?;
        Ok(self
            .store
            .list_users(filter.status, filter.role, filter.page)
            .await?)
    }

    /// Activates a pending (or reactivates a suspended) account.
    pub async fn approve_user(&self, actor: &Actor, id: UserId) -> Result<User, AppError> {
        self.change_status(actor, id, UserStatus::Active).await
    }

    /// Suspends an account and ends all its sessions.
    pub async fn suspend_user(&self, actor: &Actor, id: UserId) -> Result<User, AppError> {
        let user = self.change_status(actor, id, UserStatus::Suspended).await?;
        self.store.revoke_user_tokens(id, self.clock.now()).await?;
        Ok(user)
    }

    async fn change_status(
        &self,
        actor: &Actor,
        id: UserId,
        status: UserStatus,
    ) -> Result<User, AppError> {
        authorize(
            actor,
            Action::ChangeAccountStatus,
            Resource::Account(id),
            self.clock.now(),
        )?;
        let user = self
            .store
            .set_user_status(id, status, self.clock.now())
            .await?
            .ok_or(AppError::NotFound { what: "user" })?;
        tracing::info!(admin = %actor.user_id, user = %id, status = %status, "account status changed");
        Ok(user)
    }

    async fn start_session(&self, user: User, family: Uuid) -> Result<Session, AppError> {
        let now = self.clock.now();
        let secret = RefreshSecret::generate()?;
        let token = self.new_refresh_token(&user, family, &secret, now);
        self.store.insert_refresh_token(&token).await?;
        tracing::info!(user = %user.id, "login");
        self.session(user, secret, now)
    }

    fn new_refresh_token(
        &self,
        user: &User,
        family: Uuid,
        secret: &RefreshSecret,
        now: OffsetDateTime,
    ) -> NewRefreshToken {
        NewRefreshToken {
            id: Uuid::now_v7(),
            family_id: family,
            user_id: user.id,
            token_hash: secret.hash,
            issued_at: now,
            expires_at: now + self.refresh_token_ttl,
        }
    }

    fn session(
        &self,
        user: User,
        secret: RefreshSecret,
        now: OffsetDateTime,
    ) -> Result<Session, AppError> {
        Ok(Session {
            access_token: self.tokens.issue_access(user.id, user.role, now)?,
            expires_in_secs: self.tokens.access_ttl().as_secs(),
            refresh_token: secret.token,
            user,
        })
    }
}

fn ensure_may_sign_in(user: &User) -> Result<(), AppError> {
    match user.status {
        UserStatus::Active => Ok(()),
        UserStatus::Pending => Err(AppError::AccountPending),
        UserStatus::Suspended => Err(AppError::AccountSuspended),
    }
}

/// Policy check for actions that depend on no consent facts.
pub(crate) fn authorize(
    actor: &Actor,
    action: Action,
    resource: Resource,
    now: OffsetDateTime,
) -> Result<Basis, AppError> {
    match policy::decide(actor, action, resource, &Context::bare(now)) {
        Decision::Allow(basis) => Ok(basis),
        Decision::Deny(_) => {
            tracing::info!(actor = %actor.user_id, ?action, "access denied");
            Err(AppError::Forbidden)
        }
    }
}

/// Parses the id of an account given by a client.
pub fn parse_user_id(value: &str) -> Result<UserId, ValidationError> {
    Uuid::parse_str(value)
        .map(UserId)
        .map_err(|_| ValidationError::new("id", "INVALID_ID", "not a valid user id"))
}
