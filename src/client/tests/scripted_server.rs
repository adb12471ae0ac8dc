//! A tiny WebSocket game server for this crate's unit tests: one
//! [`ServerSession`] per connection over tokio-tungstenite on `127.0.0.1:0`, a world of
//! one entity (a ball every client's input pushes), ticking at 30 Hz on a tokio interval.
//! The real server and its integration tests live in `src/server` and `tests/`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use glam::Vec2;
use tickwire_protocol::message::ResumeToken;
use tickwire_protocol::session::{Replication, ServerConfig, ServerEvent, ServerSession, TickTime};
use tickwire_protocol::{CloseCode, CloseReason, EncodeScratch, FRAME_INPUT, Layout, Schema};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;

pub(crate) const TICK_RATE: u16 = 30;
/// Ball speed per unit of input, world units per second.
pub(crate) const SPEED: f32 = 300.0;
/// Room name the server refuses with `ROOM_FULL`.
pub(crate) const FULL_ROOM: &str = "full";
/// Event payload that makes the server kick the sender.
pub(crate) const KICK_ME: &[u8] = b"kick me";

pub(crate) fn schema() -> Schema {
    Schema::builder("ball")
        .kind("ball", |k| k.vec2("pos", 0.0, 1000.0, 1.0 / 16.0))
        .input(|i| {
            i.f32("dx", -1.0, 1.0, 1.0 / 64.0)
                .f32("dy", -1.0, 1.0, 1.0 / 64.0)
        })
        .build()
        .expect("test schema is valid")
}

struct Conn {
    session: ServerSession,
    token: ResumeToken,
    wake: Arc<Notify>,
    input: Vec2,
    /// Set when the session was closed with a reason: send it as the WebSocket close.
    close_code: Option<CloseCode>,
    left: bool,
    /// Sent an input: the client finished its handshake and plays.
    playing: bool,
}

struct State {
    tick: u32,
    tick_started: Instant,
    ball: Vec2,
    conns: HashMap<u64, Conn>,
    parked: HashMap<ResumeToken, Replication>,
    next_id: u64,
    resumes: u64,
}

impl State {
    fn now(&self) -> TickTime {
        let period = 1.0 / f64::from(TICK_RATE);
        let frac = (self.tick_started.elapsed().as_secs_f64() / period).min(0.999);
        TickTime {
            tick: self.tick,
            fraction: (frac * 65536.0) as u16,
        }
    }
}

struct Shared {
    layout: Arc<Layout>,
    state: Mutex<State>,
    /// Connections that sent at least one input.
    playing: watch::Sender<usize>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running server; dropping it stops it.
pub(crate) struct ScriptedServer {
    pub(crate) url: String,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl ScriptedServer {
    pub(crate) async fn start() -> Self {
        let layout = Arc::new(Layout::new(&schema()).expect("layout"));
        let shared = Arc::new(Shared {
            layout,
            state: Mutex::new(State {
                tick: 1,
                tick_started: Instant::now(),
                ball: Vec2::splat(500.0),
                conns: HashMap::new(),
                parked: HashMap::new(),
                next_id: 1,
                resumes: 0,
            }),
            playing: watch::Sender::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        let tick = tokio::spawn(tick_loop(Arc::clone(&shared)));
        Self {
            url: format!("ws://{addr}/"),
            shared,
            tasks: vec![accept, tick],
        }
    }

    pub(crate) fn ball(&self) -> Vec2 {
        self.shared.lock().ball
    }

    pub(crate) fn resumes(&self) -> u64 {
        self.shared.lock().resumes
    }

    /// Number of connections that have sent an input, to wait on.
    pub(crate) fn playing(&self) -> watch::Receiver<usize> {
        self.shared.playing.subscribe()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    // Connection tasks live in the set, so aborting this task ends them too.
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((tcp, _)) = accepted {
                    conns.spawn(serve(tcp, Arc::clone(&shared)));
                }
            }
            Some(_) = conns.join_next() => {}
        }
    }
}

async fn tick_loop(shared: Arc<Shared>) {
    let dt = 1.0 / f32::from(TICK_RATE);
    let mut interval = tokio::time::interval(Duration::from_secs_f32(dt));
    let mut scratch = EncodeScratch::default();
    let input = &shared.layout.input;
    let (dx, dy) = (
        input.fields[input.field("dx").expect("dx")].clone(),
        input.fields[input.field("dy").expect("dy")].clone(),
    );
    let pos = shared.layout.kinds[0].fields[0].clone();
    loop {
        interval.tick().await;
        let mut guard = shared.lock();
        let st = &mut *guard;
        let tick = st.tick;
        let mut push = Vec2::ZERO;
        for c in st.conns.values_mut() {
            if !c.session.is_established() {
                continue;
            }
            let input = &mut c.input;
            c.session.drain_inputs(tick, |_seq, w| {
                *input = Vec2::new(
                    dx.get_f32(w).unwrap_or_default(),
                    dy.get_f32(w).unwrap_or_default(),
                );
            });
            push += c.input;
        }
        st.ball = (st.ball + push * SPEED * dt).clamp(Vec2::ZERO, Vec2::splat(1000.0));
        let ball = st.ball;
        for c in st.conns.values_mut() {
            if !c.session.is_established() {
                continue;
            }
            c.session.write_snapshot(tick, &mut scratch, |s| {
                if let Ok(w) = s.push(&shared.layout, 0, 0) {
                    let _ = pos.set_vec2(w, ball);
                }
            });
            c.wake.notify_one();
        }
        st.tick = tick + 1;
        st.tick_started = Instant::now();
    }
}

/// Handles what the session raised: accepts hellos (resuming parked or live sessions),
/// kicks on request. Returns frames to send.
fn pump(st: &mut State, id: u64) -> Vec<Vec<u8>> {
    let now = st.now();
    let mut hellos = Vec::new();
    let Some(c) = st.conns.get_mut(&id) else {
        return Vec::new();
    };
    while let Some(ev) = c.session.poll_event() {
        match ev {
            ServerEvent::Hello { room, resume, .. } => hellos.push((room, resume)),
            ServerEvent::Event(p) if p == KICK_ME => {
                c.session
                    .close(CloseReason::new(CloseCode::KICKED, "kicked on request"));
                c.close_code = Some(CloseCode::KICKED);
            }
            ServerEvent::Left => c.left = true,
            ServerEvent::Event(_) | ServerEvent::Signal(_) => {}
        }
    }
    for (room, resume) in hellos {
        if room == FULL_ROOM {
            if let Some(c) = st.conns.get_mut(&id) {
                c.session
                    .reject(CloseReason::new(CloseCode::ROOM_FULL, "room is full"));
                c.close_code = Some(CloseCode::ROOM_FULL);
            }
            continue;
        }
        let mut resumed = None;
        if let Some(req) = resume {
            let repl = st.parked.remove(&req.token).or_else(|| {
                let (_, old) = st.conns.iter_mut().find(|(k, c)| {
                    **k != id && c.token == req.token && c.session.is_established()
                })?;
                let repl = old.session.take_replication();
                old.session
                    .close(CloseReason::new(CloseCode::REPLACED, "resumed elsewhere"));
                old.close_code = Some(CloseCode::REPLACED);
                old.wake.notify_one();
                Some(repl)
            });
            if let Some(repl) = repl {
                st.resumes += 1;
                resumed = Some((req.token, repl, req.last_tick));
            }
        }
        let Some(c) = st.conns.get_mut(&id) else {
            continue;
        };
        let token = match &resumed {
            Some((t, _, _)) => *t,
            None => {
                let mut t = [0u8; 16];
                t[..8].copy_from_slice(&id.to_le_bytes());
                t
            }
        };
        c.token = token;
        let client_id = u32::from_le_bytes([token[0], token[1], token[2], token[3]]);
        c.session.accept(
            now,
            client_id,
            Some(0),
            token,
            resumed.map(|(_, r, last)| (r, last)),
        );
    }
    let mut out = Vec::new();
    if let Some(c) = st.conns.get_mut(&id) {
        let mut buf = Vec::new();
        while c.session.poll_transmit(&mut buf).is_some() {
            out.push(buf.clone());
        }
    }
    out
}

async fn serve(tcp: TcpStream, shared: Arc<Shared>) {
    let _ = tcp.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let wake = Arc::new(Notify::new());
    let id = {
        let mut st = shared.lock();
        let id = st.next_id;
        st.next_id += 1;
        st.conns.insert(
            id,
            Conn {
                session: ServerSession::new(
                    Arc::clone(&shared.layout),
                    ServerConfig {
                        tick_rate: TICK_RATE,
                        ..ServerConfig::default()
                    },
                ),
                token: [0; 16],
                wake: Arc::clone(&wake),
                input: Vec2::ZERO,
                close_code: None,
                left: false,
                playing: false,
            },
        );
        id
    };
    loop {
        let out = tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Binary(b))) => {
                    let mut st = shared.lock();
                    let now = st.now();
                    if let Some(c) = st.conns.get_mut(&id) {
                        let _ = c.session.handle_frame(now, &b);
                        if b.first() == Some(&FRAME_INPUT) && !c.playing {
                            c.playing = true;
                            shared.playing.send_modify(|n| *n += 1);
                        }
                    }
                    pump(&mut st, id)
                }
                Some(Ok(Message::Close(_))) => {
                    let _ = ws.flush().await;
                    break;
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => break,
            },
            () = wake.notified() => pump(&mut shared.lock(), id),
        };
        for frame in out {
            if ws.feed(Message::binary(frame)).await.is_err() {
                break;
            }
        }
        if ws.flush().await.is_err() {
            break;
        }
        let close_code = shared
            .lock()
            .conns
            .get(&id)
            .and_then(|c| c.close_code.filter(|_| c.session.is_closed()));
        if let Some(code) = close_code {
            let frame = CloseFrame {
                code: WsCloseCode::from(code.websocket_code()),
                reason: code.name().into(),
            };
            let _ = ws.close(Some(frame)).await;
            while let Some(Ok(_)) = ws.next().await {}
            break;
        }
    }
    let mut st = shared.lock();
    if let Some(mut c) = st.conns.remove(&id)
        && c.session.is_established()
        && !c.left
    {
        st.parked.insert(c.token, c.session.take_replication());
    }
}
