//! The client side of a WebRTC upgrade: a str0m peer that makes the offer, with its own UDP
//! socket, driven inline by [`crate::client::Client`]'s event loop through the upgrade
//! machine's [`UpgradePeer`] interface.
//!
//! Time is read here (the edge), never inside str0m or the upgrade machine. [`RtcClientPeer::wait`] is cancel-safe:
//! it awaits a datagram or the peer's next timeout and handles it after the await.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, ChannelId, Reliability};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tickwire_protocol::session::Channel;
use tokio::net::UdpSocket;

use super::upgrade::{RtcPeerEvent, UpgradePeer};
use tickwire_protocol::session::{EVENTS_LABEL, STATE_LABEL};

/// Why an upgrade could not start or go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtcPeerError {
    /// The UDP socket failed.
    #[error("udp: {0}")]
    Io(#[from] io::Error),
    /// The WebRTC stack refused something (SDP, candidate).
    #[error("webrtc: {0}")]
    Rtc(String),
}

/// The offering side of one upgrade attempt.
#[derive(Debug)]
pub struct RtcClientPeer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    state: Option<ChannelId>,
    events: Option<ChannelId>,
    open: bool,
    closed: bool,
    out: VecDeque<RtcPeerEvent>,
    buf: Vec<u8>,
    next_timeout: Instant,
    remote_override: Option<SocketAddr>,
}

impl RtcClientPeer {
    /// Binds a UDP socket on `local_ip` (port 0), creates the two data channels and the offer.
    /// Returns the peer, the SDP offer and the local candidate to trickle. With
    /// `remote_override`, the server's candidates are replaced by that address (a relay).
    pub async fn offer(
        local_ip: IpAddr,
        remote_override: Option<SocketAddr>,
    ) -> Result<(Self, String, String), RtcPeerError> {
        let socket = UdpSocket::bind(SocketAddr::new(local_ip, 0)).await?;
        let local = socket.local_addr()?;
        let now = Instant::now();
        let mut rtc = Rtc::builder().build(now);
        let mut api = rtc.sdp_api();
        api.add_channel_with_config(ChannelConfig {
            label: STATE_LABEL.into(),
            ordered: false,
            reliability: Reliability::MaxRetransmits { retransmits: 0 },
            ..ChannelConfig::default()
        });
        api.add_channel_with_config(ChannelConfig {
            label: EVENTS_LABEL.into(),
            ordered: true,
            reliability: Reliability::Reliable,
            ..ChannelConfig::default()
        });
        let (offer, pending) = api
            .apply()
            .ok_or_else(|| RtcPeerError::Rtc("no changes to offer".into()))?;
        // Added after the offer was made, so it travels as a trickled candidate.
        let candidate =
            Candidate::host(local, "udp").map_err(|e| RtcPeerError::Rtc(e.to_string()))?;
        let line = candidate.to_sdp_string();
        rtc.add_local_candidate(candidate);
        let mut peer = Self {
            rtc,
            socket,
            local,
            pending: Some(pending),
            state: None,
            events: None,
            open: false,
            closed: false,
            out: VecDeque::new(),
            buf: vec![0; 2048],
            next_timeout: now,
            remote_override,
        };
        peer.drive();
        Ok((peer, offer.to_sdp_string(), line))
    }

    /// Takes the server's answer.
    pub fn accept_answer(&mut self, sdp: &str) -> Result<(), RtcPeerError> {
        let pending = self
            .pending
            .take()
            .ok_or_else(|| RtcPeerError::Rtc("answer without a pending offer".into()))?;
        let sdp = match self.remote_override {
            // Keep the server's candidates out; the relay is the only way in.
            Some(_) => sdp
                .lines()
                .filter(|l| !l.starts_with("a=candidate"))
                .map(|l| format!("{l}\r\n"))
                .collect(),
            None => sdp.to_owned(),
        };
        let answer =
            SdpAnswer::from_sdp_string(&sdp).map_err(|e| RtcPeerError::Rtc(e.to_string()))?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| RtcPeerError::Rtc(e.to_string()))?;
        if let Some(addr) = self.remote_override {
            let c = Candidate::host(addr, "udp").map_err(|e| RtcPeerError::Rtc(e.to_string()))?;
            self.rtc.add_remote_candidate(c);
        }
        self.drive();
        Ok(())
    }

    /// A candidate trickled by the server (ignored with a remote override).
    pub fn add_remote_candidate(&mut self, line: &str) -> Result<(), RtcPeerError> {
        if self.remote_override.is_some() {
            return Ok(());
        }
        let line = line.strip_prefix("a=").unwrap_or(line);
        let c = Candidate::from_sdp_string(line).map_err(|e| RtcPeerError::Rtc(e.to_string()))?;
        self.rtc.add_remote_candidate(c);
        self.drive();
        Ok(())
    }

    /// Sends a frame on the channel for `channel`. False when not open or the channel's buffer
    /// is full.
    pub fn send(&mut self, channel: Channel, frame: &[u8]) -> bool {
        let id = match channel {
            Channel::Unreliable => self.state,
            Channel::Reliable => self.events,
        };
        let Some(id) = id.filter(|_| self.open && !self.closed) else {
            return false;
        };
        let ok = self
            .rtc
            .channel(id)
            .is_some_and(|mut ch| ch.write(true, frame).unwrap_or(false));
        self.drive();
        ok
    }

    /// Whether both channels are open.
    pub fn is_open(&self) -> bool {
        self.open && !self.closed
    }

    /// Whether the peer is gone.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The local UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<RtcPeerEvent> {
        self.out.pop_front()
    }

    /// Closes the peer (best effort: tells the server's stack).
    pub fn close(&mut self) {
        if !self.closed && self.rtc.close().is_ok() {
            self.drive();
        }
        self.closed = true;
    }

    /// Waits for a datagram or the next timeout and handles it. Cancel-safe. Never returns
    /// while the peer is closed (so it can sit in a `select!`).
    pub async fn wait(&mut self) {
        if self.closed {
            std::future::pending::<()>().await;
        }
        let deadline = self
            .next_timeout
            .max(Instant::now() + Duration::from_micros(100));
        tokio::select! {
            r = self.socket.recv_from(&mut self.buf) => match r {
                Ok((n, source)) => self.receive(n, source),
                Err(e) => tracing::debug!(error = %e, "webrtc client recv error"),
            },
            () = tokio::time::sleep_until(deadline.into()) => {
                let now = Instant::now();
                if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
                    self.fail(format!("timeout: {e}"));
                }
                self.drive();
            }
        }
    }

    fn receive(&mut self, n: usize, source: SocketAddr) {
        let Ok(contents) = self.buf[..n].try_into() else {
            return;
        };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        );
        if let Err(e) = self.rtc.handle_input(input) {
            self.fail(format!("input: {e}"));
        }
        self.drive();
    }

    fn fail(&mut self, why: String) {
        if !self.closed {
            self.closed = true;
            self.out.push_back(RtcPeerEvent::Closed(why));
        }
    }

    fn drive(&mut self) {
        while !self.closed {
            let out = match self.rtc.poll_output() {
                Ok(o) => o,
                Err(e) => return self.fail(format!("output: {e}")),
            };
            match out {
                Output::Transmit(t) => {
                    // A full socket buffer drops the datagram, like a lossy link would.
                    let _ = self.socket.try_send_to(&t.contents, t.destination);
                }
                Output::Timeout(t) => {
                    self.next_timeout = t;
                    return;
                }
                Output::Event(e) => self.handle_event(e),
            }
            if !self.rtc.is_alive() {
                self.fail("peer closed".into());
            }
        }
    }

    fn handle_event(&mut self, e: Event) {
        match e {
            Event::ChannelOpen(id, label) => {
                match label.as_str() {
                    STATE_LABEL => self.state = Some(id),
                    EVENTS_LABEL => self.events = Some(id),
                    _ => {}
                }
                if !self.open && self.state.is_some() && self.events.is_some() {
                    self.open = true;
                    self.out.push_back(RtcPeerEvent::Open);
                }
            }
            Event::ChannelData(d) => self.out.push_back(RtcPeerEvent::Frame(d.data)),
            Event::ChannelClose(_) => self.fail("data channel closed".into()),
            Event::Closed => self.fail("server closed the connection".into()),
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.fail("ice disconnected".into());
            }
            _ => {}
        }
    }
}

impl UpgradePeer for RtcClientPeer {
    type Error = RtcPeerError;

    fn accept_answer(&mut self, sdp: &str) -> Result<(), RtcPeerError> {
        Self::accept_answer(self, sdp)
    }

    fn add_remote_candidate(&mut self, candidate: &str) -> Result<(), RtcPeerError> {
        Self::add_remote_candidate(self, candidate)
    }

    fn send(&mut self, channel: Channel, frame: &[u8]) -> bool {
        Self::send(self, channel, frame)
    }

    fn is_open(&self) -> bool {
        Self::is_open(self)
    }

    fn poll_event(&mut self) -> Option<RtcPeerEvent> {
        Self::poll_event(self)
    }

    fn close(&mut self) {
        Self::close(self);
    }
}
