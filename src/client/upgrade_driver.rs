//! The socket side of the WebRTC upgrade: the pure [`Upgrade`] machine over str0m peers
//! ([`RtcClientPeer`]), each with its own UDP socket, run inline by the [`super::Client`]'s
//! event loop on whatever task awaits it.
//!
//! The machine asks for a peer when an attempt starts; [`UpgradeDriver::start`] and
//! [`UpgradeDriver::handle_timeout`] make it (bind the socket, create the offer) and hand it
//! back before returning, so no request outlives a call. Everything else goes straight to the
//! machine through [`UpgradeDriver::machine_mut`].

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use super::rtc::RtcClientPeer;
use super::upgrade::{PeerOffer, Upgrade, WebRtcConfig};

/// One client's upgrade with real peers.
#[derive(Debug)]
pub(crate) struct UpgradeDriver {
    machine: Upgrade<RtcClientPeer>,
    local_ip: IpAddr,
    remote_override: Option<SocketAddr>,
}

impl UpgradeDriver {
    pub(crate) fn new(cfg: WebRtcConfig, now: Instant) -> Self {
        Self {
            local_ip: cfg.local_ip,
            remote_override: cfg.remote_override,
            machine: Upgrade::new(cfg, now),
        }
    }

    /// The state machine: signals, frames, sends, timeouts, counters.
    pub(crate) fn machine(&self) -> &Upgrade<RtcClientPeer> {
        &self.machine
    }

    /// The state machine, to push into. Use [`UpgradeDriver::start`] and
    /// [`UpgradeDriver::handle_timeout`] instead of the machine's own, which leave the peer
    /// unmade.
    pub(crate) fn machine_mut(&mut self) -> &mut Upgrade<RtcClientPeer> {
        &mut self.machine
    }

    /// Starts an attempt now (replacing a running one); its offer is queued as signals.
    pub(crate) async fn start(&mut self, now: Instant) {
        self.machine.start(now);
        self.make_peers(now).await;
    }

    /// Checks timeouts and starts a due retry.
    pub(crate) async fn handle_timeout(&mut self, now: Instant) {
        self.machine.handle_timeout(now);
        self.make_peers(now).await;
    }

    async fn make_peers(&mut self, now: Instant) {
        while let Some(request) = self.machine.poll_peer_request() {
            let made = RtcClientPeer::offer(self.local_ip, self.remote_override)
                .await
                .map(|(peer, sdp, candidate)| PeerOffer {
                    peer,
                    sdp,
                    candidate,
                });
            self.machine.handle_peer(now, request, made);
        }
    }

    /// The local UDP address of the running attempt's peer.
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.machine.peer().map(RtcClientPeer::local_addr)
    }

    /// Waits for the peer's socket or timer; never resolves without a peer. Cancel-safe.
    pub(crate) async fn wait(&mut self) {
        match self.machine.peer_mut() {
            Some(p) => p.wait().await,
            None => std::future::pending().await,
        }
    }
}
