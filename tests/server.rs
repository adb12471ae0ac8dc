//! The server over real WebSockets: handshake, play, resume, limits, slow and hostile clients.

use futures_util::StreamExt;
use glam::Vec2;
use tickwire::arena;
use tickwire::client::bots::{BotConfig, run_swarm};
use tickwire::client::{Client, ClientConfig, ClientError};
use tickwire_protocol::bits::BitWriter;
use tickwire_protocol::message::ServerMessage;
use tickwire_protocol::{CloseCode, FRAME_INPUT, Layout, Snapshot};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{
    Recorded, close_code, connect, hello, input, next_snapshot, raw, send, start, test_config,
    within,
};

fn pos_of(layout: &Layout, world: &Snapshot, id: u32) -> Vec2 {
    let (_, w) = world.find(id).expect("player in view");
    layout.kinds[usize::from(arena::PLAYER)].fields[arena::POS]
        .get_vec2(w)
        .expect("pos")
}

/// Compares a decoded snapshot with the exact recorded arena state of its tick.
pub(crate) fn assert_matches_recorded(layout: &Layout, recorded: &Recorded, world: &Snapshot) {
    let rec = recorded.lock().expect("lock");
    let exact = rec
        .get(&world.tick)
        .unwrap_or_else(|| panic!("tick {} not recorded", world.tick));
    let kind = &layout.kinds[usize::from(arena::PLAYER)];
    assert_eq!(
        world.len(),
        exact.len(),
        "entity count at tick {}",
        world.tick
    );
    for ((id, pos, heading, hp), (wid, _, w)) in exact.iter().zip(world.iter()) {
        assert_eq!(*id, wid);
        let p = kind.fields[arena::POS].get_vec2(w).unwrap();
        assert!(
            (p - *pos).abs().max_element() <= kind.fields[arena::POS].tolerance(),
            "pos {p} vs {pos}"
        );
        let h = kind.fields[arena::HEADING].get_f32(w).unwrap();
        assert!(
            (h - heading).abs() <= kind.fields[arena::HEADING].tolerance(),
            "heading {h} vs {heading}"
        );
        assert_eq!(kind.fields[arena::HP].get_int(w).unwrap(), i64::from(*hp));
    }
}

#[tokio::test]
async fn handshake_welcomes_and_a_hash_mismatch_is_refused_with_a_reason() {
    let ts = start(test_config()).await;
    let client = connect(&ts.url, "lobby").await;
    let welcome = client.welcome().expect("welcome");
    assert_eq!(welcome.tick_rate, 30);
    assert!(welcome.player.is_some());
    assert_eq!(
        client.layout().unwrap().protocol_hash(),
        ts.server.layout().protocol_hash()
    );

    // The typed client refuses to start with the wrong hash, and says why.
    let mut config = ClientConfig::for_room("lobby");
    config.session.protocol_hash = Some(ts.server.layout().protocol_hash() ^ 0xdead);
    let err = within("mismatch", Client::connect(&ts.url, config))
        .await
        .unwrap_err();
    let ClientError::Refused(reason) = err else {
        panic!("unexpected {err:?}")
    };
    assert_eq!(reason.code, CloseCode::PROTOCOL_MISMATCH);
    assert!(reason.message.contains("regenerate"), "{}", reason.message);

    // On the wire: a close message, then a WebSocket close with 4000 + code.
    let mut ws = raw(&ts.url).await;
    send(&mut ws, hello("lobby", Some(1))).await;
    let frame = within("close message", ws.next()).await.unwrap().unwrap();
    let Message::Binary(bytes) = frame else {
        panic!("{frame:?}")
    };
    let ServerMessage::Close(r) = ServerMessage::decode(&bytes).unwrap() else {
        panic!("not a close")
    };
    assert_eq!(r.code, CloseCode::PROTOCOL_MISMATCH);
    assert_eq!(
        close_code(&mut ws).await,
        CloseCode::PROTOCOL_MISMATCH.websocket_code()
    );
}

#[tokio::test]
async fn inputs_move_the_player_and_headers_report_them_applied() {
    let ts = start(test_config()).await;
    let mut c = connect(&ts.url, "move").await;
    let layout = c.layout().unwrap().clone();
    let player = c.welcome().unwrap().player.unwrap();
    next_snapshot(&mut c).await;
    let start_pos = pos_of(&layout, c.world().unwrap(), player);
    let dx = if start_pos.x > 2000.0 { -1.0 } else { 1.0 };
    let seq = c.send_input(&input(&layout, dx, 0.0)).await.unwrap();
    let applied_tick = within("the input applied", async {
        loop {
            let h = next_snapshot(&mut c).await;
            if h.last_input_seq.is_some_and(|s| s >= seq) {
                return h.tick;
            }
        }
    })
    .await;
    // Ten ticks later the player has moved 10 ticks' worth (200 units/s), along x only.
    loop {
        let h = next_snapshot(&mut c).await;
        if h.tick >= applied_tick + 10 {
            break;
        }
    }
    let world = c.world().unwrap();
    let moved = pos_of(&layout, world, player) - start_pos;
    let ticks = (world.tick - applied_tick + 1) as f32;
    let expected = arena::SPEED / 30.0 * ticks;
    assert!(
        moved.x * dx >= expected * 0.9 && moved.x * dx <= expected * 1.1 + 7.0,
        "moved {moved} over {ticks} ticks"
    );
    assert!(moved.y.abs() < 0.1, "moved {moved}");
    let heading = layout.kinds[0].fields[arena::HEADING]
        .get_f32(world.find(player).unwrap().1)
        .unwrap();
    assert!(
        (heading - if dx > 0.0 { 0.0 } else { 180.0 }).abs() <= 0.5,
        "heading {heading}"
    );
}

#[tokio::test]
async fn decoded_worlds_match_the_server_within_quantization() {
    let ts = start(test_config()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect(&ts.url, "match").await);
    }
    let layout = clients[0].layout().unwrap().clone();
    let dirs = [(1.0, 0.3), (-0.5, 1.0), (0.2, -0.9)];
    for round in 0..40 {
        for (i, c) in clients.iter_mut().enumerate() {
            let (dx, dy) = dirs[(i + round / 10) % 3];
            c.send_input(&input(&layout, dx, dy)).await.unwrap();
            next_snapshot(c).await;
            assert_matches_recorded(&layout, &ts.recorded, c.world().unwrap());
        }
    }
    for c in &clients {
        assert_eq!(c.stats().decode_errors, 0);
        assert!(c.stats().full_snapshots <= 3, "{:?}", c.stats());
    }
}

#[tokio::test]
async fn view_radius_limits_each_client_to_nearby_players() {
    let config = tickwire::Config {
        view_radius: Some(600.0),
        ..test_config()
    };
    let ts = start(config).await;
    let mut clients = Vec::new();
    for _ in 0..12 {
        clients.push(connect(&ts.url, "near").await);
    }
    let layout = clients[0].layout().unwrap().clone();
    for c in &mut clients {
        next_snapshot(c).await;
        next_snapshot(c).await;
        let me = c.welcome().unwrap().player.unwrap();
        let world = c.world().unwrap();
        let center = pos_of(&layout, world, me);
        let rec = ts.recorded.lock().unwrap();
        let exact = &rec[&world.tick];
        let expected: Vec<u32> = exact
            .iter()
            .filter(|(_, p, _, _)| p.distance(center) <= 600.0 + 0.1)
            .map(|(id, ..)| *id)
            .collect();
        let seen: Vec<u32> = world.ids().to_vec();
        // Quantization can move a player across the edge by 1/32 unit; allow only that.
        for id in &seen {
            let p = exact.iter().find(|(i, ..)| i == id).unwrap().1;
            assert!(
                p.distance(center) <= 600.1,
                "sees {id} at {}",
                p.distance(center)
            );
        }
        for id in &expected {
            let p = exact.iter().find(|(i, ..)| i == id).unwrap().1;
            assert!(
                seen.contains(id) || p.distance(center) > 599.9,
                "misses {id}"
            );
        }
    }
}

#[tokio::test]
async fn resume_within_the_grace_period_continues_with_a_delta() {
    let ts = start(test_config()).await;
    let mut c = connect(&ts.url, "resume").await;
    let player = c.welcome().unwrap().player;
    for _ in 0..5 {
        next_snapshot(&mut c).await;
    }
    let full_before = c.stats().full_snapshots;
    within("reconnect", c.reconnect(&ts.url))
        .await
        .expect("reconnect");
    let w = c.welcome().unwrap();
    assert!(w.resumed, "the server resumed the session");
    assert_eq!(w.player, player, "same player");
    let h = next_snapshot(&mut c).await;
    assert!(
        h.baseline.is_some(),
        "first snapshot after resume is a delta: {h:?}"
    );
    assert_eq!(c.stats().full_snapshots, full_before);
    assert_eq!(c.stats().decode_errors, 0);
}

#[tokio::test]
async fn a_client_that_leaves_and_hangs_up_at_once_is_gone_not_parked() {
    let ts = start(test_config()).await;
    let mut c = connect(&ts.url, "leave").await;
    next_snapshot(&mut c).await;
    // The client sends its leave and closes the socket straight away.
    c.close().await.expect("clean close");
    within("the server drops the session", async {
        loop {
            let r = ts.server.report();
            let (clients, parked) = r
                .shards
                .iter()
                .fold((0, 0), |(c, p), s| (c + s.clients, p + s.parked));
            if clients == 0 && parked == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_client_that_stops_reading_stays_bounded_and_others_play_on() {
    let config = tickwire::Config {
        socket_send_buffer: 4096,
        idle_timeout_ms: 60_000,
        no_ack_timeout_ms: 60_000,
        ..test_config()
    };
    let ts = start(config).await;
    // A crowd of playing clients makes snapshots large.
    let mut crowd = Vec::new();
    for _ in 0..30 {
        let mut c = connect(&ts.url, "slow").await;
        crowd.push(tokio::spawn(async move {
            while c.next_event().await.is_some() {}
        }));
    }
    // The silent client joins with a tiny receive buffer, then never reads again. It never
    // acks either, so every snapshot it is sent is a full one, and after `history` ticks it
    // is sent only every 8th.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(ts.server.local_addr()).await.unwrap();
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (mut slow, _) = tokio_tungstenite::client_async(ts.url.as_str(), stream)
        .await
        .unwrap();
    send(&mut slow, hello("slow", None)).await;

    let mut good = connect(&ts.url, "slow").await;
    let mut last = next_snapshot(&mut good).await.tick;
    let mut snapshots = 0;
    within(
        "the silent client's snapshots to be superseded or withheld",
        async {
            loop {
                let h = next_snapshot(&mut good).await;
                assert!(h.tick > last);
                last = h.tick;
                snapshots += 1;
                let shard = &ts.server.report().shards[0];
                if shard.superseded + shard.snapshots_withheld > 30 {
                    return;
                }
            }
        },
    )
    .await;
    let report = ts.server.report();
    assert_eq!(
        report.open_connections, 32,
        "nobody was dropped: {report:?}"
    );
    assert!(snapshots > 30);
    assert_eq!(good.stats().decode_errors, 0);
    // Superseded snapshots are dropped, not queued: what the silent client holds up is its
    // socket buffers plus one snapshot, however long it stays silent. The good client still
    // gets every tick.
    let before = good.stats().snapshots;
    for _ in 0..30 {
        next_snapshot(&mut good).await;
    }
    assert_eq!(good.stats().snapshots, before + 30);
    drop(slow);
    for t in crowd {
        t.abort();
    }
}

#[tokio::test]
async fn bad_clients_are_closed_with_their_reason_while_others_play() {
    let ts = start(test_config()).await;
    let mut good = connect(&ts.url, "hostile").await;
    let layout = good.layout().unwrap().clone();
    next_snapshot(&mut good).await;

    /// Input frames are taken only once the welcome is out.
    async fn joined(url: &str) -> crate::harness::RawWs {
        let mut ws = raw(url).await;
        send(&mut ws, hello("hostile", None)).await;
        crate::harness::welcome(&mut ws).await;
        ws
    }

    // Unknown frame type.
    let mut ws = joined(&ts.url).await;
    send(&mut ws, vec![0x7f, 1, 2, 3]).await;
    assert_eq!(
        close_code(&mut ws).await,
        CloseCode::MALFORMED.websocket_code()
    );

    // An input whose dx is out of its declared range.
    let mut ws = joined(&ts.url).await;
    let mut frame = vec![FRAME_INPUT];
    let mut w = BitWriter::new(&mut frame);
    w.write_uvar(0);
    w.write(1, 4);
    w.write_uvar(0);
    w.write_uvar(10);
    w.write(255, 8);
    w.write(64, 8);
    w.finish();
    send(&mut ws, frame).await;
    assert_eq!(
        close_code(&mut ws).await,
        CloseCode::BAD_INPUT.websocket_code()
    );

    // Oversized message.
    let mut ws = joined(&ts.url).await;
    send(&mut ws, vec![0u8; 70_000]).await;
    assert_eq!(
        close_code(&mut ws).await,
        CloseCode::MESSAGE_TOO_LARGE.websocket_code()
    );

    // Text instead of binary.
    let mut ws = joined(&ts.url).await;
    futures_util::SinkExt::send(&mut ws, Message::Text("hi".into()))
        .await
        .unwrap();
    assert_eq!(
        close_code(&mut ws).await,
        CloseCode::MALFORMED.websocket_code()
    );

    // Flooding: far past the rate limit.
    let mut ws = joined(&ts.url).await;
    for _ in 0..1000 {
        if futures_util::SinkExt::send(&mut ws, Message::Binary(vec![FRAME_INPUT, 0x00].into()))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(
        close_code(&mut ws).await,
        CloseCode::RATE_LIMITED.websocket_code()
    );

    // No hello at all.
    let mut ws = raw(&ts.url).await;
    assert_eq!(
        close_code(&mut ws).await,
        CloseCode::HANDSHAKE_TIMEOUT.websocket_code()
    );

    // A first message that is not a hello.
    let mut ws = raw(&ts.url).await;
    send(&mut ws, vec![FRAME_INPUT, 0]).await;
    assert_eq!(
        close_code(&mut ws).await,
        CloseCode::BAD_HANDSHAKE.websocket_code()
    );

    // The good client never noticed.
    let before = good.stats().snapshots;
    let seq = good.send_input(&input(&layout, 1.0, 0.0)).await.unwrap();
    loop {
        let h = next_snapshot(&mut good).await;
        if h.last_input_seq.is_some_and(|s| s >= seq) {
            break;
        }
    }
    assert!(good.stats().snapshots > before);
    assert!(good.end().is_none());
    assert_eq!(good.stats().decode_errors, 0);
    let closes = ts.server.report().closes;
    for name in [
        "malformed",
        "bad_input",
        "message_too_large",
        "rate_limited",
        "handshake_timeout",
    ] {
        assert!(
            closes.iter().any(|(n, c)| *n == name && *c > 0),
            "{name} not counted in {closes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_of_200_bots_plays_without_decode_errors() {
    let ts = start(test_config()).await;
    let cfg = BotConfig {
        url: ts.url.clone(),
        bots: 200,
        seconds: 3.0,
        warmup_seconds: 1.0,
        room: "swarm".into(),
        ..BotConfig::default()
    };
    let report = within("the swarm", run_swarm(&cfg))
        .await
        .expect("swarm runs");
    assert_eq!(report.measured_bots, 200, "{report:?}");
    assert_eq!(report.decode_errors, 0, "{report:?}");
    assert_eq!(report.disconnects, 0, "{report:?}");
    assert!(report.snapshots_per_bot_per_s > 15.0, "{report:?}");
    // Every tick's duration and, on Linux, its CPU time are recorded.
    let report = ts.server.report();
    let shard = report
        .shards
        .iter()
        .find(|s| s.delta_snapshots > 0)
        .expect("the swarm's shard");
    assert!(shard.ticks > 0 && shard.tick_p50_ms > 0.0, "{shard:?}");
    if cfg!(target_os = "linux") {
        let cpu_ticks: u64 = shard.tick_cpu_histogram_us.iter().map(|(_, n)| n).sum();
        let ticks: u64 = shard.tick_histogram_us.iter().map(|(_, n)| n).sum();
        assert_eq!(cpu_ticks, ticks, "{shard:?}");
        assert!(shard.tick_cpu_p50_ms > 0.0, "{shard:?}");
    }
}

/// The shard threads take the priority the config asks for when the process may raise it (as
/// root), and otherwise keep the process's own and go on serving.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn shard_threads_take_the_configured_priority_or_keep_the_process_one() {
    let root = rustix::process::geteuid().is_root();
    let own = rustix::process::getpriority_process(None).expect("own nice value");
    for realtime in [false, true] {
        let ts = start(tickwire::Config {
            shard_nice: -5,
            shard_realtime: realtime,
            ..test_config()
        })
        .await;
        // A snapshot means a tick ran, so the shard has set its priority.
        let mut client = connect(&ts.url, "arena").await;
        next_snapshot(&mut client).await;
        let shard = &ts.server.report().shards[0];
        match (root, realtime) {
            (true, true) => assert!(shard.realtime, "{shard:?}"),
            (true, false) => assert_eq!((shard.nice, shard.realtime), (-5, false)),
            (false, _) => assert_eq!((shard.nice, shard.realtime), (own, false)),
        }
    }
}
