//! The WebRTC transport over real UDP on loopback: str0m on both sides, signaling over the
//! WebSocket, fallback and switching, limits. Waits are on events, bounded by `within`.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tickwire::Config;
use tickwire::client::bots::{BotConfig, Transport, run_swarm};
use tickwire::client::{ActiveTransport, Client, ClientConfig, RtcClientPeer, WebRtcConfig};
use tickwire_protocol::message::{ClientMessage, ServerMessage, Signal};
use tickwire_protocol::{Layout, SnapshotHeader};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{
    RawWs, TestServer, hello, input, next_snapshot, raw, send, start, test_config, within,
};
use crate::relay::{Impairment, Relay, lossy};
use crate::server::assert_matches_recorded;

fn rtc_config() -> WebRtcConfig {
    WebRtcConfig {
        open_timeout: Duration::from_secs(10),
        retry_initial: Duration::from_millis(200),
        ..WebRtcConfig::default()
    }
}

async fn connect_with(ts: &TestServer, webrtc: WebRtcConfig) -> Client {
    let mut cfg = ClientConfig::for_room("arena");
    cfg.webrtc = Some(webrtc);
    within("connect", Client::connect(&ts.url, cfg))
        .await
        .expect("client connects")
}

fn server_addr(ts: &TestServer) -> std::net::SocketAddr {
    ts.server.webrtc_addr().expect("webrtc is on")
}

/// Reads snapshots until the client's transport is `want`; no full snapshot may arrive on the
/// way but the session's very first.
async fn until_transport(client: &mut Client, want: ActiveTransport) {
    within("the transport to switch", async {
        while client.transport() != want {
            let h = next_snapshot(client).await;
            assert!(
                client.stats().full_snapshots <= 1,
                "full snapshot at tick {} during a switch",
                h.tick
            );
        }
    })
    .await;
}

fn layout(client: &Client) -> Layout {
    (**client.layout().expect("layout")).clone()
}

#[tokio::test]
async fn webrtc_a_client_plays_over_the_data_channels() {
    let ts = start(test_config()).await;
    let mut client = connect_with(&ts, rtc_config()).await;
    let player = client.welcome().expect("welcome").player;
    until_transport(&mut client, ActiveTransport::WebRtc).await;
    let layout = layout(&client);

    // Inputs go on the data channel; the snapshots that apply them come back on it.
    let before = client.webrtc_stats();
    let seq = client
        .send_input(&input(&layout, 1.0, 0.0))
        .await
        .expect("input");
    let h = within("the input applied", async {
        loop {
            let h = next_snapshot(&mut client).await;
            if h.last_input_seq.is_some_and(|s| s >= seq) {
                return h;
            }
        }
    })
    .await;
    assert!(h.baseline.is_some());
    assert_matches_recorded(&layout, &ts.recorded, client.world().expect("world"));
    let after = client.webrtc_stats();
    assert!(
        after.frames_sent > before.frames_sent,
        "inputs went over webrtc"
    );
    assert!(
        after.frames_received > before.frames_received,
        "snapshots came over webrtc"
    );
    assert_eq!(client.transport(), ActiveTransport::WebRtc);
    assert_eq!(client.welcome().expect("welcome").player, player);
    assert_eq!(client.stats().full_snapshots, 1);
    assert_eq!(client.stats().decode_errors, 0);

    let report = ts.server.report().webrtc.expect("webrtc report");
    assert_eq!((report.peers, report.opened), (1, 1));
    assert!(report.frames_out > 0 && report.frames_in > 0);
    client.close().await.expect("close");
    within("the peer to go", async {
        while ts.server.report().webrtc.expect("report").peers > 0 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn webrtc_bot_swarm_reports_bots_on_webrtc() {
    let ts = start(test_config()).await;
    let cfg = BotConfig {
        url: ts.url.clone(),
        bots: 4,
        seconds: 1.5,
        warmup_seconds: 1.5,
        transport: Transport::Webrtc,
        ..BotConfig::default()
    };
    let report = within("the swarm", run_swarm(&cfg))
        .await
        .expect("swarm runs");
    assert_eq!(report.on_webrtc, 4, "{report:?}");
    assert_eq!(report.on_websocket, 0);
    assert_eq!(report.decode_errors, 0);
    assert!(report.snapshots_per_bot_per_s > 0.0);
    let line = serde_json::to_value(&report).expect("json");
    assert_eq!(line["transport"], "webrtc");
    assert_eq!(line["on_webrtc"], 4);
    let w = ts.server.report().webrtc.expect("webrtc report");
    assert!(w.opened >= 4, "{w:?}");
    assert_eq!(
        w.udp,
        server_addr(&ts).to_string(),
        "one UDP port for every peer"
    );
}

/// Under 20 % loss each way (plus delay, jitter, reordering) on the data channels, every
/// decoded world equals the server's within quantization; when the loss stops, snapshots
/// arrive tick after tick again.
#[tokio::test]
async fn webrtc_snapshots_stay_exact_under_loss_and_converge() {
    let ts = start(test_config()).await;
    let relay = Relay::start(server_addr(&ts), Impairment::Clear).await;
    let mut client = connect_with(
        &ts,
        WebRtcConfig {
            // The default stall timeouts on both sides: 20 % loss must not look like a dead
            // link.
            remote_override: Some(relay.addr),
            ..rtc_config()
        },
    )
    .await;
    until_transport(&mut client, ActiveTransport::WebRtc).await;
    let layout = layout(&client);
    // Impair after the channels opened: setup under loss is a separate concern.
    relay.set(lossy(7));

    let mut gaps = 0;
    let mut last: Option<SnapshotHeader> = None;
    let mut dir = 1.0;
    for i in 0..120 {
        if i % 3 == 0 {
            if i % 30 == 0 {
                dir = -dir;
            }
            client
                .send_input(&input(&layout, dir, 0.5))
                .await
                .expect("input");
        }
        let h = next_snapshot(&mut client).await;
        assert_matches_recorded(&layout, &ts.recorded, client.world().expect("world"));
        if let Some(p) = last
            && h.tick != p.tick + 1
        {
            gaps += 1;
        }
        last = Some(h);
    }
    assert!(
        gaps > 0,
        "the relay dropped nothing: the test exercised no loss"
    );
    assert_eq!(
        client.transport(),
        ActiveTransport::WebRtc,
        "stayed on webrtc"
    );
    assert_eq!(client.stats().decode_errors, 0);

    relay.set(Impairment::Clear);
    within("snapshots back to every tick", async {
        let mut run = 0;
        let mut prev = next_snapshot(&mut client).await.tick;
        while run < 15 {
            let h = next_snapshot(&mut client).await;
            assert_matches_recorded(&layout, &ts.recorded, client.world().expect("world"));
            run = if h.tick == prev + 1 { run + 1 } else { 0 };
            prev = h.tick;
        }
    })
    .await;
    let newest = *ts
        .recorded
        .lock()
        .expect("lock")
        .keys()
        .last()
        .expect("ticks");
    let tick = client.world().expect("world").tick;
    assert!(newest - tick <= 3, "client at {tick}, server at {newest}");
    assert_eq!(
        client.stats().full_snapshots,
        1,
        "losses never cost a full snapshot"
    );
}

/// UDP never gets through: the upgrade fails (and is retried) while the session plays on
/// over the WebSocket without a gap or a full snapshot.
#[tokio::test]
async fn webrtc_blocked_udp_keeps_the_session_on_the_websocket() {
    let mut config = test_config();
    config.webrtc_open_timeout_ms = 800;
    let ts = start(config).await;
    let relay = Relay::start(server_addr(&ts), Impairment::Blocked).await;
    let mut client = connect_with(
        &ts,
        WebRtcConfig {
            remote_override: Some(relay.addr),
            open_timeout: Duration::from_millis(1_000),
            retry_initial: Duration::from_millis(100),
            ..rtc_config()
        },
    )
    .await;
    let layout = layout(&client);
    let mut seq = 0;
    within("two failed upgrades", async {
        while client.webrtc_stats().failed_attempts < 2 {
            seq = client
                .send_input(&input(&layout, 0.0, 1.0))
                .await
                .expect("input");
            next_snapshot(&mut client).await;
            assert_eq!(client.transport(), ActiveTransport::WebSocket);
        }
    })
    .await;
    // Inputs sent while the upgrade failed were all applied.
    within("the last input applied", async {
        while client.session().last_input_applied() < Some(seq) {
            next_snapshot(&mut client).await;
        }
    })
    .await;
    assert_matches_recorded(&layout, &ts.recorded, client.world().expect("world"));
    let stats = client.webrtc_stats();
    assert_eq!(stats.opened, 0);
    assert_eq!(client.stats().full_snapshots, 1);
    let w = ts.server.report().webrtc.expect("report");
    assert!(w.reaped + w.refused >= 1, "{w:?}");
    assert_eq!(w.opened, 0);
}

/// WebSocket → WebRTC → WebSocket → WebRTC on one session, then a black-holed link: the
/// same player throughout, and no full snapshot after the first.
#[tokio::test]
async fn webrtc_switches_both_ways_mid_game_without_a_full_snapshot() {
    let mut config = test_config();
    config.webrtc_stall_ms = Some(600);
    let ts = start(config).await;
    let relay = Relay::start(server_addr(&ts), Impairment::Clear).await;
    let mut client = connect_with(
        &ts,
        WebRtcConfig {
            auto: false,
            remote_override: Some(relay.addr),
            stall_timeout: Duration::from_millis(600),
            ..rtc_config()
        },
    )
    .await;
    let welcome = client.welcome().expect("welcome").clone();
    let layout = layout(&client);
    for _ in 0..10 {
        next_snapshot(&mut client).await;
    }
    assert_eq!(client.transport(), ActiveTransport::WebSocket);

    for round in 0..2 {
        client.start_webrtc().await.expect("start webrtc");
        until_transport(&mut client, ActiveTransport::WebRtc).await;
        let seq = client
            .send_input(&input(&layout, 1.0, 0.0))
            .await
            .expect("input");
        within("input over webrtc", async {
            while client.session().last_input_applied() < Some(seq) {
                next_snapshot(&mut client).await;
            }
        })
        .await;
        if round == 0 {
            client.stop_webrtc().await.expect("stop webrtc");
        } else {
            // The link goes dark: both ends notice the silence and fall back.
            relay.set(Impairment::Blocked);
        }
        until_transport(&mut client, ActiveTransport::WebSocket).await;
        let seq = client
            .send_input(&input(&layout, -1.0, 0.0))
            .await
            .expect("input");
        within("input over the websocket", async {
            while client.session().last_input_applied() < Some(seq) {
                let h = next_snapshot(&mut client).await;
                assert!(h.baseline.is_some(), "full snapshot after a switch");
            }
        })
        .await;
        assert_matches_recorded(&layout, &ts.recorded, client.world().expect("world"));
        // Play on the WebSocket for a while (the server also refuses offers in quick
        // succession).
        for _ in 0..20 {
            let h = next_snapshot(&mut client).await;
            assert!(h.baseline.is_some(), "full snapshot on the websocket");
        }
    }
    let now = client.welcome().expect("welcome");
    assert_eq!(
        (now.client_id, now.player),
        (welcome.client_id, welcome.player)
    );
    assert_eq!(client.stats().full_snapshots, 1);
    let stats = client.webrtc_stats();
    assert_eq!(stats.opened, 2);
    assert!(stats.fallbacks >= 1, "{stats:?}");
}

async fn signal(ws: &mut RawWs, s: Signal) {
    let mut buf = Vec::new();
    ClientMessage::Signal(s).encode(&mut buf);
    send(ws, buf).await;
}

/// Reads server frames until a signal arrives.
async fn next_signal(ws: &mut RawWs) -> Signal {
    within("a signal", async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => {
                    if let Ok(ServerMessage::Signal(s)) = ServerMessage::decode(&b) {
                        return s;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("connection ended before a signal: {other:?}"),
            }
        }
    })
    .await
}

async fn joined(url: &str) -> RawWs {
    let mut ws = raw(url).await;
    send(&mut ws, hello("arena", None)).await;
    ws
}

async fn offer() -> (RtcClientPeer, String) {
    let (peer, sdp, _candidate) = RtcClientPeer::offer([127, 0, 0, 1].into(), None)
        .await
        .expect("offer");
    (peer, sdp)
}

/// Bad offers, too many negotiating peers, handshakes that never finish and garbage on the
/// UDP port: each gets `Abandon` or is dropped, and the server keeps serving.
#[tokio::test]
async fn webrtc_limits_refuse_reap_and_survive_garbage() {
    let config = Config {
        webrtc_max_pending: 1,
        webrtc_open_timeout_ms: 400,
        ..test_config()
    };
    let ts = start(config).await;

    // Not SDP at all: refused, the connection stays.
    let mut a = joined(&ts.url).await;
    signal(
        &mut a,
        Signal::Offer {
            sdp: "v=0\r\nnonsense".into(),
        },
    )
    .await;
    assert_eq!(next_signal(&mut a).await, Signal::Abandon);

    // A real offer whose peer never speaks UDP: answered, then reaped.
    let mut a = joined(&ts.url).await;
    let (_peer_a, sdp) = offer().await;
    let started = Instant::now();
    signal(&mut a, Signal::Offer { sdp }).await;
    assert!(matches!(next_signal(&mut a).await, Signal::Answer { .. }));
    assert_eq!(next_signal(&mut a).await, Signal::EndOfCandidates);

    // Meanwhile the one pending slot is taken: a second connection is refused.
    let mut b = joined(&ts.url).await;
    let (_peer_b, sdp) = offer().await;
    signal(&mut b, Signal::Offer { sdp }).await;
    assert_eq!(next_signal(&mut b).await, Signal::Abandon);

    // Garbage and a STUN request for nobody on the UDP port.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("udp");
    let target = server_addr(&ts);
    for i in 0..200u32 {
        let junk: Vec<u8> = (0..(i % 97)).map(|j| (i * 31 + j * 7) as u8).collect();
        udp.send_to(&junk, target).await.expect("send");
    }

    assert_eq!(
        next_signal(&mut a).await,
        Signal::Abandon,
        "the handshake was reaped"
    );
    assert!(started.elapsed() >= Duration::from_millis(400));
    let w = ts.server.report().webrtc.expect("report");
    assert_eq!(w.reaped, 1);
    assert!(w.refused >= 2);
    assert_eq!(w.peers, 0);

    // Offers back to back are refused too.
    let (_p1, sdp1) = offer().await;
    let (_p2, sdp2) = offer().await;
    let mut c = joined(&ts.url).await;
    signal(&mut c, Signal::Offer { sdp: sdp1 }).await;
    signal(&mut c, Signal::Offer { sdp: sdp2 }).await;
    // The refusal is immediate; the answer comes from the driver thread: any order.
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next_signal(&mut c).await);
    }
    assert!(
        got.iter().any(|s| matches!(s, Signal::Answer { .. })),
        "{got:?}"
    );
    assert!(got.contains(&Signal::EndOfCandidates) && got.contains(&Signal::Abandon));

    // Everyone else is still served: a client upgrades and plays.
    let mut client = connect_with(&ts, rtc_config()).await;
    until_transport(&mut client, ActiveTransport::WebRtc).await;
    let h = next_snapshot(&mut client).await;
    assert!(h.baseline.is_some());
    assert!(ts.server.report().webrtc.expect("report").unrouted >= 1);
}

/// A client that floods its data channel is closed with `rate_limited`, on the WebSocket.
#[tokio::test]
async fn webrtc_data_channel_flood_is_rate_limited() {
    let config = Config {
        client_rate_limit: 5,
        client_rate_burst: 10,
        ..test_config()
    };
    let ts = start(config).await;
    let mut ws = joined(&ts.url).await;
    let (mut peer, sdp, candidate) = RtcClientPeer::offer([127, 0, 0, 1].into(), None)
        .await
        .expect("offer");
    signal(&mut ws, Signal::Offer { sdp }).await;
    signal(
        &mut ws,
        Signal::Candidate {
            candidate,
            mid: None,
        },
    )
    .await;
    let Signal::Answer { sdp } = next_signal(&mut ws).await else {
        panic!("expected an answer");
    };
    peer.accept_answer(&sdp).expect("answer");
    within("the channels to open", async {
        while !peer.is_open() {
            peer.wait().await;
            while peer.poll_event().is_some() {}
        }
    })
    .await;
    let mut ping = Vec::new();
    ClientMessage::Ping { client_time_us: 1 }.encode(&mut ping);
    for _ in 0..50 {
        assert!(peer.send(tickwire_protocol::session::Channel::Unreliable, &ping));
    }
    let code = within("the close", async {
        tokio::select! {
            code = crate::harness::close_code(&mut ws) => code,
            () = async { loop { peer.wait().await; } } => unreachable!(),
        }
    })
    .await;
    assert_eq!(
        code,
        tickwire_protocol::CloseCode::RATE_LIMITED.websocket_code()
    );
}

/// A wildcard bind advertises `webrtc_public_ip`, and str0m accepts datagrams for it; without
/// a public IP the server refuses to start, saying why.
#[tokio::test]
async fn webrtc_wildcard_bind_advertises_the_public_ip() {
    let config = Config {
        webrtc_udp: Some("0.0.0.0:0".parse().expect("addr")),
        webrtc_public_ip: Some([127, 0, 0, 1].into()),
        ..test_config()
    };
    let ts = start(config).await;
    let w = ts.server.report().webrtc.expect("report");
    assert!(w.udp.starts_with("0.0.0.0:"), "{w:?}");
    assert!(w.advertised.starts_with("127.0.0.1:"), "{w:?}");
    let mut client = connect_with(&ts, rtc_config()).await;
    until_transport(&mut client, ActiveTransport::WebRtc).await;
    next_snapshot(&mut client).await;

    let no_ip = Config {
        webrtc_udp: Some("0.0.0.0:0".parse().expect("addr")),
        ..test_config()
    };
    let err = tickwire::Server::start(no_ip, std::sync::Arc::new(tickwire::arena::ArenaFactory))
        .await
        .expect_err("a wildcard bind needs a public ip");
    assert!(err.to_string().contains("--webrtc-public-ip"), "{err}");
}

/// With a cap of one peer, a second client's offer is refused and it plays on the WebSocket.
#[tokio::test]
async fn webrtc_peer_cap_keeps_extra_clients_on_the_websocket() {
    let config = Config {
        webrtc_max_peers: 1,
        ..test_config()
    };
    let ts = start(config).await;
    let mut first = connect_with(&ts, rtc_config()).await;
    until_transport(&mut first, ActiveTransport::WebRtc).await;
    let mut second = connect_with(&ts, rtc_config()).await;
    within("the second client's refusal", async {
        while second.webrtc_stats().failed_attempts == 0 {
            next_snapshot(&mut second).await;
        }
    })
    .await;
    assert_eq!(second.transport(), ActiveTransport::WebSocket);
    let h = next_snapshot(&mut second).await;
    assert!(h.baseline.is_some());
    // The second client's offer was valid and its connection's first: only the cap refuses.
    let w = ts.server.report().webrtc.expect("report");
    assert!(w.refused >= 1 && w.opened == 1, "{w:?}");
}

/// With WebRTC off, an offer is refused with one `Abandon`; the candidates around it get no
/// answer, so a client does not read a refusal per signal.
#[tokio::test]
async fn webrtc_off_refuses_each_offer_once() {
    let config = Config {
        webrtc_udp: None,
        ..test_config()
    };
    let ts = start(config).await;
    let mut ws = joined(&ts.url).await;
    let (_peer, sdp) = offer().await;
    signal(&mut ws, Signal::Offer { sdp }).await;
    signal(
        &mut ws,
        Signal::Candidate {
            candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host".into(),
            mid: Some("0".into()),
        },
    )
    .await;
    signal(&mut ws, Signal::EndOfCandidates).await;
    let mut ping = Vec::new();
    ClientMessage::Ping { client_time_us: 7 }.encode(&mut ping);
    send(&mut ws, ping).await;
    // Everything the server sends up to the pong, which it sends after handling the signals.
    let signals = within("the pong", async {
        let mut signals = Vec::new();
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => match ServerMessage::decode(&b) {
                    Ok(ServerMessage::Signal(s)) => signals.push(s),
                    Ok(ServerMessage::Pong(p)) if p.client_time_us == 7 => return signals,
                    _ => {}
                },
                Some(Ok(_)) => {}
                other => panic!("connection ended before the pong: {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(signals, vec![Signal::Abandon]);
}
