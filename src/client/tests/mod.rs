//! The client against [`scripted_server::ScriptedServer`]: handshake, inputs, pings, refusals,
//! resume.

pub(crate) mod scripted_server;

use std::time::Duration;

use tickwire_protocol::CloseCode;
use tickwire_protocol::session::ClientEvent;

use self::scripted_server::{FULL_ROOM, KICK_ME, ScriptedServer, TICK_RATE};
use super::*;

/// Safety net only: tests wait on events, and fail instead of hanging.
const LIMIT: Duration = Duration::from_secs(5);

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("timed out waiting for an event")
}

async fn next_snapshot(client: &mut Client) -> tickwire_protocol::SnapshotHeader {
    within(async {
        loop {
            match client.next_event().await {
                Some(ClientEvent::Snapshot(h)) => return h,
                Some(ClientEvent::DecodeFailed(e)) => panic!("decode failed: {e}"),
                Some(_) => {}
                None => panic!("connection ended: {:?}", client.end()),
            }
        }
    })
    .await
}

/// A client of `server` with the default settings, past its handshake.
async fn connect(server: &ScriptedServer) -> Client {
    Client::connect(&server.url, ClientConfig::default())
        .await
        .expect("connect")
}

fn input_words(client: &Client, dx: f32, dy: f32) -> Vec<u32> {
    let input = client.input_layout().expect("layout");
    let mut words = vec![0; input.words];
    input.fields[input.field("dx").expect("dx")]
        .set_f32(&mut words, dx)
        .expect("dx");
    input.fields[input.field("dy").expect("dy")]
        .set_f32(&mut words, dy)
        .expect("dy");
    words
}

fn ball_x(client: &Client) -> f32 {
    let layout = client.layout().expect("layout");
    let (_, words) = client.world().expect("world").find(0).expect("ball");
    layout.kinds[0].fields[0].get_vec2(words).expect("pos").x
}

#[tokio::test]
async fn handshake_then_snapshots_with_acks() {
    let server = ScriptedServer::start().await;
    let mut client = Client::connect(&server.url, ClientConfig::for_room("arena"))
        .await
        .expect("connect");
    let welcome = client.welcome().expect("welcome");
    assert_eq!(welcome.tick_rate, TICK_RATE);
    assert!(!welcome.resumed);
    assert!(client.is_connected());

    let first = next_snapshot(&mut client).await;
    assert_eq!(first.baseline, None, "the first snapshot is full");
    // Acks went back after each snapshot, so the server switches to deltas.
    let mut h = next_snapshot(&mut client).await;
    while h.baseline.is_none() {
        h = next_snapshot(&mut client).await;
    }
    assert!(h.baseline.is_some_and(|b| b < h.tick));
    let traffic = client.traffic();
    assert!(traffic.bytes_received > 0 && traffic.messages_sent >= 2);
    assert_eq!(client.stats().decode_errors, 0);
    client.close().await.expect("close");
    assert!(!client.is_connected());
    assert!(matches!(client.end(), Some(ConnectionEnd::Client(_))));
}

#[tokio::test]
async fn inputs_move_the_entity_and_are_acknowledged() {
    let server = ScriptedServer::start().await;
    let mut client = connect(&server).await;
    next_snapshot(&mut client).await;
    let x0 = ball_x(&client);

    let words = input_words(&client, 1.0, 0.0);
    let sent_at = Instant::now();
    let seq = client.send_input(&words).await.expect("send");
    let latency = loop {
        let h = next_snapshot(&mut client).await;
        if h.last_input_seq.is_some_and(|s| s >= seq) {
            break sent_at.elapsed();
        }
    };
    // The input is stamped a tick or two ahead, so it lands within a few ticks.
    assert!(latency < Duration::from_secs(1), "latency {latency:?}");
    assert_eq!(client.session().last_input_applied(), Some(seq));

    // The ball keeps moving right while the input holds.
    let x1 = ball_x(&client);
    next_snapshot(&mut client).await;
    next_snapshot(&mut client).await;
    let x2 = ball_x(&client);
    assert!(x1 > x0 && x2 > x1, "ball x {x0} -> {x1} -> {x2}");
    assert!(server.ball().x >= x2);
}

#[tokio::test]
async fn pings_measure_the_round_trip() {
    let server = ScriptedServer::start().await;
    let mut config = ClientConfig::default();
    config.session.ping_interval_us = 20_000;
    let mut client = Client::connect(&server.url, config).await.expect("connect");
    let rtt = within(async {
        loop {
            if let Some(rtt) = client.take_rtt_samples().next() {
                return rtt;
            }
            client.next_event().await.expect("connection ended");
        }
    })
    .await;
    assert!(rtt < Duration::from_secs(1), "rtt {rtt:?}");
    assert!(client.session().clock().rtt_us().is_some());
}

#[tokio::test]
async fn refusal_and_kick_carry_the_reason() {
    let server = ScriptedServer::start().await;
    match Client::connect(&server.url, ClientConfig::for_room(FULL_ROOM)).await {
        Err(ClientError::Refused(r)) => assert_eq!(r.code, CloseCode::ROOM_FULL),
        other => panic!("expected a refusal, got {other:?}"),
    }

    let mut client = connect(&server).await;
    client.send_event(KICK_ME.to_vec()).await.expect("event");
    let reason = within(async {
        loop {
            match client.next_event().await {
                Some(ClientEvent::Closed(r)) => return r,
                Some(_) => {}
                None => panic!("ended without a reason: {:?}", client.end()),
            }
        }
    })
    .await;
    assert_eq!(reason.code, CloseCode::KICKED);
    assert_eq!(within(client.next_event()).await, None);
    assert_eq!(client.close_reason(), Some(&reason));
    let (ws_code, _) = client.websocket_close().expect("websocket close frame");
    assert_eq!(ws_code, CloseCode::KICKED.websocket_code());
    assert!(matches!(
        client.send_input(&[0, 0]).await,
        Err(ClientError::NotConnected)
    ));
}

#[tokio::test]
async fn reconnect_resumes_with_a_delta() {
    let server = ScriptedServer::start().await;
    let mut client = connect(&server).await;
    let mut h = next_snapshot(&mut client).await;
    while h.baseline.is_none() {
        h = next_snapshot(&mut client).await;
    }
    let full_before = client.stats().full_snapshots;
    let id_before = client.welcome().expect("welcome").client_id;

    within(client.reconnect(&server.url))
        .await
        .expect("reconnect");
    let welcome = client.welcome().expect("welcome");
    assert!(welcome.resumed, "the server resumed the session");
    assert_eq!(welcome.client_id, id_before);
    assert_eq!(server.resumes(), 1);

    let h = next_snapshot(&mut client).await;
    assert!(
        h.baseline.is_some(),
        "first snapshot after resume is a delta"
    );
    assert_eq!(client.stats().full_snapshots, full_before);
    assert!(client.world().is_some());
}
