//! Login throttling, shared by every process on the database (so N replicas do not allow N
//! times the rates). The generic cell rate algorithm runs in one SQL statement per key; keys
//! are stored as keyed hashes, because what people type as a user name is sometimes their
//! password.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use meditrustal_store::{RateAdmission, RateStep, Store};
use time::OffsetDateTime;

use crate::AppError;
use crate::keyed_digest::keyed;

/// How many login attempts are allowed per minute, per account and per client address.
/// Each limit is also the burst size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    pub per_account_per_minute: NonZeroU32,
    pub per_address_per_minute: NonZeroU32,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            per_account_per_minute: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            per_address_per_minute: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
        }
    }
}

const MINUTE_US: i64 = 60_000_000;

/// Slows password guessing: against one account from many addresses (per-account limit) and
/// against many accounts from one address (per-address limit). Every attempt counts, so a
/// correct guess after many wrong ones is throttled too.
pub(crate) struct LoginThrottle {
    limits: ThrottleLimits,
    /// Keys the hashes under which throttled names and addresses are stored.
    key: [u8; 32],
}

impl LoginThrottle {
    /// `key` must be the same on every replica (it is derived from the shared JWT secret).
    pub(crate) fn new(limits: ThrottleLimits, key: [u8; 32]) -> LoginThrottle {
        LoginThrottle { limits, key }
    }

    /// Counts one attempt; refuses with the time to wait when either limit is exhausted.
    pub(crate) async fn check(
        &self,
        store: &dyn Store,
        account: &str,
        address: IpAddr,
        now: OffsetDateTime,
    ) -> Result<(), AppError> {
        let now_us = unix_micros(now);
        let by_address = format!("address:{address}");
        self.admit(
            store,
            &by_address,
            self.limits.per_address_per_minute,
            now_us,
        )
        .await?;
        let by_account = format!("account:{}", account.to_ascii_lowercase());
        self.admit(
            store,
            &by_account,
            self.limits.per_account_per_minute,
            now_us,
        )
        .await
    }

    /// Deletes the keys that have come back to a full burst (the same as never seen);
    /// returns how many.
    pub(crate) async fn prune(
        &self,
        store: &dyn Store,
        now: OffsetDateTime,
    ) -> Result<u64, AppError> {
        Ok(store.prune_login_throttle(unix_micros(now)).await?)
    }

    async fn admit(
        &self,
        store: &dyn Store,
        key: &str,
        per_minute: NonZeroU32,
        now_us: i64,
    ) -> Result<(), AppError> {
        let step = step(per_minute, now_us);
        match store.admit_login_attempt(&self.key_hash(key), step).await? {
            RateAdmission::Admitted => Ok(()),
            RateAdmission::Refused { tat_us } => Err(AppError::Throttled {
                retry_after: retry_after(step, tat_us),
            }),
        }
    }

    fn key_hash(&self, key: &str) -> String {
        hex::encode(keyed(&self.key, &[key.as_bytes()]))
    }
}

fn unix_micros(now: OffsetDateTime) -> i64 {
    i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// A limit of N per minute, N also the burst: each attempt uses a minute / N, and a key may
/// run up to a minute ahead of now.
fn step(per_minute: NonZeroU32, now_us: i64) -> RateStep {
    RateStep {
        now_us,
        interval_us: MINUTE_US / i64::from(per_minute.get()),
        tolerance_us: MINUTE_US,
    }
}

/// The wait until the refused key admits again: its arrival time moved on by one interval
/// must come within tolerance. Rounded up to whole seconds, plus one, so that a client which
/// waits exactly Retry-After seconds gets through.
fn retry_after(step: RateStep, tat_us: Option<i64>) -> Duration {
    let wait_us = tat_us.map_or(0, |tat| {
        tat + step.interval_us - step.tolerance_us - step.now_us
    });
    let wait = Duration::from_micros(u64::try_from(wait_us).unwrap_or(0));
    Duration::from_secs(wait.as_secs() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_a_minute_is_one_each_twelve_seconds_with_a_minute_of_burst() {
        let step = step(NonZeroU32::new(5).unwrap(), 1_000);
        assert_eq!(step.interval_us, 12_000_000);
        assert_eq!(step.tolerance_us, 60_000_000);
    }

    #[test]
    fn the_wait_is_until_one_more_interval_fits_in_the_tolerance() {
        let step = step(NonZeroU32::new(5).unwrap(), 0);
        // Five attempts at time 0 ran the key a minute ahead: the next fits 12 s later.
        assert_eq!(retry_after(step, Some(60_000_000)), Duration::from_secs(13));
        assert_eq!(retry_after(step, Some(60_500_000)), Duration::from_secs(13));
        assert_eq!(retry_after(step, Some(61_000_000)), Duration::from_secs(14));
        // A key pruned between the refusal and the read admits at once.
        assert_eq!(retry_after(step, None), Duration::from_secs(1));
    }

    #[test]
    fn names_and_addresses_are_stored_only_as_keyed_hashes() {
        let one = LoginThrottle::new(ThrottleLimits::default(), [1; 32]);
        let other = LoginThrottle::new(ThrottleLimits::default(), [2; 32]);
        let hash = one.key_hash("account:alice");
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains("alice"));
        assert_eq!(hash, one.key_hash("account:alice"));
        assert_ne!(hash, other.key_hash("account:alice"));
        assert_ne!(hash, one.key_hash("account:alicf"));
    }
}
