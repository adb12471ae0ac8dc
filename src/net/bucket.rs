//! The token bucket that the per-address and per-connection limits share.

use std::time::Instant;

/// Token bucket: `rate` tokens a second, up to `burst`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(rate: f64, burst: f64, now: Instant) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
    }

    /// Whether `n` tokens are there, taking none.
    pub(crate) fn has(&mut self, now: Instant, n: f64) -> bool {
        self.refill(now);
        self.tokens >= n
    }

    /// Takes `n` tokens if there are that many.
    pub(crate) fn allow(&mut self, now: Instant, n: f64) -> bool {
        self.refill(now);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Whether the bucket has refilled to its burst by `now` (it then holds nothing worth
    /// keeping).
    pub(crate) fn is_full(&self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + dt * self.rate >= self.burst
    }
}
