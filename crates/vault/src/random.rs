//! Where random bytes come from.
//!
//! Production code uses the operating system's generator ([`OsRandom`]); tests may
//! pass their own [`RandomSource`] to make keys and nonces reproducible.

/// The OS generator failed (e.g. no entropy source in a sandbox).
#[derive(Debug, thiserror::Error)]
#[error("the random source failed: {0}")]
pub struct RandomError(pub String);

/// A source of cryptographically secure random bytes.
pub trait RandomSource: Send + Sync {
    /// Fills `dest` completely with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(dest).map_err(|e| RandomError(e.to_string()))
    }
}

#[cfg(test)]
pub(crate) mod fixed {
    use super::{RandomError, RandomSource};
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Deterministic test source: each call fills with a counter-derived byte pattern,
    /// so two calls never return the same bytes but every run is reproducible.
    #[derive(Debug, Default)]
    pub struct CountingRandom(AtomicU64);

    impl RandomSource for CountingRandom {
        fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
            let n = self.0.fetch_add(1, Ordering::Relaxed);
            let seed = n.to_be_bytes();
            for (i, b) in dest.iter_mut().enumerate() {
                let s = seed.get(i % seed.len()).copied().unwrap_or(0);
                *b = s ^ (i as u8).wrapping_mul(31);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_fills_whole_buffer_differently_each_time() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        OsRandom.fill(&mut a).unwrap();
        OsRandom.fill(&mut b).unwrap();
        assert_ne!(a, [0u8; 32]);
        assert_ne!(a, b);
    }

    #[test]
    fn counting_random_is_reproducible_and_never_repeats() {
        let r1 = fixed::CountingRandom::default();
        let r2 = fixed::CountingRandom::default();
        let (mut a1, mut a2, mut b1) = ([0u8; 12], [0u8; 12], [0u8; 12]);
        r1.fill(&mut a1).unwrap();
        r1.fill(&mut a2).unwrap();
        r2.fill(&mut b1).unwrap();
        assert_eq!(a1, b1);
        assert_ne!(a1, a2);
    }
}
