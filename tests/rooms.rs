//! Rooms and sessions are bounded: parked sessions count against the room and server caps,
//! rooms with nobody connected stop ticking, rooms per server and who opens them are capped,
//! and clients that never acknowledge a snapshot back off and are closed. Each attack runs
//! with a player alongside, who keeps getting snapshots, and the counts come back to the
//! player's baseline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use glam::Vec2;
use tickwire::arena::{self, Arena};
use tickwire::client::{Client, ClientConfig};
use tickwire::game::{ClientId, Game, GameFactory, PlayerInput, StepContext, WorldWriter};
use tickwire::net::stats::StatusReport;
use tickwire::{Config, Server};
use tickwire_protocol::message::ServerMessage;
use tickwire_protocol::{CloseCode, EntityId, FRAME_SNAPSHOT, Schema, peek_snapshot_header};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{
    RawWs, close_code, connect, hello, next_snapshot, raw, resume_hello, send, start, test_config,
    welcome, within,
};

fn sum(r: &StatusReport, f: impl Fn(&tickwire::sim::stats::ShardReport) -> u64) -> u64 {
    r.shards.iter().map(f).sum()
}

fn parked(r: &StatusReport) -> u64 {
    sum(r, |s| s.parked)
}

fn clients(r: &StatusReport) -> u64 {
    sum(r, |s| s.clients)
}

fn rooms(r: &StatusReport) -> u64 {
    sum(r, |s| s.rooms)
}

/// Polls `player` (so it keeps acking) until `done` holds for the server's report.
async fn until(
    server: &Server,
    player: &mut Client,
    what: &str,
    done: impl Fn(&StatusReport) -> bool,
) {
    within(what, async {
        while !done(&server.report()) {
            next_snapshot(player).await;
        }
    })
    .await;
}

/// A raw session in `room`: hello, then the welcome's resume token.
async fn session(url: &str, room: &str) -> (RawWs, [u8; 16]) {
    let mut ws = raw(url).await;
    send(&mut ws, hello(room, None)).await;
    let w = welcome(&mut ws).await;
    (ws, w.resume_token)
}

/// The `Close` message the server sends before its close frame.
async fn close_message(ws: &mut RawWs) -> tickwire_protocol::CloseReason {
    within("a Close message", async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => {
                    if let Ok(ServerMessage::Close(r)) = ServerMessage::decode(&b) {
                        return r;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("ended without a Close message: {other:?}"),
            }
        }
    })
    .await
}

#[tokio::test]
async fn parked_sessions_count_against_the_room_and_the_server_oldest_dropped_first() {
    let config = Config {
        max_clients_per_room: 4,
        max_parked_sessions: 6,
        resume_grace_ms: 3_000,
        ..test_config()
    };
    let ts = start(config).await;
    let mut player = connect(&ts.url, "arena").await;
    next_snapshot(&mut player).await;
    let room_full = CloseCode::ROOM_FULL.websocket_code();

    // A full room of connected clients refuses the next one.
    let mut first = Vec::new();
    for _ in 0..4 {
        first.push(session(&ts.url, "crowd").await);
    }
    let mut fifth = raw(&ts.url).await;
    send(&mut fifth, hello("crowd", None)).await;
    assert_eq!(close_code(&mut fifth).await, room_full);

    // They drop: parked, still holding their places...
    let tokens: Vec<[u8; 16]> = first.iter().map(|(_, t)| *t).collect();
    drop(first);
    until(&ts.server, &mut player, "four parked", |r| parked(r) == 4).await;
    // ...until newcomers take them, the oldest parked first.
    let mut second = Vec::new();
    for _ in 0..4 {
        second.push(session(&ts.url, "crowd").await);
    }
    // The shard publishes its gauges at the end of each tick: wait for the tick.
    until(&ts.server, &mut player, "the parked places taken", |r| {
        (clients(r), parked(r), sum(r, |s| s.parked_dropped)) == (5, 0, 4)
    })
    .await;
    let mut late = raw(&ts.url).await;
    send(&mut late, resume_hello("crowd", tokens[0])).await;
    assert_eq!(
        close_code(&mut late).await,
        CloseCode::RESUME_FAILED.websocket_code()
    );
    let mut fifth = raw(&ts.url).await;
    send(&mut fifth, hello("crowd", None)).await;
    assert_eq!(close_code(&mut fifth).await, room_full);
    next_snapshot(&mut player).await;

    // Across rooms, the server keeps at most `max_parked_sessions`, dropping the oldest.
    drop(second);
    until(&ts.server, &mut player, "four parked again", |r| {
        parked(r) == 4
    })
    .await;
    let mut newest = None;
    for i in 0..4 {
        let room = format!("r{i}");
        let (ws, token) = session(&ts.url, &room).await;
        drop(ws);
        newest = Some((room, token));
    }
    until(&ts.server, &mut player, "the cap holds", |r| {
        sum(r, |s| s.parked_dropped) == 6
    })
    .await;
    until(&ts.server, &mut player, "six parked", |r| parked(r) == 6).await;
    // The newest parked session still resumes.
    let (room, token) = newest.expect("a session");
    let mut back = raw(&ts.url).await;
    send(&mut back, resume_hello(&room, token)).await;
    assert!(welcome(&mut back).await.resumed);
    drop(back);

    until(&ts.server, &mut player, "the baseline", |r| {
        clients(r) == 1 && parked(r) == 0 && rooms(r) == 1 && r.open_connections == 1
    })
    .await;
    let before = next_snapshot(&mut player).await.tick;
    assert!(next_snapshot(&mut player).await.tick > before);
}

/// The arena, counting the steps of each room.
#[derive(Debug, Default, Clone)]
struct CountingArena {
    steps: Arc<Mutex<HashMap<String, u64>>>,
}

struct Counting {
    inner: Arena,
    room: String,
    steps: Arc<Mutex<HashMap<String, u64>>>,
}

impl CountingArena {
    fn steps(&self, room: &str) -> u64 {
        let steps = self.steps.lock().expect("steps lock");
        steps.get(room).copied().unwrap_or(0)
    }
}

impl GameFactory for CountingArena {
    fn schema(&self) -> Schema {
        arena::schema()
    }
    fn create(&self, room: &str, seed: u64) -> Box<dyn Game> {
        Box::new(Counting {
            inner: Arena::new(seed),
            room: room.to_owned(),
            steps: self.steps.clone(),
        })
    }
}

impl Game for Counting {
    fn join(&mut self, client: ClientId) -> Option<EntityId> {
        self.inner.join(client)
    }
    fn leave(&mut self, client: ClientId) {
        self.inner.leave(client);
    }
    fn step(&mut self, ctx: &StepContext<'_>, inputs: &[PlayerInput<'_>]) {
        self.inner.step(ctx, inputs);
        let mut steps = self.steps.lock().expect("steps lock");
        *steps.entry(self.room.clone()).or_default() += 1;
    }
    fn write_world(&self, out: &mut WorldWriter<'_>) {
        self.inner.write_world(out);
    }
    fn view_center(&self, client: ClientId) -> Option<Vec2> {
        self.inner.view_center(client)
    }
}

#[tokio::test]
async fn a_room_with_nobody_connected_stops_ticking_and_a_resume_gets_a_delta() {
    let config = Config {
        empty_room_grace_ms: 200,
        resume_grace_ms: 20_000,
        ..test_config()
    };
    let factory = CountingArena::default();
    let server = Server::start(config, Arc::new(factory.clone()))
        .await
        .expect("server starts");
    let url = format!("ws://{}/ws", server.local_addr());
    let mut player = connect(&url, "arena").await;
    next_snapshot(&mut player).await;
    let mut away = connect(&url, "lonely").await;
    for _ in 0..5 {
        next_snapshot(&mut away).await;
    }
    let full_before = away.stats().full_snapshots;

    // The connection drops and the first attempt to come back fails (nothing listens there).
    let nowhere = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("address")
    };
    assert!(away.reconnect(&format!("ws://{nowhere}/ws")).await.is_err());
    until(&server, &mut player, "the session parked", |r| {
        parked(r) == 1
    })
    .await;

    // The room stops: its step count holds still while the player's room goes on.
    within("the room to stop", async {
        loop {
            let steps = factory.steps("lonely");
            for _ in 0..10 {
                next_snapshot(&mut player).await;
            }
            if factory.steps("lonely") == steps {
                break;
            }
        }
    })
    .await;
    let stopped = factory.steps("lonely");
    let r = server.report();
    assert_eq!((rooms(&r), clients(&r), parked(&r)), (2, 1, 1));

    // The resume finds its baseline and gets a delta; the room ticks again.
    within("reconnect", away.reconnect(&url))
        .await
        .expect("reconnect");
    assert!(away.welcome().expect("welcome").resumed);
    let h = next_snapshot(&mut away).await;
    assert!(h.baseline.is_some(), "a delta after the pause: {h:?}");
    assert_eq!(away.stats().full_snapshots, full_before);
    next_snapshot(&mut away).await;
    assert!(factory.steps("lonely") > stopped);

    away.close().await.expect("clean close");
    until(&server, &mut player, "the baseline", |r| {
        clients(r) == 1 && parked(r) == 0 && rooms(r) == 1
    })
    .await;
}

#[tokio::test]
async fn rooms_per_server_are_capped() {
    let config = Config {
        max_rooms: 3,
        resume_grace_ms: 100,
        ..test_config()
    };
    let ts = start(config).await;
    let mut player = connect(&ts.url, "arena").await;
    next_snapshot(&mut player).await;

    let a = session(&ts.url, "a").await;
    let b = session(&ts.url, "b").await;
    let mut c = raw(&ts.url).await;
    send(&mut c, hello("c", None)).await;
    let reason = close_message(&mut c).await;
    assert_eq!(reason.code, CloseCode::SERVER_FULL);
    assert_eq!(
        close_code(&mut c).await,
        CloseCode::SERVER_FULL.websocket_code()
    );
    // An existing room still takes clients.
    let a2 = session(&ts.url, "a").await;
    until(&ts.server, &mut player, "three rooms", |r| rooms(r) == 3).await;
    next_snapshot(&mut player).await;

    drop((a, b, a2));
    until(&ts.server, &mut player, "the baseline", |r| {
        clients(r) == 1 && parked(r) == 0 && rooms(r) == 1
    })
    .await;
    // Rooms freed are rooms to open.
    let (_c, _) = session(&ts.url, "c").await;
}

#[tokio::test]
async fn with_room_creation_server_only_the_servers_rooms_exist() {
    let config = Config {
        room_creation: tickwire::config::RoomCreation::Server,
        rooms: vec!["lobby".into(), "hall".into()],
        resume_grace_ms: 100,
        ..test_config()
    };
    let ts = start(config).await;
    // Open from the start, before anyone joins.
    within("the rooms open", async {
        while rooms(&ts.server.report()) != 2 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    let mut player = connect(&ts.url, "lobby").await;
    next_snapshot(&mut player).await;

    let mut ws = raw(&ts.url).await;
    send(&mut ws, hello("elsewhere", None)).await;
    let reason = close_message(&mut ws).await;
    assert_eq!(reason.code, CloseCode::BAD_HANDSHAKE);
    assert!(reason.message.contains("no such room"), "{reason}");
    let hall = session(&ts.url, "hall").await;
    drop(hall);
    next_snapshot(&mut player).await;

    // The server's rooms stay when empty.
    until(&ts.server, &mut player, "the baseline", |r| {
        clients(r) == 1 && parked(r) == 0 && rooms(r) == 2 && r.open_connections == 1
    })
    .await;
}

#[tokio::test]
async fn a_client_that_never_acks_backs_off_then_is_closed_and_a_lossy_one_is_not() {
    let config = Config {
        no_ack_timeout_ms: 1_500,
        ..test_config()
    };
    let history = config.history as u32;
    let close_after = 1_500 * u32::from(config.tick_rate) / 1000;
    let ts = start(config).await;
    let mut player = connect(&ts.url, "arena").await;
    next_snapshot(&mut player).await;

    // A client that acks only every 150 ms (five ticks), for over twice the timeout.
    let mut lossy_config = ClientConfig::for_room("arena");
    lossy_config.session.ack_delay_us = 150_000;
    let mut lossy = within("connect", Client::connect(&ts.url, lossy_config))
        .await
        .expect("connects");
    let start_tick = next_snapshot(&mut lossy).await.tick;
    let mut last = start_tick;
    while last < start_tick + 2 * close_after {
        last = next_snapshot(&mut lossy).await.tick;
        next_snapshot(&mut player).await;
    }
    assert!(lossy.is_connected());
    assert_eq!(sum(&ts.server.report(), |s| s.snapshots_withheld), 0);

    // A client that never acks: every snapshot for `history` ticks, then every 8th, then the
    // close.
    let attacker = tokio::spawn(async move {
        let (mut ws, _) = session(&ts.url, "arena").await;
        let mut ticks = Vec::new();
        let mut close = None;
        let code = within("the close frame", async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Binary(b))) if b.first() == Some(&FRAME_SNAPSHOT) => {
                        ticks.push(peek_snapshot_header(&b).expect("a header").tick);
                    }
                    Some(Ok(Message::Binary(b))) => {
                        if let Ok(ServerMessage::Close(r)) = ServerMessage::decode(&b) {
                            close = Some(r);
                        }
                    }
                    Some(Ok(Message::Close(Some(f)))) => return u16::from(f.code),
                    Some(Ok(_)) => {}
                    other => panic!("ended without a close frame: {other:?}"),
                }
            }
        })
        .await;
        (ts, code, close, ticks)
    });
    while !attacker.is_finished() {
        next_snapshot(&mut player).await;
        next_snapshot(&mut lossy).await;
    }
    let (ts, code, close, ticks) = attacker.await.expect("the attacker's task");
    assert_eq!(code, CloseCode::SLOW_CONSUMER.websocket_code());
    assert_eq!(close.map(|r| r.code), Some(CloseCode::SLOW_CONSUMER));
    let first = *ticks.first().expect("snapshots before the back-off");
    let late: Vec<u32> = ticks
        .iter()
        .map(|t| t - first)
        .filter(|&q| q >= history)
        .collect();
    // At most one snapshot per 8 ticks after the first `history`, and none at or past the
    // close.
    assert!(
        late.len() as u32 <= (close_after - history) / 8 + 1,
        "{late:?}"
    );
    assert!(late.iter().all(|&q| q < close_after + 2), "{late:?}");
    assert!(sum(&ts.server.report(), |s| s.snapshots_withheld) > 0);

    until(&ts.server, &mut player, "the baseline", |r| {
        clients(r) == 2 && parked(r) == 0 && r.open_connections == 2
    })
    .await;
    assert!(lossy.is_connected());
    next_snapshot(&mut lossy).await;
}
