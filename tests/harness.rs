//! Starting servers on port 0, raw WebSocket peers, and waiting on events (never on sleeps).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use glam::Vec2;
use tickwire::arena::{self, Arena};
use tickwire::client::{Client, ClientConfig};
use tickwire::game::{ClientId, Game, GameFactory, PlayerInput, StepContext, WorldWriter};
use tickwire::{Config, Server};
use tickwire_protocol::message::{ClientMessage, Hello, ResumeRequest};
use tickwire_protocol::session::ClientEvent;
use tickwire_protocol::{EntityId, Layout, Schema, SnapshotHeader, WIRE_VERSION};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound for any single wait; tests wait on events, this only stops a hung test.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

pub(crate) async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Exact arena state recorded after every tick: tick → (id, pos, heading, hp).
pub(crate) type Recorded = Arc<Mutex<BTreeMap<u32, Vec<(EntityId, Vec2, f32, u8)>>>>;

/// The arena, recording its exact state each tick so tests can compare what clients decode.
#[derive(Debug, Default, Clone)]
pub(crate) struct RecordingArena {
    pub(crate) recorded: Recorded,
}

struct Recording {
    inner: Arena,
    recorded: Recorded,
}

impl GameFactory for RecordingArena {
    fn schema(&self) -> Schema {
        arena::schema()
    }
    fn create(&self, _room: &str, seed: u64) -> Box<dyn Game> {
        Box::new(Recording {
            inner: Arena::new(seed),
            recorded: self.recorded.clone(),
        })
    }
}

impl Game for Recording {
    fn join(&mut self, client: ClientId) -> Option<EntityId> {
        self.inner.join(client)
    }
    fn leave(&mut self, client: ClientId) {
        self.inner.leave(client);
    }
    fn step(&mut self, ctx: &StepContext<'_>, inputs: &[PlayerInput<'_>]) {
        self.inner.step(ctx, inputs);
        let mut rec = self.recorded.lock().expect("recording lock");
        rec.insert(ctx.tick, self.inner.players().collect());
        // Keep a few seconds of history.
        while rec.len() > 300 {
            rec.pop_first();
        }
    }
    fn write_world(&self, out: &mut WorldWriter<'_>) {
        self.inner.write_world(out);
    }
    fn view_center(&self, client: ClientId) -> Option<Vec2> {
        self.inner.view_center(client)
    }
}

/// A server on 127.0.0.1:0 with test-friendly timeouts.
pub(crate) struct TestServer {
    pub(crate) server: Server,
    pub(crate) url: String,
    pub(crate) recorded: Recorded,
}

pub(crate) fn test_config() -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        handshake_timeout_ms: 2_000,
        idle_timeout_ms: 5_000,
        webrtc_udp: Some("127.0.0.1:0".parse().expect("address")),
        ..Config::default()
    }
}

pub(crate) async fn start(config: Config) -> TestServer {
    let factory = RecordingArena::default();
    let recorded = factory.recorded.clone();
    let server = Server::start(config, Arc::new(factory))
        .await
        .expect("server starts");
    let url = format!("ws://{}/ws", server.local_addr());
    TestServer {
        server,
        url,
        recorded,
    }
}

/// Quantized arena input words for direction `(dx, dy)`.
pub(crate) fn input(layout: &Layout, dx: f32, dy: f32) -> Vec<u32> {
    let mut w = vec![0u32; layout.input.words];
    layout.input.fields[arena::DX]
        .set_f32(&mut w, dx)
        .expect("dx");
    layout.input.fields[arena::DY]
        .set_f32(&mut w, dy)
        .expect("dy");
    w
}

pub(crate) async fn connect(url: &str, room: &str) -> Client {
    within(
        "connect",
        Client::connect(url, ClientConfig::for_room(room)),
    )
    .await
    .expect("client connects")
}

/// Reads events until a snapshot arrives; returns its header.
pub(crate) async fn next_snapshot(client: &mut Client) -> SnapshotHeader {
    within("a snapshot", async {
        loop {
            match client.next_event().await {
                Some(ClientEvent::Snapshot(h)) => return h,
                Some(ClientEvent::Closed(r)) => panic!("closed while waiting for a snapshot: {r}"),
                Some(_) => {}
                None => panic!(
                    "connection ended while waiting for a snapshot: {:?}",
                    client.end()
                ),
            }
        }
    })
    .await
}

pub(crate) type RawWs = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket that speaks whatever the test wants.
pub(crate) async fn raw(url: &str) -> RawWs {
    within("raw connect", tokio_tungstenite::connect_async(url))
        .await
        .expect("raw connect")
        .0
}

pub(crate) fn hello(room: &str, hash: Option<u64>) -> Vec<u8> {
    hello_frame(room, hash, None)
}

/// A hello that resumes the session of `token` (no tick known).
pub(crate) fn resume_hello(room: &str, token: [u8; 16]) -> Vec<u8> {
    let resume = ResumeRequest {
        token,
        last_tick: None,
    };
    hello_frame(room, None, Some(resume))
}

fn hello_frame(room: &str, hash: Option<u64>, resume: Option<ResumeRequest>) -> Vec<u8> {
    let mut buf = Vec::new();
    ClientMessage::Hello(Hello {
        wire_version: WIRE_VERSION,
        protocol_hash: hash,
        room: room.to_owned(),
        auth_token: String::new(),
        resume,
    })
    .encode(&mut buf);
    buf
}

pub(crate) async fn send(ws: &mut RawWs, frame: Vec<u8>) {
    ws.send(Message::Binary(frame.into())).await.expect("send");
}

/// Reads until the server's WebSocket close frame; returns its code (4000 + reason code).
pub(crate) async fn close_code(ws: &mut RawWs) -> u16 {
    within("a close frame", async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(f)))) => return u16::from(f.code),
                Some(Ok(Message::Close(None))) => panic!("close without a code"),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("error before the close frame: {e}"),
                None => panic!("stream ended without a close frame"),
            }
        }
    })
    .await
}

/// `GET path` on `addr` over a fresh TCP connection: the status code and the body.
pub(crate) async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    within(path, async {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.expect("read");
        parse_response(out)
    })
    .await
}

/// An HTTP response's status code and body.
pub(crate) fn parse_response(bytes: Vec<u8>) -> (u16, String) {
    let text = String::from_utf8(bytes).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (status, body.to_owned())
}

/// Reads events until the server closes the session; returns the close reason and how many
/// snapshots came before it.
pub(crate) async fn snapshots_until_closed(
    client: &mut Client,
) -> (tickwire_protocol::CloseReason, u64) {
    within("the server's close", async {
        let mut snapshots = 0;
        loop {
            match client.next_event().await {
                Some(ClientEvent::Snapshot(_)) => snapshots += 1,
                Some(ClientEvent::Closed(r)) => return (r, snapshots),
                Some(_) => {}
                None => panic!("connection ended without a close: {:?}", client.end()),
            }
        }
    })
    .await
}

/// Reads until the welcome; returns it.
pub(crate) async fn welcome(ws: &mut RawWs) -> tickwire_protocol::message::Welcome {
    use tickwire_protocol::message::ServerMessage;
    within("the welcome", async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => {
                    if let Ok(ServerMessage::Welcome(w)) = ServerMessage::decode(&b) {
                        return w;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("no welcome: {other:?}"),
            }
        }
    })
    .await
}

/// A server with `config` and one player in the arena room, already receiving snapshots: the
/// legitimate client most tests keep alongside what they do.
pub(crate) async fn start_with_player(config: Config) -> (TestServer, Client) {
    let ts = start(config).await;
    let mut player = connect(&ts.url, "arena").await;
    next_snapshot(&mut player).await;
    (ts, player)
}
