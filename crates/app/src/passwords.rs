use argon2::password_hash::{PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::AppError;
use crate::random::random_bytes;

/// Argon2id with the OWASP Password Storage Cheat Sheet's first recommended setting:
/// 19 MiB of memory, 2 iterations, 1 lane. Hashes are PHC strings, so the parameters travel
/// with each hash and can be raised later without invalidating old ones.
pub(crate) struct PasswordHasher {
    argon2: Argon2<'static>,
    /// Verified against when a username does not exist, so that "no such user" takes as
    /// long as "wrong password" and timing does not reveal which accounts exist.
    dummy_hash: String,
}

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

impl PasswordHasher {
    pub(crate) fn new() -> PasswordHasher {
        let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None).unwrap_or_default();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash =
            hash_with(&argon2, "dummy password for timing", &[7u8; 16]).unwrap_or_default();
        PasswordHasher { argon2, dummy_hash }
    }

    /// Hashes on a blocking thread: argon2 deliberately takes tens of milliseconds of CPU.
    pub(crate) async fn hash(&self, password: &str) -> Result<String, AppError> {
        let salt = random_bytes::<16>()?;
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_with(&argon2, &password, &salt))
            .await
            .map_err(|err| AppError::internal(format!("hashing task: {err}")))?
    }

    /// `stored` is `None` when the account does not exist; the dummy hash is checked then.
    pub(crate) async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<bool, AppError> {
        let exists = stored.is_some();
        let phc = stored.unwrap_or(&self.dummy_hash).to_owned();
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc)
                .map(|parsed| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .map_err(|err| AppError::internal(format!("verification task: {err}")))?;
        Ok(exists && matches)
    }
}

fn hash_with(argon2: &Argon2<'_>, password: &str, salt: &[u8]) -> Result<String, AppError> {
    use argon2::password_hash::PasswordHasher as _;
    let salt = SaltString::encode_b64(salt).map_err(|err| AppError::internal(err.to_string()))?;
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AppError::internal(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters() {
        let hasher = PasswordHasher::new();
        let hash = hasher.hash("correct horse battery").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("correct horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("correct horse batterY", Some(&hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn missing_accounts_never_verify() {
        let hasher = PasswordHasher::new();
        assert!(
            !hasher
                .verify("dummy password for timing", None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn the_same_password_gets_different_salts() {
        let hasher = PasswordHasher::new();
        let a = hasher.hash("same password here").await.unwrap();
        let b = hasher.hash("same password here").await.unwrap();
        assert_ne!(a, b);
    }
}
