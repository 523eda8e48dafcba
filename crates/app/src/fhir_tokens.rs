//! The FHIR search index keeps token systems and codes only as keyed hashes (a blind index),
//! so that a database reader cannot tell which diagnosis or test codes a patient has.
//! Searches hash the values they look for under the same key; every token form the search
//! API accepts is an equality, so all keep working (modifiers such as `:text` or `:in`,
//! which it does not accept, would need more than a hash). What stays visible: how often a
//! hashed code occurs, and which resources share one.
//!
//! The key is made once per deployment, sealed by the vault (re-wrapped by key rotation
//! like every sealed item) and stored in `fhir_index_keys`; every replica reads the same.

use meditrustal_domain::{RecordId, UserId};
use meditrustal_fhir::search::TokenParam;
use meditrustal_fhir::{ResourceType, SearchValues, TokenValue};
use meditrustal_store::{FhirToken, TokenFilter};
use serde_json::Value;
use uuid::Uuid;

use crate::keyed_digest::keyed;
use crate::random::random_bytes;
use crate::{App, AppError};

/// The vault binding of the sealed key (it belongs to no patient).
const KEY_NAME: &str = "fhir-index-key";
/// Resources rehashed per store round trip.
const PAGE: u32 = 100;

/// Hashes token systems and codes under the deployment's index key.
pub(crate) struct TokenHasher {
    key: [u8; 32],
}

impl TokenHasher {
    /// 128 bits of HMAC-SHA256, hex: collisions between distinct codes are out of reach,
    /// and the index stays half the size of a full digest.
    fn hash(&self, part: &[u8], value: &str) -> String {
        hex::encode(&keyed(&self.key, &[part, value.as_bytes()])[..16])
    }

    /// A resource's tokens for the index; a coding without a code is not indexed, one
    /// without a system is indexed under the empty system (what `|code` looks for).
    pub(crate) fn tokens(&self, tokens: Vec<(TokenParam, TokenValue)>) -> Vec<FhirToken> {
        tokens
            .into_iter()
            .filter_map(|(param, token)| {
                Some(FhirToken {
                    param: param.as_str(),
                    system: self.hash(b"system", &token.system.unwrap_or_default()),
                    code: self.hash(b"code", &token.code?),
                })
            })
            .collect()
    }

    /// A search's token condition, hashed like the stored tokens.
    pub(crate) fn filter(&self, value: &TokenValue) -> TokenFilter {
        TokenFilter {
            system: value.system.as_deref().map(|s| self.hash(b"system", s)),
            code: value.code.as_deref().map(|c| self.hash(b"code", c)),
        }
    }
}

impl App {
    /// The deployment's token hasher: its key is read (or, the first time, made) once per
    /// process.
    pub(crate) async fn token_hasher(&self) -> Result<&TokenHasher, AppError> {
        self.fhir_tokens
            .get_or_try_init(|| self.load_or_make_index_key())
            .await
    }

    async fn load_or_make_index_key(&self) -> Result<TokenHasher, AppError> {
        let system = UserId(Uuid::nil());
        if self.store.fhir_index_key().await?.is_none() {
            let key = random_bytes::<32>()?;
            let sealed = self.seal_json(&key, KEY_NAME, system)?;
            // Another replica may store its key first; then its key is the one read below.
            self.store
                .insert_fhir_index_key(Uuid::new_v4(), &sealed)
                .await?;
        }
        let (_, sealed) =
            self.store.fhir_index_key().await?.ok_or_else(|| {
                AppError::internal("the FHIR index key is missing after storing it")
            })?;
        let key: [u8; 32] = self.open_json(&sealed, KEY_NAME, system)?;
        Ok(TokenHasher { key })
    }

    /// Writes hashed tokens for resources indexed before tokens were hashed (their codes in
    /// clear were deleted by migration 0010); returns how many. Run at start, before
    /// serving: until then a search by code does not find those resources. A resource that
    /// cannot be opened is left for the next start and for `verify` to name.
    pub async fn hash_unhashed_fhir_tokens(&self) -> Result<u64, AppError> {
        let hasher = self.token_hasher().await?;
        let mut after: Option<RecordId> = None;
        let mut hashed = 0;
        loop {
            let page = self.store.fhir_resources_unhashed(after, PAGE).await?;
            let Some((last, _)) = page.last() else {
                return Ok(hashed);
            };
            after = Some(*last);
            for (record, kind) in &page {
                match self.current_tokens(hasher, *record, kind).await {
                    Ok(Some(tokens)) => {
                        hashed += u64::from(self.store.hash_fhir_tokens(*record, &tokens).await?);
                    }
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(%record, error = %err, "FHIR resource tokens not rehashed");
                    }
                }
            }
        }
    }

    /// The hashed tokens of a record's current version, read from the vault.
    async fn current_tokens(
        &self,
        hasher: &TokenHasher,
        record: RecordId,
        kind: &str,
    ) -> Result<Option<Vec<FhirToken>>, AppError> {
        let Some(kind) = ResourceType::parse(kind) else {
            return Ok(None);
        };
        let Some((meta, Some(version))) = self.store.record_and_version(record, None).await? else {
            return Ok(None);
        };
        let content = self.open_version(&meta, &version).await?;
        let resource: Value = serde_json::from_slice(&content)
            .map_err(|err| AppError::Integrity(format!("record {record}: {err}")))?;
        Ok(Some(
            hasher.tokens(SearchValues::of(kind, &resource).tokens),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(byte: u8) -> TokenHasher {
        TokenHasher { key: [byte; 32] }
    }

    #[test]
    fn stored_tokens_hide_their_codes_and_searches_find_them() {
        let resource = serde_json::json!({
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": "Patient/x"}
        });
        let values = SearchValues::of(ResourceType::Observation, &resource);
        let tokens = hasher(1).tokens(values.tokens);
        let code = tokens.iter().find(|t| t.param == "code").unwrap();
        assert!(!code.code.contains("8867") && !code.system.contains("loinc"));
        assert_eq!(code.code.len(), 32);

        let wanted = hasher(1).filter(&TokenValue::parse("http://loinc.org|8867-4").unwrap());
        assert_eq!(wanted.code.as_ref(), Some(&code.code));
        assert_eq!(wanted.system.as_ref(), Some(&code.system));
        let by_code = hasher(1).filter(&TokenValue::parse("8867-4").unwrap());
        assert_eq!(
            (by_code.system, by_code.code.as_ref()),
            (None, Some(&code.code))
        );
        // Another deployment's key gives other hashes.
        let elsewhere = hasher(2).filter(&TokenValue::parse("8867-4").unwrap());
        assert_ne!(elsewhere.code.as_ref(), Some(&code.code));
    }

    #[test]
    fn systems_and_codes_hash_apart() {
        let hasher = hasher(1);
        assert_ne!(hasher.hash(b"system", "x"), hasher.hash(b"code", "x"));
        assert_eq!(hasher.hash(b"code", "x"), hasher.hash(b"code", "x"));
    }
}
