//! Seeded randomness for tests: splitmix64 from `rand_xoshiro`, as a stream ([`Rng`]) and as
//! a one-shot mixer of a seed ([`mix`]).

use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;

/// A seeded splitmix64 stream with the helpers tests draw from.
#[derive(Debug, Clone)]
pub struct Rng(SplitMix64);

impl Rng {
    /// The stream whose state starts at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(SplitMix64::seed_from_u64(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit() as f32
    }

    /// In `0..n` (`0` when `n` is 0); slightly biased, which tests do not mind.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// `z` mixed into 64 well-spread bits: the first output of splitmix64 started at state `z`.
/// Fixtures derive every value from a seed with it, so nearby seeds give unrelated values.
pub fn mix(z: u64) -> u64 {
    SplitMix64::seed_from_u64(z).next_u64()
}

/// `bits` as a float in `[0, 1)`, from its top 53 bits.
pub fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}
