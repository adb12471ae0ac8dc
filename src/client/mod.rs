//! The Rust game client: an async WebSocket client ([`Client`]) driving the sans-IO
//! [`ClientSession`] over tokio-tungstenite, with an optional upgrade to WebRTC data channels,
//! and the bot swarm built on it ([`bots`]). Behind the `client` feature (on by default).
//!
//! # Layout
//!
//! - `mod.rs`: [`Client`], its socket, clock and event loop; [`Traffic`], [`ActiveTransport`].
//!   Runs on whichever task awaits [`Client::next_event`] (one tokio task per client).
//! - `config.rs`: [`ClientConfig`] and the session's [`SessionConfig`].
//! - `error.rs`: [`ClientError`], [`ConnectionEnd`].
//! - `upgrade.rs`: the WebRTC upgrade's state machine, sans-IO over an `UpgradePeer` trait
//!   (when to offer, give up, retry); [`WebRtcConfig`], [`WebRtcStats`]. Never awaits.
//! - `upgrade_driver.rs`: makes the machine's peers and awaits their sockets, inline in the
//!   client's task.
//! - `rtc.rs`: [`RtcClientPeer`], the str0m offerer with its own UDP socket.
//! - [`bots`]: the bot swarm, one tokio task per bot on the caller's runtime.
//! - `tests/`: the client's unit tests and `ScriptedServer`, the fake server they (and the
//!   bots' tests) play against.
//!
//! ```text
//!  Client task ── next_event ──┬─ WebSocket (tungstenite): frames, signaling, fallback
//!                              └─ UpgradeDriver ── Upgrade (pure) ── RtcClientPeer ── UDP
//! ```
//!
//! # The client
//!
//! The session is sans-IO; this module owns the socket and the clock. Time is a monotonic
//! microsecond count from an [`Instant`] captured when the [`Client`] is created, passed to
//! every `handle_*` call. After each frame read, everything the session wants to send is
//! written and flushed at once, so the ack for a snapshot leaves before the next frame is read
//! (the server deltas against the newest acknowledged tick, so late acks cost bandwidth).
//!
//! ```text
//!  next_event ──read──▶ handle_frame ──▶ poll_transmit* ──write+flush──▶ socket
//!      ▲                     │
//!      └──── poll_event ◀────┘      handle_timeout (pings) when poll_timeout is due
//! ```
//!
//! With [`ClientConfig::webrtc`], the client also upgrades to WebRTC data channels
//! (`tickwire::net::webrtc`): signaling rides on the WebSocket, and while the channels are open
//! input packets go on the unreliable `state` channel and snapshots arrive there. The
//! WebSocket stays open; when the channels fail, the client falls back to it and retries
//! later, without touching the session.
//!
//! Used by the bot swarm and by tests; browsers use the TypeScript SDK.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tickwire_protocol::message::Welcome;
use tickwire_protocol::session::{Channel, ClientEvent, ClientSession, ClientStats, SessionError};
use tickwire_protocol::{
    CloseCode, CloseReason, FRAME_CONTROL, KindLayout, Layout, ServerMessage, Snapshot,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use self::upgrade_driver::UpgradeDriver;

pub mod bots;
mod config;
mod error;
mod rtc;
mod upgrade;
mod upgrade_driver;

pub use self::config::{ClientConfig, SessionConfig, TrustError, tls_trusting};
pub use self::error::{ClientError, ConnectionEnd};
pub use self::rtc::{RtcClientPeer, RtcPeerError};
pub use self::upgrade::{RtcPeerEvent, WebRtcConfig, WebRtcStats};

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Round-trip samples kept for [`Client::take_rtt_samples`] when nobody takes them.
const MAX_RTT_SAMPLES: usize = 64;

/// Traffic counters of a [`Client`], over every connection it made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Payload bytes of binary messages from the server (no WebSocket framing).
    pub bytes_received: u64,
    /// Binary messages from the server.
    pub messages_received: u64,
    /// Payload bytes of binary messages to the server.
    pub bytes_sent: u64,
    /// Binary messages to the server.
    pub messages_sent: u64,
}

/// Which transport carries the client's snapshots and inputs right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveTransport {
    /// The WebSocket.
    WebSocket,
    /// The WebRTC data channels (the WebSocket stays open for signaling and reliable frames).
    WebRtc,
}

/// A game client on one WebSocket (replaced by [`Client::reconnect`]).
///
/// Drive it by awaiting [`Client::next_event`] in a loop; it reads frames, answers with acks
/// and pings, and returns the session's events. [`Client::next_event`] is cancel-safe, so it
/// can sit in a `tokio::select!` next to an input timer that calls [`Client::send_input`].
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    session: ClientSession,
    epoch: Instant,
    /// `None` once the connection is over.
    ws: Option<WsStream>,
    tx: Vec<u8>,
    /// A message taken from the session but not yet accepted by the socket; survives a
    /// cancelled write.
    out: Option<Message>,
    close_out: Option<CloseFrame>,
    /// A `Closed` event made from a WebSocket close code, for when no close message came.
    synthetic: Option<ClientEvent>,
    /// Set once the session closed with the WebSocket still open: read until then for the
    /// server's close frame.
    linger_until: Option<Instant>,
    end: Option<ConnectionEnd>,
    ws_close: Option<(u16, String)>,
    traffic: Traffic,
    rtt_samples: VecDeque<Duration>,
    /// The WebRTC upgrade, when configured and the session is established.
    upgrade: Option<UpgradeDriver>,
    /// Counters of upgrades that ended with a reconnect.
    past_webrtc: WebRtcStats,
}

impl Client {
    /// Connects to `url` (`ws://host:port/path`, or `wss://` with [`ClientConfig::tls`]) and
    /// completes the handshake; returns once the welcome arrived (its information is in
    /// [`Client::welcome`]; no `Connected` event is returned by [`Client::next_event`]).
    pub async fn connect(url: &str, config: ClientConfig) -> Result<Self, ClientError> {
        let session = ClientSession::new(config.session.clone());
        let mut client = Self {
            config,
            session,
            epoch: Instant::now(),
            ws: None,
            tx: Vec::new(),
            out: None,
            close_out: None,
            synthetic: None,
            linger_until: None,
            end: None,
            ws_close: None,
            traffic: Traffic::default(),
            rtt_samples: VecDeque::new(),
            upgrade: None,
            past_webrtc: WebRtcStats::default(),
        };
        client.open_and_handshake(url).await?;
        Ok(client)
    }

    /// Continues the session on a new connection to `url`: the current WebSocket (if any) is
    /// dropped as if lost, and the hello asks to resume, so the server can go on with deltas
    /// against the last acknowledged tick. Returns once the welcome arrived; see
    /// [`Welcome::resumed`] in [`Client::welcome`] for whether the server resumed. On failure
    /// the client stays disconnected and `reconnect` may be called again.
    pub async fn reconnect(&mut self, url: &str) -> Result<(), ClientError> {
        self.ws = None;
        self.drop_upgrade();
        self.session.connection_lost();
        self.out = None;
        self.close_out = None;
        self.synthetic = None;
        self.linger_until = None;
        self.end = None;
        self.ws_close = None;
        self.open_and_handshake(url).await
    }

    async fn open_and_handshake(&mut self, url: &str) -> Result<(), ClientError> {
        let limit = self.config.handshake_timeout;
        match tokio::time::timeout(limit, self.open_and_handshake_inner(url)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.ws = None;
                Err(e)
            }
            Err(_) => {
                self.ws = None;
                self.session.connection_lost();
                self.end = Some(ConnectionEnd::WebSocketClosed {
                    code: None,
                    reason: "handshake timed out".to_owned(),
                });
                Err(ClientError::HandshakeTimeout(limit))
            }
        }
    }

    async fn open_and_handshake_inner(&mut self, url: &str) -> Result<(), ClientError> {
        let ws_config = self.config.websocket();
        let connector = self
            .config
            .tls
            .clone()
            .map(tokio_tungstenite::Connector::Rustls);
        let connected = tokio_tungstenite::connect_async_tls_with_config(
            url,
            Some(ws_config),
            self.config.nodelay,
            connector,
        )
        .await;
        let (ws, _response) = match connected {
            Ok(c) => c,
            Err(e) => return Err(ClientError::WebSocket(self.transport_failed(e))),
        };
        self.ws = Some(ws);
        self.session.connect(self.now_us());
        loop {
            while let Some(ev) = self.session.poll_event() {
                match ev {
                    ClientEvent::Connected { .. } => {}
                    ClientEvent::Closed(reason) => {
                        // Our own refusal goes to the server as a WebSocket close code.
                        let _best_effort = self.flush().await;
                        self.ws = None;
                        let end = self.end.get_or_insert(ConnectionEnd::Server(reason));
                        return Err(end.clone().into_error());
                    }
                    // Nothing else is sent before the welcome.
                    _ => {}
                }
            }
            if self.synthetic.take().is_some() || self.ws.is_none() {
                self.ws = None;
                let end = self.end.get_or_insert(ConnectionEnd::WebSocketClosed {
                    code: None,
                    reason: String::new(),
                });
                return Err(end.clone().into_error());
            }
            if self.session.is_established() {
                if let Some(cfg) = &self.config.webrtc {
                    let cfg = self.stall_capped(cfg.clone());
                    self.upgrade = Some(UpgradeDriver::new(cfg, Instant::now()));
                }
                return Ok(());
            }
            if let Err(e) = self.flush().await {
                return Err(ClientError::WebSocket(self.transport_failed(e)));
            }
            let msg = match self.ws.as_mut() {
                Some(ws) => ws.next().await,
                None => None,
            };
            self.handle_ws(msg);
        }
    }

    /// Microseconds since this client was created: the clock the session runs on.
    pub fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// The next event: snapshots decoded, decode failures, game events, signaling, and
    /// `Closed` when the server ended the session (from its close message or its WebSocket
    /// close code). `None` once the connection is over; [`Client::end`] says why.
    ///
    /// Reads frames, feeds the session, sends acks and pings. Cancel-safe.
    pub async fn next_event(&mut self) -> Option<ClientEvent> {
        loop {
            if let Some(ev) = self.session.poll_event().or_else(|| self.synthetic.take()) {
                if let (ClientEvent::Signal(s), Some(up)) = (&ev, self.upgrade.as_mut()) {
                    up.machine_mut().handle_signal(Instant::now(), s.clone());
                    continue;
                }
                return Some(ev);
            }
            if self.take_webrtc_frames() {
                continue;
            }
            self.ws.as_ref()?;
            if let Some(up) = self.upgrade.as_mut()
                && self.session.is_established()
                && self.end.is_none()
                && up
                    .machine()
                    .poll_timeout()
                    .is_some_and(|t| Instant::now() >= t)
            {
                up.handle_timeout(Instant::now()).await;
                continue;
            }
            if let Err(e) = self.flush().await {
                self.transport_failed(e);
                continue;
            }
            let mut deadline = match self.linger_until {
                Some(t) => Some(t),
                None => self
                    .session
                    .poll_timeout()
                    .map(|us| self.epoch + Duration::from_micros(us)),
            };
            if let Some(t) = self
                .upgrade
                .as_ref()
                .and_then(|u| u.machine().poll_timeout())
            {
                deadline = Some(deadline.map_or(t, |d| d.min(t)));
            }
            let Some(ws) = self.ws.as_mut() else {
                continue;
            };
            let upgrade = self.upgrade.as_mut();
            let rtc = async {
                match upgrade {
                    Some(up) => up.wait().await,
                    None => std::future::pending().await,
                }
            };
            // Far enough to never fire; the branch is disabled without a deadline anyway.
            let sleep_until =
                deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                msg = ws.next() => self.handle_ws(msg),
                () = rtc => {}
                () = tokio::time::sleep_until(sleep_until.into()), if deadline.is_some() => {
                    self.handle_deadline();
                }
            }
        }
    }

    /// Feeds frames that arrived on the data channels to the session; true if there were any.
    fn take_webrtc_frames(&mut self) -> bool {
        let now = Instant::now();
        let mut any = false;
        while let Some(f) = self
            .upgrade
            .as_mut()
            .and_then(|u| u.machine_mut().poll_frame(now))
        {
            self.handle_binary(&f);
            any = true;
        }
        any
    }

    fn drop_upgrade(&mut self) {
        if let Some(mut up) = self.upgrade.take() {
            up.machine_mut().stop();
            self.past_webrtc += up.machine().stats();
        }
    }

    /// Starts a WebRTC upgrade now (replacing a running attempt). Needs
    /// [`ClientConfig::webrtc`]; the offer goes out with the next flush.
    pub async fn start_webrtc(&mut self) -> Result<(), ClientError> {
        if !self.is_connected() {
            return Err(ClientError::NotConnected);
        }
        let Some(cfg) = &self.config.webrtc else {
            return Err(ClientError::WebRtcNotConfigured);
        };
        let cfg = self.stall_capped(WebRtcConfig {
            auto: false,
            ..cfg.clone()
        });
        let up = self
            .upgrade
            .get_or_insert_with(|| UpgradeDriver::new(cfg, Instant::now()));
        up.start(Instant::now()).await;
        self.flush_or_fail().await
    }

    /// `cfg` with its stall timeout cut to two thirds of the snapshot history at the server's
    /// tick rate, so a fallback still finds an acknowledged baseline on the server (which
    /// keeps at most as many snapshots as this client).
    fn stall_capped(&self, mut cfg: WebRtcConfig) -> WebRtcConfig {
        if let Some(w) = self.session.welcome() {
            let tick = Duration::from_secs_f64(1.0 / f64::from(w.tick_rate.max(1)));
            let cap = tick.mul_f64(self.config.session.history as f64 * 2.0 / 3.0);
            cfg.stall_timeout = cfg.stall_timeout.min(cap);
        }
        cfg
    }

    /// Leaves WebRTC: closes the data channels, tells the server, and goes on over the
    /// WebSocket (no automatic retry until [`Client::start_webrtc`]).
    pub async fn stop_webrtc(&mut self) -> Result<(), ClientError> {
        if let Some(up) = self.upgrade.as_mut() {
            up.machine_mut().stop();
        }
        self.flush_or_fail().await
    }

    /// Which transport carries snapshots and inputs now.
    pub fn transport(&self) -> ActiveTransport {
        if self.upgrade.as_ref().is_some_and(|u| u.machine().is_open()) {
            ActiveTransport::WebRtc
        } else {
            ActiveTransport::WebSocket
        }
    }

    /// WebRTC upgrade counters, over every connection this client made.
    pub fn webrtc_stats(&self) -> WebRtcStats {
        let mut s = self.past_webrtc;
        if let Some(up) = &self.upgrade {
            s += up.machine().stats();
        }
        s
    }

    /// The local UDP address of the running WebRTC attempt, if any.
    pub fn webrtc_local_addr(&self) -> Option<std::net::SocketAddr> {
        self.upgrade.as_ref().and_then(UpgradeDriver::local_addr)
    }

    fn handle_deadline(&mut self) {
        if self.linger_until.is_some_and(|t| Instant::now() >= t) {
            // The server closed the session but not the WebSocket.
            self.ws = None;
            return;
        }
        let now = self.now_us();
        self.session.handle_timeout(now);
    }

    fn handle_ws(&mut self, msg: Option<Result<Message, WsError>>) {
        match msg {
            Some(Ok(Message::Binary(bytes))) => self.handle_binary(&bytes),
            Some(Ok(Message::Close(frame))) => self.handle_close_frame(frame),
            // The protocol only uses binary messages; tungstenite answers pings itself.
            Some(Ok(
                Message::Text(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_),
            )) => {}
            Some(Err(e)) => {
                self.transport_failed(e);
            }
            None => {
                self.ws = None;
                self.end.get_or_insert(ConnectionEnd::WebSocketClosed {
                    code: None,
                    reason: String::new(),
                });
            }
        }
    }

    fn handle_binary(&mut self, frame: &[u8]) {
        let now = self.now_us();
        self.traffic.bytes_received += frame.len() as u64;
        self.traffic.messages_received += 1;
        if frame.first() == Some(&FRAME_CONTROL)
            && let Ok(ServerMessage::Pong(p)) = ServerMessage::decode(frame)
        {
            if self.rtt_samples.len() == MAX_RTT_SAMPLES {
                self.rtt_samples.pop_front();
            }
            let rtt = now.saturating_sub(p.client_time_us);
            self.rtt_samples.push_back(Duration::from_micros(rtt));
        }
        match self.session.handle_frame(now, frame) {
            Ok(()) => {}
            Err(SessionError::PeerClosed(reason)) => {
                self.end.get_or_insert(ConnectionEnd::Server(reason));
            }
            Err(SessionError::Closed(reason)) => {
                self.close_out = Some(CloseFrame {
                    code: WsCloseCode::from(reason.code.websocket_code()),
                    reason: reason.message.clone().into(),
                });
                self.end.get_or_insert(ConnectionEnd::Client(reason));
            }
            // A frame after the session closed: the WebSocket close should follow.
            Err(_) => {}
        }
        if self.session.is_closed() && self.linger_until.is_none() {
            self.linger_until = Some(Instant::now() + self.config.close_timeout);
        }
    }

    fn handle_close_frame(&mut self, frame: Option<CloseFrame>) {
        let (code, text) = match &frame {
            Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
            None => (None, String::new()),
        };
        if let Some(c) = code {
            self.ws_close = Some((c, text.clone()));
        }
        if self.end.is_some() {
            return;
        }
        match code {
            Some(c @ 4000..=4999) => {
                let reason = CloseReason::new(CloseCode(c - 4000), text);
                self.synthetic = Some(ClientEvent::Closed(reason.clone()));
                self.end = Some(ConnectionEnd::Server(reason));
            }
            _ => {
                self.end = Some(ConnectionEnd::WebSocketClosed { code, reason: text });
            }
        }
        // The WebSocket stays until the stream ends, so the close reply gets flushed.
    }

    fn transport_failed(&mut self, e: WsError) -> Arc<WsError> {
        self.ws = None;
        let e = Arc::new(e);
        self.end
            .get_or_insert(ConnectionEnd::Transport(Arc::clone(&e)));
        e
    }

    /// Writes everything the session has to send, then flushes. A message taken from the
    /// session is kept in `self.out` until the socket accepts it, so cancelling loses nothing.
    async fn flush(&mut self) -> Result<(), WsError> {
        if let Some(up) = self.upgrade.as_mut() {
            while let Some(s) = up.machine_mut().poll_signal() {
                self.session.send_signal(s);
            }
        }
        let Some(ws) = self.ws.as_mut() else {
            return Ok(());
        };
        loop {
            if self.out.is_none() {
                self.out = match self.session.poll_transmit(&mut self.tx) {
                    // Input packets, and clock pings (so the clock sync measures the path
                    // the snapshots take), go on the unreliable channel while it is open.
                    Some(ch)
                        if (ch == Channel::Unreliable || is_ping(&self.tx))
                            && self.upgrade.as_mut().is_some_and(|u| {
                                u.machine_mut().send(Channel::Unreliable, &self.tx)
                            }) =>
                    {
                        self.traffic.bytes_sent += self.tx.len() as u64;
                        self.traffic.messages_sent += 1;
                        continue;
                    }
                    Some(_) => Some(Message::binary(self.tx.clone())),
                    None => self.close_out.take().map(|f| Message::Close(Some(f))),
                };
            }
            let Some(msg) = self.out.take() else { break };
            if let Err(e) = poll_fn(|cx| ws.poll_ready_unpin(cx)).await {
                self.out = Some(msg);
                return Err(e);
            }
            if let Message::Binary(b) = &msg {
                self.traffic.bytes_sent += b.len() as u64;
                self.traffic.messages_sent += 1;
            }
            ws.start_send_unpin(msg)?;
        }
        poll_fn(|cx| ws.poll_flush_unpin(cx)).await
    }

    /// Sends one input: quantized words laid out by the schema's input
    /// ([`Layout::input`]), stamped for the tick it should reach the server, with the
    /// previous inputs repeated and the newest ack. Returns its sequence number, which
    /// [`tickwire_protocol::SnapshotHeader::last_input_seq`] reports once applied.
    pub async fn send_input(&mut self, words: &[u32]) -> Result<u32, ClientError> {
        if !self.is_connected() {
            return Err(ClientError::NotConnected);
        }
        let expected = self.input_layout().map_or(0, |l| l.words);
        if words.len() != expected {
            return Err(ClientError::InputWords {
                got: words.len(),
                expected,
            });
        }
        let seq = self.session.send_input(self.now_us(), words)?;
        self.flush_or_fail().await?;
        Ok(seq)
    }

    /// Sends a reliable game event.
    pub async fn send_event(&mut self, payload: Vec<u8>) -> Result<(), ClientError> {
        if !self.is_connected() {
            return Err(ClientError::NotConnected);
        }
        self.session.send_event(payload);
        self.flush_or_fail().await
    }

    async fn flush_or_fail(&mut self) -> Result<(), ClientError> {
        match self.flush().await {
            Ok(()) => Ok(()),
            Err(e) => Err(ClientError::WebSocket(self.transport_failed(e))),
        }
    }

    /// Leaves on purpose: sends a leave message and a WebSocket close, then waits (at most
    /// [`ClientConfig::close_timeout`]) for the server's close reply. No resume is possible
    /// afterwards. Counters and the last world stay readable.
    pub async fn close(&mut self) -> Result<(), ClientError> {
        if self.ws.is_none() {
            return Ok(());
        }
        if let Some(up) = self.upgrade.as_mut() {
            up.machine_mut().stop();
        }
        self.session.leave();
        self.close_out = Some(CloseFrame {
            code: WsCloseCode::Normal,
            reason: "".into(),
        });
        self.end
            .get_or_insert(ConnectionEnd::Client(CloseReason::new(
                CloseCode::NORMAL,
                "client left",
            )));
        self.flush_or_fail().await?;
        if let Some(ws) = self.ws.as_mut() {
            let drain = async { while let Some(Ok(_)) = ws.next().await {} };
            let _timed_out = tokio::time::timeout(self.config.close_timeout, drain).await;
        }
        self.ws = None;
        Ok(())
    }

    /// The newest decoded snapshot.
    pub fn world(&self) -> Option<&Snapshot> {
        self.session.world()
    }

    /// The protocol session.
    pub fn session(&self) -> &ClientSession {
        &self.session
    }

    /// The layout compiled from the welcome's schema.
    pub fn layout(&self) -> Option<&Arc<Layout>> {
        self.session.layout()
    }

    /// The input layout: find fields with [`KindLayout::field`], write them into a buffer of
    /// [`KindLayout::words`] words with the [`tickwire_protocol::FieldLayout`] setters.
    pub fn input_layout(&self) -> Option<&KindLayout> {
        self.session.layout().map(|l| &l.input)
    }

    /// The last welcome (client id, player entity, tick rate, schema, whether resumed).
    pub fn welcome(&self) -> Option<&Welcome> {
        self.session.welcome()
    }

    /// Session counters: snapshots decoded, full snapshots, decode errors.
    pub fn stats(&self) -> ClientStats {
        self.session.stats()
    }

    /// Traffic counters.
    pub fn traffic(&self) -> Traffic {
        self.traffic
    }

    /// Round-trip times of the clock pings answered since the last call (at most the newest
    /// 64), each measured from the ping's send time echoed in its pong. The session's
    /// smoothed estimate is [`tickwire_protocol::clock::ClockSync::rtt_us`] on
    /// `session().clock()`.
    pub fn take_rtt_samples(&mut self) -> impl Iterator<Item = Duration> + '_ {
        self.rtt_samples.drain(..)
    }

    /// Whether the WebSocket is open, the session established, and neither side has started
    /// to close.
    pub fn is_connected(&self) -> bool {
        self.ws.is_some() && self.session.is_established() && self.end.is_none()
    }

    /// How the connection ended, once it did (or started ending).
    pub fn end(&self) -> Option<&ConnectionEnd> {
        self.end.as_ref()
    }

    /// The server's close reason, when the server ended the session.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        match &self.end {
            Some(ConnectionEnd::Server(r)) => Some(r),
            _ => None,
        }
    }

    /// Code and text of the WebSocket close frame the server sent, if one arrived.
    pub fn websocket_close(&self) -> Option<(u16, &str)> {
        self.ws_close.as_ref().map(|(c, t)| (*c, t.as_str()))
    }
}

/// Whether `frame` is a clock ping.
fn is_ping(frame: &[u8]) -> bool {
    frame.first() == Some(&FRAME_CONTROL)
        && matches!(
            tickwire_protocol::ClientMessage::decode(frame),
            Ok(tickwire_protocol::ClientMessage::Ping { .. })
        )
}

#[cfg(test)]
mod tests;
