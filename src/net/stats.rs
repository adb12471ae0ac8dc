//! The network side's counters, and the reading of everything that `/status.json` serves.
//! Atomics: writers never wait for readers.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tickwire_protocol::CloseCode;

use super::webrtc::WebRtcReport;
use crate::sim::stats::ShardReport;

/// Server-wide counters.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// TCP connections accepted on the game port, whatever they turn out to be.
    pub accepted: AtomicU64,
    /// TCP connections open now, counted from the accept to the end of their task (HTTP
    /// requests, WebSocket handshakes and sessions alike).
    pub tcp_open: AtomicU64,
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
    /// Frames sent to clients.
    pub frames_out: AtomicU64,
    /// Frames received from clients.
    pub frames_in: AtomicU64,
    /// Of `bytes_out`, the bytes sent on WebRTC data channels.
    pub webrtc_bytes_out: AtomicU64,
    /// Of `bytes_in`, the bytes received on WebRTC data channels.
    pub webrtc_bytes_in: AtomicU64,
    /// Of `frames_out`, the frames sent on WebRTC data channels.
    pub webrtc_frames_out: AtomicU64,
    /// Of `frames_in`, the frames received on WebRTC data channels.
    pub webrtc_frames_in: AtomicU64,
    closes: [AtomicU64; 32],
}

impl ServerStats {
    /// Counts a close for `code`.
    pub fn count_close(&self, code: CloseCode) {
        let i = usize::from(code.0).min(31);
        self.closes[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a frame of `bytes` sent to a client, on a data channel when `webrtc`.
    pub fn count_sent(&self, bytes: usize, webrtc: bool) {
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
        self.frames_out.fetch_add(1, Ordering::Relaxed);
        if webrtc {
            self.webrtc_bytes_out
                .fetch_add(bytes as u64, Ordering::Relaxed);
            self.webrtc_frames_out.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a frame of `bytes` received from a client, on a data channel when `webrtc`.
    pub fn count_received(&self, bytes: usize, webrtc: bool) {
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
        self.frames_in.fetch_add(1, Ordering::Relaxed);
        if webrtc {
            self.webrtc_bytes_in
                .fetch_add(bytes as u64, Ordering::Relaxed);
            self.webrtc_frames_in.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Closes counted per code, every code this version knows (zeros included).
    pub fn all_closes(&self) -> Vec<(&'static str, u64)> {
        CloseCode::ALL
            .iter()
            .map(|c| {
                (
                    c.name(),
                    self.closes[usize::from(c.0).min(31)].load(Ordering::Relaxed),
                )
            })
            .collect()
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
    /// TCP connections accepted on the game port.
    pub tcp_accepted: u64,
    /// TCP connections open (requests, handshakes and sessions).
    pub tcp_open: u64,
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
    /// Frames sent.
    pub frames_out: u64,
    /// Frames received.
    pub frames_in: u64,
    /// Of the bytes sent, those on WebRTC data channels.
    pub webrtc_bytes_out: u64,
    /// Of the bytes received, those on WebRTC data channels.
    pub webrtc_bytes_in: u64,
    /// Of the frames sent, those on WebRTC data channels.
    pub webrtc_frames_out: u64,
    /// Of the frames received, those on WebRTC data channels.
    pub webrtc_frames_in: u64,
    /// Draining: `/healthz` answers 503 and new sessions are refused.
    pub draining: bool,
    /// Closes by reason, the reasons counted so far.
    pub closes: Vec<(&'static str, u64)>,
    /// Closes by reason, every reason (the same counts, zeros included; for `/metrics`).
    #[serde(skip)]
    pub all_closes: Vec<(&'static str, u64)>,
    /// Per shard.
    pub shards: Vec<ShardReport>,
    /// The WebRTC side, when on.
    pub webrtc: Option<WebRtcReport>,
    /// Connections refused and cut as abuse, per reason.
    pub abuse: super::abuse::AbuseReport,
}
