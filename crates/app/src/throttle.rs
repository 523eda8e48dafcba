use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::AppError;

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

/// Slows password guessing: against one account from many addresses (per-account limit) and
/// against many accounts from one address (per-address limit). Every attempt counts, so a
/// correct guess after many wrong ones is throttled too.
pub(crate) struct LoginThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl LoginThrottle {
    pub(crate) fn new(limits: ThrottleLimits) -> LoginThrottle {
        LoginThrottle {
            per_account: RateLimiter::keyed(Quota::per_minute(limits.per_account_per_minute)),
            per_address: RateLimiter::keyed(Quota::per_minute(limits.per_address_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt; refuses with the time to wait when either limit is exhausted.
    pub(crate) fn check(&self, account: &str, address: IpAddr) -> Result<(), AppError> {
        let by_address = self.per_address.check_key(&address);
        let by_account = self.per_account.check_key(&account.to_ascii_lowercase());
        let now = self.clock.now();
        let wait = [by_address.err(), by_account.err()]
            .into_iter()
            .flatten()
            .map(|not_until| not_until.wait_time_from(now))
            .max();
        match wait {
            // Round up so that a client which waits exactly Retry-After seconds gets through.
            Some(wait) => Err(AppError::Throttled {
                retry_after: Duration::from_secs(wait.as_secs() + 1),
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn prune(&self) {
        self.per_account.retain_recent();
        self.per_address.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(account: u32, address: u32) -> ThrottleLimits {
        ThrottleLimits {
            per_account_per_minute: NonZeroU32::new(account).unwrap(),
            per_address_per_minute: NonZeroU32::new(address).unwrap(),
        }
    }

    #[test]
    fn an_account_is_throttled_after_its_burst_whatever_the_address() {
        let throttle = LoginThrottle::new(limits(3, 100));
        for i in 0..3u8 {
            throttle
                .check("Alice", IpAddr::from([10, 0, 0, i]))
                .unwrap();
        }
        let err = throttle
            .check("alice", IpAddr::from([10, 0, 0, 9]))
            .unwrap_err();
        let AppError::Throttled { retry_after } = err else {
            panic!("{err:?}")
        };
        assert!((1..=21).contains(&retry_after.as_secs()), "{retry_after:?}");
        throttle.check("bob", IpAddr::from([10, 0, 0, 9])).unwrap();
    }

    #[test]
    fn an_address_is_throttled_across_accounts() {
        let throttle = LoginThrottle::new(limits(100, 2));
        let address = IpAddr::from([127, 0, 0, 1]);
        throttle.check("a", address).unwrap();
        throttle.check("b", address).unwrap();
        assert!(matches!(
            throttle.check("c", address),
            Err(AppError::Throttled { .. })
        ));
        throttle.check("c", IpAddr::from([127, 0, 0, 2])).unwrap();
    }
}
