//! The WebSocket transport: one task per connection, between the socket and a shard.
//!
//! ```text
//!  socket ──read──▶ limits (size, rate, idle) ──▶ shard inbound queue (try_send; full = drop)
//!  socket ◀─write── outbox (reliable frames first, then the newest snapshot) ◀── shard
//! ```
//!
//! The task never touches the world. Clock pings are answered here from the shared tick clock
//! (with the protocol's one [`pong`]), so their answer does not wait for a tick, and the shard
//! never sees them. Every violation closes only this connection:
//! what is queued goes out, then the `Close` message, then a close frame carrying
//! `4000 + reason code` and the reason's message; then the write side is shut and what the
//! client still sends is read and dropped for a moment ([`LINGER`]), so the kernel does not
//! answer it with a reset that would discard the close before the client reads it.
//!
//! Until the welcome has been written, the client may send only control messages (pings,
//! signaling, events); an input frame then closes with `bad_handshake`, as the protocol says.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tickwire_protocol::codec::FRAME_SNAPSHOT;
use tickwire_protocol::message::{ClientMessage, Hello, ServerMessage, Signal};
use tickwire_protocol::session::{Channel, pong};
use tickwire_protocol::{CloseCode, CloseReason, FRAME_CONTROL};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{
    WebSocketConfig, frame::coding::CloseCode as WsCloseCode,
};
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};

use super::Shared;
use super::admission::Admission;
use super::gate::Ticket;
use super::tls::Stream;
use super::webrtc::driver::PeerEvent;
use super::webrtc::link::{ConnRtc, RtcWake};
use crate::sim::outbox::{Next, Outbox};
use crate::sim::{Inbound, ShardHandle};

/// Buffers kept small: the 128 KiB defaults cost about 94 KB per connection.
pub(crate) fn ws_config(max_message_size: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(max_message_size * 2)
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_message_size))
}

/// After its close frame, how long a connection reads and drops what the client still sends.
const LINGER: Duration = Duration::from_millis(500);
/// Most bytes dropped while lingering.
const LINGER_BYTES: usize = 1 << 20;

/// What woke the connection's loop.
enum Event {
    Out(Next),
    Read(Option<Result<Message, WsError>>),
    Rtc(RtcWake),
    Timer,
}

fn close_frame(reason: &CloseReason) -> Message {
    Message::Close(Some(CloseFrame {
        code: WsCloseCode::from(reason.code.websocket_code()),
        reason: reason.message.clone().into(),
    }))
}

/// Sends the `Close` message and the close frame for `reason`, then lingers.
async fn send_close(ws: &mut WebSocketStream<Stream>, reason: &CloseReason, write: Duration) {
    let mut buf = Vec::new();
    ServerMessage::Close(reason.clone()).encode(&mut buf);
    let sent = tokio::time::timeout(write, ws.send(Message::Binary(Bytes::from(buf)))).await;
    if matches!(sent, Ok(Ok(()))) {
        let _ = tokio::time::timeout(write, ws.send(close_frame(reason))).await;
    }
    linger(ws).await;
}

/// Shuts the write side and drops what the client still sends, for at most [`LINGER`] and
/// [`LINGER_BYTES`]: a socket closed with unread bytes sends a reset, and a reset makes the
/// client's kernel drop what it has not read yet, the close included.
async fn linger(ws: &mut WebSocketStream<Stream>) {
    let stream = ws.get_mut();
    let until = tokio::time::Instant::now() + LINGER;
    if tokio::time::timeout_at(until, stream.shutdown())
        .await
        .is_err()
    {
        return;
    }
    let mut sink = [0u8; 4096];
    let mut dropped = 0;
    while dropped < LINGER_BYTES {
        match tokio::time::timeout_at(until, stream.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => dropped += n,
            _ => return,
        }
    }
}

async fn refuse(ws: &mut WebSocketStream<Stream>, reason: CloseReason, shared: &Shared) {
    shared.stats.count_close(reason.code);
    send_close(
        ws,
        &reason,
        Duration::from_millis(shared.config.write_timeout_ms),
    )
    .await;
}

/// Whether `frame` is a welcome (a control frame whose message tag is 0).
fn is_welcome(frame: &[u8]) -> bool {
    frame.len() >= 2 && frame[0] == FRAME_CONTROL && frame[1] == 0
}

/// What the hello asked for.
struct Greeting {
    /// Decoded once here; the shard takes it as it is.
    hello: Hello,
    resume: bool,
}

/// Takes the connection in: capacity, draining, and a hello as the first message (WebSocket
/// pings before it pay the connection's limits like any frame). Returns the hello, or why to
/// refuse (`None`: the peer is already gone).
async fn admit(
    ws: &mut WebSocketStream<Stream>,
    shared: &Shared,
    admission: &Admission,
    open: usize,
    deadline: tokio::time::Instant,
) -> Result<Greeting, Option<CloseReason>> {
    let cfg = &shared.config;
    let refuse = |code, message: String| Err(Some(CloseReason::new(code, message)));
    if open > cfg.max_connections {
        return refuse(CloseCode::SERVER_FULL, "too many connections".into());
    }
    if shared.draining.load(Ordering::Acquire) {
        return refuse(CloseCode::DRAINING, super::DRAINING_MESSAGE.into());
    }
    let hello = loop {
        let first = tokio::time::timeout_at(deadline, ws.next()).await;
        match first {
            Err(_) => return refuse(CloseCode::HANDSHAKE_TIMEOUT, "no hello in time".into()),
            Ok(Some(Ok(Message::Ping(p) | Message::Pong(p)))) => {
                admission.admit(Instant::now(), p.len()).map_err(Some)?;
            }
            Ok(Some(Ok(Message::Frame(_)))) => {}
            Ok(Some(Ok(Message::Binary(b)))) => break b,
            Ok(Some(Ok(Message::Text(_)))) => {
                return refuse(
                    CloseCode::BAD_HANDSHAKE,
                    "first message must be a binary hello".into(),
                );
            }
            Ok(Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })))) => {
                return refuse(
                    CloseCode::MESSAGE_TOO_LARGE,
                    format!("message of {size} bytes exceeds {max_size}"),
                );
            }
            Ok(_) => return Err(None),
        }
    };
    admission.admit(Instant::now(), hello.len()).map_err(Some)?;
    shared.stats.count_received(hello.len(), false);
    match ClientMessage::decode(&hello) {
        Ok(ClientMessage::Hello(h)) => Ok(Greeting {
            resume: h.resume.is_some(),
            hello: h,
        }),
        Ok(_) => refuse(
            CloseCode::BAD_HANDSHAKE,
            "first message must be hello".into(),
        ),
        // Whatever does not decode as a hello is not one: the handshake's code, not `malformed`.
        Err(e) => refuse(
            CloseCode::BAD_HANDSHAKE,
            format!("first message must be hello: {e}"),
        ),
    }
}

/// Runs one WebSocket connection to its end, from the answered upgrade: `rest` holds what the
/// client sent after its request head, and the hello is due by `deadline`.
pub(crate) async fn serve(
    stream: Stream,
    rest: Vec<u8>,
    peer: SocketAddr,
    ticket: Ticket,
    shared: &Arc<Shared>,
    deadline: tokio::time::Instant,
) {
    let cfg = &shared.config;
    if cfg.socket_send_buffer > 0 {
        // A small kernel buffer bounds what a client that stops reading can hold up; the
        // outbox keeps only the newest snapshot beyond it.
        let _ = socket2::SockRef::from(stream.tcp()).set_send_buffer_size(cfg.socket_send_buffer);
    }
    let mut ws = WebSocketStream::from_partially_read(
        stream,
        rest,
        Role::Server,
        Some(ws_config(cfg.max_message_size)),
    )
    .await;
    shared.stats.connections.fetch_add(1, Ordering::Relaxed);
    let open = shared.stats.open.fetch_add(1, Ordering::Relaxed) + 1;
    run(&mut ws, peer, ticket, shared, open as usize, deadline).await;
    shared.stats.open.fetch_sub(1, Ordering::Relaxed);
}

async fn run(
    ws: &mut WebSocketStream<Stream>,
    peer: SocketAddr,
    mut ticket: Ticket,
    shared: &Arc<Shared>,
    open: usize,
    deadline: tokio::time::Instant,
) {
    let cfg = &shared.config;
    let client_ip = ticket.ip();
    let admission = Arc::new(
        Admission::new(shared.limits, Instant::now()).reporting_to(shared.gate.clone(), client_ip),
    );
    let admitted = match admit(ws, shared, &admission, open, deadline).await {
        Ok(a) => a,
        Err(Some(reason)) => return refuse(ws, reason, shared).await,
        Err(None) => return,
    };
    ticket.greeted();
    let Greeting { hello, resume } = admitted;
    if resume && shared.gate.resumes_refused(client_ip, Instant::now()) {
        let reason = CloseReason::new(
            CloseCode::RATE_LIMITED,
            "too many failed resumes from this address",
        );
        return refuse(ws, reason, shared).await;
    }
    let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let outbox = Arc::new(Outbox::new(cfg.reliable_queue));
    let shard = shared.shard_for(&hello.room).clone();
    let join = Inbound::Join {
        conn,
        hello: Box::new(hello),
        outbox: outbox.clone(),
    };
    if shard.control.send(join).is_err() {
        let reason = CloseReason::new(CloseCode::SERVER_SHUTDOWN, "server stopping");
        return refuse(ws, reason, shared).await;
    }
    tracing::debug!(%peer, conn, "client joined");

    // One task, one loop: write what the outbox has (reliable first), read what the client
    // sends, ping, and watch for idleness. A violation stops reading and closes the outbox;
    // the loop then sends what is queued, the `Close` message and the close frame, and ends.
    // The `Close` message is not queued with the rest: the reliable queue may be full.
    let mut own_close: Option<CloseReason> = None;
    let limits = admission.limits;
    let write_timeout = limits.write;
    let idle = limits.idle;
    let heartbeat = limits.heartbeat;
    // One timer for heartbeat and idleness, moved only when it fires: re-arming a timer per
    // message would cost more than reading the message.
    let mut last_seen = Instant::now();
    let mut next_ping = last_seen + heartbeat;
    let timer = tokio::time::sleep_until(next_ping.min(last_seen + idle).into());
    tokio::pin!(timer);
    let mut reading = true;
    // The WebRTC upgrade, if the client asks for one: snapshots go through it while it is
    // active; everything else stays on this WebSocket.
    let mut rtc = ConnRtc::new(shared.webrtc.as_ref(), conn, &shard, admission.clone());
    let mut ctx = FrameCtx {
        shared,
        admission: &admission,
        shard: &shard,
        outbox: &outbox,
        conn,
        welcomed: false,
    };
    loop {
        let event = tokio::select! {
            biased;
            n = outbox.next() => Event::Out(n),
            m = ws.next(), if reading => Event::Read(m),
            w = rtc.next(), if reading => Event::Rtc(w),
            () = &mut timer => Event::Timer,
        };
        let violation = match event {
            Event::Out(Next::Frame(f)) if rtc.is_active() && f.first() == Some(&FRAME_SNAPSHOT) => {
                let n = f.len();
                if rtc.send(Channel::Unreliable, f.clone()) {
                    outbox.recycle(f);
                    count_sent(shared, &outbox, n, true);
                    continue;
                }
                // The driver is gone: this one goes on the WebSocket.
                rtc.close();
                match send_within(ws, Message::Binary(Bytes::from(f)), write_timeout).await {
                    Ok(Ok(())) => continue,
                    _ => break,
                }
            }
            Event::Rtc(wake) => {
                let now = Instant::now();
                let result = match wake {
                    RtcWake::Event(PeerEvent::Violation { reason, .. }) => Err(reason),
                    RtcWake::Event(ev) => {
                        let signals = rtc.handle_event(now, ev);
                        timer
                            .as_mut()
                            .reset(wake_at(reading, next_ping, last_seen, idle, &rtc).into());
                        ctx.push_signals(signals)
                    }
                    RtcWake::Frame(generation, frame) => {
                        match rtc.accept_frame(now, generation, frame) {
                            Some(frame) => {
                                last_seen = now;
                                ctx.inbound(Bytes::from(frame), now, &mut rtc, true)
                            }
                            None => Ok(()),
                        }
                    }
                };
                match result {
                    Ok(()) => continue,
                    Err(reason) => reason,
                }
            }
            Event::Out(Next::Frame(f)) => {
                let n = f.len();
                if !ctx.welcomed && is_welcome(&f) {
                    ctx.welcomed = true;
                }
                let msg = Message::Binary(Bytes::copy_from_slice(&f));
                outbox.recycle(f);
                match send_within(ws, msg, write_timeout).await {
                    Ok(Ok(())) => {
                        count_sent(shared, &outbox, n, false);
                        continue;
                    }
                    Ok(Err(_)) => break,
                    Err(()) => {
                        shared.stats.count_close(CloseCode::SLOW_CONSUMER);
                        break;
                    }
                }
            }
            Event::Out(Next::Close(reason)) => {
                shared.stats.count_close(reason.code);
                if reason.code == CloseCode::RESUME_FAILED {
                    shared.gate.resume_failed(client_ip, Instant::now());
                }
                if own_close.as_ref() == Some(&reason) {
                    send_close(ws, &reason, write_timeout).await;
                } else {
                    // The shard's closes queue their `Close` message themselves.
                    let _ =
                        tokio::time::timeout(write_timeout, ws.send(close_frame(&reason))).await;
                    linger(ws).await;
                }
                break;
            }
            Event::Timer => {
                let now = Instant::now();
                if let Some(at) = rtc.observe() {
                    last_seen = last_seen.max(at);
                }
                let stalled = rtc.check_stall(now);
                if let Err(reason) = ctx.push_signals(stalled) {
                    reason
                } else if reading && now >= last_seen + idle {
                    CloseReason::new(
                        CloseCode::IDLE_TIMEOUT,
                        format!("nothing received for {} ms", idle.as_millis()),
                    )
                } else {
                    if now >= next_ping {
                        next_ping = now + heartbeat;
                        if !matches!(
                            send_within(ws, Message::Ping(Bytes::new()), write_timeout).await,
                            Ok(Ok(()))
                        ) {
                            break;
                        }
                    }
                    timer
                        .as_mut()
                        .reset(wake_at(reading, next_ping, last_seen, idle, &rtc).into());
                    continue;
                }
            }
            Event::Read(msg) => {
                let now = Instant::now();
                last_seen = now;
                match msg {
                    None
                    | Some(Err(
                        WsError::ConnectionClosed | WsError::AlreadyClosed | WsError::Io(_),
                    )) => break,
                    Some(Ok(Message::Close(_))) => {
                        // tungstenite queued the close reply; flush it.
                        let _ = tokio::time::timeout(write_timeout, ws.flush()).await;
                        break;
                    }
                    Some(Ok(Message::Frame(_))) => continue,
                    // tungstenite answers pings itself; they still pay the limits.
                    Some(Ok(Message::Ping(p) | Message::Pong(p))) => {
                        match admission.admit(now, p.len()) {
                            Ok(()) => continue,
                            Err(reason) => reason,
                        }
                    }
                    Some(Ok(Message::Text(_))) => {
                        CloseReason::new(CloseCode::MALFORMED, "binary frames only")
                    }
                    Some(Err(WsError::Capacity(CapacityError::MessageTooLong {
                        size,
                        max_size,
                    }))) => CloseReason::new(
                        CloseCode::MESSAGE_TOO_LARGE,
                        format!("message of {size} bytes exceeds {max_size}"),
                    ),
                    Some(Err(e)) => {
                        CloseReason::new(CloseCode::MALFORMED, format!("websocket: {e}"))
                    }
                    Some(Ok(Message::Binary(frame))) => {
                        match ctx.inbound(frame, now, &mut rtc, false) {
                            Ok(()) => continue,
                            Err(reason) => reason,
                        }
                    }
                }
            }
        };
        tracing::debug!(%peer, conn, code = violation.code.name(), message = %violation.message, "closing connection");
        own_close = Some(violation.clone());
        outbox.close(violation);
        reading = false;
        rtc.close();
    }
    rtc.close();
    outbox.mark_gone();
    let _ = shard.control.send(Inbound::Closed { conn });
    tracing::debug!(%peer, conn, "connection ended");
}

/// Counts a frame of `n` bytes that went out, on a data channel when `webrtc`.
fn count_sent(shared: &Shared, outbox: &Outbox, n: usize, webrtc: bool) {
    outbox.add_sent(n);
    shared.stats.count_sent(n, webrtc);
}

/// Sends `msg`, giving up after `limit`. The timer is armed only when the socket does not take
/// the message at once, which is rare: arming one per message would cost more than the send.
async fn send_within<S>(
    sink: &mut S,
    msg: Message,
    limit: Duration,
) -> Result<Result<(), WsError>, ()>
where
    S: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    let mut send = std::pin::pin!(sink.send(msg));
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(send.as_mut().poll(cx))).await;
    match first {
        std::task::Poll::Ready(r) => Ok(r),
        std::task::Poll::Pending => tokio::time::timeout(limit, send).await.map_err(|_| ()),
    }
}

/// When the connection's one timer must fire next: heartbeat, idleness, WebRTC stall.
fn wake_at(
    reading: bool,
    next_ping: Instant,
    last_seen: Instant,
    idle: Duration,
    rtc: &ConnRtc<'_>,
) -> Instant {
    let mut wake = next_ping;
    if reading {
        wake = wake.min(last_seen + idle);
    }
    if let Some(t) = rtc.deadline() {
        wake = wake.min(t);
    }
    wake
}

/// What handling a client frame needs, whichever transport it came on.
struct FrameCtx<'a> {
    shared: &'a Shared,
    admission: &'a Admission,
    shard: &'a ShardHandle,
    outbox: &'a Outbox,
    conn: u64,
    /// The welcome has been written: input frames may come.
    welcomed: bool,
}

impl FrameCtx<'_> {
    /// Takes one frame from the client (WebSocket message or data-channel message): counts
    /// it, admits it (size and rate, unless the driver already did for a data-channel frame),
    /// answers pings, handles signaling, and hands everything else to the shard. A ping that
    /// came on a data channel is answered on one, so the clock sync measures the path the
    /// snapshots take. `Err` is the reason to close the connection.
    fn inbound(
        &mut self,
        frame: Bytes,
        now: Instant,
        rtc: &mut ConnRtc<'_>,
        via_rtc: bool,
    ) -> Result<(), CloseReason> {
        self.shared.stats.count_received(frame.len(), via_rtc);
        if !via_rtc {
            self.admission.admit(now, frame.len())?;
        }
        match intercept(&frame) {
            Some(ClientMessage::Ping { client_time_us }) => {
                let mut buf = Vec::new();
                ServerMessage::Pong(pong(self.shared.clock.tick_time(now), client_time_us))
                    .encode(&mut buf);
                if via_rtc && rtc.send(Channel::Unreliable, buf.clone()) {
                    return Ok(());
                }
                self.push(buf)
            }
            Some(ClientMessage::Signal(signal)) => {
                let replies = rtc.handle_signal(now, signal);
                self.push_signals(replies)
            }
            _ if !self.welcomed && frame.first() != Some(&FRAME_CONTROL) => Err(CloseReason::new(
                CloseCode::BAD_HANDSHAKE,
                "input before the welcome",
            )),
            _ => {
                let conn = self.conn;
                if self
                    .shard
                    .frames
                    .try_send(Inbound::Frame { conn, frame })
                    .is_err()
                {
                    self.shared
                        .stats
                        .inbound_dropped
                        .fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
        }
    }

    fn push(&self, frame: Vec<u8>) -> Result<(), CloseReason> {
        self.outbox.push_reliable(frame).map_err(|_| {
            CloseReason::new(
                CloseCode::SLOW_CONSUMER,
                "reliable queue full: client is not reading",
            )
        })
    }

    /// Queues signaling for the client on the WebSocket, in order with other reliable frames.
    fn push_signals(&self, signals: Vec<Signal>) -> Result<(), CloseReason> {
        for s in signals {
            let mut buf = Vec::new();
            ServerMessage::Signal(s).encode(&mut buf);
            self.push(buf)?;
        }
        Ok(())
    }
}

/// The control messages the connection's task answers itself (clock pings, signaling);
/// `None` for any other frame, which goes to the shard.
fn intercept(frame: &[u8]) -> Option<ClientMessage> {
    if frame.first() != Some(&FRAME_CONTROL) {
        return None;
    }
    match ClientMessage::decode(frame) {
        Ok(m @ (ClientMessage::Ping { .. } | ClientMessage::Signal(_))) => Some(m),
        _ => None,
    }
}
