//! Counters shared between the shard threads, the network tasks and the HTTP endpoints. All
//! atomics: writers never wait for readers.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tickwire_protocol::CloseCode;

/// Histogram of durations in 25 µs buckets up to 100 ms (the last bucket takes the rest).
#[derive(Debug)]
pub struct DurationHistogram {
    buckets: Vec<AtomicU64>,
}

const BUCKET_US: u64 = 25;
const BUCKETS: usize = 4000;

impl Default for DurationHistogram {
    fn default() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl DurationHistogram {
    /// Adds one sample.
    pub fn record(&self, d: Duration) {
        let i = ((d.as_micros() as u64) / BUCKET_US).min(BUCKETS as u64 - 1) as usize;
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Bucket counts, to subtract two readings.
    pub fn counts(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }

    /// The `q` quantile (0..=1) of `counts` in milliseconds (upper bucket edge).
    pub fn quantile_ms(counts: &[u64], q: f64) -> f64 {
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return ((i as u64 + 1) * BUCKET_US) as f64 / 1000.0;
            }
        }
        (BUCKETS as u64 * BUCKET_US) as f64 / 1000.0
    }
}

/// Sets the calling thread's nice value.
pub(crate) fn set_thread_nice(nice: i32) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // On Linux a nice value belongs to a thread, and a thread id names one.
        Ok(rustix::process::setpriority_process(
            Some(rustix::thread::gettid()),
            nice,
        )?)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = nice;
        Err(std::io::Error::other(
            "thread priorities are set on Linux only",
        ))
    }
}

/// The calling thread's nice value; `None` where it is not read.
pub(crate) fn thread_nice() -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Moves the calling thread to `SCHED_FIFO` at the lowest real-time priority. Threads it starts
/// afterwards inherit the policy.
pub(crate) fn set_thread_realtime() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            RealtimeThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Min,
            ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
        )
        .map_err(|e| format!("{e:?}"))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err("real-time shard threads are supported on Linux only".into())
    }
}

/// CPU time this thread has used so far; `None` where it is not measured.
pub(crate) fn thread_cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Some(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
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
    /// The shard thread's nice value (`shard_nice` when it could be set).
    pub nice: AtomicI32,
    /// The shard thread runs under `SCHED_FIFO` (`shard_realtime`).
    pub realtime: AtomicBool,
}

/// Server-wide counters.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Connections accepted (WebSocket handshakes done).
    pub connections: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
    /// Frames dropped because a shard's inbound queue was full.
    pub inbound_dropped: AtomicU64,
    /// Bytes of frames sent to clients.
    pub bytes_out: AtomicU64,
    /// Bytes of frames received from clients.
    pub bytes_in: AtomicU64,
    closes: [AtomicU64; 32],
}

impl ServerStats {
    /// Counts a close for `code`.
    pub fn count_close(&self, code: CloseCode) {
        let i = usize::from(code.0).min(31);
        self.closes[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Closes counted per code name.
    pub fn closes(&self) -> Vec<(&'static str, u64)> {
        CloseCode::ALL
            .iter()
            .map(|c| {
                (
                    c.name(),
                    self.closes[usize::from(c.0).min(31)].load(Ordering::Relaxed),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// A reading of everything, for `/status.json` and the status page.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// Seconds since start.
    pub uptime_s: f64,
    /// Tick rate.
    pub tick_rate: u16,
    /// Connections accepted.
    pub connections: u64,
    /// Connections open.
    pub open_connections: u64,
    /// Inbound frames dropped.
    pub inbound_dropped: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Closes by reason.
    pub closes: Vec<(&'static str, u64)>,
    /// Per shard.
    pub shards: Vec<ShardReport>,
    /// The WebRTC side, when on.
    pub webrtc: Option<crate::webrtc::WebRtcReport>,
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
    /// Longest tick bucket, ms.
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
    /// The shard thread's nice value.
    pub nice: i32,
    /// Whether the shard thread runs under `SCHED_FIFO`.
    pub realtime: bool,
    /// Tick durations since start as `[upper bucket edge in µs, count]`, non-empty buckets
    /// only; subtract two readings for a window.
    pub tick_histogram_us: Vec<(u64, u64)>,
    /// Tick CPU times, the same way.
    pub tick_cpu_histogram_us: Vec<(u64, u64)>,
}

impl ShardStats {
    /// A reading.
    pub fn report(&self) -> ShardReport {
        let counts = self.tick_duration.counts();
        let cpu = self.tick_cpu.counts();
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let buckets = |counts: &[u64]| -> Vec<(u64, u64)> {
            counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| ((i as u64 + 1) * BUCKET_US, *c))
                .collect()
        };
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
            nice: self.nice.load(Ordering::Relaxed),
            realtime: self.realtime.load(Ordering::Relaxed),
            tick_histogram_us: buckets(&counts),
            tick_cpu_histogram_us: buckets(&cpu),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let h = DurationHistogram::default();
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us * 100));
        }
        let c = h.counts();
        assert!((DurationHistogram::quantile_ms(&c, 0.5) - 5.0).abs() < 0.05);
        assert!((DurationHistogram::quantile_ms(&c, 0.99) - 9.9).abs() < 0.05);
    }
}
