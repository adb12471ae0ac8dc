//! The client's upgrade state machine: when to offer, when to give up, when to retry.
//!
//! ```text
//!  Waiting ──retry time──▶ Offering ──both channels open──▶ Open
//!     ▲                       │ open timeout, refused,         │ closed, stalled,
//!     └──── backoff ×2 ───────┴ Abandon from the server ───────┘ Abandon from the server
//! ```
//!
//! Push with `handle_*`, pull signals for the server with [`Upgrade::poll_signal`] and frames
//! from the data channels with [`Upgrade::poll_frame`]. The WebSocket is never touched here:
//! the session stays on it whatever happens to the peer.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tickwire_protocol::message::Signal;
use tickwire_protocol::session::Channel;

use super::rtc::{RtcClientPeer, RtcPeerEvent};

/// Settings of a client's WebRTC upgrade.
#[derive(Debug, Clone)]
pub struct WebRtcConfig {
    /// Upgrade right after the welcome, and again after each fallback (with backoff). With
    /// `false`, only [`crate::client::Client::start_webrtc`] starts an attempt. Default true.
    pub auto: bool,
    /// IP the client's UDP socket binds (port 0). Default `127.0.0.1`.
    pub local_ip: IpAddr,
    /// From the offer to both channels open; past it the attempt is abandoned. Default 5 s.
    pub open_timeout: Duration,
    /// Nothing received on the data channels for this long while open: back to the
    /// WebSocket. The client cuts it to two thirds of the snapshot history at the server's
    /// tick rate, so the fallback goes on with deltas. Default 700 ms.
    pub stall_timeout: Duration,
    /// First wait before retrying after a failure; doubles per failure. Default 1 s.
    pub retry_initial: Duration,
    /// Longest wait between attempts. Default 30 s.
    pub retry_max: Duration,
    /// Send every datagram to this address instead of the server's candidates (a relay or
    /// impairment proxy in tests). Default `None`.
    pub remote_override: Option<SocketAddr>,
}

impl Default for WebRtcConfig {
    fn default() -> Self {
        Self {
            auto: true,
            local_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            open_timeout: Duration::from_secs(5),
            stall_timeout: Duration::from_millis(700),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
            remote_override: None,
        }
    }
}

/// Counters of a client's upgrade attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebRtcStats {
    /// Offers sent.
    pub attempts: u64,
    /// Attempts whose channels opened.
    pub opened: u64,
    /// Attempts that never opened (timeout, refusal, error).
    pub failed_attempts: u64,
    /// Falls back to the WebSocket after the channels had opened.
    pub fallbacks: u64,
    /// Messages received on the data channels.
    pub frames_received: u64,
    /// Messages sent on the data channels.
    pub frames_sent: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No attempt running; the next starts at the given time (never without `auto`).
    Waiting(Option<Instant>),
    Offering {
        deadline: Instant,
    },
    Open,
}

/// One client's upgrade.
#[derive(Debug)]
pub(crate) struct Upgrade {
    cfg: WebRtcConfig,
    peer: Option<RtcClientPeer>,
    phase: Phase,
    last_rx: Instant,
    backoff: Duration,
    stats: WebRtcStats,
    signals: VecDeque<Signal>,
    frames: VecDeque<Vec<u8>>,
}

impl Upgrade {
    pub(crate) fn new(cfg: WebRtcConfig, now: Instant) -> Self {
        let first = cfg.auto.then_some(now);
        Self {
            backoff: cfg.retry_initial,
            cfg,
            peer: None,
            phase: Phase::Waiting(first),
            last_rx: now,
            stats: WebRtcStats::default(),
            signals: VecDeque::new(),
            frames: VecDeque::new(),
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.phase == Phase::Open && self.peer.as_ref().is_some_and(RtcClientPeer::is_open)
    }

    pub(crate) fn stats(&self) -> WebRtcStats {
        self.stats
    }

    /// The peer's local UDP address, while an attempt runs.
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.peer.as_ref().map(RtcClientPeer::local_addr)
    }

    /// Starts an attempt now (replacing a running one).
    pub(crate) async fn start(&mut self, now: Instant) {
        if let Some(mut p) = self.peer.take() {
            p.close();
        }
        self.stats.attempts += 1;
        match RtcClientPeer::offer(self.cfg.local_ip, self.cfg.remote_override).await {
            Ok((peer, offer, candidate)) => {
                self.peer = Some(peer);
                self.phase = Phase::Offering {
                    deadline: now + self.cfg.open_timeout,
                };
                self.signals.push_back(Signal::Offer { sdp: offer });
                self.signals.push_back(Signal::Candidate {
                    candidate,
                    mid: None,
                });
                self.signals.push_back(Signal::EndOfCandidates);
            }
            Err(e) => self.fail(now, &format!("could not start: {e}"), false),
        }
    }

    /// Gives up on WebRTC until [`Upgrade::start`] is called again.
    pub(crate) fn stop(&mut self) {
        if self.peer.is_some() {
            self.signals.push_back(Signal::Abandon);
        }
        if let Some(mut p) = self.peer.take() {
            p.close();
        }
        self.phase = Phase::Waiting(None);
    }

    /// Ends the current attempt and schedules the next one.
    fn fail(&mut self, now: Instant, why: &str, tell_server: bool) {
        tracing::debug!(%why, "webrtc attempt over; staying on the websocket");
        match self.phase {
            Phase::Open => self.stats.fallbacks += 1,
            _ => self.stats.failed_attempts += 1,
        }
        if tell_server {
            self.signals.push_back(Signal::Abandon);
        }
        if let Some(mut p) = self.peer.take() {
            p.close();
        }
        let retry = self.cfg.auto.then_some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(self.cfg.retry_max);
        self.phase = Phase::Waiting(retry);
    }

    /// Signaling from the server.
    pub(crate) fn handle_signal(&mut self, now: Instant, signal: Signal) {
        let Some(peer) = self.peer.as_mut() else {
            return;
        };
        let result = match signal {
            Signal::Answer { sdp } => peer.accept_answer(&sdp),
            Signal::Candidate { candidate, .. } => peer.add_remote_candidate(&candidate),
            Signal::EndOfCandidates | Signal::Offer { .. } => Ok(()),
            Signal::Abandon => return self.fail(now, "the server abandoned webrtc", false),
        };
        if let Err(e) = result {
            self.fail(now, &e.to_string(), true);
        }
    }

    /// Takes what the peer reported: open, frames, closed.
    fn drain_peer(&mut self, now: Instant) {
        while let Some(ev) = self.peer.as_mut().and_then(RtcClientPeer::poll_event) {
            match ev {
                RtcPeerEvent::Open => {
                    self.phase = Phase::Open;
                    self.last_rx = now;
                    self.backoff = self.cfg.retry_initial;
                    self.stats.opened += 1;
                }
                RtcPeerEvent::Frame(f) => {
                    self.last_rx = now;
                    self.stats.frames_received += 1;
                    self.frames.push_back(f);
                }
                RtcPeerEvent::Closed(why) => return self.fail(now, &why, true),
            }
        }
    }

    /// Checks timeouts and starts a due retry.
    pub(crate) async fn handle_timeout(&mut self, now: Instant) {
        self.drain_peer(now);
        match self.phase {
            Phase::Waiting(Some(t)) if now >= t => self.start(now).await,
            Phase::Offering { deadline } if now >= deadline => {
                self.fail(now, "data channels not open in time", true);
            }
            Phase::Open if now >= self.last_rx + self.cfg.stall_timeout => {
                self.fail(now, "nothing received on the data channels", true);
            }
            _ => {}
        }
    }

    /// When [`Upgrade::handle_timeout`] has something to do.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Waiting(t) => t,
            Phase::Offering { deadline } => Some(deadline),
            Phase::Open => Some(self.last_rx + self.cfg.stall_timeout),
        }
    }

    pub(crate) fn poll_signal(&mut self) -> Option<Signal> {
        self.signals.pop_front()
    }

    pub(crate) fn poll_frame(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.drain_peer(now);
        self.frames.pop_front()
    }

    /// Sends on the data channel; false when not open (send on the WebSocket instead).
    pub(crate) fn send(&mut self, channel: Channel, frame: &[u8]) -> bool {
        if !self.is_open() {
            return false;
        }
        let sent = self.peer.as_mut().is_some_and(|p| p.send(channel, frame));
        if sent {
            self.stats.frames_sent += 1;
        }
        sent
    }

    /// Waits for the peer's socket or timer; never resolves without a peer. Cancel-safe.
    pub(crate) async fn wait(&mut self) {
        match self.peer.as_mut() {
            Some(p) => p.wait().await,
            None => std::future::pending().await,
        }
    }
}
