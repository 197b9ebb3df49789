//! How the HTTP sources retry: bounded exponential backoff with seeded jitter, and `Retry-After`.

use std::time::Duration;

use rand::Rng;

/// When and how long to wait before retrying a request that failed with 429, 5xx or a timeout.
///
/// Retry `n` (0-based) waits half of `min(max_delay, base_delay · 2^n)` plus a uniformly random
/// part of the other half ("equal jitter"), drawn from a generator seeded with `seed`. A 429
/// waits what its `Retry-After` asks instead, unless that is longer than `max_retry_after`.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    seed: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new()
    }
}

impl RetryPolicy {
    /// Five attempts, backoff from 500 ms up to 30 s, `Retry-After` honoured up to 120 s, seed 0.
    pub fn new() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            seed: 0,
        }
    }

    /// Attempts per request, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> RetryPolicy {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff of the first retry.
    pub fn base_delay(mut self, delay: Duration) -> RetryPolicy {
        self.base_delay = delay;
        self
    }

    /// The longest backoff.
    pub fn max_delay(mut self, delay: Duration) -> RetryPolicy {
        self.max_delay = delay;
        self
    }

    /// The longest `Retry-After` honoured; a longer one ends the request with
    /// [`crate::ClientError::RateLimited`].
    pub fn max_retry_after(mut self, delay: Duration) -> RetryPolicy {
        self.max_retry_after = delay;
        self
    }

    /// The seed of the jitter.
    pub fn seed(mut self, seed: u64) -> RetryPolicy {
        self.seed = seed;
        self
    }

    /// Attempts per request.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The seed of the jitter.
    pub fn jitter_seed(&self) -> u64 {
        self.seed
    }

    /// The longest `Retry-After` honoured.
    pub fn retry_after_limit(&self) -> Duration {
        self.max_retry_after
    }

    /// The wait before retry `retry` (0-based), with jitter drawn from `rng`.
    pub fn backoff<R: Rng>(&self, retry: u32, rng: &mut R) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        let ceiling = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let half = ceiling / 2;
        let jitter_nanos =
            rng.gen_range(0..=(ceiling - half).as_nanos().min(u64::MAX as u128) as u64);
        half + Duration::from_nanos(jitter_nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn backoff_grows_exponentially_within_its_bounds() {
        let policy = RetryPolicy::new()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(1000));
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for retry in 0..8 {
            let ceiling =
                Duration::from_millis(100 * 2u64.pow(retry)).min(Duration::from_millis(1000));
            let wait = policy.backoff(retry, &mut rng);
            assert!(
                wait >= ceiling / 2 && wait <= ceiling,
                "retry {retry}: {wait:?}"
            );
        }
    }

    #[test]
    fn backoff_jitter_is_reproducible_from_the_seed_and_varies_between_seeds() {
        let policy = RetryPolicy::new();
        let waits = |seed: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..6)
                .map(|retry| policy.backoff(retry, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(waits(1), waits(1));
        assert_ne!(waits(1), waits(2));
    }
}
