use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use meditrustal_domain::{Role, UserId};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppError;
use crate::keyed_digest::keyed;
use crate::random::random_bytes;

/// Access tokens live at most this long, so a stolen one is useful only briefly.
pub(crate) const MAX_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
const ISSUER: &str = "meditrustal";

/// The HMAC key that signs access tokens. Every replica of a deployment shares it.
pub struct JwtSecret(SecretSlice<u8>);

impl JwtSecret {
    /// At least 32 bytes: HS256's security rests on the key being as long as the hash.
    pub const MIN_LEN: usize = 32;

    pub fn new(bytes: Vec<u8>) -> Option<JwtSecret> {
        (bytes.len() >= Self::MIN_LEN).then(|| JwtSecret(bytes.into()))
    }

    /// A key for another purpose, the same on every replica that shares the secret.
    pub(crate) fn derive(&self, purpose: &str) -> [u8; 32] {
        keyed(self.0.expose_secret(), &[purpose.as_bytes()])
    }
}

/// What an access token asserts. The server still loads the account on every request, so a
/// suspension takes effect at once rather than when the token expires.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: Uuid,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    /// SMART on FHIR scopes of a token issued for `/fhir/r4` only (absent: a session token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

pub(crate) struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
}

/// A fresh opaque refresh token and the hash under which it is stored.
pub(crate) struct RefreshSecret {
    pub(crate) token: String,
    pub(crate) hash: [u8; 32],
}

impl TokenIssuer {
    pub(crate) fn new(secret: &JwtSecret, access_ttl: Duration) -> TokenIssuer {
        let key = secret.0.expose_secret();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        TokenIssuer {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            access_ttl: access_ttl.min(MAX_ACCESS_TTL),
        }
    }

    pub(crate) fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    pub(crate) fn issue_access(
        &self,
        user: UserId,
        role: Role,
        now: OffsetDateTime,
    ) -> Result<String, AppError> {
        self.issue(user, role, now, None)
    }

    /// An access token limited to `/fhir/r4` and to `scope`.
    pub(crate) fn issue_scoped(
        &self,
        user: UserId,
        role: Role,
        now: OffsetDateTime,
        scope: &str,
    ) -> Result<String, AppError> {
        self.issue(user, role, now, Some(scope.to_owned()))
    }

    fn issue(
        &self,
        user: UserId,
        role: Role,
        now: OffsetDateTime,
        scope: Option<String>,
    ) -> Result<String, AppError> {
        let iat = now.unix_timestamp();
        let ttl = i64::try_from(self.access_ttl.as_secs()).unwrap_or(0);
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            sub: user.0,
            role,
            iat,
            exp: iat.saturating_add(ttl),
            jti: Uuid::new_v4(),
            scope,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|err| AppError::internal(format!("signing access token: {err}")))
    }

    pub(crate) fn verify_access(&self, token: &str) -> Result<AccessClaims, AppError> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => AppError::TokenExpired,
                _ => AppError::Unauthenticated,
            })
    }
}

impl RefreshSecret {
    pub(crate) fn generate() -> Result<RefreshSecret, AppError> {
        let token = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
        let hash = hash_refresh_token(&token);
        Ok(RefreshSecret { token, hash })
    }
}

/// Refresh tokens are looked up by their SHA-256, never compared as strings, so lookup
/// time does not depend on how much of a guessed token is right.
pub(crate) fn hash_refresh_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(ttl: Duration) -> TokenIssuer {
        TokenIssuer::new(&JwtSecret::new(vec![42; 32]).unwrap(), ttl)
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtSecret::new(vec![1; 31]).is_none());
    }

    #[test]
    fn access_tokens_round_trip_and_never_outlive_fifteen_minutes() {
        let issuer = issuer(Duration::from_secs(3600));
        let now = OffsetDateTime::now_utc();
        let user = UserId(Uuid::new_v4());
        let token = issuer.issue_access(user, Role::Doctor, now).unwrap();
        let claims = issuer.verify_access(&token).unwrap();
        assert_eq!(claims.sub, user.0);
        assert_eq!(claims.role, Role::Doctor);
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let issuer = issuer(MAX_ACCESS_TTL);
        let user = UserId(Uuid::new_v4());
        let old = OffsetDateTime::now_utc() - time::Duration::hours(1);
        let expired = issuer.issue_access(user, Role::Patient, old).unwrap();
        assert!(matches!(
            issuer.verify_access(&expired),
            Err(AppError::TokenExpired)
        ));

        let fresh = issuer
            .issue_access(user, Role::Patient, OffsetDateTime::now_utc())
            .unwrap();
        let mut tampered = fresh.clone().into_bytes();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(matches!(
            issuer.verify_access(&tampered),
            Err(AppError::Unauthenticated)
        ));

        let other = TokenIssuer::new(&JwtSecret::new(vec![7; 32]).unwrap(), MAX_ACCESS_TTL);
        assert!(matches!(
            other.verify_access(&fresh),
            Err(AppError::Unauthenticated)
        ));
        assert!(matches!(
            issuer.verify_access("not a jwt"),
            Err(AppError::Unauthenticated)
        ));
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let a = RefreshSecret::generate().unwrap();
        let b = RefreshSecret::generate().unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(a.hash, hash_refresh_token(&a.token));
        assert_eq!(a.token.len(), 43);
    }
}
