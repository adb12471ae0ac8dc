//! The client's upgrade state machine: when to offer, when to give up, when to retry.
//!
//! ```text
//!  Waiting ──retry time──▶ Offering ──both channels open──▶ Open
//!     ▲                       │ open timeout, refused,         │ closed, stalled,
//!     └──── backoff ×2 ───────┴ Abandon from the server ───────┘ Abandon from the server
//! ```
//!
//! Sans-IO, like `client-ts/src/upgrade.ts`: no socket, no clock, no runtime. Time is the `now`
//! passed to every call, and the peer is anything that implements [`UpgradePeer`]. The machine
//! does not make peers: starting an attempt queues a [`PeerRequest`] for the caller (the
//! socket-owning driver in `upgrade_driver.rs`), which makes the peer and its offer and hands
//! them back with [`Upgrade::handle_peer`].
//!
//! Push with `handle_*`; pull peer requests with [`Upgrade::poll_peer_request`], signals for
//! the server with [`Upgrade::poll_signal`] and frames from the data channels with
//! [`Upgrade::poll_frame`], each until `None`; call [`Upgrade::handle_timeout`] once
//! [`Upgrade::poll_timeout`] has passed. The WebSocket is never touched here: the session stays
//! on it whatever happens to the peer.

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::AddAssign;
use std::time::{Duration, Instant};

use tickwire_protocol::message::Signal;
use tickwire_protocol::session::Channel;

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

impl AddAssign for WebRtcStats {
    fn add_assign(&mut self, s: Self) {
        self.attempts += s.attempts;
        self.opened += s.opened;
        self.failed_attempts += s.failed_attempts;
        self.fallbacks += s.fallbacks;
        self.frames_received += s.frames_received;
        self.frames_sent += s.frames_sent;
    }
}

/// What a peer reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcPeerEvent {
    /// Both data channels are open.
    Open,
    /// A message from the server on either channel.
    Frame(Vec<u8>),
    /// The peer is gone.
    Closed(String),
}

/// One attempt's offering peer, as the machine drives it.
pub(crate) trait UpgradePeer {
    /// Why the peer refused an answer or a candidate.
    type Error: fmt::Display;

    /// Takes the server's answer to the offer.
    fn accept_answer(&mut self, sdp: &str) -> Result<(), Self::Error>;
    /// Takes a candidate trickled by the server.
    fn add_remote_candidate(&mut self, candidate: &str) -> Result<(), Self::Error>;
    /// Sends on the channel for `channel`; false when it cannot (not open, buffer full).
    fn send(&mut self, channel: Channel, frame: &[u8]) -> bool;
    /// Whether both channels are open and the peer is not closed.
    fn is_open(&self) -> bool;
    /// The next thing the peer has to report.
    fn poll_event(&mut self) -> Option<RtcPeerEvent>;
    /// Closes the peer (best effort); the machine drops it afterwards.
    fn close(&mut self);
}

/// The machine started attempt `attempt` and wants its peer: make it, then call
/// [`Upgrade::handle_peer`] with this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerRequest {
    attempt: u64,
}

/// A peer made for a [`PeerRequest`], with its offer.
#[derive(Debug)]
pub(crate) struct PeerOffer<P> {
    pub(crate) peer: P,
    /// The SDP offer.
    pub(crate) sdp: String,
    /// The local candidate to trickle after the offer.
    pub(crate) candidate: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No attempt running; the next starts at the given time (never without `auto`).
    Waiting(Option<Instant>),
    /// An offer is out, or its peer is still being made.
    Offering {
        deadline: Instant,
    },
    Open,
}

/// One client's upgrade, over peers of type `P`; see the module docs.
#[derive(Debug)]
pub(crate) struct Upgrade<P> {
    cfg: WebRtcConfig,
    peer: Option<P>,
    phase: Phase,
    /// Number of the newest attempt; a peer handed back for an older one is closed.
    attempt: u64,
    request: Option<PeerRequest>,
    last_rx: Instant,
    backoff: Duration,
    stats: WebRtcStats,
    signals: VecDeque<Signal>,
    frames: VecDeque<Vec<u8>>,
}

impl<P: UpgradePeer> Upgrade<P> {
    /// With [`WebRtcConfig::auto`], the first attempt is due at `now`.
    pub(crate) fn new(cfg: WebRtcConfig, now: Instant) -> Self {
        let first = cfg.auto.then_some(now);
        Self {
            backoff: cfg.retry_initial,
            cfg,
            peer: None,
            phase: Phase::Waiting(first),
            attempt: 0,
            request: None,
            last_rx: now,
            stats: WebRtcStats::default(),
            signals: VecDeque::new(),
            frames: VecDeque::new(),
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.phase == Phase::Open && self.peer.as_ref().is_some_and(P::is_open)
    }

    pub(crate) fn stats(&self) -> WebRtcStats {
        self.stats
    }

    /// The running attempt's peer, once made.
    pub(crate) fn peer(&self) -> Option<&P> {
        self.peer.as_ref()
    }

    pub(crate) fn peer_mut(&mut self) -> Option<&mut P> {
        self.peer.as_mut()
    }

    /// Starts an attempt now (replacing a running one): asks for a peer through
    /// [`Upgrade::poll_peer_request`].
    pub(crate) fn start(&mut self, now: Instant) {
        self.drop_peer();
        self.stats.attempts += 1;
        self.attempt += 1;
        self.request = Some(PeerRequest {
            attempt: self.attempt,
        });
        self.phase = Phase::Offering {
            deadline: now + self.cfg.open_timeout,
        };
    }

    /// The peer asked for by the last [`Upgrade::start`], if not yet taken.
    pub(crate) fn poll_peer_request(&mut self) -> Option<PeerRequest> {
        self.request.take()
    }

    /// The peer and offer made for `request`, or why none could be made. A peer for an attempt
    /// that is over (stopped or replaced meanwhile) is closed and dropped.
    pub(crate) fn handle_peer<E: fmt::Display>(
        &mut self,
        now: Instant,
        request: PeerRequest,
        made: Result<PeerOffer<P>, E>,
    ) {
        let current = request.attempt == self.attempt
            && self.peer.is_none()
            && matches!(self.phase, Phase::Offering { .. });
        match made {
            Ok(mut offer) if !current => offer.peer.close(),
            Err(_) if !current => {}
            Ok(offer) => {
                self.peer = Some(offer.peer);
                self.signals.push_back(Signal::Offer { sdp: offer.sdp });
                self.signals.push_back(Signal::Candidate {
                    candidate: offer.candidate,
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
        self.drop_peer();
        self.phase = Phase::Waiting(None);
    }

    /// Closes the running attempt's peer and forgets a request not yet answered.
    fn drop_peer(&mut self) {
        self.request = None;
        if let Some(mut p) = self.peer.take() {
            p.close();
        }
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
        self.drop_peer();
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
        while let Some(ev) = self.peer.as_mut().and_then(P::poll_event) {
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
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.drain_peer(now);
        match self.phase {
            Phase::Waiting(Some(t)) if now >= t => self.start(now),
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

    /// The next signal for the server, to send on the WebSocket.
    pub(crate) fn poll_signal(&mut self) -> Option<Signal> {
        self.signals.pop_front()
    }

    /// The next frame from the data channels, for the session.
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
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    /// What a [`FakePeer`] was told, and what it will report; shared with the test.
    #[derive(Debug, Default)]
    struct Log {
        answers: Vec<String>,
        candidates: Vec<String>,
        sent: Vec<(Channel, Vec<u8>)>,
        events: VecDeque<RtcPeerEvent>,
        open: bool,
        closed: bool,
        /// Refuse answers and candidates.
        refuse: bool,
    }

    #[derive(Debug)]
    struct FakePeer(Rc<RefCell<Log>>);

    impl UpgradePeer for FakePeer {
        type Error = &'static str;

        fn accept_answer(&mut self, sdp: &str) -> Result<(), Self::Error> {
            let mut l = self.0.borrow_mut();
            if l.refuse {
                return Err("bad answer");
            }
            l.answers.push(sdp.to_owned());
            Ok(())
        }

        fn add_remote_candidate(&mut self, candidate: &str) -> Result<(), Self::Error> {
            let mut l = self.0.borrow_mut();
            if l.refuse {
                return Err("bad candidate");
            }
            l.candidates.push(candidate.to_owned());
            Ok(())
        }

        fn send(&mut self, channel: Channel, frame: &[u8]) -> bool {
            let mut l = self.0.borrow_mut();
            let ok = l.open && !l.closed;
            if ok {
                l.sent.push((channel, frame.to_vec()));
            }
            ok
        }

        fn is_open(&self) -> bool {
            let l = self.0.borrow();
            l.open && !l.closed
        }

        fn poll_event(&mut self) -> Option<RtcPeerEvent> {
            self.0.borrow_mut().events.pop_front()
        }

        fn close(&mut self) {
            self.0.borrow_mut().closed = true;
        }
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn config() -> WebRtcConfig {
        WebRtcConfig {
            open_timeout: ms(5000),
            stall_timeout: ms(700),
            retry_initial: ms(1000),
            retry_max: ms(4000),
            ..WebRtcConfig::default()
        }
    }

    /// The machine on a manual clock, with the peers it was handed.
    struct Rig {
        up: Upgrade<FakePeer>,
        t0: Instant,
        peers: Vec<Rc<RefCell<Log>>>,
    }

    impl Rig {
        fn new(cfg: WebRtcConfig) -> Self {
            let t0 = Instant::now();
            Self {
                up: Upgrade::new(cfg, t0),
                t0,
                peers: Vec::new(),
            }
        }

        fn at(&self, ms_since_start: u64) -> Instant {
            self.t0 + ms(ms_since_start)
        }

        /// Answers a pending peer request as the driver does; true if there was one.
        fn make_peer(&mut self, now: Instant) -> bool {
            let Some(req) = self.up.poll_peer_request() else {
                return false;
            };
            let log = Rc::new(RefCell::new(Log::default()));
            self.peers.push(Rc::clone(&log));
            let offer = PeerOffer {
                peer: FakePeer(log),
                sdp: format!("offer {}", self.peers.len()),
                candidate: "a=candidate:1".to_owned(),
            };
            self.up.handle_peer(now, req, Ok::<_, &str>(offer));
            true
        }

        fn timeout(&mut self, now: Instant) {
            self.up.handle_timeout(now);
            self.make_peer(now);
        }

        fn peer(&self) -> std::cell::RefMut<'_, Log> {
            self.peers.last().expect("a peer").borrow_mut()
        }

        fn signals(&mut self) -> Vec<Signal> {
            std::iter::from_fn(|| self.up.poll_signal()).collect()
        }

        /// Starts an attempt at `now`, takes the answer and opens both channels.
        fn open(&mut self, now: Instant) {
            self.up.start(now);
            self.make_peer(now);
            self.signals();
            self.up.handle_signal(
                now,
                Signal::Answer {
                    sdp: "answer".into(),
                },
            );
            self.peer().open = true;
            self.peer().events.push_back(RtcPeerEvent::Open);
            assert_eq!(self.up.poll_frame(now), None);
            assert!(self.up.is_open());
        }
    }

    #[test]
    fn offers_then_opens_and_carries_frames() {
        let mut r = Rig::new(config());
        assert_eq!(
            r.up.poll_timeout(),
            Some(r.at(0)),
            "the first attempt is due at once"
        );
        assert!(r.up.poll_peer_request().is_none());
        r.timeout(r.at(0));
        assert_eq!(
            r.signals(),
            vec![
                Signal::Offer {
                    sdp: "offer 1".into()
                },
                Signal::Candidate {
                    candidate: "a=candidate:1".into(),
                    mid: None
                },
                Signal::EndOfCandidates,
            ]
        );
        assert_eq!(r.up.poll_timeout(), Some(r.at(5000)), "the open timeout");
        assert!(!r.up.send(Channel::Unreliable, b"early"), "not open yet");

        r.up.handle_signal(
            r.at(10),
            Signal::Answer {
                sdp: "answer".into(),
            },
        );
        r.up.handle_signal(
            r.at(10),
            Signal::Candidate {
                candidate: "a=candidate:2".into(),
                mid: None,
            },
        );
        r.up.handle_signal(r.at(10), Signal::EndOfCandidates);
        assert_eq!(r.peer().answers, ["answer"]);
        assert_eq!(r.peer().candidates, ["a=candidate:2"]);

        r.peer().open = true;
        r.peer().events.push_back(RtcPeerEvent::Open);
        r.peer()
            .events
            .push_back(RtcPeerEvent::Frame(b"snapshot".to_vec()));
        assert_eq!(r.up.poll_frame(r.at(50)), Some(b"snapshot".to_vec()));
        assert_eq!(r.up.poll_frame(r.at(50)), None);
        assert!(r.up.is_open());
        assert_eq!(r.up.poll_timeout(), Some(r.at(750)), "the stall timeout");
        assert!(r.up.send(Channel::Unreliable, b"input"));
        assert_eq!(r.peer().sent, [(Channel::Unreliable, b"input".to_vec())]);
        assert!(r.signals().is_empty());
        let s = r.up.stats();
        assert_eq!(
            (s.attempts, s.opened, s.frames_received, s.frames_sent),
            (1, 1, 1, 1)
        );
    }

    #[test]
    fn a_stall_falls_back_and_retries_with_backoff() {
        let mut r = Rig::new(config());
        r.open(r.at(0));
        r.up.handle_timeout(r.at(699));
        assert!(r.up.is_open(), "not stalled yet");
        r.up.handle_timeout(r.at(700));
        assert!(!r.up.is_open());
        assert_eq!(r.signals(), [Signal::Abandon], "the server is told");
        assert!(r.peer().closed);
        assert!(!r.up.send(Channel::Unreliable, b"input"));
        assert_eq!(r.up.stats().fallbacks, 1);

        // Retry after the initial backoff; this attempt never opens.
        assert_eq!(r.up.poll_timeout(), Some(r.at(1700)));
        r.timeout(r.at(1699));
        assert_eq!(r.peers.len(), 1, "not yet");
        r.timeout(r.at(1700));
        assert_eq!(r.peers.len(), 2);
        assert_eq!(r.up.poll_timeout(), Some(r.at(6700)));
        r.signals();
        r.timeout(r.at(6700));
        assert_eq!(r.signals(), [Signal::Abandon]);
        assert!(r.peer().closed);
        let s = r.up.stats();
        assert_eq!((s.attempts, s.failed_attempts, s.fallbacks), (2, 1, 1));
        // The backoff doubled.
        assert_eq!(r.up.poll_timeout(), Some(r.at(8700)));
    }

    #[test]
    fn retries_double_up_to_the_cap_and_reset_once_open() {
        let mut r = Rig::new(config());
        let mut now = r.at(0);
        let mut waits = Vec::new();
        for _ in 0..5 {
            r.timeout(now);
            let deadline = r.up.poll_timeout().expect("open timeout");
            r.timeout(deadline);
            let retry = r.up.poll_timeout().expect("retry");
            waits.push((retry - deadline).as_millis());
            now = retry;
        }
        assert_eq!(waits, [1000, 2000, 4000, 4000, 4000]);
        assert_eq!(r.up.stats().failed_attempts, 5);

        r.open(now);
        r.peer().closed = true;
        r.peer()
            .events
            .push_back(RtcPeerEvent::Closed("gone".into()));
        r.up.handle_timeout(now);
        assert_eq!(r.signals(), [Signal::Abandon]);
        assert_eq!(
            r.up.poll_timeout(),
            Some(now + ms(1000)),
            "back to the initial wait"
        );
    }

    #[test]
    fn abandon_from_the_server_is_not_echoed() {
        let mut r = Rig::new(config());
        r.timeout(r.at(0));
        r.signals();
        r.up.handle_signal(r.at(20), Signal::Abandon);
        assert!(r.signals().is_empty());
        assert!(r.peer().closed);
        assert_eq!(r.up.stats().failed_attempts, 1);
        assert_eq!(r.up.poll_timeout(), Some(r.at(1020)));

        // Once open, an abandon is a fallback.
        r.open(r.at(1020));
        r.up.handle_signal(r.at(1100), Signal::Abandon);
        assert!(!r.up.is_open());
        assert!(r.signals().is_empty());
        assert_eq!(r.up.stats().fallbacks, 1);
        // A signal without a peer is dropped.
        r.up.handle_signal(r.at(1200), Signal::Answer { sdp: "late".into() });
        assert_eq!(r.peer().answers.len(), 1);
    }

    #[test]
    fn a_refused_answer_is_abandoned() {
        let mut r = Rig::new(config());
        r.timeout(r.at(0));
        r.signals();
        r.peer().refuse = true;
        r.up.handle_signal(r.at(5), Signal::Answer { sdp: "bad".into() });
        assert_eq!(r.signals(), [Signal::Abandon]);
        assert!(r.peer().closed);
        assert_eq!(r.up.stats().failed_attempts, 1);
    }

    #[test]
    fn a_peer_that_cannot_be_made_is_a_failed_attempt() {
        let mut r = Rig::new(config());
        r.up.handle_timeout(r.at(0));
        let req = r.up.poll_peer_request().expect("a request");
        assert!(r.up.poll_peer_request().is_none(), "asked once");
        r.up.handle_peer::<&str>(r.at(0), req, Err("no udp"));
        assert!(r.signals().is_empty(), "nothing was offered");
        let s = r.up.stats();
        assert_eq!((s.attempts, s.failed_attempts), (1, 1));
        assert_eq!(r.up.poll_timeout(), Some(r.at(1000)));
    }

    #[test]
    fn without_auto_only_start_offers_and_stop_waits_for_it() {
        let mut r = Rig::new(WebRtcConfig {
            auto: false,
            ..config()
        });
        assert_eq!(r.up.poll_timeout(), None);
        r.timeout(r.at(60_000));
        assert!(r.peers.is_empty());

        r.up.start(r.at(100));
        r.make_peer(r.at(100));
        assert_eq!(r.peers.len(), 1);
        r.signals();
        // A failure schedules no retry.
        r.timeout(r.at(5100));
        assert_eq!(r.signals(), [Signal::Abandon]);
        assert_eq!(r.up.poll_timeout(), None);

        // Stop tells the server only when a peer is running.
        r.open(r.at(6000));
        r.up.stop();
        assert_eq!(r.signals(), [Signal::Abandon]);
        assert!(r.peer().closed);
        assert_eq!(r.up.poll_timeout(), None);
        r.up.stop();
        assert!(r.signals().is_empty());
    }

    #[test]
    fn a_peer_for_a_replaced_attempt_is_closed() {
        let mut r = Rig::new(config());
        r.up.handle_timeout(r.at(0));
        let stale = r.up.poll_peer_request().expect("a request");
        r.up.stop();
        let log = Rc::new(RefCell::new(Log::default()));
        let offer = PeerOffer {
            peer: FakePeer(Rc::clone(&log)),
            sdp: "stale".into(),
            candidate: String::new(),
        };
        r.up.handle_peer(r.at(1), stale, Ok::<_, &str>(offer));
        assert!(log.borrow().closed);
        assert!(r.up.peer().is_none());
        assert!(r.signals().is_empty());

        // Start replaces a running attempt, closing its peer.
        r.up.start(r.at(2));
        r.make_peer(r.at(2));
        r.up.start(r.at(3));
        assert!(r.peer().closed);
        r.make_peer(r.at(3));
        assert_eq!(r.up.stats().attempts, 3);
        assert!(!r.peer().closed);
    }
}
