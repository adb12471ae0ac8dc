//! `/metrics`: the Prometheus text exposition of the same reading `/status.json` serves.
//!
//! There is one set of numbers. The shards and the network tasks keep their atomics and
//! histograms ([`ServerStats`](super::stats::ServerStats),
//! [`ShardStats`](crate::sim::stats::ShardStats)), whose writers never wait; a scrape takes
//! one [`StatusReport`] and renders it. Counters and gauges go through a
//! `metrics-exporter-prometheus` recorder owned by this server (not installed as the global
//! recorder, so servers in one process stay apart): each scrape sets them to the reading's
//! values and renders. The histograms are already aggregated where they are recorded (the
//! tick histograms in hdrhistogram buckets, snapshot sizes in power-of-two buckets), and the
//! exporter's histograms take one sample at a time, so replaying them would cost a push per
//! snapshot per scrape; they are written from the reading's buckets instead, after the
//! exporter's text, in the same format.
//!
//! Labels are bounded: `shard` (at most 256), `transport`, `kind`, `outcome`, and `reason`
//! (the close code names). No room names, no client ids.

use std::fmt::Write as _;
use std::sync::Mutex;

use metrics::{Label, Level, Metadata, Recorder as _};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use super::stats::StatusReport;

/// Upper bounds of the tick duration and tick CPU buckets, in µs (rendered in seconds).
const TICK_BOUNDS_US: [u64; 14] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 16_000, 25_000, 33_000, 50_000, 100_000, 250_000,
    1_000_000,
];

/// What a series is, for its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// Every counter and gauge: name, kind, `# HELP` text.
const SERIES: &[(&str, Kind, &str)] = &[
    (
        "tickwire_ticks_total",
        Kind::Counter,
        "Ticks run, per shard.",
    ),
    (
        "tickwire_tick_overruns_total",
        Kind::Counter,
        "Ticks that ended after the next tick's deadline, per shard.",
    ),
    (
        "tickwire_ticks_skipped_total",
        Kind::Counter,
        "Ticks skipped to catch up after a shard fell more than a period behind.",
    ),
    (
        "tickwire_clients",
        Kind::Gauge,
        "Clients in rooms, per shard, as of the shard's last tick.",
    ),
    (
        "tickwire_rooms",
        Kind::Gauge,
        "Rooms alive, per shard (a room lives while it has clients or parked sessions).",
    ),
    (
        "tickwire_parked_sessions",
        Kind::Gauge,
        "Sessions whose connection dropped, kept for a resume, per shard.",
    ),
    (
        "tickwire_inbound_queue_depth",
        Kind::Gauge,
        "Frames waiting in a shard's inbound queue when its last tick began.",
    ),
    (
        "tickwire_snapshots_total",
        Kind::Counter,
        "Snapshots encoded, per shard, by kind (full or delta against an acknowledged one).",
    ),
    (
        "tickwire_snapshots_superseded_total",
        Kind::Counter,
        "Snapshots replaced in an outbox by a newer one before they were sent (slow clients).",
    ),
    (
        "tickwire_inputs_total",
        Kind::Counter,
        "Client inputs, per shard, by outcome: applied in their tick, or late (after it; dropped).",
    ),
    (
        "tickwire_tcp_connections_total",
        Kind::Counter,
        "TCP connections accepted on the game port (HTTP requests, upgrades and sessions).",
    ),
    (
        "tickwire_tcp_connections_open",
        Kind::Gauge,
        "TCP connections open on the game port, from the accept to the end of their task.",
    ),
    (
        "tickwire_websocket_sessions_total",
        Kind::Counter,
        "WebSocket upgrades completed.",
    ),
    (
        "tickwire_connections",
        Kind::Gauge,
        "Client connections open, by transport: WebSocket sessions, and WebRTC peers with \
         their data channels open (such a client keeps its WebSocket too).",
    ),
    (
        "tickwire_bytes_sent_total",
        Kind::Counter,
        "Bytes of frames sent to clients, by transport.",
    ),
    (
        "tickwire_bytes_received_total",
        Kind::Counter,
        "Bytes of frames received from clients, by transport.",
    ),
    (
        "tickwire_frames_sent_total",
        Kind::Counter,
        "Frames sent to clients, by transport.",
    ),
    (
        "tickwire_frames_received_total",
        Kind::Counter,
        "Frames received from clients, by transport.",
    ),
    (
        "tickwire_inbound_dropped_total",
        Kind::Counter,
        "Client frames dropped because a shard's inbound queue was full.",
    ),
    (
        "tickwire_closes_total",
        Kind::Counter,
        "Connections closed, by reason (the close code's name).",
    ),
    (
        "tickwire_draining",
        Kind::Gauge,
        "1 while the server drains (new sessions refused, /healthz 503), else 0.",
    ),
    (
        "tickwire_uptime_seconds",
        Kind::Gauge,
        "Seconds since the server started.",
    ),
    (
        "tickwire_tick_rate_hertz",
        Kind::Gauge,
        "Configured simulation ticks per second.",
    ),
    (
        "tickwire_webrtc_peers",
        Kind::Gauge,
        "WebRTC peers, negotiating or open.",
    ),
    (
        "tickwire_webrtc_pending_peers",
        Kind::Gauge,
        "WebRTC peers still negotiating (offer answered, data channels not open).",
    ),
    (
        "tickwire_webrtc_peers_opened_total",
        Kind::Counter,
        "WebRTC peers whose data channels opened.",
    ),
    (
        "tickwire_webrtc_offers_refused_total",
        Kind::Counter,
        "WebRTC offers refused (peer caps, bad SDP); the client stays on the WebSocket.",
    ),
    (
        "tickwire_webrtc_peers_reaped_total",
        Kind::Counter,
        "WebRTC peers dropped for not opening within the open timeout; the client stays on \
         the WebSocket.",
    ),
    (
        "tickwire_webrtc_peers_closed_after_open_total",
        Kind::Counter,
        "WebRTC peers that closed after opening: the client left, the peer failed, or it \
         stalled and the session fell back to the WebSocket.",
    ),
    (
        "tickwire_webrtc_panics_total",
        Kind::Counter,
        "WebRTC peers dropped because the WebRTC stack panicked.",
    ),
    (
        "tickwire_webrtc_datagrams_received_total",
        Kind::Counter,
        "UDP datagrams received on the WebRTC port.",
    ),
    (
        "tickwire_webrtc_datagrams_sent_total",
        Kind::Counter,
        "UDP datagrams sent from the WebRTC port.",
    ),
    (
        "tickwire_webrtc_datagrams_unrouted_total",
        Kind::Counter,
        "UDP datagrams that matched no WebRTC peer.",
    ),
    (
        "tickwire_webrtc_frames_dropped_total",
        Kind::Counter,
        "Data-channel messages dropped (connection not reading, or the channel's buffer full).",
    ),
];

/// Every histogram: name, `# HELP` text.
const HISTOGRAMS: [(&str, &str); 3] = [
    (
        "tickwire_tick_duration_seconds",
        "Wall time of a tick per shard (draining inbound frames, every room's step and \
         snapshots), to three significant figures.",
    ),
    (
        "tickwire_tick_cpu_seconds",
        "CPU time of a tick per shard (its thread and encode threads; Linux only), to three \
         significant figures. Well below the duration: the tick waited for a core.",
    ),
    (
        "tickwire_snapshot_bytes",
        "Size of each snapshot encoded, per shard, in power-of-two buckets; the sum is exact.",
    ),
];

/// The `/metrics` renderer of one server.
pub(crate) struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// One scrape at a time sets the recorder's values and renders them. Only scrapes take it:
    /// no shard or connection task ever waits for it.
    render: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new().build_recorder();
        for &(name, kind, help) in SERIES {
            match kind {
                Kind::Counter => recorder.describe_counter(name.into(), None, help.into()),
                Kind::Gauge => recorder.describe_gauge(name.into(), None, help.into()),
            }
        }
        let handle = recorder.handle();
        Self {
            recorder,
            handle,
            render: Mutex::new(()),
        }
    }
}

fn labels(pairs: &[(&'static str, &str)]) -> Vec<Label> {
    pairs
        .iter()
        .map(|(k, v)| Label::new(*k, (*v).to_owned()))
        .collect()
}

impl Metrics {
    fn counter(&self, name: &'static str, pairs: &[(&'static str, &str)], value: u64) {
        let key = metrics::Key::from_parts(name, labels(pairs));
        self.recorder
            .register_counter(&key, &METADATA)
            .absolute(value);
    }

    fn gauge(&self, name: &'static str, pairs: &[(&'static str, &str)], value: f64) {
        let key = metrics::Key::from_parts(name, labels(pairs));
        self.recorder.register_gauge(&key, &METADATA).set(value);
    }

    /// The text exposition of `r`.
    pub(crate) fn render(&self, r: &StatusReport) -> String {
        let _one = self
            .render
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (i, s) in r.shards.iter().enumerate() {
            let shard = i.to_string();
            let sh: &[(&'static str, &str)] = &[("shard", &shard)];
            self.counter("tickwire_ticks_total", sh, s.ticks);
            self.counter("tickwire_tick_overruns_total", sh, s.overruns);
            self.counter("tickwire_ticks_skipped_total", sh, s.skipped_ticks);
            self.gauge("tickwire_clients", sh, s.clients as f64);
            self.gauge("tickwire_rooms", sh, s.rooms as f64);
            self.gauge("tickwire_parked_sessions", sh, s.parked as f64);
            self.gauge("tickwire_inbound_queue_depth", sh, s.queue_depth as f64);
            for (kind, n) in [("full", s.full_snapshots), ("delta", s.delta_snapshots)] {
                let l = &[("shard", shard.as_str()), ("kind", kind)];
                self.counter("tickwire_snapshots_total", l, n);
            }
            self.counter("tickwire_snapshots_superseded_total", sh, s.superseded);
            for (outcome, n) in [("applied", s.inputs), ("late", s.late_inputs)] {
                let l = &[("shard", shard.as_str()), ("outcome", outcome)];
                self.counter("tickwire_inputs_total", l, n);
            }
        }
        self.counter("tickwire_tcp_connections_total", &[], r.tcp_accepted);
        self.gauge("tickwire_tcp_connections_open", &[], r.tcp_open as f64);
        self.counter("tickwire_websocket_sessions_total", &[], r.connections);
        // Separate atomics, read one after the other: a subset may be ahead of its total.
        let open_peers = r
            .webrtc
            .as_ref()
            .map_or(0, |w| w.peers.saturating_sub(w.pending));
        let ws = &[("transport", "websocket")];
        let rtc = &[("transport", "webrtc")];
        self.gauge("tickwire_connections", ws, r.open_connections as f64);
        self.gauge("tickwire_connections", rtc, open_peers as f64);
        for (name, total, webrtc) in [
            ("tickwire_bytes_sent_total", r.bytes_out, r.webrtc_bytes_out),
            (
                "tickwire_bytes_received_total",
                r.bytes_in,
                r.webrtc_bytes_in,
            ),
            (
                "tickwire_frames_sent_total",
                r.frames_out,
                r.webrtc_frames_out,
            ),
            (
                "tickwire_frames_received_total",
                r.frames_in,
                r.webrtc_frames_in,
            ),
        ] {
            self.counter(name, ws, total.saturating_sub(webrtc));
            self.counter(name, rtc, webrtc);
        }
        self.counter("tickwire_inbound_dropped_total", &[], r.inbound_dropped);
        for (reason, n) in &r.all_closes {
            self.counter("tickwire_closes_total", &[("reason", reason)], *n);
        }
        self.gauge("tickwire_draining", &[], f64::from(u8::from(r.draining)));
        self.gauge("tickwire_uptime_seconds", &[], r.uptime_s);
        self.gauge("tickwire_tick_rate_hertz", &[], f64::from(r.tick_rate));
        if let Some(w) = &r.webrtc {
            self.gauge("tickwire_webrtc_peers", &[], w.peers as f64);
            self.gauge("tickwire_webrtc_pending_peers", &[], w.pending as f64);
            self.counter("tickwire_webrtc_peers_opened_total", &[], w.opened);
            self.counter("tickwire_webrtc_offers_refused_total", &[], w.refused);
            self.counter("tickwire_webrtc_peers_reaped_total", &[], w.reaped);
            self.counter(
                "tickwire_webrtc_peers_closed_after_open_total",
                &[],
                w.closed_after_open,
            );
            self.counter("tickwire_webrtc_panics_total", &[], w.panics);
            self.counter(
                "tickwire_webrtc_datagrams_received_total",
                &[],
                w.datagrams_in,
            );
            self.counter("tickwire_webrtc_datagrams_sent_total", &[], w.datagrams_out);
            self.counter("tickwire_webrtc_datagrams_unrouted_total", &[], w.unrouted);
            self.counter(
                "tickwire_webrtc_frames_dropped_total",
                &[],
                w.frames_dropped,
            );
        }
        let mut out = self.handle.render();
        render_histograms(&mut out, r);
        out
    }
}

/// Writes the histograms of `r` in the text format: cumulative `_bucket` lines up to `+Inf`,
/// then `_sum` and `_count`.
fn render_histograms(out: &mut String, r: &StatusReport) {
    for (name, help) in HISTOGRAMS {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} histogram\n");
        for (i, s) in r.shards.iter().enumerate() {
            match name {
                "tickwire_tick_duration_seconds" => {
                    tick_histogram(out, name, i, &s.tick_histogram_us);
                }
                "tickwire_tick_cpu_seconds" => {
                    tick_histogram(out, name, i, &s.tick_cpu_histogram_us);
                }
                _ => {
                    let bounds = crate::sim::stats::SNAPSHOT_SIZE_BOUNDS.map(|b| (b, b as f64));
                    let sum = s.snapshot_bytes as f64;
                    histogram(out, name, i, &s.snapshot_histogram_bytes, &bounds, sum);
                }
            }
        }
        out.push('\n');
    }
}

/// A tick histogram from hdrhistogram buckets in µs.
fn tick_histogram(out: &mut String, name: &str, shard: usize, buckets: &[(u64, u64)]) {
    let bounds = TICK_BOUNDS_US.map(|us| (us, us as f64 / 1e6));
    let sum_us: u64 = buckets.iter().map(|(v, n)| v.saturating_mul(*n)).sum();
    histogram(out, name, shard, buckets, &bounds, sum_us as f64 / 1e6);
}

/// One labelled histogram: `recorded` holds `[value, count]` sorted by value (each value the
/// highest of its source bucket), `bounds` the `le` buckets as `[bound in recorded units, bound
/// as rendered]`.
fn histogram(
    out: &mut String,
    name: &str,
    shard: usize,
    recorded: &[(u64, u64)],
    bounds: &[(u64, f64)],
    sum: f64,
) {
    let mut cumulative = 0u64;
    let mut next = recorded.iter().peekable();
    for &(bound, shown) in bounds {
        while let Some((_, n)) = next.next_if(|(v, _)| *v <= bound) {
            cumulative += n;
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{shard=\"{shard}\",le=\"{shown}\"}} {cumulative}"
        );
    }
    cumulative += next.map(|(_, n)| n).sum::<u64>();
    let _ = writeln!(
        out,
        "{name}_bucket{{shard=\"{shard}\",le=\"+Inf\"}} {cumulative}"
    );
    let _ = writeln!(out, "{name}_sum{{shard=\"{shard}\"}} {sum}");
    let _ = writeln!(out, "{name}_count{{shard=\"{shard}\"}} {cumulative}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_end_at_inf() {
        let mut out = String::new();
        let bounds = [(10, 0.01), (20, 0.02)];
        histogram(
            &mut out,
            "h",
            3,
            &[(5, 1), (10, 2), (15, 4), (99, 8)],
            &bounds,
            1.5,
        );
        assert_eq!(
            out,
            "h_bucket{shard=\"3\",le=\"0.01\"} 3\n\
             h_bucket{shard=\"3\",le=\"0.02\"} 7\n\
             h_bucket{shard=\"3\",le=\"+Inf\"} 15\n\
             h_sum{shard=\"3\"} 1.5\n\
             h_count{shard=\"3\"} 15\n"
        );
    }

    #[test]
    fn every_series_has_a_conventional_name() {
        for (name, kind, help) in SERIES {
            assert!(name.starts_with("tickwire_") && !help.is_empty(), "{name}");
            assert_eq!(
                name.ends_with("_total"),
                *kind == Kind::Counter,
                "{name}: counters and only counters end in _total"
            );
        }
    }
}
