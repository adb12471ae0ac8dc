//! The server's WebRTC driver: one thread, one UDP socket, every peer.
//!
//! ```text
//!  ws task ──Command (crossbeam + mio Waker)──▶ driver thread ──send_to──▶ UDP socket
//!          ◀─PeerEvent (answer, open, closed)──     │  demux: ufrag, then source address
//!          ◀─control frames (bounded)────────────   ▼
//!  shard   ◀─input packets (the shard's bounded    str0m Rtc per peer (sans-IO, fed `now`)
//!            frame queue; full = drop)───────────
//! ```
//!
//! Input packets, the bulk of what clients send, go from this thread straight into the
//! shard's frame queue after the connection's [`Admission`] (size and rate, the same bucket its
//! WebSocket frames pay, so it outlives the connection's peers); control frames go to the
//! connection's task, which answers pings and signaling. The driver is woken (an eventfd write) only when it is parked: commands
//! sent while it works are drained in the same round.
//!
//! The thread owns every [`Rtc`]; nothing else touches them. Each call into a peer runs under
//! `catch_unwind`: a peer that panics is dropped and its connection told, the others go on.
//! A peer whose data channels are not open within the open timeout is reaped, which also
//! bounds DTLS handshakes that never finish; one that has received no datagram at all within
//! the (shorter) ICE timeout is reaped sooner, so offers that never follow up cannot hold the
//! negotiating slots. Caps: concurrent peers, peers still connecting (in all and per client
//! address), remote candidates per peer; one peer per connection (a new offer replaces it).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use serde::Serialize;
use str0m::change::SdpOffer;
use str0m::channel::ChannelId;
use str0m::config::DtlsCert;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Input, Output, Rtc};
use tickwire_protocol::session::Channel;
use tickwire_protocol::{CloseReason, FRAME_CONTROL};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Bytes;

use super::demux::{Demux, Route};
use crate::net::abuse::Abuse;
use crate::net::admission::Admission;
use crate::net::gate;
use crate::sim::Inbound;
use tickwire_protocol::session::{EVENTS_LABEL, STATE_LABEL};

const SOCKET: Token = Token(0);
const WAKER: Token = Token(1);
/// Remote candidates accepted per peer.
const MAX_REMOTE_CANDIDATES: usize = 16;
/// Largest datagram read.
const RECV_BUF: usize = 2048;
/// SCTP send buffer per peer: bounds memory when a peer does not take data.
const SCTP_BUFFER: usize = 256 * 1024;

/// Settings of the driver.
#[derive(Debug, Clone)]
pub(crate) struct DriverConfig {
    /// Address the UDP socket binds.
    pub(crate) bind: SocketAddr,
    /// IP advertised in the host candidate; `None` advertises the bound address.
    pub(crate) public_ip: Option<std::net::IpAddr>,
    /// Most peers at once.
    pub(crate) max_peers: usize,
    /// Most peers whose channels are not open yet.
    pub(crate) max_pending: usize,
    /// Most peers whose channels are not open yet, from one client address.
    pub(crate) max_pending_per_ip: usize,
    /// Time from offer to both data channels open before the peer is reaped.
    pub(crate) open_timeout: Duration,
    /// Time from offer to the peer's first datagram before it is reaped.
    pub(crate) ice_timeout: Duration,
    /// Largest data-channel message, in bytes.
    pub(crate) max_message_size: usize,
}

/// Why the driver could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DriverError {
    /// The socket or the poller failed.
    #[error("webrtc udp {0}: {1}")]
    Io(&'static str, io::Error),
    /// A wildcard bind with no public IP: there is no address to advertise.
    #[error(
        "--webrtc-udp binds {0}, a wildcard: set --webrtc-public-ip to the address clients reach"
    )]
    NoAdvertisedAddress(SocketAddr),
    /// The crypto backend could not make a DTLS certificate.
    #[error("could not generate a DTLS certificate")]
    Certificate,
}

/// What a connection asks of the driver. `generation` tells apart successive peers of one
/// connection (an upgrade retried after a fallback).
#[derive(Debug)]
pub(crate) enum Command {
    /// Answer this offer and start a peer, replacing the connection's earlier one.
    Open {
        conn: u64,
        generation: u32,
        offer: String,
        link: PeerLink,
    },
    /// A trickled remote candidate.
    Candidate {
        conn: u64,
        generation: u32,
        candidate: String,
    },
    /// A frame for the client.
    Send {
        conn: u64,
        generation: u32,
        channel: Channel,
        frame: Vec<u8>,
    },
    /// Drop the connection's peer.
    Close { conn: u64, generation: u32 },
}

/// What the driver tells a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PeerEvent {
    /// The SDP answer for the offer.
    Answer { generation: u32, sdp: String },
    /// Both data channels are open.
    Open { generation: u32 },
    /// The client broke a limit on the data channels: close the connection for this.
    Violation {
        generation: u32,
        reason: CloseReason,
    },
    /// The peer is gone (refused, failed, timed out or closed); the reason is for logs.
    /// `unheard`: it had answered an offer and received no datagram from the client.
    Closed {
        generation: u32,
        reason: String,
        unheard: bool,
    },
}

/// Where a peer's events and frames go.
#[derive(Debug, Clone)]
pub(crate) struct PeerLink {
    pub(crate) events: mpsc::UnboundedSender<PeerEvent>,
    /// Control frames from the client, with the generation of the peer they came through.
    pub(crate) frames: mpsc::Sender<(u32, Vec<u8>)>,
    /// The shard's frame queue, for everything else.
    pub(crate) shard: crossbeam_channel::Sender<Inbound>,
    /// When a message last arrived on the peer's channels, in microseconds since `epoch`
    /// (the task's stall and idle checks read it).
    pub(crate) activity: Arc<AtomicU64>,
    pub(crate) epoch: Instant,
    /// The connection's limits: every frame from its data channels is admitted here, and
    /// the connection's task does not charge it again.
    pub(crate) admission: Arc<Admission>,
}

/// Counters of the WebRTC side.
#[derive(Debug, Default)]
pub(crate) struct RtcStats {
    pub(crate) peers: AtomicU64,
    pub(crate) pending: AtomicU64,
    pub(crate) opened: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) reaped: AtomicU64,
    pub(crate) closed_after_open: AtomicU64,
    pub(crate) panics: AtomicU64,
    pub(crate) datagrams_in: AtomicU64,
    pub(crate) datagrams_out: AtomicU64,
    pub(crate) unrouted: AtomicU64,
    pub(crate) frames_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    pub(crate) frames_dropped: AtomicU64,
}

/// A reading of the WebRTC counters, in `/status.json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WebRtcReport {
    /// The UDP address every peer uses.
    pub udp: String,
    /// The address advertised in the host candidate.
    pub advertised: String,
    /// Peers now.
    pub peers: u64,
    /// Of which not open yet.
    pub pending: u64,
    /// Peers whose data channels opened, since start.
    pub opened: u64,
    /// Offers refused (caps, bad SDP).
    pub refused: u64,
    /// Peers reaped for not opening in time.
    pub reaped: u64,
    /// Peers that closed after opening (client left, failed, or fell back).
    pub closed_after_open: u64,
    /// Peers dropped because the WebRTC stack panicked.
    pub panics: u64,
    /// Datagrams received / sent.
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Datagrams that matched no peer.
    pub unrouted: u64,
    /// Data-channel messages received / sent / dropped (connection not reading, or the
    /// channel's buffer full).
    pub frames_in: u64,
    /// Data-channel messages sent.
    pub frames_out: u64,
    /// Data-channel messages dropped.
    pub frames_dropped: u64,
}

/// The connections' side of the driver.
#[derive(Debug)]
pub(crate) struct RtcHandle {
    tx: Sender<Command>,
    waker: Arc<Waker>,
    /// Set by the driver while it waits in `poll`; whoever clears it wakes the driver.
    parked: Arc<AtomicBool>,
    pub(crate) local_addr: SocketAddr,
    pub(crate) advertised: SocketAddr,
    pub(crate) stats: Arc<RtcStats>,
    stop: Arc<AtomicBool>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl RtcHandle {
    /// Queues a command for the driver. False when the driver is gone.
    pub(crate) fn send(&self, cmd: Command) -> bool {
        if self.tx.send(cmd).is_err() {
            return false;
        }
        // SeqCst pairs with the driver's store-then-check: either it sees the command before
        // parking, or this sees it parked and wakes it.
        if self.parked.swap(false, Ordering::SeqCst) {
            return self.waker.wake().is_ok();
        }
        true
    }

    pub(crate) fn report(&self) -> WebRtcReport {
        let s = &self.stats;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WebRtcReport {
            udp: self.local_addr.to_string(),
            advertised: self.advertised.to_string(),
            peers: l(&s.peers),
            pending: l(&s.pending),
            opened: l(&s.opened),
            refused: l(&s.refused),
            reaped: l(&s.reaped),
            closed_after_open: l(&s.closed_after_open),
            panics: l(&s.panics),
            datagrams_in: l(&s.datagrams_in),
            datagrams_out: l(&s.datagrams_out),
            unrouted: l(&s.unrouted),
            frames_in: l(&s.frames_in),
            frames_out: l(&s.frames_out),
            frames_dropped: l(&s.frames_dropped),
        }
    }

    /// Stops the driver thread and waits for it.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.parked.store(false, Ordering::SeqCst);
        let _ = self.waker.wake();
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// Binds the socket and starts the driver thread.
pub(crate) fn start(cfg: DriverConfig) -> Result<RtcHandle, DriverError> {
    let std_socket = std::net::UdpSocket::bind(cfg.bind).map_err(|e| DriverError::Io("bind", e))?;
    std_socket
        .set_nonblocking(true)
        .map_err(|e| DriverError::Io("nonblocking", e))?;
    let local_addr = std_socket
        .local_addr()
        .map_err(|e| DriverError::Io("local address", e))?;
    let advertised = match cfg.public_ip {
        Some(ip) => SocketAddr::new(ip, local_addr.port()),
        None if local_addr.ip().is_unspecified() => {
            return Err(DriverError::NoAdvertisedAddress(local_addr));
        }
        None => local_addr,
    };
    let mut socket = UdpSocket::from_std(std_socket);
    let poll = Poll::new().map_err(|e| DriverError::Io("poll", e))?;
    poll.registry()
        .register(&mut socket, SOCKET, Interest::READABLE)
        .map_err(|e| DriverError::Io("register", e))?;
    let waker =
        Arc::new(Waker::new(poll.registry(), WAKER).map_err(|e| DriverError::Io("waker", e))?);
    let cert = str0m::crypto::from_feature_flags()
        .dtls_provider
        .generate_certificate()
        .ok_or(DriverError::Certificate)?;
    let (tx, rx) = crossbeam_channel::unbounded();
    let stats = Arc::new(RtcStats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let parked = Arc::new(AtomicBool::new(false));
    let driver = Driver {
        parked: parked.clone(),
        cfg,
        socket,
        poll,
        rx,
        advertised,
        cert,
        peers: HashMap::new(),
        demux: Demux::default(),
        stats: stats.clone(),
        stop: stop.clone(),
        buf: vec![0; RECV_BUF],
        next_ufrag: 0,
        ufrag_salt: random_u64(),
    };
    let thread = std::thread::Builder::new()
        .name("tickwire-webrtc".into())
        .spawn(move || driver.run())
        .map_err(|e| DriverError::Io("spawn", e))?;
    Ok(RtcHandle {
        tx,
        waker,
        parked,
        local_addr,
        advertised,
        stats,
        stop,
        thread: std::sync::Mutex::new(Some(thread)),
    })
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // Without OS randomness the ufrags are still unique, only guessable.
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut b = vec![0u8; len];
    let _ = getrandom::fill(&mut b);
    b.iter()
        .map(|x| char::from(ALPHABET[usize::from(*x) % ALPHABET.len()]))
        .collect()
}

#[derive(Debug)]
struct Peer {
    generation: u32,
    rtc: Rtc,
    link: PeerLink,
    state: Option<ChannelId>,
    events: Option<ChannelId>,
    open: bool,
    /// A datagram for this peer has arrived.
    heard: bool,
    /// The client's address key ([`gate::key`]), when known.
    ip: Option<std::net::IpAddr>,
    created: Instant,
    next_timeout: Instant,
    candidates: usize,
    conn: u64,
    /// Set when the peer should be dropped, with the reason.
    dead: Option<String>,
}

struct Driver {
    parked: Arc<AtomicBool>,
    cfg: DriverConfig,
    socket: UdpSocket,
    poll: Poll,
    rx: Receiver<Command>,
    advertised: SocketAddr,
    cert: DtlsCert,
    peers: HashMap<u64, Peer>,
    demux: Demux<u64>,
    stats: Arc<RtcStats>,
    stop: Arc<AtomicBool>,
    buf: Vec<u8>,
    next_ufrag: u64,
    ufrag_salt: u64,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("advertised", &self.advertised)
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}

/// Runs `f` on a peer, turning a panic into the peer's death.
fn guarded<T>(peer: &mut Peer, stats: &RtcStats, f: impl FnOnce(&mut Peer) -> T) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(|| f(peer))) {
        Ok(v) => Some(v),
        Err(_) => {
            stats.panics.fetch_add(1, Ordering::Relaxed);
            peer.dead = Some("webrtc stack panicked".into());
            None
        }
    }
}

impl Driver {
    fn run(mut self) {
        let mut events = Events::with_capacity(64);
        while !self.stop.load(Ordering::Acquire) {
            let now = Instant::now();
            let wake = self.next_wake(now);
            let mut timeout = wake.saturating_duration_since(now);
            self.parked.store(true, Ordering::SeqCst);
            if !self.rx.is_empty() {
                timeout = Duration::ZERO;
            }
            let polled = self.poll.poll(&mut events, Some(timeout));
            self.parked.store(false, Ordering::SeqCst);
            if let Err(e) = polled
                && e.kind() != io::ErrorKind::Interrupted
            {
                tracing::error!(error = %e, "webrtc poll failed; driver stops");
                break;
            }
            self.drain_commands();
            self.drain_socket();
            self.handle_timeouts(Instant::now());
            self.remove_dead();
        }
        for (conn, peer) in self.peers.drain() {
            let _ = peer.link.events.send(PeerEvent::Closed {
                generation: peer.generation,
                reason: "server stopping".into(),
                unheard: false,
            });
            tracing::debug!(conn, "webrtc peer dropped at stop");
        }
    }

    fn next_wake(&self, now: Instant) -> Instant {
        let mut wake = now + Duration::from_millis(500);
        for p in self.peers.values() {
            wake = wake.min(p.next_timeout);
            if !p.open {
                wake = wake.min(p.created + self.cfg.open_timeout);
            }
            if !p.heard {
                wake = wake.min(p.created + self.cfg.ice_timeout);
            }
        }
        wake
    }

    fn drain_commands(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(cmd) => self.handle_command(cmd),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.stop.store(true, Ordering::Release);
                    return;
                }
            }
        }
    }

    fn handle_command(&mut self, cmd: Command) {
        match cmd {
            Command::Open {
                conn,
                generation,
                offer,
                link,
            } => self.open(conn, generation, &offer, link),
            Command::Candidate {
                conn,
                generation,
                candidate,
            } => {
                let stats = self.stats.clone();
                let Some(peer) = self.peer(conn, generation) else {
                    return;
                };
                peer.candidates += 1;
                if peer.candidates > MAX_REMOTE_CANDIDATES {
                    peer.dead = Some(format!("more than {MAX_REMOTE_CANDIDATES} candidates"));
                    return;
                }
                let line = candidate.strip_prefix("a=").unwrap_or(&candidate);
                match Candidate::from_sdp_string(line) {
                    Ok(c) => {
                        guarded(peer, &stats, |p| p.rtc.add_remote_candidate(c));
                        self.drive(conn);
                    }
                    Err(e) => tracing::debug!(conn, error = %e, "bad remote candidate ignored"),
                }
            }
            Command::Send {
                conn,
                generation,
                channel,
                frame,
            } => {
                let stats = self.stats.clone();
                let Some(peer) = self.peer(conn, generation) else {
                    stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                let id = match channel {
                    Channel::Unreliable => peer.state,
                    Channel::Reliable => peer.events,
                };
                let written = match id {
                    Some(id) if peer.open => guarded(peer, &stats, |p| {
                        p.rtc
                            .channel(id)
                            .map(|mut ch| ch.write(true, &frame).unwrap_or(false))
                    })
                    .flatten()
                    .unwrap_or(false),
                    _ => false,
                };
                let counter = if written {
                    &stats.frames_out
                } else {
                    &stats.frames_dropped
                };
                counter.fetch_add(1, Ordering::Relaxed);
                self.drive(conn);
            }
            Command::Close { conn, generation } => {
                if let Some(peer) = self.peer(conn, generation) {
                    peer.dead = Some("closed by the connection".into());
                }
            }
        }
    }

    fn peer(&mut self, conn: u64, generation: u32) -> Option<&mut Peer> {
        self.peers
            .get_mut(&conn)
            .filter(|p| p.generation == generation && p.dead.is_none())
    }

    fn refuse(&self, link: &PeerLink, generation: u32, reason: String) {
        self.stats.refused.fetch_add(1, Ordering::Relaxed);
        let _ = link.events.send(PeerEvent::Closed {
            generation,
            reason,
            unheard: false,
        });
    }

    fn open(&mut self, conn: u64, generation: u32, offer: &str, link: PeerLink) {
        if let Some(mut old) = self.peers.remove(&conn) {
            old.dead
                .get_or_insert_with(|| "replaced by a new offer".into());
            self.bury(conn, old);
        }
        if self.peers.len() >= self.cfg.max_peers {
            return self.refuse(&link, generation, "too many webrtc peers".into());
        }
        let pending = self.peers.values().filter(|p| !p.open).count();
        if pending >= self.cfg.max_pending {
            return self.refuse(&link, generation, "too many webrtc peers connecting".into());
        }
        let ip = link.admission.limited_ip().map(gate::key);
        if let Some(ip) = ip {
            let from_ip = self
                .peers
                .values()
                .filter(|p| !p.open && p.ip == Some(ip))
                .count();
            if from_ip >= self.cfg.max_pending_per_ip {
                link.admission.report(Abuse::RtcPendingIp, Instant::now());
                return self.refuse(
                    &link,
                    generation,
                    "too many webrtc peers connecting from one address".into(),
                );
            }
        }
        let offer = match SdpOffer::from_sdp_string(offer) {
            Ok(o) => o,
            Err(e) => return self.refuse(&link, generation, format!("bad offer: {e}")),
        };
        self.next_ufrag += 1;
        // Unique per peer (counter) and unguessable (salt and random suffix).
        let ufrag = format!(
            "{:x}{:x}{}",
            self.next_ufrag,
            self.ufrag_salt & 0xffff,
            random_token(6)
        );
        let creds = IceCreds {
            ufrag: ufrag.clone(),
            pass: random_token(24),
        };
        let now = Instant::now();
        let built = catch_unwind(AssertUnwindSafe(|| {
            let mut rtc = Rtc::builder()
                .set_local_ice_credentials(creds)
                .set_dtls_cert(self.cert.clone())
                .set_sctp_max_message_size(self.cfg.max_message_size as u32)
                .set_sctp_max_buffered_amount(SCTP_BUFFER)
                .build(now);
            let candidate = Candidate::host(self.advertised, "udp").map_err(|e| e.to_string())?;
            rtc.add_local_candidate(candidate);
            let answer = rtc
                .sdp_api()
                .accept_offer(offer)
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((rtc, answer.to_sdp_string()))
        }));
        let (rtc, answer) = match built {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                return self.refuse(&link, generation, format!("offer not accepted: {e}"));
            }
            Err(_) => {
                self.stats.panics.fetch_add(1, Ordering::Relaxed);
                return self.refuse(
                    &link,
                    generation,
                    "webrtc stack panicked on the offer".into(),
                );
            }
        };
        if !self.demux.insert(&ufrag, conn) {
            return self.refuse(&link, generation, "ufrag collision".into());
        }
        let _ = link.events.send(PeerEvent::Answer {
            generation,
            sdp: answer,
        });
        self.peers.insert(
            conn,
            Peer {
                generation,
                rtc,
                link,
                state: None,
                events: None,
                open: false,
                heard: false,
                ip,
                created: now,
                next_timeout: now,
                candidates: 0,
                conn,
                dead: None,
            },
        );
        self.stats.peers.fetch_add(1, Ordering::Relaxed);
        self.stats.pending.fetch_add(1, Ordering::Relaxed);
        self.drive(conn);
    }

    fn drain_socket(&mut self) {
        loop {
            let (n, source) = match self.socket.recv_from(&mut self.buf) {
                Ok(v) => v,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // ICMP errors surface here on some systems; the socket is still usable.
                    tracing::debug!(error = %e, "webrtc recv error");
                    continue;
                }
            };
            self.stats.datagrams_in.fetch_add(1, Ordering::Relaxed);
            let conn = match self.demux.route(source, &self.buf[..n]) {
                Route::Peer(c) => c,
                Route::UnknownUfrag | Route::UnknownSource => {
                    self.stats.unrouted.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            let now = Instant::now();
            let destination = self.advertised;
            let stats = self.stats.clone();
            let Some(peer) = self.peers.get_mut(&conn) else {
                continue;
            };
            peer.heard = true;
            let data = &self.buf[..n];
            let result = guarded(peer, &stats, |p| {
                let Ok(contents) = data.try_into() else {
                    return Ok(());
                };
                let input = Input::Receive(
                    now,
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        // The advertised address, which is the host candidate str0m checks
                        // the destination against, also when the socket binds a wildcard.
                        destination,
                        contents,
                    },
                );
                p.rtc.handle_input(input).map_err(|e| e.to_string())
            });
            if let Some(Err(e)) = result {
                peer.dead = Some(format!("webrtc input: {e}"));
            }
            self.drive(conn);
        }
    }

    fn handle_timeouts(&mut self, now: Instant) {
        let due: Vec<u64> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.next_timeout <= now
                    || (!p.open && now >= p.created + self.cfg.open_timeout)
                    || (!p.heard && now >= p.created + self.cfg.ice_timeout)
            })
            .map(|(c, _)| *c)
            .collect();
        for conn in due {
            let stats = self.stats.clone();
            let open_timeout = self.cfg.open_timeout;
            let ice_timeout = self.cfg.ice_timeout;
            let Some(peer) = self.peers.get_mut(&conn) else {
                continue;
            };
            if !peer.heard && now >= peer.created + ice_timeout {
                stats.reaped.fetch_add(1, Ordering::Relaxed);
                peer.link.admission.report(Abuse::RtcSilent, now);
                peer.dead = Some(format!(
                    "no ICE traffic within {} ms",
                    ice_timeout.as_millis()
                ));
                continue;
            }
            if !peer.open && now >= peer.created + open_timeout {
                stats.reaped.fetch_add(1, Ordering::Relaxed);
                peer.dead = Some(format!(
                    "data channels not open within {} ms",
                    open_timeout.as_millis()
                ));
                continue;
            }
            if let Some(Err(e)) = guarded(peer, &stats, |p| {
                p.rtc
                    .handle_input(Input::Timeout(now))
                    .map_err(|e| e.to_string())
            }) {
                peer.dead = Some(format!("webrtc timeout: {e}"));
            }
            self.drive(conn);
        }
    }

    /// Polls a peer's output until it asks for a timeout: sends its datagrams and forwards
    /// its events.
    fn drive(&mut self, conn: u64) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        let stats = self.stats.clone();
        let socket = &self.socket;
        guarded(peer, &stats, |p| {
            while p.dead.is_none() {
                let out = match p.rtc.poll_output() {
                    Ok(o) => o,
                    Err(e) => {
                        p.dead = Some(format!("webrtc output: {e}"));
                        break;
                    }
                };
                match out {
                    Output::Transmit(t) => {
                        if socket.send_to(&t.contents, t.destination).is_ok() {
                            stats.datagrams_out.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Output::Timeout(t) => {
                        p.next_timeout = t;
                        break;
                    }
                    Output::Event(e) => handle_event(p, e, &stats),
                }
                if !p.rtc.is_alive() {
                    p.dead.get_or_insert_with(|| "peer closed".into());
                }
            }
        });
    }

    fn remove_dead(&mut self) {
        let dead: Vec<u64> = self
            .peers
            .iter()
            .filter(|(_, p)| p.dead.is_some())
            .map(|(c, _)| *c)
            .collect();
        for conn in dead {
            if let Some(peer) = self.peers.remove(&conn) {
                self.bury(conn, peer);
            }
        }
    }

    fn bury(&mut self, conn: u64, mut peer: Peer) {
        self.demux.remove(conn);
        let reason = peer.dead.take().unwrap_or_default();
        let stats = self.stats.clone();
        // Best effort: tell the client's stack (DTLS close_notify, SCTP abort).
        guarded(&mut peer, &stats, |p| {
            if p.rtc.close().is_ok() {
                while let Ok(Output::Transmit(t)) = p.rtc.poll_output() {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
            }
        });
        self.stats.peers.fetch_sub(1, Ordering::Relaxed);
        if peer.open {
            self.stats.closed_after_open.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.pending.fetch_sub(1, Ordering::Relaxed);
        }
        tracing::debug!(conn, generation = peer.generation, %reason, "webrtc peer removed");
        let _ = peer.link.events.send(PeerEvent::Closed {
            generation: peer.generation,
            reason,
            unheard: !peer.heard,
        });
    }
}

fn handle_event(p: &mut Peer, e: Event, stats: &RtcStats) {
    match e {
        Event::ChannelOpen(id, label) => {
            match label.as_str() {
                STATE_LABEL => p.state = Some(id),
                EVENTS_LABEL => p.events = Some(id),
                _ => {
                    p.dead = Some(format!("unexpected data channel {label:?}"));
                    return;
                }
            }
            if !p.open && p.state.is_some() && p.events.is_some() {
                p.open = true;
                stats.pending.fetch_sub(1, Ordering::Relaxed);
                stats.opened.fetch_add(1, Ordering::Relaxed);
                let _ = p.link.events.send(PeerEvent::Open {
                    generation: p.generation,
                });
            }
        }
        Event::ChannelData(d) => {
            if !p.open {
                return;
            }
            stats.frames_in.fetch_add(1, Ordering::Relaxed);
            let at = Instant::now().saturating_duration_since(p.link.epoch);
            p.link
                .activity
                .fetch_max(at.as_micros() as u64, Ordering::Relaxed);
            let violation = p.link.admission.admit(Instant::now(), d.data.len()).err();
            if let Some(reason) = violation {
                let _ = p.link.events.send(PeerEvent::Violation {
                    generation: p.generation,
                    reason,
                });
                p.dead = Some("limit broken".into());
                return;
            }
            let delivered = if d.data.first() == Some(&FRAME_CONTROL) {
                p.link.frames.try_send((p.generation, d.data)).is_ok()
            } else {
                let frame = Inbound::Frame {
                    conn: p.conn,
                    frame: Bytes::from(d.data),
                };
                p.link.shard.try_send(frame).is_ok()
            };
            if !delivered {
                stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        Event::ChannelClose(_) => p.dead = Some("data channel closed".into()),
        Event::Closed => p.dead = Some("peer closed the connection".into()),
        Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
            p.dead = Some("ice disconnected".into());
        }
        _ => {}
    }
}
