//! Abuse seen on the game port: counted per reason for `/status.json`, and logged at warn
//! level, aggregated: the first event of a reason is logged at once, later ones in one line per
//! reason per [`LOG_WINDOW`] with their count and the addresses that caused most of them. A
//! flood therefore costs a few log lines, not one per refused connection.
//!
//! The aggregate of a window is written by the next event after the window ends: a reason that
//! stops altogether leaves its last window's count in the counters only.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// How often one reason may be logged.
pub(crate) const LOG_WINDOW: Duration = Duration::from_secs(10);
/// Addresses remembered per reason and window for the log line; past it, only counted.
const LOG_IPS: usize = 1024;
/// Addresses named in a log line.
const TOP_IPS: usize = 3;

/// Why a client was refused or cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Abuse {
    /// The address has `max_connections_per_ip` connections open.
    IpConnections,
    /// The address opens connections faster than `connection_rate_per_ip`.
    IpRate,
    /// `max_pending_handshakes` connections are not past their hello.
    PendingHandshakes,
    /// The address has `max_pending_handshakes_per_ip` connections not past their hello.
    IpPendingHandshakes,
    /// The table of addresses is full.
    IpTable,
    /// A WebSocket upgrade from an origin not allowed.
    Origin,
    /// A client sent more messages than its rate.
    MessageRate,
    /// A client sent more bytes than its byte rate.
    ByteRate,
    /// A hello asked to resume a session that does not exist (any more).
    ResumeFailed,
    /// A hello asked to resume from an address with too many failed resumes.
    ResumeRate,
    /// The address has `webrtc_max_pending_per_ip` WebRTC peers negotiating.
    RtcPendingIp,
    /// A WebRTC negotiation that never sent ICE traffic.
    RtcSilent,
    /// A TLS handshake on the game port that failed (plain HTTP on the TLS port among them)
    /// or did not finish by the deadline.
    TlsHandshake,
}

impl Abuse {
    const ALL: [Abuse; 13] = [
        Abuse::IpConnections,
        Abuse::IpRate,
        Abuse::PendingHandshakes,
        Abuse::IpPendingHandshakes,
        Abuse::IpTable,
        Abuse::Origin,
        Abuse::MessageRate,
        Abuse::ByteRate,
        Abuse::ResumeFailed,
        Abuse::ResumeRate,
        Abuse::RtcPendingIp,
        Abuse::RtcSilent,
        Abuse::TlsHandshake,
    ];

    /// The name in `/status.json` and the log.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Abuse::IpConnections => "ip_connections",
            Abuse::IpRate => "ip_connection_rate",
            Abuse::PendingHandshakes => "pending_handshakes",
            Abuse::IpPendingHandshakes => "ip_pending_handshakes",
            Abuse::IpTable => "ip_table_full",
            Abuse::Origin => "origin",
            Abuse::MessageRate => "message_rate",
            Abuse::ByteRate => "byte_rate",
            Abuse::ResumeFailed => "resume_failed",
            Abuse::ResumeRate => "resume_rate",
            Abuse::RtcPendingIp => "webrtc_pending_ip",
            Abuse::RtcSilent => "webrtc_no_ice",
            Abuse::TlsHandshake => "tls_handshake",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One reason's log window.
#[derive(Debug, Default)]
struct Window {
    /// Events since the last line.
    count: u64,
    /// When the last line was written; `None` before the first.
    logged: Option<Instant>,
    by_ip: HashMap<IpAddr, u64>,
}

/// Abuse counters and the rate-limited log. Counting is lock-free; the log window takes a
/// lock per event, which only abusers pay.
#[derive(Debug, Default)]
pub(crate) struct AbuseLog {
    counts: [AtomicU64; Abuse::ALL.len()],
    windows: Mutex<[Window; Abuse::ALL.len()]>,
}

impl AbuseLog {
    /// Counts one event of `why` from `ip` (the client's address, when known).
    pub(crate) fn record(&self, why: Abuse, ip: Option<IpAddr>, now: Instant) {
        self.counts[why.index()].fetch_add(1, Ordering::Relaxed);
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let w = &mut windows[why.index()];
        if let Some(ip) = ip
            && (w.by_ip.len() < LOG_IPS || w.by_ip.contains_key(&ip))
        {
            *w.by_ip.entry(ip).or_default() += 1;
        }
        w.count += 1;
        if w.logged.is_some_and(|t| now < t + LOG_WINDOW) {
            return;
        }
        let mut top: Vec<(IpAddr, u64)> = w.by_ip.drain().collect();
        top.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(TOP_IPS);
        let top: Vec<String> = top.iter().map(|(ip, n)| format!("{ip} ({n})")).collect();
        tracing::warn!(
            reason = why.name(),
            count = w.count,
            window_s = LOG_WINDOW.as_secs(),
            top = %top.join(", "),
            "abuse refused"
        );
        w.count = 0;
        w.logged = Some(now);
    }

    /// Counts per reason, every reason listed.
    pub(crate) fn counts(&self) -> Vec<(&'static str, u64)> {
        Abuse::ALL
            .iter()
            .map(|a| (a.name(), self.counts[a.index()].load(Ordering::Relaxed)))
            .collect()
    }

    /// The count of one reason.
    #[cfg(test)]
    pub(crate) fn count(&self, why: Abuse) -> u64 {
        self.counts[why.index()].load(Ordering::Relaxed)
    }
}

/// The abuse side of `/status.json`.
#[derive(Debug, Clone, Serialize)]
pub struct AbuseReport {
    /// Refusals and cuts per reason, every reason listed.
    pub refused: Vec<(&'static str, u64)>,
    /// Client addresses (IPv6: /64 blocks) with state held now: open connections, or a
    /// connection rate bucket not yet refilled. Returns to 0 once they are gone.
    pub tracked_ips: u64,
    /// Connections accepted and not yet past their hello.
    pub pending_handshakes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_event_and_logs_once_per_window() {
        let log = AbuseLog::default();
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..100 {
            log.record(Abuse::IpRate, Some(ip), t0 + Duration::from_millis(i));
        }
        assert_eq!(log.count(Abuse::IpRate), 100);
        {
            let w = log.windows.lock().unwrap();
            // The first was logged at once; the other 99 wait for the window to end.
            assert_eq!(w[Abuse::IpRate.index()].count, 99);
            assert_eq!(w[Abuse::IpRate.index()].by_ip[&ip], 99);
        }
        log.record(Abuse::IpRate, None, t0 + LOG_WINDOW);
        let w = log.windows.lock().unwrap();
        assert_eq!(
            w[Abuse::IpRate.index()].count,
            0,
            "the aggregate was logged"
        );
        assert!(w[Abuse::IpRate.index()].by_ip.is_empty());
    }

    #[test]
    fn remembered_addresses_are_bounded() {
        let log = AbuseLog::default();
        let t0 = Instant::now();
        for i in 0..5000u32 {
            log.record(Abuse::Origin, Some(IpAddr::from(i.to_be_bytes())), t0);
        }
        assert_eq!(log.count(Abuse::Origin), 5000);
        assert!(
            log.windows.lock().unwrap()[Abuse::Origin.index()]
                .by_ip
                .len()
                <= LOG_IPS
        );
    }
}
