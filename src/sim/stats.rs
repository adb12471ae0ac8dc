//! A shard's counters, read by the HTTP endpoints. Atomics and a histogram whose writer never
//! waits: a shard never blocks on a reader.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Durations (in microseconds, 1 µs to 100 s, three significant figures) shared between the
/// thread that records them and the readers of `/status.json`.
///
/// The writer never waits for a reader: it records into its own [`HistogramWriter`] and hands
/// what it holds over only when the lock is free, so a reader holding the lock delays a sample
/// by a tick at most.
#[derive(Debug)]
pub struct DurationHistogram {
    shared: Mutex<Histogram<u64>>,
}

/// Highest duration a histogram tracks, in microseconds; longer ones count as this.
const MAX_US: u64 = 100_000_000;

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("static histogram bounds are valid")
}

impl Default for DurationHistogram {
    fn default() -> Self {
        Self {
            shared: Mutex::new(new_histogram()),
        }
    }
}

impl DurationHistogram {
    /// A copy of everything recorded so far.
    pub fn read(&self) -> Histogram<u64> {
        match self.shared.lock() {
            Ok(h) => h.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The `q` quantile (0..=1) of `h` in milliseconds; 0 when empty.
    pub fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
        if h.is_empty() {
            return 0.0;
        }
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

/// The recording end of a [`DurationHistogram`], owned by the one thread that records.
#[derive(Debug)]
pub struct HistogramWriter {
    pending: Histogram<u64>,
}

impl Default for HistogramWriter {
    fn default() -> Self {
        Self {
            pending: new_histogram(),
        }
    }
}

impl HistogramWriter {
    /// Adds one sample, and publishes what is pending into `to` unless a reader holds it.
    pub fn record(&mut self, to: &DurationHistogram, d: Duration) {
        self.pending
            .saturating_record((d.as_micros() as u64).clamp(1, MAX_US));
        if let Ok(mut shared) = to.shared.try_lock() {
            // Same bounds on both sides: adding cannot fail.
            let _ = shared.add(&self.pending);
            self.pending.reset();
        }
    }
}

/// A histogram's non-empty buckets as `[highest value in the bucket, count]`.
fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| {
            (
                h.highest_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        })
        .collect()
}

/// Upper bounds of the snapshot size buckets, in bytes: powers of two from 32 B to 1 MiB, then
/// one bucket for anything larger.
pub const SNAPSHOT_SIZE_BOUNDS: [u64; 16] = {
    let mut b = [0u64; 16];
    let mut i = 0;
    while i < 16 {
        b[i] = 32 << i;
        i += 1;
    }
    b
};

/// Snapshots counted per size bucket ([`SNAPSHOT_SIZE_BOUNDS`], plus the one above them).
/// Relaxed atomics, added to once per chunk of clients: no lock, nothing allocated.
#[derive(Debug, Default)]
pub struct SizeBuckets {
    counts: [AtomicU64; 17],
}

impl SizeBuckets {
    /// The bucket of a snapshot of `bytes`.
    pub fn index(bytes: u64) -> usize {
        if bytes <= SNAPSHOT_SIZE_BOUNDS[0] {
            return 0;
        }
        // ceil(log2(bytes)) - 5: 33..=64 bytes is bucket 1.
        let log2_ceil = 64 - (bytes - 1).leading_zeros() as usize;
        (log2_ceil - 5).min(SNAPSHOT_SIZE_BOUNDS.len())
    }

    /// Adds counts gathered per bucket (`local[i]` snapshots in bucket `i`).
    pub fn add(&self, local: &[u64; 17]) {
        for (c, &n) in self.counts.iter().zip(local) {
            if n > 0 {
                c.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// The non-empty buckets as `[upper bound in bytes, count]`; the last bucket's bound is
    /// `u64::MAX`.
    pub fn read(&self) -> Vec<(u64, u64)> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let bound = SNAPSHOT_SIZE_BOUNDS.get(i).copied().unwrap_or(u64::MAX);
                (bound, c.load(Ordering::Relaxed))
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// One shard's counters.
#[derive(Debug, Default)]
pub struct ShardStats {
    /// Ticks run.
    pub ticks: AtomicU64,
    /// Ticks that ended after the next tick's deadline.
    pub overruns: AtomicU64,
    /// Ticks skipped to catch up after falling behind.
    pub skipped_ticks: AtomicU64,
    /// Time spent per tick (all rooms).
    pub tick_duration: DurationHistogram,
    /// CPU time per tick: the shard thread's and its encode threads' (Linux only).
    pub tick_cpu: DurationHistogram,
    /// Rooms alive.
    pub rooms: AtomicU64,
    /// Clients connected.
    pub clients: AtomicU64,
    /// Clients waiting for a resume.
    pub parked: AtomicU64,
    /// Snapshot bytes encoded.
    pub snapshot_bytes: AtomicU64,
    /// Snapshots encoded, by size.
    pub snapshot_sizes: SizeBuckets,
    /// Full snapshots encoded.
    pub full_snapshots: AtomicU64,
    /// Delta snapshots encoded.
    pub delta_snapshots: AtomicU64,
    /// Inputs accepted.
    pub inputs: AtomicU64,
    /// Inputs that arrived after their tick.
    pub late_inputs: AtomicU64,
    /// Snapshots replaced in an outbox before the network task sent them (slow clients).
    pub superseded: AtomicU64,
    /// Inbound frames waiting when the tick began (queue depth).
    pub queue_depth: AtomicU64,
    /// Parked sessions dropped before their grace ended, oldest first, to keep a room within
    /// `max_clients_per_room` or the shard within its share of `max_parked_sessions`.
    pub parked_dropped: AtomicU64,
    /// Snapshots not sent to clients that acknowledge none (they get every 8th tick's).
    pub snapshots_withheld: AtomicU64,
    /// The shard thread's nice value (`shard_nice` when it could be set).
    pub nice: AtomicI32,
    /// The shard thread runs under `SCHED_FIFO` (`shard_realtime`).
    pub realtime: AtomicBool,
}

/// One shard's reading.
#[derive(Debug, Clone, Serialize)]
pub struct ShardReport {
    /// Ticks run.
    pub ticks: u64,
    /// Overruns.
    pub overruns: u64,
    /// Skipped ticks.
    pub skipped_ticks: u64,
    /// Median tick duration, ms.
    pub tick_p50_ms: f64,
    /// 99th percentile tick duration, ms.
    pub tick_p99_ms: f64,
    /// Longest tick, ms (to the histogram's precision).
    pub tick_max_ms: f64,
    /// Median CPU time of a tick (shard and encode threads), ms; 0 where not measured. A
    /// duration well above its CPU time is a tick that waited for a core.
    pub tick_cpu_p50_ms: f64,
    /// 99th percentile CPU time of a tick, ms.
    pub tick_cpu_p99_ms: f64,
    /// Rooms.
    pub rooms: u64,
    /// Clients.
    pub clients: u64,
    /// Clients waiting to resume.
    pub parked: u64,
    /// Snapshot bytes encoded.
    pub snapshot_bytes: u64,
    /// Full snapshots.
    pub full_snapshots: u64,
    /// Delta snapshots.
    pub delta_snapshots: u64,
    /// Inputs accepted.
    pub inputs: u64,
    /// Late inputs.
    pub late_inputs: u64,
    /// Snapshots superseded before being sent.
    pub superseded: u64,
    /// Inbound queue depth at the last tick.
    pub queue_depth: u64,
    /// Parked sessions dropped early to stay within the room and parked caps.
    pub parked_dropped: u64,
    /// Snapshots withheld from clients that acknowledge none.
    pub snapshots_withheld: u64,
    /// The shard thread's nice value.
    pub nice: i32,
    /// Whether the shard thread runs under `SCHED_FIFO`.
    pub realtime: bool,
    /// Tick durations since start as `[highest µs in the bucket, count]`, non-empty buckets
    /// only; subtract two readings for a window.
    pub tick_histogram_us: Vec<(u64, u64)>,
    /// Tick CPU times, the same way.
    pub tick_cpu_histogram_us: Vec<(u64, u64)>,
    /// Snapshots encoded since start by size, as `[upper bound in bytes, count]` with powers
    /// of two from 32 B to 1 MiB (`u64::MAX` for the bucket above), non-empty buckets only.
    pub snapshot_histogram_bytes: Vec<(u64, u64)>,
}

impl ShardStats {
    /// A reading.
    pub fn report(&self) -> ShardReport {
        let counts = self.tick_duration.read();
        let cpu = self.tick_cpu.read();
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ShardReport {
            ticks: l(&self.ticks),
            overruns: l(&self.overruns),
            skipped_ticks: l(&self.skipped_ticks),
            tick_p50_ms: DurationHistogram::quantile_ms(&counts, 0.5),
            tick_p99_ms: DurationHistogram::quantile_ms(&counts, 0.99),
            tick_max_ms: DurationHistogram::quantile_ms(&counts, 1.0),
            tick_cpu_p50_ms: DurationHistogram::quantile_ms(&cpu, 0.5),
            tick_cpu_p99_ms: DurationHistogram::quantile_ms(&cpu, 0.99),
            rooms: l(&self.rooms),
            clients: l(&self.clients),
            parked: l(&self.parked),
            snapshot_bytes: l(&self.snapshot_bytes),
            full_snapshots: l(&self.full_snapshots),
            delta_snapshots: l(&self.delta_snapshots),
            inputs: l(&self.inputs),
            late_inputs: l(&self.late_inputs),
            superseded: l(&self.superseded),
            queue_depth: l(&self.queue_depth),
            parked_dropped: l(&self.parked_dropped),
            snapshots_withheld: l(&self.snapshots_withheld),
            nice: self.nice.load(Ordering::Relaxed),
            realtime: self.realtime.load(Ordering::Relaxed),
            tick_histogram_us: buckets(&counts),
            tick_cpu_histogram_us: buckets(&cpu),
            snapshot_histogram_bytes: self.snapshot_sizes.read(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let h = DurationHistogram::default();
        let mut w = HistogramWriter::default();
        for us in 1..=100u64 {
            w.record(&h, Duration::from_micros(us * 100));
        }
        let c = h.read();
        assert!((DurationHistogram::quantile_ms(&c, 0.5) - 5.0).abs() < 0.05);
        assert!((DurationHistogram::quantile_ms(&c, 0.99) - 9.9).abs() < 0.05);
    }

    #[test]
    fn snapshot_sizes_fall_in_power_of_two_buckets() {
        for (bytes, bucket) in [
            (0, 0),
            (1, 0),
            (32, 0),
            (33, 1),
            (64, 1),
            (65, 2),
            (1 << 20, 15),
            ((1 << 20) + 1, 16),
            (u64::MAX, 16),
        ] {
            assert_eq!(SizeBuckets::index(bytes), bucket, "{bytes} bytes");
        }
        for (i, bound) in SNAPSHOT_SIZE_BOUNDS.iter().enumerate() {
            assert_eq!(SizeBuckets::index(*bound), i);
        }
        let b = SizeBuckets::default();
        let mut local = [0u64; 17];
        local[SizeBuckets::index(100)] += 2;
        local[SizeBuckets::index(5_000_000)] += 1;
        b.add(&local);
        assert_eq!(b.read(), vec![(128, 2), (u64::MAX, 1)]);
    }
}
