//! Client-side clock sync: an estimate of the server's tick and of the round-trip time.
//!
//! Every pong (and the welcome) is a sample: the server's tick and tick fraction at the moment
//! it answered, and the round trip measured on the client's clock. Assuming a symmetric path,
//! the server was at `tick + fraction + rtt/2 · rate` when the answer arrived. The estimate
//! keeps the offset of the sample with the smallest round trip among the last
//! [`ClockSync::WINDOW`] (queueing delay only ever adds), and a smoothed RTT (RFC 6298 style).

/// Estimates the server tick from samples; times are client microseconds, passed in.
#[derive(Debug, Clone)]
pub struct ClockSync {
    tick_rate: f64,
    samples: [(u64, f64); ClockSync::WINDOW],
    count: usize,
    next: usize,
    srtt_us: Option<f64>,
    rttvar_us: f64,
    offset_ticks: Option<f64>,
}

impl ClockSync {
    /// Samples remembered for the minimum-RTT filter.
    pub const WINDOW: usize = 16;

    /// A clock with no samples for a server ticking at `tick_rate` Hz.
    pub fn new(tick_rate: u16) -> Self {
        Self {
            tick_rate: f64::from(tick_rate.max(1)),
            samples: [(0, 0.0); Self::WINDOW],
            count: 0,
            next: 0,
            srtt_us: None,
            rttvar_us: 0.0,
            offset_ticks: None,
        }
    }

    /// Ticks per second.
    pub fn tick_rate(&self) -> f64 {
        self.tick_rate
    }

    /// Adds a sample: a request sent at `sent_us` was answered at once with server tick `tick`
    /// and `fraction`/65536 of a tick elapsed, and the answer arrived at `now_us`.
    pub fn handle_sample(&mut self, sent_us: u64, now_us: u64, tick: u32, fraction: u16) {
        let rtt = now_us.saturating_sub(sent_us);
        let rtt_f = rtt as f64;
        match self.srtt_us {
            None => {
                self.srtt_us = Some(rtt_f);
                self.rttvar_us = rtt_f / 2.0;
            }
            Some(srtt) => {
                self.rttvar_us = 0.75 * self.rttvar_us + 0.25 * (srtt - rtt_f).abs();
                self.srtt_us = Some(0.875 * srtt + 0.125 * rtt_f);
            }
        }
        let server_ticks =
            f64::from(tick) + f64::from(fraction) / 65536.0 + rtt_f / 2e6 * self.tick_rate;
        let offset = server_ticks - now_us as f64 / 1e6 * self.tick_rate;
        self.samples[self.next] = (rtt, offset);
        self.next = (self.next + 1) % Self::WINDOW;
        self.count = (self.count + 1).min(Self::WINDOW);
        let best = self.samples[..self.count]
            .iter()
            .min_by_key(|s| s.0)
            .map(|s| s.1);
        self.offset_ticks = best;
    }

    /// Sets a first estimate from an answer that may have waited at the server (the welcome
    /// waits for the server's next tick), so it only seeds the tick offset until the first
    /// real sample: it does not touch the RTT estimate.
    pub fn seed(&mut self, sent_us: u64, now_us: u64, tick: u32, fraction: u16) {
        if self.count > 0 {
            return;
        }
        let rtt = now_us.saturating_sub(sent_us) as f64;
        let server_ticks =
            f64::from(tick) + f64::from(fraction) / 65536.0 + rtt / 2e6 * self.tick_rate;
        self.offset_ticks = Some(server_ticks - now_us as f64 / 1e6 * self.tick_rate);
    }

    /// Whether any sample has arrived.
    pub fn is_synced(&self) -> bool {
        self.offset_ticks.is_some()
    }

    /// Smoothed round-trip time in microseconds.
    pub fn rtt_us(&self) -> Option<f64> {
        self.srtt_us
    }

    /// Round-trip variation in microseconds.
    pub fn rtt_var_us(&self) -> f64 {
        self.rttvar_us
    }

    /// Estimated server tick (with fraction) at client time `now_us`.
    pub fn server_tick(&self, now_us: u64) -> Option<f64> {
        self.offset_ticks
            .map(|o| o + now_us as f64 / 1e6 * self.tick_rate)
    }

    /// How long a message to the server may wait, from `now_us`, and still arrive before the
    /// tick starts that it would arrive before if sent at once, in microseconds (less than one
    /// tick): by the estimate of the server's clock and half a round trip, keeping
    /// `margin_ticks` and twice the RTT variation to spare (0 when that cannot be kept).
    /// `None` before the first sample.
    pub fn slack_us(&self, now_us: u64, margin_ticks: f64) -> Option<u64> {
        let half_rtt_ticks = self.srtt_us.unwrap_or(0.0) / 2e6 * self.tick_rate;
        let spare_ticks = 2.0 * self.rttvar_us / 1e6 * self.tick_rate + margin_ticks;
        let arrives = self.server_tick(now_us)? + half_rtt_ticks;
        // Too close to the tick's start to spare anything: no wait.
        let slack_ticks = (arrives.floor() + 1.0 - arrives - spare_ticks).max(0.0);
        Some((slack_ticks / self.tick_rate * 1e6) as u64)
    }

    /// The tick an input sent now should be stamped with: the tick the server will be on when
    /// it arrives (half a round trip, plus `margin_ticks` for jitter), rounded up.
    pub fn input_tick(&self, now_us: u64, margin_ticks: f64) -> Option<u32> {
        let tick = self.server_tick(now_us)?;
        let half_rtt_ticks = self.srtt_us.unwrap_or(0.0) / 2e6 * self.tick_rate;
        let jitter_ticks = self.rttvar_us / 1e6 * self.tick_rate;
        let t = (tick + half_rtt_ticks + jitter_ticks + margin_ticks).ceil();
        Some(t.clamp(0.0, f64::from(u32::MAX)) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Server at 30 Hz whose tick 0 began at client time `t0`; one-way delay `d` each way.
    fn server_answer(t0: u64, at_us: u64) -> (u32, u16) {
        let ticks = (at_us - t0) as f64 * 30.0 / 1e6;
        (ticks.floor() as u32, ((ticks.fract()) * 65536.0) as u16)
    }

    #[test]
    fn converges_to_the_server_tick_and_rtt() {
        let t0 = 5_000_000;
        let mut c = ClockSync::new(30);
        let mut now = 10_000_000u64;
        for i in 0..20u64 {
            let d = 20_000 + (i * 7919 % 5) * 3_000; // 20..32 ms one-way
            let (tick, frac) = server_answer(t0, now + d);
            c.handle_sample(now, now + 2 * d, tick, frac);
            now += 2 * d + 500_000;
        }
        let truth = (now - t0) as f64 * 30.0 / 1e6;
        let est = c.server_tick(now).unwrap();
        assert!((est - truth).abs() < 0.1, "estimate {est} vs {truth}");
        let rtt = c.rtt_us().unwrap();
        assert!((40_000.0..=64_000.0).contains(&rtt), "rtt {rtt}");
        let it = c.input_tick(now, 1.0).unwrap();
        assert!(
            f64::from(it) >= truth + 1.0,
            "input tick {it} truth {truth}"
        );
    }

    #[test]
    fn slack_keeps_a_delayed_message_before_the_same_tick() {
        // Steady one-way delay of 12 ms each way: the estimate becomes exact enough.
        let (t0, d) = (3_000_000u64, 12_000u64);
        let mut c = ClockSync::new(30);
        let mut now = 10_000_000u64;
        for _ in 0..20 {
            let (tick, frac) = server_answer(t0, now + d);
            c.handle_sample(now, now + 2 * d, tick, frac);
            now += 2 * d + 250_000;
        }
        let period = 1e6 / 30.0;
        let tick_at = |t: u64| ((t - t0) as f64 / period).floor();
        let mut waited = 0u64;
        for k in 0..300u64 {
            let sent = now + k * 997;
            let slack = c.slack_us(sent, 0.1).unwrap();
            assert!((slack as f64) < period, "slack {slack} under a tick");
            // Sent after waiting the slack, it arrives before the same tick starts as if sent
            // at once, with the spare kept (or it does not wait).
            let at_once = tick_at(sent + d);
            let after_wait = ((sent + slack + d - t0) as f64 + 0.09 * period) / period;
            assert!(
                slack == 0 || after_wait.floor() == at_once,
                "sent at {sent}, slack {slack}"
            );
            waited += slack;
        }
        // On average it waits most of a tick less the spare.
        let mean = waited as f64 / 300.0;
        assert!(mean > 0.3 * period, "mean slack {mean}");
    }
}
