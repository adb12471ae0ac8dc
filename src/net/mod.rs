//! The network side: the game port's HTTP endpoints, the WebSocket transport, and the WebRTC
//! driver with its signaling.
//!
//! ```text
//!  TCP accept ──▶ http (request head, routes) ──/ws──▶ ws task per connection ──▶ sim shard
//!  (TLS handshake first, when on)                         │ signaling        ▲ frames (inputs)
//!                                                         ▼                  │
//!                                  webrtc driver thread (one UDP socket, every peer)
//! ```
//!
//! - `http`: the accept loop on the tokio runtime; reads each request head under one
//!   deadline, serves `/healthz`, `/`, `/status.json`, `/metrics` and `/play`, and hands `/ws`
//!   upgrades to `ws`.
//! - `ws`: one task per WebSocket connection, the only reader of its outbox; answers clock
//!   pings, carries signaling, and sends snapshots on the data channel while one is open.
//! - `gate`: one per server: admits each TCP connection at its accept (per-address caps on
//!   open connections, new connections per second and unfinished handshakes; a server-wide cap
//!   on unfinished handshakes), and the browser origins allowed to open the WebSocket.
//! - `admission`: one per connection: message size, message and byte rates, and timeouts,
//!   paid once per frame whichever transport it came on.
//! - `abuse`: refusals counted per reason and logged at warn level, aggregated.
//! - [`webrtc`]: the driver thread that owns the UDP socket and every str0m peer, and each
//!   connection's side of the upgrade.
//! - [`tls`]: the certificate and key of the game port, reloaded in place, and the stream
//!   type (plain TCP or TLS) the connections' tasks use.
//! - [`stats`]: the network counters and the reading that `/status.json` serves;
//!   `metrics` renders the same reading as Prometheus text on `/metrics`.
//!
//! This side never touches a game or a world: it moves frames between sockets and the shards'
//! queues and outboxes.

pub(crate) mod abuse;
pub(crate) mod admission;
pub(crate) mod bucket;
pub(crate) mod gate;
pub(crate) mod http;
pub(crate) mod metrics;
pub mod stats;
pub mod tls;
pub mod webrtc;
pub(crate) mod ws;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use tickwire_protocol::Layout;

pub use self::abuse::AbuseReport;
use self::stats::{ServerStats, StatusReport};
use crate::config::Config;
use crate::sim::{ShardHandle, TickClock};

/// The message of the `draining` close: when a refused client should try again (here, once
/// a restarted server is up, or on another node behind the same address).
pub(crate) const DRAINING_MESSAGE: &str = "server draining; retry in 5 s";

/// What the network tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Arc<Config>,
    /// Every connection's limits, from the config.
    pub(crate) limits: admission::Limits,
    /// Admission of TCP connections and origins, and the abuse counters.
    pub(crate) gate: Arc<gate::Gate>,
    pub(crate) layout: Arc<Layout>,
    pub(crate) clock: TickClock,
    pub(crate) shards: Vec<ShardHandle>,
    pub(crate) stats: ServerStats,
    /// Renders `/metrics` from [`Shared::report`].
    pub(crate) metrics: metrics::Metrics,
    pub(crate) next_conn: AtomicU64,
    pub(crate) started: Instant,
    pub(crate) draining: AtomicBool,
    /// TLS on the game port, when `tls_cert` and `tls_key` are set.
    pub(crate) tls: Option<tls::Tls>,
    /// The WebRTC driver, when `webrtc_udp` is set.
    pub(crate) webrtc: Option<webrtc::RtcHandle>,
}

impl Shared {
    /// The shard hosting `room`.
    pub(crate) fn shard_for(&self, room: &str) -> &ShardHandle {
        &self.shards[crate::sim::shard_of(room, self.shards.len())]
    }

    /// A reading of every counter.
    pub(crate) fn report(&self) -> StatusReport {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatusReport {
            uptime_s: self.started.elapsed().as_secs_f64(),
            tick_rate: self.config.tick_rate,
            tcp_accepted: l(&self.stats.accepted),
            tcp_open: l(&self.stats.tcp_open),
            connections: l(&self.stats.connections),
            open_connections: l(&self.stats.open),
            inbound_dropped: l(&self.stats.inbound_dropped),
            bytes_out: l(&self.stats.bytes_out),
            bytes_in: l(&self.stats.bytes_in),
            frames_out: l(&self.stats.frames_out),
            frames_in: l(&self.stats.frames_in),
            webrtc_bytes_out: l(&self.stats.webrtc_bytes_out),
            webrtc_bytes_in: l(&self.stats.webrtc_bytes_in),
            webrtc_frames_out: l(&self.stats.webrtc_frames_out),
            webrtc_frames_in: l(&self.stats.webrtc_frames_in),
            draining: self.draining.load(Ordering::Acquire),
            closes: self.stats.closes(),
            all_closes: self.stats.all_closes(),
            shards: self.shards.iter().map(|s| s.stats.report()).collect(),
            webrtc: self.webrtc.as_ref().map(|w| w.report()),
            abuse: self.gate.report(Instant::now()),
        }
    }
}
