//! A server session and client sessions stepped on a manual clock over seeded lossy links.

use std::collections::HashMap;
use std::sync::Arc;

use glam::Vec2;
use tickwire_protocol::message::ResumeToken;
use tickwire_protocol::session::{
    Channel, ClientConfig, ClientEvent, ClientSession, ServerConfig, ServerEvent, ServerSession,
    SessionError, TickTime,
};
use tickwire_protocol::{CloseCode, EncodeScratch, Layout, Snapshot};

use crate::util::{
    Link, LinkConfig, Player, Rng, TestWorld, arena_layout, assert_within_quantization,
};

const TICK_RATE: u64 = 30;
const TICK_US: u64 = 1_000_000 / TICK_RATE;
const STEP_US: u64 = 1_000;
const INPUT_EVERY_US: u64 = 50_000;

struct SimClient {
    session: ClientSession,
    up: Link,
    down: Link,
    rng: Rng,
    dir: Vec2,
    next_input_us: u64,
    /// Tick → client time it was decoded.
    decoded_ticks: HashMap<u32, u64>,
    sent_seqs: Vec<u32>,
}

struct ServerSide {
    session: ServerSession,
    player: u32,
    applied: Vec<u32>,
}

struct Sim {
    layout: Arc<Layout>,
    now: u64,
    tick: u32,
    next_tick_us: u64,
    world: TestWorld,
    rng: Rng,
    scratch: EncodeScratch,
    servers: Vec<ServerSide>,
    clients: Vec<SimClient>,
    exact: HashMap<u32, Vec<Player>>,
    quantized: HashMap<u32, Snapshot>,
    sent_at: HashMap<u32, u64>,
    buf: Vec<u8>,
}

fn link(loss: f64, seed: u64) -> LinkConfig {
    let _ = seed;
    LinkConfig {
        loss,
        duplicate: if loss > 0.0 { 0.02 } else { 0.0 },
        delay_us: 20_000,
        jitter_us: 40_000,
    }
}

impl Sim {
    fn new(clients: usize, loss: f64, seed: u64) -> Self {
        let layout = arena_layout();
        let mut rng = Rng::new(seed);
        let mut world = TestWorld::default();
        for _ in 0..20 {
            world.spawn(&mut rng);
        }
        let mut sim = Sim {
            layout: layout.clone(),
            now: 0,
            tick: 0,
            next_tick_us: 0,
            world,
            rng: Rng::new(seed ^ 0xabc),
            scratch: EncodeScratch::default(),
            servers: Vec::new(),
            clients: Vec::new(),
            exact: HashMap::new(),
            quantized: HashMap::new(),
            sent_at: HashMap::new(),
            buf: Vec::new(),
        };
        for c in 0..clients as u64 {
            let config = ClientConfig {
                protocol_hash: Some(layout.protocol_hash()),
                ..ClientConfig::default()
            };
            let mut session = ClientSession::new(config);
            session.connect(0);
            sim.clients.push(SimClient {
                session,
                up: Link::new(link(loss, seed), seed * 31 + c),
                down: Link::new(link(loss, seed), seed * 37 + c + 1000),
                rng: Rng::new(seed * 41 + c),
                dir: Vec2::ZERO,
                next_input_us: 0,
                decoded_ticks: HashMap::new(),
                sent_seqs: Vec::new(),
            });
            sim.servers.push(ServerSide {
                session: ServerSession::new(layout.clone(), ServerConfig::default()),
                player: u32::MAX,
                applied: Vec::new(),
            });
        }
        sim
    }

    fn set_loss(&mut self, loss: f64) {
        for c in &mut self.clients {
            c.up.config.loss = loss;
            c.down.config.loss = loss;
            c.up.config.duplicate = 0.0;
            c.down.config.duplicate = 0.0;
        }
    }

    fn tick_time(&self) -> TickTime {
        let into = self.now + TICK_US - self.next_tick_us;
        TickTime {
            tick: self.tick,
            fraction: ((into.min(TICK_US - 1) * 65536) / TICK_US) as u16,
        }
    }

    fn step(&mut self) {
        let now = self.now;
        // Server: take in frames.
        for i in 0..self.servers.len() {
            while let Some(frame) = self.clients[i].up.poll(now) {
                let tt = self.tick_time();
                let s = &mut self.servers[i];
                s.session
                    .handle_frame(tt, &frame)
                    .expect("client frames are valid");
                while let Some(ev) = s.session.poll_event() {
                    match ev {
                        ServerEvent::Hello { resume, .. } => {
                            assert!(resume.is_none());
                            s.player = self.world.spawn(&mut self.rng);
                            s.session
                                .accept(tt, i as u32, Some(s.player), [i as u8; 16], None);
                        }
                        other => panic!("unexpected event {other:?}"),
                    }
                }
            }
        }
        // Server: tick.
        if now >= self.next_tick_us {
            let tick = self.tick;
            for s in &mut self.servers {
                let world = &mut self.world;
                let layout = &self.layout;
                let (player, applied) = (s.player, &mut s.applied);
                s.session.drain_inputs(tick, |seq, w| {
                    let dx = layout.input.fields[0].get_f32(w).unwrap();
                    let dy = layout.input.fields[1].get_f32(w).unwrap();
                    world.steer(player, Vec2::new(dx, dy));
                    applied.push(seq);
                });
            }
            // Churn: bots that are not players come and go, so deltas carry creations and
            // removals too.
            if self.rng.chance(0.1) {
                let players: Vec<u32> = self.servers.iter().map(|s| s.player).collect();
                let npcs: Vec<u32> = self
                    .world
                    .players
                    .iter()
                    .map(|p| p.id)
                    .filter(|id| !players.contains(id))
                    .collect();
                if !npcs.is_empty() {
                    let victim = npcs[self.rng.below(npcs.len() as u64) as usize];
                    self.world.despawn(victim);
                }
                let id = self.world.spawn(&mut self.rng);
                let dir = Vec2::new(self.rng.range(-1.0, 1.0), self.rng.range(-1.0, 1.0));
                self.world.steer(id, dir);
            }
            self.world.step(TICK_US as f32 / 1e6);
            self.world.round = tick / 100;
            let mut q = Snapshot::new(&self.layout);
            q.clear(&self.layout, tick);
            self.world.fill(&self.layout, &mut q);
            self.quantized.insert(tick, q);
            self.exact.insert(tick, self.world.players.clone());
            self.sent_at.insert(tick, now);
            for (i, s) in self.servers.iter_mut().enumerate() {
                if !s.session.is_established() {
                    continue;
                }
                let world = &self.world;
                let layout = &self.layout;
                s.session
                    .write_snapshot(tick, &mut self.scratch, |snap| world.fill(layout, snap));
                while let Some(ch) = s.session.poll_transmit(&mut self.buf) {
                    let down = &mut self.clients[i].down;
                    match ch {
                        Channel::Reliable => down.send_reliable(now, &self.buf),
                        Channel::Unreliable => down.send(now, &self.buf),
                    }
                }
            }
            self.tick += 1;
            self.next_tick_us += TICK_US;
        }
        // Server: control frames written outside the tick (welcome, pongs).
        for (i, s) in self.servers.iter_mut().enumerate() {
            while let Some(ch) = s.session.poll_transmit(&mut self.buf) {
                assert_eq!(ch, Channel::Reliable);
                self.clients[i].down.send_reliable(now, &self.buf);
            }
        }
        // Clients.
        for c in &mut self.clients {
            while let Some(frame) = c.down.poll(now) {
                c.session
                    .handle_frame(now, &frame)
                    .expect("server frames are valid");
            }
            while let Some(ev) = c.session.poll_event() {
                match ev {
                    ClientEvent::Connected { .. } => {}
                    ClientEvent::Snapshot(h) => {
                        let world = c.session.world().expect("decoded world");
                        assert_eq!(world.tick, h.tick);
                        assert_eq!(
                            world, &self.quantized[&h.tick],
                            "client world differs at tick {}",
                            h.tick
                        );
                        assert_within_quantization(&self.layout, &self.exact[&h.tick], world);
                        c.decoded_ticks.insert(h.tick, now);
                    }
                    other => panic!("unexpected client event {other:?}"),
                }
            }
            c.session.handle_timeout(now);
            if c.session.is_established() && now >= c.next_input_us {
                c.next_input_us = now + INPUT_EVERY_US;
                if c.rng.chance(0.04) || c.dir == Vec2::ZERO {
                    c.dir = Vec2::new(c.rng.range(-1.0, 1.0), c.rng.range(-1.0, 1.0));
                }
                let input = &self.layout.input;
                let mut w = vec![0u32; input.words];
                input.fields[0].set_f32(&mut w, c.dir.x).unwrap();
                input.fields[1].set_f32(&mut w, c.dir.y).unwrap();
                c.sent_seqs.push(c.session.send_input(now, &w).unwrap());
            }
            while let Some(ch) = c.session.poll_transmit(&mut self.buf) {
                match ch {
                    Channel::Reliable => c.up.send_reliable(now, &self.buf),
                    Channel::Unreliable => c.up.send(now, &self.buf),
                }
            }
        }
        self.now += STEP_US;
    }

    fn run_until(&mut self, t: u64) {
        while self.now < t {
            self.step();
        }
    }
}

fn converges(loss: f64, seed: u64) {
    let mut sim = Sim::new(3, loss, seed);
    let lossy_until = 10_000_000;
    sim.run_until(lossy_until);
    sim.set_loss(0.0);
    let settle_from = sim.now;
    // One round trip: 2 × (delay + max jitter).
    let rtt = 2 * (20_000 + 40_000);
    sim.run_until(settle_from + 3_000_000);
    let last_tick = sim.tick - 1;
    for (i, c) in sim.clients.iter().enumerate() {
        let stats = c.session.stats();
        assert_eq!(
            stats.decode_errors, 0,
            "client {i}: decode errors at {loss} loss"
        );
        // One round trip after loss stops, the state of every tick reaches the client within
        // the link's worst one-way delay: that snapshot, or a newer one that overtook it (an
        // overtaken snapshot is stale and dropped on arrival).
        let mut missing = Vec::new();
        for t in 0..last_tick {
            let sent = sim.sent_at[&t];
            let deadline = sent + 60_000;
            if sent >= settle_from + rtt && deadline < sim.now {
                let reached = c
                    .decoded_ticks
                    .iter()
                    .any(|(&d, &at)| d >= t && at <= deadline);
                if !reached {
                    missing.push(t);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "client {i} missed ticks {missing:?} after loss stopped"
        );
        // The client ends on the server's state.
        let world = c.session.world().unwrap();
        assert!(
            last_tick - world.tick <= 3,
            "client {i} at tick {} vs server {last_tick}",
            world.tick
        );
        // Inputs: applied once each, in order; at most a few lost for good.
        let s = &sim.servers[i];
        assert!(
            s.applied.windows(2).all(|w| w[0] < w[1]),
            "inputs applied out of order"
        );
        let istats = s.session.input_stats();
        let sent = c.sent_seqs.len() as u64;
        assert!(istats.accepted + istats.lost <= sent);
        let applied_or_pending =
            s.applied.len() as u64 + s.session.input_stats().accepted - s.applied.len() as u64;
        assert_eq!(applied_or_pending, istats.accepted);
        assert!(
            istats.lost * 100 <= sent,
            "client {i}: {} of {sent} inputs lost at {loss} loss",
            istats.lost
        );
        if loss == 0.0 {
            assert_eq!(istats.lost, 0);
            // Full snapshots only until the first ack arrives, at most one round trip.
            assert!(
                stats.full_snapshots <= 5,
                "{} full snapshots without loss",
                stats.full_snapshots
            );
        }
        // The player's last input reached the world.
        let last = *s.applied.last().expect("inputs applied");
        assert!(
            c.sent_seqs.len() as u32 - last <= 4,
            "server applied up to {last} of {}",
            c.sent_seqs.len()
        );
        // The header echoes the last applied input.
        assert!(c.session.last_input_applied().is_some());
        let ss = s.session.stats();
        assert!(
            ss.delta_snapshots > ss.full_snapshots * 10,
            "mostly deltas: {ss:?}"
        );
    }
}

#[test]
fn converges_without_loss() {
    converges(0.0, 1);
}

#[test]
fn converges_after_5_percent_loss() {
    converges(0.05, 2);
}

#[test]
fn converges_after_20_percent_loss() {
    converges(0.20, 3);
}

/// Deliver every queued frame between a client and a server session directly.
fn pump(
    server: &mut ServerSession,
    client: &mut ClientSession,
    tt: TickTime,
    now: u64,
) -> Result<(), SessionError> {
    let mut buf = Vec::new();
    loop {
        let mut moved = false;
        while client.poll_transmit(&mut buf).is_some() {
            server.handle_frame(tt, &buf)?;
            moved = true;
        }
        while server.poll_transmit(&mut buf).is_some() {
            client.handle_frame(now, &buf)?;
            moved = true;
        }
        if !moved {
            return Ok(());
        }
    }
}

/// A server session and a client session with the handshake done: hello checked, welcome
/// delivered (client 1, resume token `token`).
fn established(
    layout: &Arc<Layout>,
    config: ClientConfig,
    player: Option<u32>,
    token: ResumeToken,
) -> (ServerSession, ClientSession) {
    let mut server = ServerSession::new(layout.clone(), ServerConfig::default());
    let mut client = ClientSession::new(config);
    client.connect(0);
    pump(&mut server, &mut client, TickTime::default(), 0).unwrap();
    assert!(matches!(
        server.poll_event(),
        Some(ServerEvent::Hello { .. })
    ));
    server.accept(TickTime::default(), 1, player, token, None);
    pump(&mut server, &mut client, TickTime::default(), 0).unwrap();
    assert!(client.is_established());
    (server, client)
}

#[test]
fn protocol_hash_mismatch_closes_with_a_clear_reason() {
    let layout = arena_layout();
    let mut server = ServerSession::new(layout.clone(), ServerConfig::default());
    let config = ClientConfig {
        protocol_hash: Some(layout.protocol_hash() ^ 1),
        ..ClientConfig::default()
    };
    let mut client = ClientSession::new(config);
    client.connect(0);
    let err = pump(&mut server, &mut client, TickTime::default(), 0).unwrap_err();
    let SessionError::Closed(reason) = err else {
        panic!("{err:?}")
    };
    assert_eq!(reason.code, CloseCode::PROTOCOL_MISMATCH);
    assert!(reason.message.contains("regenerate"), "{}", reason.message);
    // The client hears the same reason.
    let mut buf = Vec::new();
    assert_eq!(server.poll_transmit(&mut buf), Some(Channel::Reliable));
    let err = client.handle_frame(0, &buf).unwrap_err();
    assert!(matches!(err, SessionError::PeerClosed(r) if r.code == CloseCode::PROTOCOL_MISMATCH));
    assert!(client.is_closed());
}

#[test]
fn input_before_hello_is_a_bad_handshake() {
    let layout = arena_layout();
    let mut server = ServerSession::new(layout, ServerConfig::default());
    let err = server
        .handle_frame(TickTime::default(), &[0x03, 0x00])
        .unwrap_err();
    assert!(matches!(err, SessionError::Closed(r) if r.code == CloseCode::BAD_HANDSHAKE));
}

#[test]
fn generic_client_decodes_with_the_welcome_schema() {
    let layout = arena_layout();
    let (mut server, mut client) = established(&layout, ClientConfig::default(), None, [1; 16]);
    assert_eq!(
        client.layout().unwrap().protocol_hash(),
        layout.protocol_hash()
    );
    let mut rng = Rng::new(5);
    let mut world = TestWorld::default();
    world.spawn(&mut rng);
    let mut scratch = EncodeScratch::default();
    server.write_snapshot(1, &mut scratch, |s| world.fill(&layout, s));
    pump(
        &mut server,
        &mut client,
        TickTime {
            tick: 1,
            fraction: 0,
        },
        2000,
    )
    .unwrap();
    assert_within_quantization(&layout, &world.players, client.world().unwrap());
}

#[test]
fn resume_continues_with_a_delta_from_the_acked_baseline() {
    let layout = arena_layout();
    let token: ResumeToken = [9; 16];
    // Acks go out at once: this test pumps frames without advancing a clock.
    let config = ClientConfig {
        ack_delay_us: 0,
        ..ClientConfig::default()
    };
    let (mut server, mut client) = established(&layout, config, Some(0), token);
    let mut rng = Rng::new(8);
    let mut world = TestWorld::default();
    for _ in 0..50 {
        world.spawn(&mut rng);
    }
    world.steer(0, Vec2::X);
    let mut scratch = EncodeScratch::default();
    for tick in 1..=10u32 {
        world.step(1.0 / 30.0);
        server.write_snapshot(tick, &mut scratch, |s| world.fill(&layout, s));
        let tt = TickTime { tick, fraction: 0 };
        pump(&mut server, &mut client, tt, u64::from(tick) * 33_000).unwrap();
    }
    assert_eq!(server.acked(), Some(10));
    let full_before = client.stats().full_snapshots;

    // The connection drops; the world goes on; the client reconnects and asks to resume.
    client.connection_lost();
    let repl = server.take_replication();
    for _ in 11..=20u32 {
        world.step(1.0 / 30.0);
    }
    let mut server2 = ServerSession::new(layout.clone(), ServerConfig::default());
    let at20 = TickTime {
        tick: 20,
        fraction: 0,
    };
    client.connect(700_000);
    pump(&mut server2, &mut client, at20, 700_000).unwrap();
    let Some(ServerEvent::Hello {
        resume: Some(req), ..
    }) = server2.poll_event()
    else {
        panic!("no resume hello")
    };
    assert_eq!(req.token, token);
    assert_eq!(req.last_tick, Some(10));
    server2.accept(at20, 1, Some(0), token, Some((repl, req.last_tick)));
    server2.write_snapshot(20, &mut scratch, |s| world.fill(&layout, s));
    pump(&mut server2, &mut client, at20, 710_000).unwrap();
    let mut saw = None;
    while let Some(ev) = client.poll_event() {
        if let ClientEvent::Snapshot(h) = ev {
            saw = Some(h);
        }
    }
    let h = saw.expect("snapshot after resume");
    assert_eq!(h.baseline, Some(10), "resumed with a delta against tick 10");
    assert_eq!(client.stats().full_snapshots, full_before);
    assert_within_quantization(&layout, &world.players, client.world().unwrap());
}

#[test]
fn an_ack_waits_for_an_input_to_carry_it_then_goes_alone() {
    let layout = arena_layout();
    let config = ClientConfig {
        ack_delay_us: 8_000,
        ..ClientConfig::default()
    };
    let (mut server, mut client) = established(&layout, config, None, [3; 16]);
    let mut world = TestWorld::default();
    world.spawn(&mut Rng::new(1));
    let mut scratch = EncodeScratch::default();
    let mut buf = Vec::new();

    // Snapshot 1 arrives at t = 10 ms: nothing to send until the ack is due at 18 ms.
    server.write_snapshot(1, &mut scratch, |s| world.fill(&layout, s));
    server.poll_transmit(&mut buf);
    client.handle_frame(10_000, &buf).unwrap();
    client.handle_timeout(10_000);
    while client.poll_transmit(&mut buf) == Some(Channel::Reliable) {}
    assert!(buf.is_empty(), "no ack before it is due");
    assert_eq!(client.poll_timeout(), Some(18_000));
    client.handle_timeout(18_000);
    assert_eq!(client.poll_transmit(&mut buf), Some(Channel::Unreliable));
    server
        .handle_frame(
            TickTime {
                tick: 1,
                fraction: 0,
            },
            &buf,
        )
        .unwrap();
    assert_eq!(server.acked(), Some(1));

    // Snapshot 2 arrives; an input 3 ms later carries its ack: no ack-only packet follows.
    server.write_snapshot(2, &mut scratch, |s| world.fill(&layout, s));
    server.poll_transmit(&mut buf);
    client.handle_frame(40_000, &buf).unwrap();
    let words = vec![0u32; layout.input.words];
    client.send_input(43_000, &words).unwrap();
    assert_eq!(client.poll_transmit(&mut buf), Some(Channel::Unreliable));
    server
        .handle_frame(
            TickTime {
                tick: 2,
                fraction: 0,
            },
            &buf,
        )
        .unwrap();
    assert_eq!(server.acked(), Some(2));
    client.handle_timeout(60_000);
    while let Some(ch) = client.poll_transmit(&mut buf) {
        assert_eq!(ch, Channel::Reliable, "only pings may follow");
    }
}
