//! One connection's side of the WebRTC upgrade, used by the WebSocket task.
//!
//! The WebSocket task stays the only reader of the connection's outbox. While the peer is open
//! and has delivered something within the stall window, [`ConnRtc::is_active`] is true and the
//! task sends snapshots through the driver instead of the WebSocket. Input packets that arrive
//! on the data channels go from the driver to the shard (after the connection's admission, the
//! same one its WebSocket frames pay); control frames come back here. Any failure (refused offer, open timeout, channel closed,
//! stall) drops the peer, sends `Abandon` to the client, and leaves the session on the
//! WebSocket: no frame of the session is tied to the peer, so nothing is lost but datagrams.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tickwire_protocol::message::Signal;
use tickwire_protocol::session::Channel;
use tokio::sync::mpsc;

use super::driver::{Command, PeerEvent, PeerLink, RtcHandle};
use crate::net::admission::Admission;
use crate::sim::ShardHandle;

/// Offers closer together than this are refused (each one costs a DTLS handshake).
pub(crate) const MIN_OFFER_INTERVAL: Duration = Duration::from_millis(500);
/// Each answered offer whose peer never sent a datagram doubles the connection's offer
/// interval, up to this; a peer that opens brings it back to [`MIN_OFFER_INTERVAL`]. A client
/// that makes offers and never follows them up (or whose UDP is blocked) then holds a
/// negotiating slot for a shrinking share of the time.
pub(crate) const MAX_OFFER_INTERVAL: Duration = Duration::from_secs(60);
/// Frames from the data channels queued for the task before new ones are dropped.
const FRAME_QUEUE: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Negotiating,
    Open,
}

/// What woke the task from the WebRTC side.
#[derive(Debug)]
pub(crate) enum RtcWake {
    Event(PeerEvent),
    /// A control frame that came on a data channel.
    Frame(u32, Vec<u8>),
}

/// The upgrade state of one connection.
#[derive(Debug)]
pub(crate) struct ConnRtc<'a> {
    handle: Option<&'a RtcHandle>,
    conn: u64,
    generation: u32,
    state: State,
    link: PeerLink,
    events: mpsc::UnboundedReceiver<PeerEvent>,
    frames: mpsc::Receiver<(u32, Vec<u8>)>,
    last_rx: Instant,
    activity: Arc<AtomicU64>,
    epoch: Instant,
    last_offer: Option<Instant>,
    /// Offers closer together than this are refused.
    offer_interval: Duration,
    stall: Duration,
    /// Peers that opened, and fallbacks after they did (for logs and tests).
    pub(crate) opened: u32,
}

impl<'a> ConnRtc<'a> {
    pub(crate) fn new(
        handle: Option<&'a RtcHandle>,
        conn: u64,
        shard: &ShardHandle,
        admission: Arc<Admission>,
    ) -> Self {
        let (etx, events) = mpsc::unbounded_channel();
        let (ftx, frames) = mpsc::channel(FRAME_QUEUE);
        let activity = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        Self {
            handle,
            conn,
            generation: 0,
            state: State::Idle,
            link: PeerLink {
                events: etx,
                frames: ftx,
                shard: shard.frames.clone(),
                activity: activity.clone(),
                epoch,
                admission: admission.clone(),
            },
            events,
            frames,
            last_rx: Instant::now(),
            activity,
            epoch,
            last_offer: None,
            offer_interval: MIN_OFFER_INTERVAL,
            stall: admission.limits.stall,
            opened: 0,
        }
    }

    /// Whether snapshots should go on the data channel now.
    pub(crate) fn is_active(&self) -> bool {
        self.state == State::Open
    }

    /// When the task must look at the peer again (stall check), if ever.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.is_active().then_some(self.last_rx + self.stall)
    }

    /// Handles signaling from the client; returns signals to send back.
    pub(crate) fn handle_signal(&mut self, now: Instant, signal: Signal) -> Vec<Signal> {
        let Some(handle) = self.handle else {
            // WebRTC is off: refuse each offer once; its candidates need no answer.
            return match signal {
                Signal::Offer { .. } => vec![Signal::Abandon],
                _ => Vec::new(),
            };
        };
        match signal {
            Signal::Offer { sdp } => {
                // One attempt at a time: an offer while one negotiates is refused, so a
                // connection cannot keep a negotiating slot by re-offering before its peer is
                // reaped.
                if self.state == State::Negotiating
                    || self
                        .last_offer
                        .is_some_and(|t| now < t + self.offer_interval)
                {
                    handle
                        .stats
                        .refused
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return vec![Signal::Abandon];
                }
                self.last_offer = Some(now);
                self.close();
                self.generation = self.generation.wrapping_add(1);
                self.state = State::Negotiating;
                let sent = handle.send(Command::Open {
                    conn: self.conn,
                    generation: self.generation,
                    offer: sdp,
                    link: self.link.clone(),
                });
                if !sent {
                    self.state = State::Idle;
                    return vec![Signal::Abandon];
                }
                Vec::new()
            }
            Signal::Candidate { candidate, .. } => {
                if self.state != State::Idle {
                    handle.send(Command::Candidate {
                        conn: self.conn,
                        generation: self.generation,
                        candidate,
                    });
                }
                Vec::new()
            }
            Signal::EndOfCandidates | Signal::Answer { .. } => Vec::new(),
            Signal::Abandon => {
                self.close();
                Vec::new()
            }
        }
    }

    /// Waits for the next event or frame from the driver; never resolves without a driver.
    pub(crate) async fn next(&mut self) -> RtcWake {
        if self.handle.is_none() {
            return std::future::pending().await;
        }
        tokio::select! {
            biased;
            Some(ev) = self.events.recv() => RtcWake::Event(ev),
            Some((g, f)) = self.frames.recv() => RtcWake::Frame(g, f),
        }
    }

    /// Handles a driver event; returns signals for the client.
    pub(crate) fn handle_event(&mut self, now: Instant, ev: PeerEvent) -> Vec<Signal> {
        match ev {
            PeerEvent::Answer { generation, sdp } if generation == self.generation => {
                vec![Signal::Answer { sdp }, Signal::EndOfCandidates]
            }
            PeerEvent::Open { generation } if generation == self.generation => {
                self.state = State::Open;
                self.opened += 1;
                self.offer_interval = MIN_OFFER_INTERVAL;
                self.last_rx = now;
                Vec::new()
            }
            PeerEvent::Violation { .. } => Vec::new(),
            PeerEvent::Closed {
                generation,
                reason,
                unheard,
            } if generation == self.generation => {
                tracing::debug!(conn = self.conn, %reason, "webrtc peer gone; staying on the websocket");
                if self.state == State::Idle {
                    return Vec::new();
                }
                if unheard && self.state == State::Negotiating {
                    self.offer_interval = (self.offer_interval * 2).min(MAX_OFFER_INTERVAL);
                }
                self.state = State::Idle;
                vec![Signal::Abandon]
            }
            // From an earlier peer of this connection.
            _ => Vec::new(),
        }
    }

    /// Takes a frame that came through the peer; `None` when it is from an earlier peer.
    pub(crate) fn accept_frame(
        &mut self,
        now: Instant,
        generation: u32,
        frame: Vec<u8>,
    ) -> Option<Vec<u8>> {
        if generation != self.generation || self.state == State::Idle {
            return None;
        }
        self.last_rx = now;
        Some(frame)
    }

    /// Notes when the driver last saw traffic from the client on the data channels; returns
    /// that time if it is newer than the last look (the connection is not idle).
    pub(crate) fn observe(&mut self) -> Option<Instant> {
        let at = self.epoch + Duration::from_micros(self.activity.load(Ordering::Relaxed));
        if at <= self.last_rx {
            return None;
        }
        self.last_rx = at;
        Some(at)
    }

    /// Drops a peer that delivered nothing within the stall window; returns signals for the
    /// client.
    pub(crate) fn check_stall(&mut self, now: Instant) -> Vec<Signal> {
        self.observe();
        if self.is_active() && now >= self.last_rx + self.stall {
            tracing::debug!(
                conn = self.conn,
                "webrtc peer stalled; back to the websocket"
            );
            self.close();
            return vec![Signal::Abandon];
        }
        Vec::new()
    }

    /// Sends a frame through the peer. False when not active or the driver is gone.
    pub(crate) fn send(&self, channel: Channel, frame: Vec<u8>) -> bool {
        match self.handle {
            Some(h) if self.is_active() => h.send(Command::Send {
                conn: self.conn,
                generation: self.generation,
                channel,
                frame,
            }),
            _ => false,
        }
    }

    /// Drops the current peer, if any.
    pub(crate) fn close(&mut self) {
        if self.state != State::Idle
            && let Some(h) = self.handle
        {
            h.send(Command::Close {
                conn: self.conn,
                generation: self.generation,
            });
        }
        self.state = State::Idle;
    }
}

impl Drop for ConnRtc<'_> {
    fn drop(&mut self) {
        self.close();
    }
}
