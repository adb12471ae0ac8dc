//! The deadline schedule of the shards.

use std::time::{Duration, Instant};

use tickwire_protocol::session::TickTime;

/// The deadline schedule every shard follows: tick `n` starts at `t0 + n · period`.
#[derive(Debug, Clone, Copy)]
pub struct TickClock {
    /// When tick 0 started.
    pub t0: Instant,
    /// Tick period.
    pub period: Duration,
}

impl TickClock {
    /// Start time of tick `n`.
    pub fn tick_start(&self, n: u32) -> Instant {
        self.t0 + self.period * n
    }

    /// The tick running at `at`, and how far into it.
    pub fn tick_time(&self, at: Instant) -> TickTime {
        let elapsed =
            at.saturating_duration_since(self.t0).as_secs_f64() / self.period.as_secs_f64();
        TickTime {
            tick: elapsed.floor() as u32,
            fraction: (elapsed.fract() * 65536.0) as u16,
        }
    }
}
